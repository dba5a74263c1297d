//! The simulator's HTTP control surface, as a demo or an out-of-process test would use it.

use serde_json::{Value, json};
use teamline_pbx::Pbx;
use teamline_sim::netsapiens::{CONTOSO_DOMAIN, DEMO_API_KEY};

use crate::support::{api_key, client, client_with, contoso, settings};

#[tokio::test]
async fn faults_seeds_and_stats_can_be_driven_over_http() {
    let sim = contoso().await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let control = |path: &str| format!("{}/_sim/netsapiens/{path}", sim.base_url);

    let resp = http
        .put(control("faults"))
        .json(&json!({ "fail_next": 1, "fail_status": 502 }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let pbx = client(&sim);
    assert_eq!(pbx.list_devices("1000").await.unwrap().len(), 2);

    let stats: Value = http
        .get(control("stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"], json!(2), "{stats}");

    let resp = http
        .put(control("faults"))
        .json(&json!({ "no_such_fault": 1 }))
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_client_error(),
        "unknown fault names are refused"
    );

    let resp = http
        .post(control("seed/generated"))
        .json(&json!({ "domain": "acme", "extensions": 1500 }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let acme = client_with(settings(&sim.base_url, "acme", api_key(DEMO_API_KEY)));
    assert_eq!(acme.list_extensions().await.unwrap().len(), 1500);

    let resp = http
        .put(control(&format!(
            "domains/{CONTOSO_DOMAIN}/emergency-address-required"
        )))
        .json(&json!({ "required": false }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let created = pbx
        .create_device(
            "1008",
            teamline_pbx::NewDevice {
                auth_id: "1008tm".into(),
                sip_password: None,
                emergency_address_id: None,
            },
        )
        .await;
    assert!(created.is_ok(), "{created:?}");

    let resp = http.delete(control("faults")).send().await.unwrap();
    assert!(resp.status().is_success());
}
