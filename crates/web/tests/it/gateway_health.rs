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
