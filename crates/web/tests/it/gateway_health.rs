//! The SIP gateway's health as the reseller and Prometheus see it: each of Microsoft's proxies
//! up or down since when, each region's certificate with its days left and a warning under 30
//! days, from what the instance driving the gateway stored.

use crate::app::{TestApp, text};
use crate::reseller::sign_in;
use teamline_store::{ProxyHealthRecord, RegionHealthRecord};
use teamline_testkit::demo::{RESELLER_ADMIN, RESELLER_PASSWORD};

const DAY: i64 = 86_400_000;

fn proxy(fqdn: &str, state: &str, since_ms: i64) -> ProxyHealthRecord {
    ProxyHealthRecord {
        fqdn: fqdn.to_owned(),
        uri: format!("sip:{fqdn}:5061;transport=tls"),
        state: state.to_owned(),
        since_ms,
    }
}

#[tokio::test]
async fn the_reseller_and_metrics_see_each_proxy_and_certificate() {
    let app = TestApp::start().await;
    let b = sign_in(&app, RESELLER_ADMIN, RESELLER_PASSWORD)
        .await
        .unwrap();
    let (status, empty) = text(b.get("/reseller/gateway")).await;
    assert_eq!(status, 200);
    assert!(empty.contains("No reading yet"), "{empty}");

    let now = app.store.clock().now_ms();
    app.store
        .record_gateway_health(&[
            RegionHealthRecord {
                region: "us-east-2".into(),
                base_fqdn: "use2.sbc.example.net".into(),
                proxies: vec![
                    proxy("sip.pstnhub.microsoft.com", "up", now - 3 * DAY),
                    proxy("sip2.pstnhub.microsoft.com", "down", now - 600_000),
                ],
                certificate_expires_ms: Some(now + 12 * DAY + 3_600_000),
                certificate_problem: None,
                observed_ms: now,
            },
            RegionHealthRecord {
                region: "us-west".into(),
                base_fqdn: "usw.sbc.example.net".into(),
                proxies: vec![proxy("sip3.pstnhub.microsoft.com", "up", now - DAY)],
                certificate_expires_ms: Some(now + 200 * DAY + 3_600_000),
                certificate_problem: None,
                observed_ms: now,
            },
        ])
        .await
        .unwrap();

    let (status, page) = text(b.get("/reseller/gateway")).await;
    assert_eq!(status, 200);
    for shown in [
        "us-east-2",
        "sip2.pstnhub.microsoft.com",
        "Down",
        "10 minutes ago",
        "3 days ago",
        "12 days left",
        "renew it soon",
        "200 days left",
    ] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    assert!(
        page.contains(r#"class="badge badge-warn" data-certificate>12 days left"#),
        "{page}"
    );
    assert!(
        page.contains(r#"class="badge badge-ok" data-certificate>200 days left"#),
        "{page}"
    );

    let metrics = app
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"teamline_gateway_microsoft_proxy_up{region="us-east-2",proxy="sip.pstnhub.microsoft.com"} 1"#,
        r#"teamline_gateway_microsoft_proxy_up{region="us-east-2",proxy="sip2.pstnhub.microsoft.com"} 0"#,
        r#"teamline_gateway_certificate_expiry_seconds{region="us-west",fqdn="usw.sbc.example.net"}"#,
    ] {
        assert!(metrics.contains(line), "{line}: {metrics}");
    }

    // An enterprise admin has no Gateway page.
    let admin = app.signed_in().await;
    assert_eq!(text(admin.get("/reseller/gateway")).await.0, 404);
    app.stop().await;
}

/// The enterprise admin sees, on the Dashboard, the gateway's health in Contoso's own regions
/// with what it means and what to do, and nothing of a region Contoso does not use.
#[tokio::test]
async fn the_dashboard_shows_the_enterprises_own_regions_with_what_to_do() {
    use teamline_domain::audit::{Actor, Audit};
    use teamline_domain::voice_route::NewSbcRegion;
    let app = TestApp::start().await;
    let b = app.signed_in().await;
    let (status, before) = text(b.get("/dashboard")).await;
    assert_eq!(status, 200, "{before}");
    assert!(before.contains("Calls gateway"), "{before}");
    assert!(
        before.contains("The gateway has not reported this region yet"),
        "{before}"
    );

    // A region another enterprise would use; Contoso is not in it.
    app.store
        .create_sbc_region(
            &NewSbcRegion::parse("EU West", "euwest.sbc.example.net").unwrap(),
            &Audit::new(Actor::System("test".into()), "test", "EU West"),
        )
        .await
        .unwrap();
    let now = app.store.clock().now_ms();
    let region = |name: &str, fqdn: &str, proxies, cert_days: i64| RegionHealthRecord {
        region: name.into(),
        base_fqdn: fqdn.into(),
        proxies,
        certificate_expires_ms: Some(now + cert_days * DAY + 3_600_000),
        certificate_problem: None,
        observed_ms: now,
    };
    app.store
        .record_gateway_health(&[
            // US East 2: one proxy down (calls go through the other), certificate fine.
            region(
                "us-east-2",
                "useast2.sbc.example.net",
                vec![
                    proxy("sip.pstnhub.microsoft.com", "up", now - 3 * DAY),
                    proxy("sip2.pstnhub.microsoft.com", "down", now - 600_000),
                ],
                200,
            ),
            // US West: no proxy answers, and the certificate runs out soon.
            region(
                "us-west",
                "uswest.sbc.example.net",
                vec![proxy("sip3.pstnhub.microsoft.com", "down", now - 7_200_000)],
                12,
            ),
            region(
                "eu-west",
                "euwest.sbc.example.net",
                vec![proxy("sip.pstnhub.eu-only.test", "down", now)],
                3,
            ),
        ])
        .await
        .unwrap();

    let (status, page) = text(b.get("/dashboard")).await;
    assert_eq!(status, 200);
    let section = page
        .split(r#"id="gateway-health""#)
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .unwrap_or_else(|| panic!("no gateway section: {page}"));
    let us_east = section.split(r#"data-region="US West""#).next().unwrap();
    let us_west = section.split(r#"data-region="US West""#).nth(1).unwrap();
    for shown in [
        "US East 2",
        "Calls go through sip.pstnhub.microsoft.com; sip2.pstnhub.microsoft.com does not answer",
        "200 days left",
        "10 minutes ago",
    ] {
        assert!(us_east.contains(shown), "{shown}: {us_east}");
    }
    for shown in [
        "Calls between Teams and the PBX fail in this region: none of Microsoft&#39;s SIP proxies answers the gateway",
        "Ask your service provider",
        "12 days left",
        "sip3.pstnhub.microsoft.com",
    ] {
        let shown_alt = shown.replace("&#39;", "&#x27;");
        assert!(
            us_west.contains(shown)
                || us_west.contains(&shown_alt)
                || us_west.contains(&shown.replace("&#39;", "'")),
            "{shown}: {us_west}"
        );
    }
    assert!(!page.contains("EU West"), "{page}");
    assert!(!page.contains("eu-only"), "{page}");
    app.stop().await;
}
