//! App-only tokens: per tenant and audience, cached, refreshed, single-flight, and the
//! Entra ID errors an admin can fix.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::json;
use teamline_microsoft::{MicrosoftCloud, MicrosoftError};

use crate::fixture::{
    self, CLIENT_ID, CLIENT_SECRET, TENANT, graph_error, licensed_user, serve, token_route,
};

fn user_route(router: Router) -> Router {
    router.route(
        "/v1.0/users/{id}",
        get(|| async { axum::Json(licensed_user("u1", "AdeleV@contoso.example", "Adele Vance")) }),
    )
}

#[tokio::test]
async fn a_token_is_fetched_once_and_reused_for_the_tenant() {
    let server = serve(|_| user_route(token_route(Router::new()))).await;
    let ms = fixture::client(&server.base);
    let tenant = ms.tenant(TENANT);
    for _ in 0..3 {
        tenant.user("u1").await.unwrap().unwrap();
    }
    let tokens = server.token_requests();
    assert_eq!(tokens.len(), 1);
    let form = tokens[0].form();
    assert_eq!(tokens[0].path, format!("/{TENANT}/oauth2/v2.0/token"));
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], CLIENT_SECRET);
    assert_eq!(form["scope"], "https://graph.microsoft.com/.default");
    for r in server.graph_requests() {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer token-{TENANT}-1").as_str())
        );
    }
}

#[tokio::test]
async fn concurrent_callers_wait_for_one_token_request() {
    let server = serve(|_| user_route(token_route(Router::new()))).await;
    let ms = fixture::client(&server.base);
    let tenant = ms.tenant(TENANT);
    let calls = (0..10).map(|_| tenant.user("u1"));
    for r in futures::future::join_all(calls).await {
        r.unwrap().unwrap();
    }
    assert_eq!(server.token_requests().len(), 1);
    assert_eq!(server.graph_requests().len(), 10);
}

#[tokio::test]
async fn each_tenant_gets_its_own_token() {
    let server = serve(|_| user_route(token_route(Router::new()))).await;
    let ms = fixture::client(&server.base);
    ms.tenant("tenant-a").user("u1").await.unwrap();
    ms.tenant("tenant-b").user("u1").await.unwrap();
    let auth: Vec<_> = server
        .graph_requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    // The fixture numbers tokens across tenants; each tenant asked for its own.
    assert_eq!(
        auth,
        vec!["Bearer token-tenant-a-1", "Bearer token-tenant-b-2"]
    );
}

#[tokio::test]
async fn a_token_about_to_expire_is_replaced_before_use() {
    // The first token lives 0 s, the next ones an hour.
    let server = serve(|_| {
        let n = Arc::new(Mutex::new(0u32));
        user_route(Router::new().route(
            "/{tenant}/oauth2/v2.0/token",
            post(move || {
                let n = n.clone();
                async move {
                    let n = {
                        let mut n = n.lock().unwrap();
                        *n += 1;
                        *n
                    };
                    let expires_in = if n == 1 { 0 } else { 3599 };
                    axum::Json(json!({"token_type":"Bearer","expires_in":expires_in,"access_token":format!("tok-{n}")}))
                }
            }),
        ))
    })
    .await;
    let ms = fixture::client(&server.base);
    let tenant = ms.tenant(TENANT);
    for _ in 0..3 {
        tenant.user("u1").await.unwrap();
    }
    let used: Vec<_> = server
        .graph_requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(used, vec!["Bearer tok-1", "Bearer tok-2", "Bearer tok-2"]);
    assert_eq!(server.token_requests().len(), 2);
}

#[tokio::test]
async fn a_token_microsoft_rejects_is_renewed_once() {
    // Graph answers 401 to the first token (revoked), accepts the second.
    let server = serve(|_| {
        token_route(Router::new()).route(
            "/v1.0/users/{id}",
            get(|headers: axum::http::HeaderMap| async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if auth.ends_with("-1") {
                    (
                        StatusCode::UNAUTHORIZED,
                        axum::Json(graph_error(
                            "InvalidAuthenticationToken",
                            "Access token has expired or is not yet valid.",
                        )),
                    )
                        .into_response()
                } else {
                    axum::Json(licensed_user("u1", "AdeleV@contoso.example", "Adele Vance"))
                        .into_response()
                }
            }),
        )
    })
    .await;
    let ms = fixture::client(&server.base);
    let user = ms.tenant(TENANT).user("u1").await.unwrap().unwrap();
    assert_eq!(user.user_principal_name, "AdeleV@contoso.example");
    assert_eq!(server.token_requests().len(), 2);
    assert_eq!(server.graph_requests().len(), 2);
}

