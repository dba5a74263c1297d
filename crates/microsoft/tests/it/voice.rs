//! Teams voice: number assignment with operation polling, policy assignment, read-back.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use teamline_microsoft::voice::{AccountType, NumberChange, PolicySource, PolicyType, UserRef};
use teamline_microsoft::{MicrosoftCloud, MicrosoftError};

use crate::fixture::{self, TENANT, graph_error, licensed_user, serve, token_route};

const OPS: &str = "/v1.0/admin/teams/telephoneNumberManagement/operations";
const NUMBERS: &str = "/v1.0/admin/teams/telephoneNumberManagement/numberAssignments";

fn adele() -> UserRef {
    UserRef::new(
        "94ec379d-30a2-4cdb-a377-75e42f7a61e5",
        "AdeleV@contoso.example",
    )
}

/// How the fake Teams number service behaves.
#[derive(Clone)]
struct Numbers {
    /// Operation statuses served on successive polls; the last one repeats.
    polls: Vec<(&'static str, Option<&'static str>)>,
    /// Who holds the number per `numberAssignments`.
    holder: Option<&'static str>,
    /// Whether `userConfigurations` shows enterprise voice on.
    voice_on: bool,
}

fn number_service(n: Numbers) -> impl FnOnce(url::Url) -> Router {
    move |base| {
        let polls = Arc::new(Mutex::new(n.polls.clone()));
        let holder = n.holder;
        let voice_on = n.voice_on;
        token_route(Router::new())
            .route(
                &format!("{NUMBERS}/{{action}}"),
                post(move || {
                    let base = base.clone();
                    async move {
                        (
                            StatusCode::ACCEPTED,
                            [("location", format!("{base}v1.0/admin/teams/telephoneNumberManagement/operations('QXNzaWdubWVudHw2Y2E4')"))],
                        )
                    }
                }),
            )
            .route(
                "/v1.0/admin/teams/telephoneNumberManagement/{operation}",
                get(move || {
                    let polls = polls.clone();
                    async move {
                        let (status, detail) = {
                            let mut p = polls.lock().unwrap();
                            if p.len() > 1 { p.remove(0) } else { p[0] }
                        };
                        axum::Json(json!({"value": {
                            "@odata.type": "#microsoft.graph.teamsAdministration.telephoneNumberLongRunningOperation",
                            "id": "QXNzaWdubWVudHw2Y2E4", "createdDateTime": "2025-02-03T22:03:26Z", "status": status,
                            "numbers": [{"resourceLocation": "https://graph.microsoft.com/v1.0/admin/teams/telephoneNumberManagement/numberAssignments/N2Ey",
                                         "status": status, "statusDetail": detail}]
                        }}))
                    }
                }),
            )
            .route(
                NUMBERS,
                get(move || async move {
                    axum::Json(json!({"value": [{
                        "telephoneNumber": "+11000", "numberType": "directRouting", "activationState": "activated",
                        "assignmentTargetId": holder, "assignmentCategory": holder.map(|_| "primary"),
                        "assignmentStatus": if holder.is_some() { "userAssigned" } else { "unassigned" }
                    }]}))
                }),
            )
            .route(
                "/v1.0/users/{id}",
                get(|axum::extract::Path(id): axum::extract::Path<String>| async move {
                    axum::Json(licensed_user(&id, "MeganB@contoso.example", "Megan Bowen"))
                }),
            )
            .route(
                "/v1.0/admin/teams/userConfigurations/{id}",
                get(move |axum::extract::Path(id): axum::extract::Path<String>| async move {
                    axum::Json(json!({"value": {"id": id, "isEnterpriseVoiceEnabled": voice_on,
                        "accountType": "user", "featureTypes": ["Teams", "PhoneSystem"],
                        "telephoneNumbers": [{"telephoneNumber": "+11000", "assignmentCategory": "primary"}],
                        "effectivePolicyAssignments": []}}))
                }),
            )
    }
}

fn polls_of(server: &crate::fixture::Server) -> usize {
    server.requests_to(OPS).len()
}

