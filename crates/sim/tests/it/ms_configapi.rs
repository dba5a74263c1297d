//! The Teams admin REST surface (ConfigAPI): tenant voice configuration.

use serde_json::{Value, json};
use teamline_sim::microsoft::{ConsentState, demo};

use crate::ms_common::*;

async fn teams_token(sim: &Sim) -> String {
    sim.app_token_for(
        demo::CONTOSO_TENANT_ID,
        "48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default",
    )
    .await
}

#[tokio::test]
async fn voice_routes_usages_policies_and_dial_plans() {
    let sim = start().await;
    let token = teams_token(&sim).await;
    let (status, policies) = sim
        .get_json(
            &token,
            "/Skype.Policy/configurations/OnlineVoiceRoutingPolicy",
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        policies
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["Identity"] == "Tag:US East 2")
    );

    // a route with an unknown usage is refused
    let route = json!({"Identity": "US Central", "NumberPattern": ".*", "OnlinePstnUsages": ["US Central"], "OnlinePstnGatewayList": ["contoso-usc.sbc.example.net"], "Priority": 1});
    let resp = sim
        .post_json(
            &token,
            "/Skype.Policy/configurations/OnlineVoiceRoute",
            &route,
        )
        .await;
    assert_eq!(resp.status(), 400);

    let usage = sim
        .http
        .put(sim.url("/Skype.Policy/configurations/OnlinePstnUsages/configuration/Global"))
        .bearer_auth(&token)
        .json(&json!({"Usage": {"Add": ["US Central"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(usage.status(), 200);
    assert!(
        usage.json::<Value>().await.unwrap()["Usage"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u == "US Central")
    );
    // the gateway's domain must be verified in the tenant: add and verify the subdomain first
    let graph = sim.graph_token().await;
    sim.post_json(
        &graph,
        "/v1.0/domains",
        &json!({"id": "contoso-usc.sbc.example.net"}),
    )
    .await;
    sim.post_json(
        &graph,
        "/v1.0/domains/contoso-usc.sbc.example.net/verify",
        &json!({}),
    )
    .await;
    let resp = sim
        .post_json(
            &token,
            "/Skype.Policy/configurations/OnlineVoiceRoute",
            &route,
        )
        .await;
    assert_eq!(resp.status(), 201);
    let policy = json!({"Identity": "US Central", "OnlinePstnUsages": ["US Central"]});
    let resp = sim
        .post_json(
            &token,
            "/Skype.Policy/configurations/OnlineVoiceRoutingPolicy",
            &policy,
        )
        .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["Identity"],
        "Tag:US Central"
    );
    let resp = sim
        .post_json(
            &token,
            "/Skype.Policy/configurations/OnlineVoiceRoutingPolicy",
            &policy,
        )
        .await;
    assert_eq!(resp.status(), 409);

    let graph_lookup = sim.get_json(&graph, "/v1.0/admin/teams/policy/getPolicyId(type='OnlineVoiceRoutingPolicy',name='US%20Central')").await;
    assert_eq!(graph_lookup.0, 200);

    let plan = json!({"Identity": "Branch", "NormalizationRules": [{"Name": "ext", "Pattern": "^(\\d{4})$", "Translation": "+1425555$1"}]});
    assert_eq!(
        sim.post_json(&token, "/Skype.Policy/configurations/TenantDialPlan", &plan)
            .await
            .status(),
        201
    );
    let (status, got) = sim
        .get_json(
            &token,
            "/Skype.Policy/configurations/TenantDialPlan/configuration/Branch",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(got["NormalizationRules"][0]["Translation"], "+1425555$1");

    let calling = json!({"Identity": "Voicemail Off", "AllowVoicemail": "AlwaysDisabled"});
    assert_eq!(
        sim.post_json(
            &token,
            "/Skype.Policy/configurations/TeamsCallingPolicy",
            &calling
        )
        .await
        .status(),
        201
    );
    let bad = json!({"Identity": "Odd", "AllowVoicemail": "Sometimes"});
    assert_eq!(
        sim.post_json(
            &token,
            "/Skype.Policy/configurations/TeamsCallingPolicy",
            &bad
        )
        .await
        .status(),
        400
    );

    // grant through the user route
    let lee = demo::contoso_user_id("Lee Gu");
    let resp = sim
        .http
        .patch(sim.url(&format!(
            "/Skype.Policy/users/{lee}/policies/TeamsCallingPolicy"
        )))
        .bearer_auth(&token)
        .json(&json!({"PolicyName": "Voicemail Off"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(
        sim.contoso.teams_state(&lee).unwrap().effective_policies["TeamsCallingPolicy"],
        "Tag:Voicemail Off"
    );
}

#[tokio::test]
async fn gateways_need_a_verified_domain_and_the_api_needs_the_admin_role() {
    let sim = start().await;
    let token = teams_token(&sim).await;
    let gw = json!({"Identity": "sbc.unverified.example", "Fqdn": "sbc.unverified.example", "SipSignalingPort": 5061});
    assert_eq!(
        sim.post_json(
            &token,
            "/Skype.Policy/configurations/OnlinePSTNGateway",
            &gw
        )
        .await
        .status(),
        400
    );
    let (status, tenant) = sim.get_json(&token, "/Teams.Tenant/tenants").await;
    assert_eq!(status, 200);
    assert_eq!(tenant["tenantId"], demo::CONTOSO_TENANT_ID);

    sim.contoso.set_consent(ConsentState {
        granted: true,
        service_principal_roles: Some(vec![]),
        ..Default::default()
    });
    let token = teams_token(&sim).await;
    let (status, err) = sim
        .get_json(&token, "/Skype.Policy/configurations/TenantDialPlan")
        .await;
    assert_eq!(status, 403);
    graph_error_code(&err);
    let graph = sim.graph_token().await;
    let (status, _) = sim
        .get_json(&graph, "/Skype.Policy/configurations/TenantDialPlan")
        .await;
    assert_eq!(status, 401);
}
