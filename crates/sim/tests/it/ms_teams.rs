//! Teams administration: number assignment with operations, invariants, policies, read-back.

use std::time::Duration;

use reqwest::Response;
use serde_json::{Value, json};
use teamline_sim::microsoft::{EntityShape, SimConfig, demo};

use crate::ms_common::*;

const ASSIGN: &str = "/v1.0/admin/teams/telephoneNumberManagement/numberAssignments/assignNumber";
const UNASSIGN: &str =
    "/v1.0/admin/teams/telephoneNumberManagement/numberAssignments/unassignNumber";

async fn assign(sim: &Sim, token: &str, number: &str, user: &str) -> Response {
    sim.post_json(token, ASSIGN, &json!({"telephoneNumber": number, "assignmentTargetId": user, "numberType": "directRouting", "assignmentCategory": "primary"}))
        .await
}

/// Polls the operation once; returns the operation object (unwrapping the documented `value`).
async fn poll(sim: &Sim, token: &str, location: &str) -> Value {
    let resp = sim
        .http
        .get(location)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    if v.get("value").is_some() {
        v["value"].clone()
    } else {
        v
    }
}

async fn user_config(sim: &Sim, token: &str, user: &str) -> Value {
    let (status, v) = sim
        .get_json(
            token,
            &format!("/v1.0/admin/teams/userConfigurations/{user}"),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    if v.get("value").is_some() {
        v["value"].clone()
    } else {
        v
    }
}

#[tokio::test]
async fn assigning_a_number_turns_enterprise_voice_on_and_unassigning_off() {
    let sim = start().await;
    let token = sim.graph_token().await;
    let adele = demo::contoso_user_id("Adele Vance");
    let resp = assign(&sim, &token, "11000", &adele).await;
    assert_eq!(resp.status(), 202);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.contains("/v1.0/admin/teams/telephoneNumberManagement/operations('"),
        "{location}"
    );
    let op = poll(&sim, &token, &location).await;
    assert_eq!(op["status"], "succeeded");
    assert_eq!(op["numbers"][0]["status"], "succeeded");

    let cfg = user_config(&sim, &token, &adele).await;
    assert_eq!(cfg["isEnterpriseVoiceEnabled"], true);
    assert_eq!(cfg["telephoneNumbers"][0]["telephoneNumber"], "+11000");
    assert_eq!(cfg["accountType"], "user");
    assert!(
        cfg["featureTypes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "PhoneSystem")
    );

    let (_, list) = sim
        .get_json(&token, "/v1.0/admin/teams/telephoneNumberManagement/numberAssignments?$filter=telephoneNumber%20eq%20'%2B11000'")
        .await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    assert_eq!(list["value"][0]["assignmentTargetId"], adele.as_str());
    assert_eq!(list["value"][0]["assignmentStatus"], "userAssigned");

    // idempotent: assigning the same number to the same user again succeeds
    let again = assign(&sim, &token, "+11000", &adele).await;
    let op = poll(&sim, &token, again.headers()["location"].to_str().unwrap()).await;
    assert_eq!(op["status"], "succeeded");

    let resp = sim
        .post_json(
            &token,
            UNASSIGN,
            &json!({"telephoneNumber": "+11000", "numberType": "directRouting"}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let op = poll(&sim, &token, resp.headers()["location"].to_str().unwrap()).await;
    assert_eq!(op["status"], "succeeded");
    let cfg = user_config(&sim, &token, &adele).await;
    assert_eq!(cfg["isEnterpriseVoiceEnabled"], false);
    assert!(cfg["telephoneNumbers"].as_array().unwrap().is_empty());
    assert_eq!(sim.contoso.write_counts()[&adele], 3);
}

#[tokio::test]
async fn assignment_invariants_fail_the_operation_with_a_status_detail() {
    let sim = start().await;
    let token = sim.graph_token().await;
    let christie = demo::contoso_user_id("Christie Cline");
    let op = poll(
        &sim,
        &token,
        assign(&sim, &token, "+11016", &christie).await.headers()["location"]
            .to_str()
            .unwrap(),
    )
    .await;
    assert_eq!(op["status"], "failed");
    assert!(
        op["numbers"][0]["statusDetail"]
            .as_str()
            .unwrap()
            .contains("Teams Phone")
    );

    let alex = demo::contoso_user_id("Alex Wilber");
    let op = poll(
        &sim,
        &token,
        assign(&sim, &token, demo::MAIN_LINE_NUMBER, &alex)
            .await
            .headers()["location"]
            .to_str()
            .unwrap(),
    )
    .await;
    assert_eq!(op["status"], "failed");
    assert!(
        op["numbers"][0]["statusDetail"]
            .as_str()
            .unwrap()
            .contains("already assigned")
    );
    assert!(sim.contoso.teams_state(&alex).unwrap().numbers.is_empty());

    let bad = assign(&sim, &token, "not-a-number", &alex).await;
    assert_eq!(bad.status(), 400);
    graph_error_code(&bad.json().await.unwrap());
}

#[tokio::test]
async fn operations_can_stay_running_or_fail() {
    let sim = start().await;
    let token = sim.graph_token().await;
    let diego = demo::contoso_user_id("Diego Siciliani");
    sim.contoso.set_operation_running_polls(2);
    let loc = assign(&sim, &token, "+11002", &diego).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(poll(&sim, &token, &loc).await["status"], "running");
    let (_, list) = sim
        .get_json(
            &token,
            "/v1.0/admin/teams/telephoneNumberManagement/numberAssignments",
        )
        .await;
    assert!(
        list["value"].as_array().unwrap().iter().any(
            |n| n["telephoneNumber"] == "+11002" && n["activationState"] == "assignmentPending"
        )
    );
    assert_eq!(poll(&sim, &token, &loc).await["status"], "running");
    assert_eq!(poll(&sim, &token, &loc).await["status"], "succeeded");
    assert!(
        sim.contoso
            .teams_state(&diego)
            .unwrap()
            .enterprise_voice_enabled
    );

    sim.contoso.set_operation_running_polls(0);
    sim.contoso
        .set_operation_failure(Some("Simulated backend failure"));
    let grady = demo::contoso_user_id("Grady Archie");
    let op = poll(
        &sim,
        &token,
        assign(&sim, &token, "+11003", &grady).await.headers()["location"]
            .to_str()
            .unwrap(),
    )
    .await;
    assert_eq!(op["status"], "failed");
    assert_eq!(
        op["numbers"][0]["statusDetail"],
        "Simulated backend failure"
    );
}

#[tokio::test]
async fn flat_entity_shape_is_available() {
    let sim = start_with(SimConfig {
        entity_shape: EntityShape::Flat,
        ..Default::default()
    })
    .await;
    let token = sim.graph_token().await;
    let (_, v) = sim
        .get_json(
            &token,
            &format!(
                "/v1.0/admin/teams/userConfigurations/{}",
                demo::contoso_user_id("Lee Gu")
            ),
        )
        .await;
    assert!(v.get("value").is_none());
    assert_eq!(v["userPrincipalName"], "LeeG@contoso.example");
}

#[tokio::test]
async fn policies_resolve_by_name_and_take_effect_after_propagation() {
    let sim = start().await;
    let token = sim.graph_token().await;
    let (status, v) = sim.get_json(&token, "/v1.0/admin/teams/policy/getPolicyId(type='OnlineVoiceRoutingPolicy',name='US%20East%202')").await;
    assert_eq!(status, 200);
    assert_eq!(v["value"][0]["name"], "Tag:US East 2");
    let policy_id = v["value"][0]["policyId"].as_str().unwrap().to_string();

    let (status, err) = sim
        .get_json(
            &token,
            "/v1.0/admin/teams/policy/getPolicyId(type='OnlineVoiceRoutingPolicy',name='Mars')",
        )
        .await;
    assert_eq!(status, 404);
    graph_error_code(&err);

    sim.contoso.set_propagation_delay(Duration::from_secs(3600));
    let megan = demo::contoso_user_id("Megan Bowen");
    let body = json!({"value": [{"@odata.type": "#microsoft.graph.teamsAdministration.teamsPolicyUserAssignment", "userId": megan, "policyType": "OnlineVoiceRoutingPolicy", "policyId": policy_id}]});
    let resp = sim
        .post_json(
            &token,
            "/v1.0/admin/teams/policy/userAssignments/assign",
            &body,
        )
        .await;
    assert_eq!(resp.status(), 204);
    let cfg = user_config(&sim, &token, &megan).await;
    assert!(
        cfg["effectivePolicyAssignments"]
            .as_array()
            .unwrap()
            .is_empty(),
        "still propagating: {cfg}"
    );
    assert_eq!(
        sim.contoso.teams_state(&megan).unwrap().pending_policies["OnlineVoiceRoutingPolicy"],
        "Tag:US East 2"
    );

    sim.contoso.flush_propagation();
    let cfg = user_config(&sim, &token, &megan).await;
    let p = &cfg["effectivePolicyAssignments"][0];
    assert_eq!(p["policyType"], "OnlineVoiceRoutingPolicy");
    assert_eq!(p["policyAssignment"]["displayName"], "US East 2");
    assert_eq!(p["policyAssignment"]["policyId"], policy_id.as_str());

    sim.contoso.set_propagation_delay(Duration::ZERO);
    let body = json!({"value": [{"userId": megan, "policyType": "OnlineVoiceRoutingPolicy"}]});
    let resp = sim
        .post_json(
            &token,
            "/v1.0/admin/teams/policy/userAssignments/unassign",
            &body,
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert!(
        user_config(&sim, &token, &megan).await["effectivePolicyAssignments"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let bad =
        json!({"value": [{"userId": megan, "policyType": "TenantDialPlan", "policyId": "nope"}]});
    assert_eq!(
        sim.post_json(
            &token,
            "/v1.0/admin/teams/policy/userAssignments/assign",
            &bad
        )
        .await
        .status(),
        400
    );
}

/// Graph's `assign` takes a list: one request (one against the throttle budget) changes every
/// listed user, and a list naming an unknown user changes nobody.
#[tokio::test]
async fn one_assign_request_grants_a_policy_to_a_list_of_users() {
    let sim = start().await;
    let token = sim.graph_token().await;
    let (_, v) = sim.get_json(&token, "/v1.0/admin/teams/policy/getPolicyId(type='OnlineVoiceRoutingPolicy',name='US%20East%202')").await;
    let policy_id = v["value"][0]["policyId"].as_str().unwrap().to_string();
    let users: Vec<String> = ["Megan Bowen", "Lee Gu", "Lidia Holloway"]
        .into_iter()
        .map(demo::contoso_user_id)
        .collect();
    let item = |user: &str| json!({"@odata.type": "#microsoft.graph.teamsAdministration.teamsPolicyUserAssignment", "userId": user, "policyType": "OnlineVoiceRoutingPolicy", "policyId": policy_id});
    let assign = "/v1.0/admin/teams/policy/userAssignments/assign";

    let mut with_stranger: Vec<Value> = users.iter().map(|u| item(u)).collect();
    with_stranger.push(item("00000000-0000-0000-0000-000000000000"));
    let resp = sim
        .post_json(&token, assign, &json!({ "value": with_stranger }))
        .await;
    assert_eq!(resp.status(), 404);
    for user in &users {
        let cfg = user_config(&sim, &token, user).await;
        assert!(
            cfg["effectivePolicyAssignments"]
                .as_array()
                .unwrap()
                .is_empty(),
            "nobody of a refused list is changed: {cfg}"
        );
    }
    let empty = sim.post_json(&token, assign, &json!({ "value": [] })).await;
    assert_eq!(empty.status(), 400);

    sim.contoso.reset_request_stats();
    let writes_before: u64 = sim.contoso.write_counts().values().sum();
    let list: Vec<Value> = users.iter().map(|u| item(u)).collect();
    let resp = sim
        .post_json(&token, assign, &json!({ "value": list }))
        .await;
    assert_eq!(resp.status(), 204);
    let stats = sim.contoso.request_stats();
    assert_eq!((stats.requests, stats.accepted_writes), (1, 1), "{stats:?}");
    let writes_after: u64 = sim.contoso.write_counts().values().sum();
    assert_eq!(
        writes_after - writes_before,
        3,
        "one change per listed user"
    );
    for user in &users {
        let cfg = user_config(&sim, &token, user).await;
        assert_eq!(
            cfg["effectivePolicyAssignments"][0]["policyAssignment"]["displayName"],
            "US East 2"
        );
    }
}

#[tokio::test]
async fn user_configurations_list_and_missing_users() {
    let sim = start().await;
    let token = sim.graph_token().await;
    let (all, _) = sim
        .get_all(&token, "/v1.0/admin/teams/userConfigurations?$top=5")
        .await;
    assert!(all.iter().any(|u| u["accountType"] == "resourceAccount" && u["isEnterpriseVoiceEnabled"] == true));
    let (status, err) = sim
        .get_json(
            &token,
            "/v1.0/admin/teams/userConfigurations/00000000-0000-0000-0000-000000000000",
        )
        .await;
    assert_eq!(status, 404);
    graph_error_code(&err);
}
