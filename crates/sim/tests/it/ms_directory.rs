//! Graph directory: users, groups, membership, paging, filters, batch, auth and throttling.

use serde_json::{Value, json};
use teamline_sim::microsoft::{ConsentState, demo};

use crate::ms_common::*;

fn upns(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|u| {
            u["userPrincipalName"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn users_page_with_opaque_skiptokens_and_filters() {
    let sim = start().await;
    let token = sim.graph_token().await;
    let (all, pages) = sim
        .get_all(
            &token,
            "/v1.0/users?$top=5&$select=id,userPrincipalName,accountEnabled",
        )
        .await;
    assert_eq!(all.len(), sim.contoso.user_count());
    assert_eq!(pages, all.len().div_ceil(5));
    assert!(
        all[0].get("displayName").is_none(),
        "$select must trim properties"
    );

    let (_, one) = sim
        .get_json(
            &token,
            "/v1.0/users?$filter=userPrincipalName%20eq%20'meganb@contoso.example'",
        )
        .await;
    assert_eq!(
        upns(one["value"].as_array().unwrap()),
        vec!["MeganB@contoso.example"]
    );

    let (_, starts) = sim
        .get_json(&token, "/v1.0/users?$filter=startswith(displayName,'Ad')")
        .await;
    assert_eq!(
        upns(starts["value"].as_array().unwrap()),
        vec!["AdeleV@contoso.example"]
    );

    let (_, disabled) = sim
        .get_json(
            &token,
            "/v1.0/users?$filter=accountEnabled%20eq%20false&$select=userPrincipalName",
        )
        .await;
    let disabled = upns(disabled["value"].as_array().unwrap());
    assert!(disabled.contains(&"EnricoC@contoso.example".to_string()));
    assert!(disabled.contains(&demo::MAIN_LINE_UPN.to_string()));

    let (_, guests) = sim
        .get_json(&token, "/v1.0/users?$filter=userType%20eq%20'Guest'")
        .await;
    assert_eq!(guests["value"].as_array().unwrap().len(), 1);

    let (status, err) = sim.get_json(&token, "/v1.0/users?$top=1000").await;
    assert_eq!(status, 400);
    assert_eq!(graph_error_code(&err), "Request_BadRequest");

    let (status, err) = sim.get_json(&token, "/v1.0/users?$count=true").await;
    assert_eq!(status, 400);
    graph_error_code(&err);
    let counted: Value =
        sim.http
            .get(sim.url(
                "/v1.0/users?$count=true&$filter=endswith(userPrincipalName,'@contoso.example')",
            ))
            .bearer_auth(&token)
            .header("ConsistencyLevel", "eventual")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert!(counted["@odata.count"].as_u64().unwrap() >= 20);

    let (status, err) = sim
        .get_json(&token, "/v1.0/users?$filter=shoeSize%20eq%2042")
        .await;
    assert_eq!(status, 400);
    assert_eq!(graph_error_code(&err), "Request_UnsupportedQuery");
}

#[tokio::test]
async fn a_user_reads_by_id_or_upn_with_licences() {
    let sim = start().await;
    let token = sim.graph_token().await;
    let adele = demo::contoso_user_id("Adele Vance");
    let (status, by_id) = sim
        .get_json(
            &token,
            &format!("/v1.0/users/{adele}?$select=id,assignedPlans,accountEnabled"),
        )
        .await;
    assert_eq!(status, 200);
    let plans = by_id["assignedPlans"].as_array().unwrap();
    assert!(
        plans
            .iter()
            .any(|p| p["servicePlanId"] == demo::PLAN_MCOEV && p["capabilityStatus"] == "Enabled")
    );
    let (_, by_upn) = sim
        .get_json(&token, "/v1.0/users/AdeleV@contoso.example")
        .await;
    assert_eq!(by_upn["id"], adele);
    let (status, err) = sim
        .get_json(&token, "/v1.0/users/nobody@contoso.example")
        .await;
    assert_eq!(status, 404);
    assert_eq!(graph_error_code(&err), "Request_ResourceNotFound");
}

#[tokio::test]
async fn sync_group_transitive_members_include_nested_sales() {
    let sim = start().await;
    let token = sim.graph_token().await;
    let (_, groups) = sim
        .get_json(
            &token,
            "/v1.0/groups?$filter=displayName%20eq%20'Teammate%20Sync'&$select=id,displayName",
        )
        .await;
    let gid = groups["value"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(gid, demo::contoso_group_id(demo::SYNC_GROUP));

    let (users, _) = sim.get_all(&token, &format!("/v1.0/groups/{gid}/transitiveMembers/microsoft.graph.user?$select=id,userPrincipalName&$top=999")).await;
    let names = upns(&users);
    assert_eq!(names.len(), 19, "{names:?}");
    for n in demo::CONTOSO_LICENSED_USERS {
        assert!(
            names.contains(&demo::upn_for(n, demo::CONTOSO_DOMAIN)),
            "{n}"
        );
    }
    assert!(!names.contains(&"IrvinS@contoso.example".to_string()));

    let (direct, _) = sim
        .get_all(&token, &format!("/v1.0/groups/{gid}/members"))
        .await;
    assert!(
        direct
            .iter()
            .any(|m| m["@odata.type"] == "#microsoft.graph.group" && m["displayName"] == "Sales")
    );
    assert!(
        !direct
            .iter()
            .any(|m| m["userPrincipalName"] == "MeganB@contoso.example")
    );

    let megan = demo::contoso_user_id("Megan Bowen");
    let (_, of) = sim
        .get_json(&token, &format!("/v1.0/users/{megan}/transitiveMemberOf"))
        .await;
    let names: Vec<&str> = of["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["displayName"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Sales")
            && names.contains(&"Teammate Sync")
            && names.contains(&"All Company")
    );
    let (_, direct_of) = sim
        .get_json(&token, &format!("/v1.0/users/{megan}/memberOf"))
        .await;
    assert!(
        !direct_of["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["displayName"] == "Teammate Sync")
    );
}

#[tokio::test]
async fn large_group_lists_in_pages_of_999() {
    let sim = start().await;
    let big = sim.sim.seed_generated("bigco", 20_500, 20_000);
    let token = sim
        .app_token_for(&big.id(), "https://graph.microsoft.com/.default")
        .await;
    let gid = big.group_id(demo::SYNC_GROUP).unwrap();
    let (users, pages) = sim
        .get_all(&token, &format!("/v1.0/groups/{gid}/transitiveMembers/microsoft.graph.user?$select=id,userPrincipalName,assignedPlans&$top=999"))
        .await;
    assert_eq!(users.len(), 20_000);
    assert_eq!(pages, 21);
    assert_eq!(
        users[0]["userPrincipalName"],
        demo::generated_user_upn("bigco", 0)
    );
}

#[tokio::test]
async fn tokens_are_checked_and_permissions_enforced() {
    let sim = start().await;
    let (status, err) = sim.get_json("", "/v1.0/users").await;
    assert_eq!(status, 401);
    assert_eq!(graph_error_code(&err), "InvalidAuthenticationToken");
    let (status, _) = sim.get_json("not.a.token", "/v1.0/users").await;
    assert_eq!(status, 401);
    let teams_token = sim
        .app_token_for(
            demo::CONTOSO_TENANT_ID,
            "48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default",
        )
        .await;
    let (status, err) = sim.get_json(&teams_token, "/v1.0/users").await;
    assert_eq!(status, 401);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("audience")
    );

    sim.contoso.set_consent(ConsentState {
        granted: true,
        graph_roles: Some(vec!["User.Read.All".into()]),
        ..Default::default()
    });
    let token = sim.graph_token().await;
    assert_eq!(sim.get_json(&token, "/v1.0/users").await.0, 200);
    let (status, err) = sim
        .get_json(&token, "/v1.0/admin/teams/userConfigurations")
        .await;
    assert_eq!(status, 403);
    assert_eq!(graph_error_code(&err), "Authorization_RequestDenied");
    let (status, _) = sim.get_json(&token, "/v1.0/groups").await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn throttling_is_per_tenant_with_exact_retry_after() {
    let sim = start().await;
    let other = sim.sim.seed_generated("otherco", 10, 5);
    let token = sim.graph_token().await;
    let other_token = sim
        .app_token_for(&other.id(), "https://graph.microsoft.com/.default")
        .await;
    sim.contoso.set_throttle_budget(Some(3));
    for _ in 0..3 {
        assert_eq!(sim.get(&token, "/v1.0/organization").await.status(), 200);
    }
    let limited = sim.get(&token, "/v1.0/organization").await;
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=10).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        graph_error_code(&limited.json().await.unwrap()),
        "TooManyRequests"
    );
    // another tenant is not affected
    for _ in 0..5 {
        assert_eq!(
            sim.get(&other_token, "/v1.0/organization").await.status(),
            200
        );
    }
    // batch items are throttled one by one
    let batch = sim
        .post_json(
            &token,
            "/v1.0/$batch",
            &json!({"requests": [{"id": "1", "method": "GET", "url": "/organization"}]}),
        )
        .await;
    assert_eq!(batch.status(), 200);
    let body: Value = batch.json().await.unwrap();
    assert_eq!(body["responses"][0]["status"], 429);
    assert!(body["responses"][0]["headers"]["Retry-After"].is_string());
}

#[tokio::test]
async fn injected_errors_and_control_api_over_http() {
    let sim = start().await;
    let token = sim.graph_token().await;
    let r = sim
        .http
        .patch(sim.url("/_sim/tenants/contoso.example/faults"))
        .json(&json!({"injectErrors": {"status": 503, "remaining": 1, "retryAfter": 2}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let failed = sim.get(&token, "/v1.0/users").await;
    assert_eq!(failed.status(), 503);
    assert_eq!(failed.headers()["retry-after"], "2");
    assert_eq!(sim.get(&token, "/v1.0/users").await.status(), 200);

    let added: Value = sim
        .http
        .post(sim.url("/_sim/tenants/Contoso/users"))
        .json(
            &json!({"userPrincipalName": "NewN@contoso.example", "displayName": "New Newman",
                      "plans": [demo::PLAN_TEAMS1, demo::PLAN_MCOEV], "groups": ["Teammate Sync"]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = added["id"].as_str().unwrap();
    let (_, user) = sim.get_json(&token, &format!("/v1.0/users/{id}")).await;
    assert_eq!(user["displayName"], "New Newman");
    let state: Value = sim
        .http
        .get(sim.url(&format!(
            "/_sim/tenants/{}/users/{id}/teams",
            demo::CONTOSO_TENANT_ID
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["enterpriseVoiceEnabled"], false);
    let tenants: Value = sim
        .http
        .get(sim.url("/_sim/tenants"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tenants.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn batch_answers_each_request() {
    let sim = start().await;
    let token = sim.graph_token().await;
    let adele = demo::contoso_user_id("Adele Vance");
    let body = json!({"requests": [
        {"id": "1", "method": "GET", "url": format!("/users/{adele}?$select=id,displayName")},
        {"id": "2", "method": "GET", "url": "/users/nobody@contoso.example"},
        {"id": "3", "method": "GET", "url": "/groups?$select=displayName", "dependsOn": ["1"]},
    ]});
    let resp = sim.post_json(&token, "/v1.0/$batch", &body).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    let by_id = |id: &str| {
        v["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id("1")["status"], 200);
    assert_eq!(by_id("1")["body"]["displayName"], "Adele Vance");
    assert_eq!(by_id("2")["status"], 404);
    assert_eq!(
        by_id("2")["body"]["error"]["code"],
        "Request_ResourceNotFound"
    );
    assert_eq!(by_id("3")["status"], 200);

    let too_many: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/organization"}))
        .collect();
    let resp = sim
        .post_json(&token, "/v1.0/$batch", &json!({"requests": too_many}))
        .await;
    assert_eq!(resp.status(), 400);
    graph_error_code(&resp.json().await.unwrap());
}

#[tokio::test]
async fn domains_are_added_and_verified() {
    let sim = start().await;
    let token = sim.graph_token().await;
    let created = sim
        .post_json(
            &token,
            "/v1.0/domains",
            &json!({"id": "cust0042.sbc.example.net"}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let d: Value = created.json().await.unwrap();
    assert_eq!(d["isVerified"], false);
    let (_, records) = sim
        .get_json(
            &token,
            "/v1.0/domains/cust0042.sbc.example.net/verificationDnsRecords",
        )
        .await;
    let txt = records["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["recordType"] == "Txt")
        .unwrap();
    assert!(txt["text"].as_str().unwrap().starts_with("MS=ms"));
    let verified = sim
        .post_json(
            &token,
            "/v1.0/domains/cust0042.sbc.example.net/verify",
            &json!({}),
        )
        .await;
    assert_eq!(verified.status(), 200);
    assert_eq!(verified.json::<Value>().await.unwrap()["isVerified"], true);

    sim.contoso
        .update_faults(|f| f.require_dns_for_domain_verification = true);
    sim.post_json(
        &token,
        "/v1.0/domains",
        &json!({"id": "cust0043.sbc.example.net"}),
    )
    .await;
    let refused = sim
        .post_json(
            &token,
            "/v1.0/domains/cust0043.sbc.example.net/verify",
            &json!({}),
        )
        .await;
    assert_eq!(refused.status(), 400);
    sim.contoso.publish_dns("cust0043.sbc.example.net").unwrap();
    let ok = sim
        .post_json(
            &token,
            "/v1.0/domains/cust0043.sbc.example.net/verify",
            &json!({}),
        )
        .await;
    assert_eq!(ok.status(), 200);
    let (_, org) = sim.get_json(&token, "/v1.0/organization").await;
    assert_eq!(org["value"][0]["id"], demo::CONTOSO_TENANT_ID);
}
