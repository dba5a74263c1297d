//! Directory reads: paging, filters, transitive membership, delta rounds, `$batch`.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, RawQuery};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use futures::TryStreamExt;
use serde_json::{Value, json};
use teamline_microsoft::directory::{
    DeltaLink, DeltaStart, GroupKind, MemberKind, Removal, UserChange, UserFilter, UserType,
};
use teamline_microsoft::{MicrosoftCloud, MicrosoftError};

use crate::fixture::{self, TENANT, graph_error, licensed_user, serve, token_route};

fn users(range: std::ops::Range<usize>) -> Vec<Value> {
    range
        .map(|i| {
            licensed_user(
                &format!("u{i}"),
                &format!("User{i}@contoso.example"),
                &format!("User {i}"),
            )
        })
        .collect()
}

#[tokio::test]
async fn users_are_listed_page_by_page_with_only_the_needed_fields() {
    let server = serve(|base| {
        token_route(Router::new()).route(
            "/v1.0/users",
            get(move |Query(q): Query<std::collections::HashMap<String, String>>| {
                let base = base.clone();
                async move {
                    if q.contains_key("$skiptoken") {
                        axum::Json(json!({"value": users(3..5)}))
                    } else {
                        axum::Json(json!({
                            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
                            "@odata.nextLink": format!("{base}v1.0/users?$select=id&$top=999&$skiptoken=RFNwdAIAAQAAAB"),
                            "value": users(0..3)
                        }))
                    }
                }
            }),
        )
    })
    .await;
    let ms = fixture::client(&server.base);
    let pages: Vec<_> = ms
        .tenant(TENANT)
        .users(UserFilter::All)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![3, 2]);
    assert!(pages[0][0].licences.is_eligible());
    assert_eq!(pages[0][0].user_type, UserType::Member);

    let first = &server.graph_requests()[0];
    let q = first.query_decoded();
    assert!(q.contains("$select=id,userPrincipalName,displayName,mail,accountEnabled,userType,assignedPlans,usageLocation"), "{q}");
    assert!(q.contains("$top=999"));
    assert!(!first.query.contains('+'), "spaces are sent as %20");
    assert!(
        server.graph_requests()[1]
            .query
            .contains("$skiptoken=RFNwdAIAAQAAAB")
    );
}

#[tokio::test]
async fn enabled_members_are_filtered_by_graph() {
    let server = serve(|_| {
        token_route(Router::new()).route(
            "/v1.0/users",
            get(|| async { axum::Json(json!({"value": []})) }),
        )
    })
    .await;
    let ms = fixture::client(&server.base);
    let pages: Vec<_> = ms
        .tenant(TENANT)
        .users(UserFilter::EnabledMembers)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages, vec![vec![]]);
    let q = server.graph_requests()[0].query_decoded();
    assert!(
        q.contains("$filter=accountEnabled eq true and userType eq 'Member'"),
        "{q}"
    );
}

