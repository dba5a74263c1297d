//! Delta queries: initial round, changes, removals, membership, latest, expiry and reset.

use serde_json::Value;
use teamline_sim::microsoft::{NewUser, UserPatch, demo};

use crate::ms_common::*;

/// Runs one delta round from `url`, returns the items and the deltaLink.
async fn round(sim: &Sim, token: &str, url: &str) -> (Vec<Value>, String) {
    let mut items = Vec::new();
    let mut next = url.to_string();
    loop {
        let resp = sim.http.get(&next).bearer_auth(token).send().await.unwrap();
        assert_eq!(resp.status(), 200, "GET {next}");
        let v: Value = resp.json().await.unwrap();
        items.extend(v["value"].as_array().unwrap().iter().cloned());
        if let Some(d) = v["@odata.deltaLink"].as_str() {
            return (items, d.to_string());
        }
        next = v["@odata.nextLink"]
            .as_str()
            .expect("nextLink or deltaLink")
            .to_string();
    }
}

#[tokio::test]
async fn users_delta_reports_adds_changes_and_removals_only() {
    let sim = start().await;
    sim.sim.seed_generated("deltaco", 450, 10);
    let t = sim.sim.tenant("deltaco").unwrap();
    let token = sim
        .app_token_for(&t.id(), "https://graph.microsoft.com/.default")
        .await;
    let (initial, link) = round(
        &sim,
        &token,
        &sim.url("/v1.0/users/delta?$select=id,userPrincipalName,accountEnabled,assignedPlans"),
    )
    .await;
    assert_eq!(initial.len(), 451);

    let (nothing, link) = round(&sim, &token, &link).await;
    assert!(nothing.is_empty());

    let id = t
        .add_user(NewUser {
            user_principal_name: "fresh@deltaco.example".into(),
            display_name: "Fresh".into(),
            plans: vec![demo::PLAN_MCOEV.into()],
            ..Default::default()
        })
        .unwrap();
    let disabled = demo::generated_user_upn("deltaco", 3);
    t.update_user(
        &disabled,
        UserPatch {
            account_enabled: Some(false),
            ..Default::default()
        },
    )
    .unwrap();
    // a property outside $select does not surface the user
    t.update_user(
        &demo::generated_user_upn("deltaco", 4),
        UserPatch {
            display_name: Some("Renamed".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let soft = demo::generated_user_upn("deltaco", 5);
    let soft_id = t.user_id(&soft).unwrap();
    t.delete_user(&soft, false).unwrap();
    let hard = demo::generated_user_upn("deltaco", 6);
    let hard_id = t.user_id(&hard).unwrap();
    t.delete_user(&hard, true).unwrap();

    let (changes, link) = round(&sim, &token, &link).await;
    assert_eq!(changes.len(), 4, "{changes:?}");
    assert!(
        changes
            .iter()
            .any(|c| c["id"] == id.as_str() && c["userPrincipalName"] == "fresh@deltaco.example")
    );
    assert!(
        changes
            .iter()
            .any(|c| c["userPrincipalName"] == disabled.as_str() && c["accountEnabled"] == false)
    );
    assert!(
        changes
            .iter()
            .any(|c| c["id"] == soft_id.as_str() && c["@removed"]["reason"] == "changed")
    );
    assert!(
        changes
            .iter()
            .any(|c| c["id"] == hard_id.as_str() && c["@removed"]["reason"] == "deleted")
    );

    // expired tokens: 400 syncStateNotFound
    t.expire_delta_tokens();
    let resp = sim.get(&token, &link.replace(sim.run.base_url(), "")).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        graph_error_code(&resp.json().await.unwrap()),
        "syncStateNotFound"
    );

    // reset: 410 Gone with a Location to start over
    let (_, link) = round(&sim, &token, &sim.url("/v1.0/users/delta?$select=id")).await;
    t.reset_delta_tokens();
    let resp = sim.get(&token, &link.replace(sim.run.base_url(), "")).await;
    assert_eq!(resp.status(), 410);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(location.contains("/v1.0/users/delta?"));
    let (again, _) = round(&sim, &token, &location).await;
    assert_eq!(again.len(), t.user_count());
}

#[tokio::test]
async fn delta_latest_starts_from_now() {
    let sim = start().await;
    let token = sim.graph_token().await;
    let resp: Value = sim
        .get_json(&token, "/v1.0/users/delta?$deltatoken=latest")
        .await
        .1;
    assert!(resp["value"].as_array().unwrap().is_empty());
    let link = resp["@odata.deltaLink"].as_str().unwrap().to_string();
    sim.contoso
        .update_user(
            "AdeleV@contoso.example",
            UserPatch {
                display_name: Some("Adele V.".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let (changes, _) = round(&sim, &token, &link).await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["displayName"], "Adele V.");
}

#[tokio::test]
async fn groups_delta_reports_membership_changes() {
    let sim = start().await;
    let token = sim.graph_token().await;
    let gid = demo::contoso_group_id(demo::SYNC_GROUP);
    let url = sim.url(&format!(
        "/v1.0/groups/delta?$filter=id%20eq%20'{gid}'&$select=displayName,members"
    ));
    let (initial, link) = round(&sim, &token, &url).await;
    assert_eq!(initial.len(), 1);
    let members = initial[0]["members@delta"].as_array().unwrap();
    assert!(
        members
            .iter()
            .any(|m| m["@odata.type"] == "#microsoft.graph.group"
                && m["id"] == demo::contoso_group_id("Sales"))
    );

    sim.contoso
        .add_group_member(demo::SYNC_GROUP, "IrvinS@contoso.example")
        .unwrap();
    sim.contoso
        .remove_group_member(demo::SYNC_GROUP, "AdeleV@contoso.example")
        .unwrap();
    sim.contoso
        .add_group_member("Sales", "LeeG@contoso.example")
        .unwrap(); // another group: not reported
    let (changes, _) = round(&sim, &token, &link).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    let delta = changes[0]["members@delta"].as_array().unwrap();
    assert_eq!(delta.len(), 2);
    let irvin = demo::contoso_user_id("Irvin Sayers");
    let adele = demo::contoso_user_id("Adele Vance");
    assert!(
        delta
            .iter()
            .any(|m| m["id"] == irvin.as_str() && m.get("@removed").is_none())
    );
    assert!(
        delta
            .iter()
            .any(|m| m["id"] == adele.as_str() && m["@removed"]["reason"] == "deleted")
    );
}
