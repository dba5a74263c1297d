//! The Microsoft simulator's control API over HTTP (`/_sim/tenants/...`), as another process
//! (a benchmark, `teamline sim`'s users) drives it.

use reqwest::Response;
use serde_json::{Value, json};

use crate::ms_common::{Sim, start};

async fn send(resp: reqwest::RequestBuilder) -> (u16, Value) {
    let resp: Response = resp.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn display_name(sim: &Sim, token: &str, upn: &str) -> Value {
    sim.get_json(token, &format!("/v1.0/users/{upn}")).await.1["displayName"].clone()
}

#[tokio::test]
async fn an_unknown_tenant_answers_404_before_anything_happens() {
    let sim = start().await;
    let (status, body) = send(sim.http.get(sim.url("/_sim/tenants/nowhere/faults"))).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "no simulated tenant 'nowhere'");
    let (status, _) = send(
        sim.http
            .patch(sim.url("/_sim/tenants/nowhere/users/AdeleV@contoso.example"))
            .json(&json!({"displayName": "x"})),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn users_groups_and_domains_change_over_http() {
    let sim = start().await;
    let token = sim.graph_token().await;
    let adele = "AdeleV@contoso.example";

    let (status, _) = send(
        sim.http
            .patch(sim.url(&format!("/_sim/tenants/Contoso/users/{adele}")))
            .json(&json!({"displayName": "Adele V."})),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(display_name(&sim, &token, adele).await, "Adele V.");

    let (status, body) = send(
        sim.http
            .patch(sim.url("/_sim/tenants/Contoso/users/nobody@contoso.example"))
            .json(&json!({"displayName": "x"})),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        body["error"],
        "no user 'nobody@contoso.example' in this simulated tenant"
    );

    let (status, _) = send(
        sim.http
            .post(sim.url("/_sim/tenants/Contoso/users"))
            .json(&json!({"userPrincipalName": adele})),
    )
    .await;
    assert_eq!(status, 409);

    let irvin = "IrvinS@contoso.example";
    let members = sim.url("/_sim/tenants/Contoso/groups/Sales/members");
    let (status, body) = send(sim.http.post(&members).json(&json!({ "id": irvin }))).await;
    assert_eq!((status, body), (200, json!({"added": true})));
    let (_, body) = send(sim.http.delete(format!("{members}/{irvin}"))).await;
    assert_eq!(body, json!({"removed": true}));
    let (_, body) = send(sim.http.delete(format!("{members}/{irvin}"))).await;
    assert_eq!(body, json!({"removed": false}));
    let (status, _) = send(
        sim.http
            .post(sim.url("/_sim/tenants/Contoso/groups/Nobody/members"))
            .json(&json!({ "id": irvin })),
    )
    .await;
    assert_eq!(status, 404);

    let before = sim.contoso.user_count();
    let (status, _) = send(
        sim.http
            .delete(sim.url(&format!("/_sim/tenants/Contoso/users/{irvin}?hard=true"))),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(sim.contoso.user_count(), before - 1);

    let publish = |domain: &str| {
        sim.http.post(sim.url(&format!(
            "/_sim/tenants/Contoso/domains/{domain}/publish-dns"
        )))
    };
    assert_eq!(send(publish("contoso.example")).await.0, 204);
    assert_eq!(send(publish("elsewhere.example")).await.0, 404);

    let (status, stats) = send(sim.http.get(sim.url("/_sim/tenants/Contoso/stats"))).await;
    assert_eq!(status, 200);
    // The one Graph read above; control calls are not the client's traffic.
    assert_eq!(stats["requests"], 1, "{stats}");
}