#[tokio::test]
async fn assigning_a_number_polls_the_operation_until_it_succeeds() {
    let server = serve(number_service(Numbers {
        polls: vec![("notStarted", None), ("running", None), ("succeeded", None)],
        holder: None,
        voice_on: true,
    }))
    .await;
    let ms = fixture::client(&server.base);
    let change = ms
        .tenant(TENANT)
        .assign_number(&adele(), "+11000")
        .await
        .unwrap();
    assert_eq!(change, NumberChange::Applied);
    assert_eq!(polls_of(&server), 3);
    let post = &server.requests_to(&format!("{NUMBERS}/assignNumber"))[0];
    assert_eq!(
        post.json(),
        json!({"telephoneNumber": "+11000", "assignmentTargetId": adele().id, "numberType": "directRouting", "assignmentCategory": "primary"})
    );
    assert_eq!(post.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn a_number_held_by_someone_else_names_the_holder() {
    let server = serve(number_service(Numbers {
        polls: vec![
            ("running", None),
            (
                "failed",
                Some("Telephone number +11000 is already assigned to another user."),
            ),
        ],
        holder: Some("5c802b19-0000-0000-0000-00000000megan"),
        voice_on: true,
    }))
    .await;
    let ms = fixture::client(&server.base);
    let err = ms
        .tenant(TENANT)
        .assign_number(&adele(), "+11000")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the number +11000 is already assigned to MeganB@contoso.example"
    );
    assert!(!err.is_retryable());
    let lookup = &server
        .requests_to(NUMBERS)
        .into_iter()
        .find(|r| r.method == "GET")
        .unwrap();
    assert!(
        lookup
            .query_decoded()
            .contains("$filter=telephoneNumber eq '+11000'"),
        "{}",
        lookup.query_decoded()
    );
}

#[tokio::test]
async fn assigning_a_number_the_user_already_holds_changes_nothing() {
    let server = serve(number_service(Numbers {
        polls: vec![(
            "failed",
            Some("Telephone number +11000 is already assigned to the user."),
        )],
        holder: Some("94ec379d-30a2-4cdb-a377-75e42f7a61e5"),
        voice_on: true,
    }))
    .await;
    let ms = fixture::client(&server.base);
    assert_eq!(
        ms.tenant(TENANT)
            .assign_number(&adele(), "+11000")
            .await
            .unwrap(),
        NumberChange::AlreadyInPlace
    );
}

#[tokio::test]
async fn a_held_number_with_enterprise_voice_off_is_removed_and_assigned_again() {
    let server = serve(number_service(Numbers {
        polls: vec![
            (
                "failed",
                Some("Telephone number +11000 is already assigned to the user."),
            ),
            ("succeeded", None),
        ],
        holder: Some("94ec379d-30a2-4cdb-a377-75e42f7a61e5"),
        voice_on: false,
    }))
    .await;
    let ms = fixture::client(&server.base);
    assert_eq!(
        ms.tenant(TENANT)
            .assign_number(&adele(), "+11000")
            .await
            .unwrap(),
        NumberChange::Applied
    );
    let actions: Vec<String> = server
        .requests_to(NUMBERS)
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path.rsplit('/').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(actions, ["assignNumber", "unassignNumber", "assignNumber"]);
}

#[tokio::test]
async fn a_user_without_teams_phone_gets_the_licence_message() {
    let server = serve(number_service(Numbers {
        polls: vec![(
            "failed",
            Some("The user is not licensed for Teams Phone (Phone System)."),
        )],
        holder: None,
        voice_on: true,
    }))
    .await;
    let ms = fixture::client(&server.base);
    let megan = UserRef::new("m1", "MeganB@contoso.example");
    let err = ms
        .tenant(TENANT)
        .assign_number(&megan, "+11012")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "MeganB@contoso.example has no Teams Phone licence: assign one in the Microsoft 365 admin center; it can take up to 48 hours to apply"
    );
}

#[tokio::test]
async fn a_failed_operation_surfaces_microsofts_status_detail() {
    let server = serve(number_service(Numbers {
        polls: vec![(
            "failed",
            Some("The telephone number is not valid for the specified phone number type."),
        )],
        holder: None,
        voice_on: true,
    }))
    .await;
    let ms = fixture::client(&server.base);
    let err = ms
        .tenant(TENANT)
        .assign_number(&adele(), "+11000")
        .await
        .unwrap_err();
    assert!(
        matches!(err, MicrosoftError::NumberOperationFailed { ref detail, .. } if detail.contains("not valid for the specified phone number type")),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("Microsoft could not assign +11000 to AdeleV@contoso.example:")
    );
}