#[tokio::test]
async fn a_next_link_to_another_host_is_not_followed() {
    let server = serve(|_| {
        token_route(Router::new()).route(
            "/v1.0/users",
            get(|| async { axum::Json(json!({"@odata.nextLink": "https://evil.example/v1.0/users?$skiptoken=x", "value": users(0..1)})) }),
        )
    })
    .await;
    let ms = fixture::client(&server.base);
    let err = ms
        .tenant(TENANT)
        .users(UserFilter::All)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(err, MicrosoftError::UnexpectedResponse { ref detail, .. } if detail.contains("evil.example")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_user_is_read_by_upn_and_a_missing_one_is_none() {
    let server = serve(|_| {
        token_route(Router::new()).route(
            "/v1.0/users/{id}",
            get(|axum::extract::Path(id): axum::extract::Path<String>| async move {
                if id == "AdeleV@contoso.example" {
                    axum::Json(licensed_user("u1", &id, "Adele Vance")).into_response()
                } else {
                    (StatusCode::NOT_FOUND, axum::Json(graph_error("Request_ResourceNotFound", &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present.")))).into_response()
                }
            }),
        )
    })
    .await;
    let ms = fixture::client(&server.base);
    let t = ms.tenant(TENANT);
    assert_eq!(
        t.user("AdeleV@contoso.example").await.unwrap().unwrap().id,
        "u1"
    );
    assert!(
        t.user("adele_fabrikam.com#EXT#@contoso.example")
            .await
            .unwrap()
            .is_none()
    );
    let guest = &server.graph_requests()[1];
    assert_eq!(
        guest.path,
        "/v1.0/users/adele_fabrikam.com%23EXT%23@contoso.example"
    );
}

#[tokio::test]
async fn search_matches_any_word_of_the_name_the_upn_and_the_mail() {
    let server = serve(|_| {
        token_route(Router::new()).route(
            "/v1.0/users",
            get(|| async { axum::Json(json!({"value": users(0..2)})) }),
        )
    })
    .await;
    let ms = fixture::client(&server.base);
    let found = ms.tenant(TENANT).search_users("O'Brien", 1).await.unwrap();
    assert_eq!(found.len(), 1);
    assert!(
        ms.tenant(TENANT)
            .search_users("  ", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        server.graph_requests().len(),
        1,
        "an empty search asks Microsoft nothing"
    );
    let request = &server.graph_requests()[0];
    let q = request.query_decoded();
    assert!(
        q.contains(
            r#"$search="displayName:O'Brien" OR "mail:O'Brien" OR "userPrincipalName:O'Brien""#
        ),
        "{q}"
    );
    assert!(q.contains("$top=1"));
    assert_eq!(request.header("consistencylevel"), Some("eventual"));
}

#[tokio::test]
async fn transitive_membership_uses_graphs_advanced_query() {
    let server = serve(|_| {
        token_route(Router::new())
            .route(
                "/v1.0/users/{id}/transitiveMemberOf/microsoft.graph.group",
                get(|| async {
                    axum::Json(json!({"@odata.count": 3, "value": [
                        {"@odata.type": "#microsoft.graph.group", "id": "g1", "displayName": "Teammate Sync", "mailEnabled": false, "securityEnabled": true, "groupTypes": []},
                        {"@odata.type": "#microsoft.graph.group", "id": "g2", "displayName": "Sales", "mail": "sales@contoso.example", "mailEnabled": true, "securityEnabled": false, "groupTypes": ["Unified"]},
                        {"@odata.type": "#microsoft.graph.directoryRole", "id": "r1", "displayName": "Global Administrator"}
                    ]}))
                }),
            )
            .route(
                "/v1.0/groups/{id}/transitiveMembers/microsoft.graph.user",
                get(|| async { axum::Json(json!({"@odata.count": 2, "value": users(0..2)})) }),
            )
    })
    .await;
    let ms = fixture::client(&server.base);
    let t = ms.tenant(TENANT);
    let groups = t.user_groups("u1").await.unwrap();
    assert_eq!(
        groups
            .iter()
            .map(|g| g.display_name.as_str())
            .collect::<Vec<_>>(),
        vec!["Teammate Sync", "Sales"]
    );
    assert_eq!(groups[0].kind, GroupKind::Security);
    assert_eq!(groups[1].kind, GroupKind::Microsoft365);

    let members: Vec<_> = t.group_members("g1").try_collect().await.unwrap();
    assert_eq!(members.concat().len(), 2);

    for r in server.graph_requests() {
        assert_eq!(r.header("consistencylevel"), Some("eventual"), "{}", r.path);
        assert!(r.query.contains("$count=true"), "{}", r.query);
    }
}

#[tokio::test]
async fn groups_can_be_filtered_by_name_and_read_one_by_one() {
    let server = serve(|_| {
        token_route(Router::new())
            .route(
                "/v1.0/groups",
                get(|| async {
                    axum::Json(json!({"value": [{"id": "g1", "displayName": "Teammate Sync", "mailEnabled": false, "securityEnabled": true, "groupTypes": ["DynamicMembership"]}]}))
                }),
            )
            .route(
                "/v1.0/groups/{id}",
                get(|| async { (StatusCode::NOT_FOUND, axum::Json(graph_error("Request_ResourceNotFound", "Resource does not exist."))) }),
            )
    })
    .await;
    let ms = fixture::client(&server.base);
    let t = ms.tenant(TENANT);
    let groups: Vec<_> = t.groups(Some("Team")).try_collect().await.unwrap();
    assert!(groups[0][0].dynamic_membership);
    assert!(
        server.graph_requests()[0]
            .query_decoded()
            .contains("$filter=startswith(displayName,'Team')")
    );
    assert!(t.group("gone").await.unwrap().is_none());
}

#[tokio::test]
async fn a_users_delta_round_follows_next_links_and_returns_the_delta_link() {
    let server = serve(|base| {
        token_route(Router::new()).route(
            "/v1.0/users/delta",
            get(move |RawQuery(q): RawQuery| {
                let base = base.clone();
                async move {
                    let q = q.unwrap_or_default();
                    if q.contains("$deltatoken=") {
                        axum::Json(json!({
                            "value": [
                                {"id": "u1", "accountEnabled": false},
                                {"id": "u2", "@removed": {"reason": "deleted"}}
                            ],
                            "@odata.deltaLink": format!("{base}v1.0/users/delta?$deltatoken=round2")
                        }))
                    } else if q.contains("$skiptoken=") {
                        axum::Json(json!({
                            "value": [],
                            "@odata.deltaLink": format!("{base}v1.0/users/delta?$deltatoken=round1")
                        }))
                    } else {
                        axum::Json(json!({
                            "value": users(0..2),
                            "@odata.nextLink": format!("{base}v1.0/users/delta?$skiptoken=page2")
                        }))
                    }
                }
            }),
        )
    })
    .await;
    let ms = fixture::client(&server.base);
    let t = ms.tenant(TENANT);
    let pages: Vec<_> = t
        .users_delta(DeltaStart::Initial)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 2);
    assert!(pages[0].delta_link.is_none());
    let link = pages[1].delta_link.clone().unwrap();
    assert!(link.as_str().ends_with("$deltatoken=round1"));
    let UserChange::Upserted(first) = &pages[0].changes[0] else {
        panic!("expected a user")
    };
    assert!(first.to_user().unwrap().licences.is_eligible());
    assert!(
        server.graph_requests()[0]
            .query_decoded()
            .contains("$select=id,userPrincipalName")
    );

    let next: Vec<_> = t
        .users_delta(DeltaStart::Resume(link))
        .try_collect()
        .await
        .unwrap();
    let changes = &next[0].changes;
    let UserChange::Upserted(u1) = &changes[0] else {
        panic!("expected a change")
    };
    assert_eq!(
        (u1.account_enabled, u1.licences.clone()),
        (Some(false), None)
    );
    assert_eq!(
        changes[1],
        UserChange::Removed {
            id: "u2".into(),
            permanently: true
        }
    );
    assert!(
        next[0]
            .delta_link
            .as_ref()
            .unwrap()
            .as_str()
            .ends_with("round2")
    );
}

#[tokio::test]
async fn sync_from_now_asks_for_the_latest_token() {
    let server = serve(|base| {
        token_route(Router::new()).route(
            "/v1.0/users/delta",
            get(move || {
                let base = base.clone();
                async move { axum::Json(json!({"value": [], "@odata.deltaLink": format!("{base}v1.0/users/delta?$deltatoken=now")})) }
            }),
        )
    })
    .await;
    let ms = fixture::client(&server.base);
    let pages: Vec<_> = ms
        .tenant(TENANT)
        .users_delta(DeltaStart::Latest)
        .try_collect()
        .await
        .unwrap();
    assert!(pages[0].delta_link.is_some());
    assert!(
        server.graph_requests()[0]
            .query
            .contains("$deltatoken=latest")
    );
}

async fn expired_delta(status: StatusCode, body: Value) -> MicrosoftError {
    let server = serve(move |base| {
        token_route(Router::new()).route(
            "/v1.0/users/delta",
            get(move || {
                let body = body.clone();
                let base = base.clone();
                async move {
                    (
                        status,
                        [("location", format!("{base}v1.0/users/delta?$deltatoken="))],
                        axum::Json(body),
                    )
                }
            }),
        )
    })
    .await;
    let ms = fixture::client(&server.base);
    let link = DeltaLink(format!("{}v1.0/users/delta?$deltatoken=old", server.base));
    ms.tenant(TENANT)
        .users_delta(DeltaStart::Resume(link))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err()
}

#[tokio::test]
async fn an_expired_delta_link_asks_for_a_full_resync() {
    let gone = expired_delta(
        StatusCode::GONE,
        graph_error("resyncRequired", "Resync required."),
    )
    .await;
    assert!(
        matches!(gone, MicrosoftError::DeltaExpired { .. }),
        "{gone:?}"
    );

    let expired = expired_delta(
        StatusCode::BAD_REQUEST,
        graph_error("syncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again."),
    )
    .await;
    assert!(
        matches!(expired, MicrosoftError::DeltaExpired { .. }),
        "{expired:?}"
    );
    assert!(expired.to_string().contains("full directory sync"));
}

#[tokio::test]
async fn a_groups_delta_round_reports_membership_changes() {
    let server = serve(|base| {
        token_route(Router::new()).route(
            "/v1.0/groups/delta",
            get(move || {
                let base = base.clone();
                async move {
                    axum::Json(json!({
                        "value": [{"id": "g1", "displayName": "Teammate Sync", "members@delta": [
                            {"@odata.type": "#microsoft.graph.user", "id": "u1"},
                            {"@odata.type": "#microsoft.graph.group", "id": "g-sales"},
                            {"@odata.type": "#microsoft.graph.user", "id": "u9", "@removed": {"reason": "changed"}}
                        ]}],
                        "@odata.deltaLink": format!("{base}v1.0/groups/delta?$deltatoken=g1")
                    }))
                }
            }),
        )
    })
    .await;
    let ms = fixture::client(&server.base);
    let pages: Vec<_> = ms
        .tenant(TENANT)
        .groups_delta(DeltaStart::Initial, &["g1".into(), "g2".into()])
        .try_collect()
        .await
        .unwrap();
    let g = &pages[0].changes[0];
    assert_eq!(
        g.members_added
            .iter()
            .map(|m| m.kind.clone())
            .collect::<Vec<_>>(),
        vec![MemberKind::User, MemberKind::Group]
    );
    assert_eq!(g.members_removed[0].id, "u9");
    assert_eq!(g.removed, None::<Removal>);
    let q = server.graph_requests()[0].query_decoded();
    assert!(q.contains("$select=id,displayName,members"), "{q}");
    assert!(q.contains("$filter=id eq 'g1' or id eq 'g2'"), "{q}");
}

#[tokio::test]
async fn batched_lookups_go_twenty_at_a_time_and_throttled_items_are_resent() {
    let throttled_once = Arc::new(Mutex::new(false));
    let server = serve(move |_| {
        token_route(Router::new()).route(
            "/v1.0/$batch",
            post(move |axum::Json(body): axum::Json<Value>| {
                let throttled_once = throttled_once.clone();
                async move {
                    let mut responses = Vec::new();
                    for r in body["requests"].as_array().unwrap() {
                        let url = r["url"].as_str().unwrap();
                        let user_id = url.trim_start_matches("/users/").split('?').next().unwrap().to_owned();
                        let status_body = if user_id == "u7" && !std::mem::replace(&mut *throttled_once.lock().unwrap(), true) {
                            json!({"id": r["id"], "status": 429, "headers": {"Retry-After": "1"}, "body": graph_error("TooManyRequests", "Too many requests")})
                        } else if user_id == "missing" {
                            json!({"id": r["id"], "status": 404, "body": graph_error("Request_ResourceNotFound", "Resource 'missing' does not exist.")})
                        } else {
                            json!({"id": r["id"], "status": 200, "headers": {"Content-Type": "application/json"}, "body": licensed_user(&user_id, &format!("{user_id}@contoso.example"), &user_id)})
                        };
                        responses.push(status_body);
                    }
                    responses.reverse(); // answers may come in any order
                    axum::Json(json!({"responses": responses}))
                }
            }),
        )
    })
    .await;
    let ms = fixture::client(&server.base);
    let mut ids: Vec<String> = (0..44).map(|i| format!("u{i}")).collect();
    ids.push("missing".into());
    let results = ms.tenant(TENANT).users_by_id(&ids).await;
    assert_eq!(results.len(), 45);
    for (item, id) in results.iter().zip(&ids) {
        assert_eq!(&item.id, id);
        match item.result.as_ref().unwrap() {
            Some(user) => assert_eq!(&user.id, id),
            None => assert_eq!(id, "missing"),
        }
    }
    let batches = server.graph_requests();
    let sizes: Vec<usize> = batches
        .iter()
        .map(|b| b.json()["requests"].as_array().unwrap().len())
        .collect();
    assert_eq!(
        sizes,
        vec![20, 1, 20, 5],
        "u7 was sent again alone after its Retry-After"
    );
    assert!(batches[1].at.duration_since(batches[0].at) >= std::time::Duration::from_secs(1));
    assert!(
        batches[0].json()["requests"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("/users/u0?$select=id,")
    );
}
