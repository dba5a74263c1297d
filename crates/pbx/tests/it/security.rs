//! What the client refuses to do: send credentials somewhere they were not saved for, connect
//! where the network policy forbids, or describe whatever else answers at a URL.

use teamline_pbx::{
    CheckStatus, CredentialScope, NetSapiensClient, NetSapiensSettings, NetworkPolicy, Pbx,
    PbxError,
};
use teamline_sim::netsapiens::{CONTOSO_DOMAIN, DEMO_API_KEY};
use teamline_sim::recorder::{Answer, RecordingServer};

use crate::support::{api_key, contoso, demo_oauth, settings};

async fn recorder() -> RecordingServer {
    RecordingServer::answering(Answer::new(200, r#"{"apiversion":"44.4.0"}"#))
        .await
        .expect("recorder")
}

#[tokio::test]
async fn stored_credentials_are_never_sent_to_another_host_or_domain() {
    let sim = contoso().await;
    let stranger = recorder().await;
    let saved_for = CredentialScope {
        api_base_url: format!("{}/ns-api/v2", sim.base_url),
        domain: CONTOSO_DOMAIN.to_owned(),
    };
    for auth in [api_key(DEMO_API_KEY), demo_oauth()] {
        // Another host: refused before anything is sent.
        let elsewhere = settings(&stranger.base_url, CONTOSO_DOMAIN, auth.clone())
            .credentials_saved_for(saved_for.clone());
        let err = NetSapiensClient::new(elsewhere).unwrap_err();
        assert!(
            matches!(
                err,
                PbxError::CredentialsBoundElsewhere {
                    field: "API base URL",
                    ..
                }
            ),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("enter the credentials again") && !message.contains(DEMO_API_KEY),
            "{message}"
        );
        // The same host with another domain (a reseller key reaches every domain of the
        // reseller): refused too.
        let other_domain = settings(&sim.base_url, "fabrikam", auth.clone())
            .credentials_saved_for(saved_for.clone());
        let err = NetSapiensClient::new(other_domain).unwrap_err();
        assert!(
            matches!(
                err,
                PbxError::CredentialsBoundElsewhere {
                    field: "SIP domain",
                    ..
                }
            ),
            "{err:?}"
        );
        // Where they were saved for (however the URL is spelled), they work.
        let same = settings(&format!("{}/", sim.base_url), CONTOSO_DOMAIN, auth)
            .credentials_saved_for(saved_for.clone());
        assert!(
            NetSapiensClient::new(same)
                .unwrap()
                .test_connection()
                .await
                .ok()
        );
    }
    assert_eq!(stranger.connections(), 0, "{:?}", stranger.requests());
}

#[tokio::test]
async fn the_default_policy_refuses_http_and_internal_hosts() {
    let stranger = recorder().await;
    let port = stranger.base_url.rsplit(':').next().unwrap().to_owned();
    let strict = |url: &str| {
        NetSapiensSettings::new(url, CONTOSO_DOMAIN, api_key(DEMO_API_KEY))
            .network(NetworkPolicy::PUBLIC_HTTPS)
    };
    for literal in [
        stranger.base_url.clone(),
        format!("https://127.0.0.1:{port}"),
        format!("https://[::ffff:127.0.0.1]:{port}"),
        "https://169.254.169.254/latest/meta-data".to_owned(),
        "https://10.0.0.1".to_owned(),
    ] {
        let err = NetSapiensClient::new(strict(&literal)).unwrap_err();
        assert!(
            matches!(
                err,
                PbxError::InvalidSettings {
                    field: "API base URL",
                    ..
                }
            ),
            "{literal}: {err:?}"
        );
    }
    // A host name is checked where it resolves, when connecting: `localhost` passes the URL
    // check but never gets a connection.
    let by_name = NetSapiensClient::new(strict(&format!("https://localhost:{port}"))).unwrap();
    let report = by_name.test_connection().await;
    assert_eq!(report.reachable.status, CheckStatus::Failed);
    assert_eq!(
        report.reachable.message,
        format!(
            "could not reach the PBX API at https://localhost:{port}/ns-api/v2: check the API Base URL in PBX settings and that the PBX is reachable from Teamline"
        )
    );
    assert!(by_name.list_extensions().await.is_err());
    assert_eq!(stranger.connections(), 0, "{:?}", stranger.requests());
}

#[tokio::test]
async fn test_connection_says_no_more_than_could_not_reach_for_what_is_not_a_pbx() {
    let banner = RecordingServer::answering(
        Answer::new(
            200,
            "<html><title>Jenkins</title>internal build server</html>",
        )
        .header("server", "internal-admin/7.1"),
    )
    .await
    .unwrap();
    let refusing = RecordingServer::answering(Answer::new(403, r#"{"message":"go away"}"#))
        .await
        .unwrap();
    let closed = crate::support::closed_port_url().await;
    for url in [&banner.base_url, &refusing.base_url, &closed] {
        let client =
            NetSapiensClient::new(settings(url, CONTOSO_DOMAIN, api_key(DEMO_API_KEY))).unwrap();
        let report = client.test_connection().await;
        assert_eq!(report.reachable.status, CheckStatus::Failed, "{url}");
        assert_eq!(
            report.reachable.message,
            format!(
                "could not reach the PBX API at {url}/ns-api/v2: check the API Base URL in PBX settings and that the PBX is reachable from Teamline"
            )
        );
        let all = format!("{report:?}").replace(url.as_str(), "<url>");
        for leak in [
            "200",
            "403",
            "Jenkins",
            "internal-admin",
            "go away",
            "refused",
        ] {
            assert!(!all.contains(leak), "{url}: '{leak}' in {all}");
        }
        assert_eq!(report.authenticated.status, CheckStatus::Skipped);
    }
    // Only the unauthenticated version probe was sent: no key went to these hosts.
    assert!(banner.authorization_headers().is_empty());
    assert!(refusing.authorization_headers().is_empty());
}