#[tokio::test]
async fn an_operation_that_keeps_running_is_handed_back_as_pending() {
    let server = serve(number_service(Numbers {
        polls: vec![("running", None)],
        holder: None,
        voice_on: true,
    }))
    .await;
    let mut config = fixture::config(&server.base);
    config.operation_polling.max_total = std::time::Duration::from_millis(300);
    let ms = teamline_microsoft::MicrosoftClient::new(config).unwrap();
    let err = ms
        .tenant(TENANT)
        .assign_number(&adele(), "+11000")
        .await
        .unwrap_err();
    assert!(
        matches!(err, MicrosoftError::NumberOperationPending { .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(polls_of(&server) >= 2);
}

#[tokio::test]
async fn a_rejected_assignment_request_is_explained() {
    let server = serve(|_| {
        token_route(Router::new()).route(
            &format!("{NUMBERS}/assignNumber"),
            post(|| async {
                (
                    StatusCode::BAD_REQUEST,
                    axum::Json(graph_error(
                        "BadRequest",
                        "User is not enabled for Enterprise Voice and has no Phone System license.",
                    )),
                )
            }),
        )
    })
    .await;
    let ms = fixture::client(&server.base);
    let err = ms
        .tenant(TENANT)
        .assign_number(&adele(), "+11000")
        .await
        .unwrap_err();
    assert!(
        matches!(err, MicrosoftError::NoTeamsPhoneLicence { ref user } if user == "AdeleV@contoso.example"),
        "{err:?}"
    );
}

#[tokio::test]
async fn unassigning_removes_only_the_users_own_number() {
    let server = serve(number_service(Numbers {
        polls: vec![("succeeded", None)],
        holder: Some("94ec379d-30a2-4cdb-a377-75e42f7a61e5"),
        voice_on: true,
    }))
    .await;
    let ms = fixture::client(&server.base);
    assert_eq!(
        ms.tenant(TENANT)
            .unassign_number(&adele(), "+11000")
            .await
            .unwrap(),
        NumberChange::Applied
    );
    let post = &server.requests_to(&format!("{NUMBERS}/unassignNumber"))[0];
    assert_eq!(
        post.json(),
        json!({"telephoneNumber": "+11000", "numberType": "directRouting"})
    );

    // Someone else's number is left alone.
    let other = serve(number_service(Numbers {
        polls: vec![("succeeded", None)],
        holder: Some("someone-else"),
        voice_on: true,
    }))
    .await;
    let ms = fixture::client(&other.base);
    assert_eq!(
        ms.tenant(TENANT)
            .unassign_number(&adele(), "+11000")
            .await
            .unwrap(),
        NumberChange::AlreadyInPlace
    );
    assert!(
        other
            .requests_to(&format!("{NUMBERS}/unassignNumber"))
            .is_empty()
    );
}

fn policy_service() -> impl FnOnce(url::Url) -> Router {
    |_| {
        token_route(Router::new())
            .route(
                "/v1.0/admin/teams/policy/{function}",
                get(|axum::extract::Path(function): axum::extract::Path<String>| async move {
                    if function.contains("name='US-East-2'") {
                        axum::Json(json!({"value": [{"@odata.type": "#microsoft.graph.teamsAdministration.policyIdentifierDetail",
                            "name": "Tag:US-East-2", "policyId": "VnMAaN3X2X1B9tEHx1CJWfC76PSaKEzA4NoUuqIMRUo"}]}))
                    } else {
                        axum::Json(json!({"value": []}))
                    }
                }),
            )
            .route("/v1.0/admin/teams/policy/userAssignments/{action}", post(|| async { StatusCode::NO_CONTENT }))
    }
}

#[tokio::test]
async fn a_policy_is_granted_by_its_id_and_the_id_is_remembered() {
    let server = serve(policy_service()).await;
    let ms = fixture::client(&server.base);
    let t = ms.tenant(TENANT);
    t.grant_policy(
        &adele(),
        PolicyType::OnlineVoiceRoutingPolicy,
        Some("US-East-2"),
    )
    .await
    .unwrap();
    t.grant_policy(
        &adele(),
        PolicyType::OnlineVoiceRoutingPolicy,
        Some("US-East-2"),
    )
    .await
    .unwrap();

    let lookups: Vec<_> = server
        .requests_to("/v1.0/admin/teams/policy/getPolicyId")
        .into_iter()
        .collect();
    assert_eq!(lookups.len(), 1);
    assert_eq!(
        crate::fixture::percent_decode(&lookups[0].path),
        "/v1.0/admin/teams/policy/getPolicyId(type='OnlineVoiceRoutingPolicy',name='US-East-2')"
    );
    let assign = &server.requests_to("/v1.0/admin/teams/policy/userAssignments/assign")[0];
    assert_eq!(
        assign.json(),
        json!({"value": [{"@odata.type": "#microsoft.graph.teamsAdministration.teamsPolicyUserAssignment",
            "userId": adele().id, "policyType": "OnlineVoiceRoutingPolicy", "policyId": "VnMAaN3X2X1B9tEHx1CJWfC76PSaKEzA4NoUuqIMRUo"}]})
    );
}

#[tokio::test]
async fn global_reverts_by_unassigning_and_an_unknown_policy_is_named() {
    let server = serve(policy_service()).await;
    let ms = fixture::client(&server.base);
    let t = ms.tenant(TENANT);
    t.grant_policy(&adele(), PolicyType::TenantDialPlan, None)
        .await
        .unwrap();
    t.grant_policy(&adele(), PolicyType::TeamsCallingPolicy, Some("Global"))
        .await
        .unwrap();
    let unassigns = server.requests_to("/v1.0/admin/teams/policy/userAssignments/unassign");
    assert_eq!(unassigns.len(), 2);
    assert_eq!(
        unassigns[0].json()["value"][0],
        json!({
        "@odata.type": "#microsoft.graph.teamsAdministration.teamsPolicyUserAssignment",
        "userId": adele().id, "policyType": "TenantDialPlan"})
    );

    let err = t
        .grant_policy(
            &adele(),
            PolicyType::CallingLineIdentity,
            Some("Contoso Main"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the CallingLineIdentity \"Contoso Main\" does not exist in tenant {TENANT}: run Sync Voice Routes to create it, then try again"
        )
    );
    assert!(
        server
            .requests_to("/v1.0/admin/teams/policy/userAssignments/assign")
            .is_empty()
    );
}

#[tokio::test]
async fn the_users_teams_configuration_is_read_back() {
    let server = serve(|_| {
        token_route(Router::new()).route(
            "/v1.0/admin/teams/userConfigurations/{id}",
            get(|axum::extract::Path(id): axum::extract::Path<String>, RawQuery(_q): RawQuery| async move {
                if id != "94ec379d-30a2-4cdb-a377-75e42f7a61e5" {
                    return (StatusCode::NOT_FOUND, axum::Json(graph_error("NotFound", "User not found."))).into_response();
                }
                let body: Value = json!({"value": {
                    "id": id, "userPrincipalName": "AdeleV@contoso.example", "tenantId": TENANT,
                    "isEnterpriseVoiceEnabled": true, "accountType": "user", "featureTypes": ["Teams", "PhoneSystem"],
                    "telephoneNumbers": [{"telephoneNumber": "+11000", "assignmentCategory": "primary"}],
                    "effectivePolicyAssignments": [
                        {"policyType": "OnlineVoiceRoutingPolicy", "policyAssignment": {"displayName": "US-East-2", "assignmentType": "direct", "policyId": "VnMA"}},
                        {"policyType": "TeamsCallingPolicy", "policyAssignment": {"displayName": "AllOn", "assignmentType": "group", "policyId": "f759", "groupId": "75ae"}}
                    ]}});
                axum::Json(body).into_response()
            }),
        )
    })
    .await;
    let ms = fixture::client(&server.base);
    let t = ms.tenant(TENANT);
    let c = t.user_voice_config(&adele()).await.unwrap();
    assert!(c.enterprise_voice_enabled);
    assert!(c.has_teams_phone());
    assert_eq!(c.account_type, AccountType::User);
    assert_eq!(c.primary_number(), Some("+11000"));
    assert_eq!(
        c.policy_name(PolicyType::OnlineVoiceRoutingPolicy),
        "US-East-2"
    );
    assert_eq!(
        c.policy(PolicyType::OnlineVoiceRoutingPolicy)
            .unwrap()
            .source,
        PolicySource::Direct
    );
    assert_eq!(c.policy_name(PolicyType::TenantDialPlan), "Global");

    let err = t
        .user_voice_config(&UserRef::new("new-user", "LeeG@contoso.example"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, MicrosoftError::NotYetInTeams { .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
}
