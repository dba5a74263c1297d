//! PBX location settings stored by Teamline, checked with Test connection against the
//! simulated PBX: each kind of bad setting gets its own message, never an HTTP dump.

use teamline::commands::demo::{DemoArgs, DemoStack};
use teamline_domain::audit::Actor;
use teamline_domain::pbx_location::PbxLocationForm;

fn form(api_base_url: &str, sip_domain: &str, api_key: &str) -> PbxLocationForm {
    PbxLocationForm {
        name: "PBX".into(),
        pbx_type: "netsapiens".into(),
        dns_lookup: "srv".into(),
        sip_domain: sip_domain.into(),
        proxy: "sbc.pbx.example".into(),
        voicemail_code: "9901".into(),
        api_base_url: api_base_url.into(),
        api_auth: "api_key".into(),
        api_key: api_key.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_connection_names_each_bad_setting() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let args = DemoArgs {
        data_dir: dir.path().join("demo"),
        listen: "127.0.0.1:0".parse().unwrap(),
        fresh: false,
    };
    let stack = DemoStack::start(&args).await.unwrap();
    let e = stack.contoso.id;
    let store = stack.engine.store();
    let location = store.list_pbx_locations(e).await.unwrap()[0].id;
    let good_url = format!("{}/ns-api/v2", stack.pbx.base_url);
    let admin = Actor::System("test".into());

    let report = stack.engine.test_pbx_connection(e, location).await.unwrap();
    assert!(report.ok(), "{:?}", report.first_failure());

    let cases = [
        (
            form("http://127.0.0.1:9/ns-api/v2", "contoso", "nsk_x"),
            "could not reach the PBX API",
        ),
        (
            form(&good_url, "contoso", "wrong-key-123"),
            "rejected the API key",
        ),
        (
            form(
                &good_url,
                "unknown-domain",
                teamline_sim::netsapiens::DEMO_API_KEY,
            ),
            "domain unknown-domain does not exist",
        ),
    ];
    for (bad, expected) in cases {
        stack
            .engine
            .update_pbx_location(e, &admin, location, &bad)
            .await
            .unwrap();
        let report = stack.engine.test_pbx_connection(e, location).await.unwrap();
        let problem = report.first_failure().unwrap_or_default().to_owned();
        assert!(
            problem.contains(expected),
            "expected '{expected}', got '{problem}'"
        );
        assert!(
            !problem.contains("HTTP/1.1") && !problem.contains("<html"),
            "{problem}"
        );
        assert!(
            !problem.contains("wrong-key-123"),
            "the key must not be echoed: {problem}"
        );
    }
    stack.stop().await.unwrap();
}