#[tokio::test]
async fn a_token_rejected_twice_is_reported_as_unauthorized() {
    let server = serve(|_| {
        token_route(Router::new()).route(
            "/v1.0/users/{id}",
            get(|| async {
                (
                    StatusCode::UNAUTHORIZED,
                    [("request-id", "req-401")],
                    axum::Json(graph_error(
                        "InvalidAuthenticationToken",
                        "Access token validation failure.",
                    )),
                )
            }),
        )
    })
    .await;
    let ms = fixture::client(&server.base);
    let err = ms.tenant(TENANT).user("u1").await.unwrap_err();
    assert!(
        matches!(err, MicrosoftError::Unauthorized { ref request_id, .. } if request_id.as_deref() == Some("req-401")),
        "{err:?}"
    );
    assert!(err.needs_consent());
    assert_eq!(server.graph_requests().len(), 2);
}

async fn token_error(
    status: StatusCode,
    error: &'static str,
    description: &'static str,
    code: u64,
) -> MicrosoftError {
    let server = serve(move |_| {
        user_route(Router::new().route(
            "/{tenant}/oauth2/v2.0/token",
            post(move || async move {
                (
                    status,
                    axum::Json(json!({
                        "error": error,
                        "error_description": description,
                        "error_codes": [code],
                        "timestamp": "2025-01-01 00:00:00Z",
                        "trace_id": "0b2f", "correlation_id": "6b34"
                    })),
                )
            }),
        ))
    })
    .await;
    let ms = fixture::client(&server.base);
    let err = ms.tenant(TENANT).user("u1").await.unwrap_err();
    assert!(
        server.graph_requests().is_empty(),
        "no Graph call without a token"
    );
    err
}

#[tokio::test]
async fn a_bad_client_secret_says_to_renew_the_secret() {
    let err = token_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.\r\nTrace ID: 0b2f\r\nCorrelation ID: 6b34\r\nTimestamp: 2025-01-01 00:00:00Z",
        7_000_215,
    )
    .await;
    assert!(
        matches!(err, MicrosoftError::InvalidClientSecret { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("client secret") && msg.contains("AADSTS7000215"),
        "{msg}"
    );
    assert!(!msg.contains(CLIENT_SECRET));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn missing_consent_names_the_tenant_and_the_fix() {
    let err = token_error(
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        "AADSTS700016: Application with identifier 'a1b2' was not found in the directory 'Contoso'.",
        700_016,
    )
    .await;
    assert!(
        matches!(err, MicrosoftError::AppNotInTenant { ref tenant_id } if tenant_id == TENANT),
        "{err:?}"
    );
    assert!(err.needs_consent());

    let err = token_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "AADSTS65001: The user or administrator has not consented to use the application.",
        65_001,
    )
    .await;
    assert_eq!(
        err.to_string(),
        format!(
            "Teamline has not been granted consent in tenant {TENANT}: sign in as a Global Administrator of that tenant and grant consent"
        )
    );
}

#[tokio::test]
async fn an_unknown_tenant_is_reported_as_such() {
    let err = token_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "AADSTS90002: Tenant 'x' not found.",
        90_002,
    )
    .await;
    assert!(
        matches!(err, MicrosoftError::UnknownTenant { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn missing_graph_permission_asks_for_consent_again() {
    let server = serve(|_| {
        token_route(Router::new()).route(
            "/v1.0/users/{id}",
            get(|| async {
                (
                    StatusCode::FORBIDDEN,
                    axum::Json(graph_error(
                        "Authorization_RequestDenied",
                        "Insufficient privileges to complete the operation.",
                    )),
                )
            }),
        )
    })
    .await;
    let ms = fixture::client(&server.base);
    let err = ms
        .tenant(TENANT)
        .user("AdeleV@contoso.example")
        .await
        .unwrap_err();
    assert!(
        matches!(err, MicrosoftError::AccessDenied { ref code, .. } if code == "Authorization_RequestDenied"),
        "{err:?}"
    );
    assert!(err.needs_consent());
    assert!(err.to_string().contains("grant consent again"), "{err}");
    assert_eq!(
        err.request_id(),
        Some("93b6f17e-c05d-4f45-ad2a-6665c708d8a0")
    );
}
