//! Admin sign-in (authorization code + PKCE, id_token validation) and admin consent against
//! a local Entra ID that signs its id_tokens with test keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use teamline_microsoft::signin::{PendingSignIn, roles};
use teamline_microsoft::{MicrosoftCloud, MicrosoftError};

use crate::fixture::{self, CLIENT_ID, CLIENT_SECRET, Server, TENANT, serve};

const KEY_1: &str = include_str!("keys/test-signing-key-1.pem");
const KEY_2: &str = include_str!("keys/test-signing-key-2.pem");

fn jwk(pem: &str, kid: &str) -> Value {
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let mut v =
        serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap()).unwrap();
    v["kid"] = json!(kid);
    v["use"] = json!("sig");
    v
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// What the fake Entra ID does on the next code redemption.
struct Entra {
    /// Keys published at the JWKS endpoint.
    published: Vec<Value>,
    /// (pem, kid) that signs the next id_token.
    signer: (&'static str, &'static str),
    /// Claims of the next id_token (merged over the defaults).
    claims: Value,
    /// PKCE challenge from the authorize URL, checked at the token endpoint.
    challenge: Option<String>,
    /// Nonce from the authorize URL, put in the id_token unless `claims` overrides it.
    nonce: String,
    /// Answer the token endpoint gives instead of tokens.
    token_error: Option<(StatusCode, Value)>,
}

fn entra(state: Arc<Mutex<Entra>>) -> impl FnOnce(url::Url) -> Router {
    move |base| {
        let (s1, s2) = (state.clone(), state.clone());
        let b = base.clone();
        Router::new()
            .route(
                "/organizations/v2.0/.well-known/openid-configuration",
                get(move || {
                    let base = b.clone();
                    async move {
                        axum::Json(json!({
                            "issuer": format!("{base}{{tenantid}}/v2.0"),
                            "authorization_endpoint": format!("{base}organizations/oauth2/v2.0/authorize"),
                            "token_endpoint": format!("{base}organizations/oauth2/v2.0/token"),
                            "jwks_uri": format!("{base}organizations/discovery/v2.0/keys"),
                            "id_token_signing_alg_values_supported": ["RS256"]
                        }))
                    }
                }),
            )
            .route(
                "/organizations/discovery/v2.0/keys",
                get(move || {
                    let s = s1.clone();
                    async move { axum::Json(json!({"keys": s.lock().unwrap().published.clone()})) }
                }),
            )
            .route(
                "/organizations/oauth2/v2.0/token",
                post(move |body: String| {
                    let s = s2.clone();
                    let base = base.clone();
                    async move {
                        let form: HashMap<String, String> = serde_urlencoded::from_str(&body).unwrap();
                        let s = s.lock().unwrap();
                        if let Some((status, err)) = &s.token_error {
                            return (*status, axum::Json(err.clone())).into_response();
                        }
                        let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
                        if s.challenge.as_deref() != Some(challenge.as_str()) {
                            return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_grant",
                                "error_description": "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.",
                                "error_codes": [501481]}))).into_response();
                        }
                        let mut claims = json!({
                            "aud": CLIENT_ID,
                            "iss": format!("{base}{TENANT}/v2.0"),
                            "iat": now(), "nbf": now(), "exp": now() + 3600,
                            "tid": TENANT,
                            "oid": "0f9a7c1e-admin-oid",
                            "sub": "pairwise-sub",
                            "preferred_username": "admin@contoso.example",
                            "name": "Contoso Admin",
                            "nonce": s.nonce,
                            "wids": [roles::GLOBAL_ADMINISTRATOR, "b79fbf4d-3ef9-4689-8143-76b194e85509"],
                            "ver": "2.0"
                        });
                        for (k, v) in s.claims.as_object().unwrap() {
                            claims[k] = v.clone();
                        }
                        let mut header = Header::new(Algorithm::RS256);
                        header.kid = Some(s.signer.1.to_owned());
                        let id_token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_pem(s.signer.0.as_bytes()).unwrap()).unwrap();
                        axum::Json(json!({"token_type": "Bearer", "scope": "openid profile email", "expires_in": 3599,
                            "access_token": "at", "refresh_token": "rt", "id_token": id_token})).into_response()
                    }
                }),
            )
    }
}

async fn setup(
    claims: Value,
) -> (
    Server,
    Arc<Mutex<Entra>>,
    teamline_microsoft::MicrosoftClient,
) {
    let state = Arc::new(Mutex::new(Entra {
        published: vec![jwk(KEY_1, "key-1")],
        signer: (KEY_1, "key-1"),
        claims,
        challenge: None,
        nonce: String::new(),
        token_error: None,
    }));
    let server = serve(entra(state.clone())).await;
    let client = fixture::client(&server.base);
    (server, state, client)
}

/// Runs the browser part: start, "sign in" (the fake IdP learns the challenge and nonce),
/// and come back with `?code=...&state=...`.
async fn sign_in(
    state: &Arc<Mutex<Entra>>,
    ms: &teamline_microsoft::MicrosoftClient,
) -> (
    Result<teamline_microsoft::signin::SignedInAdmin, MicrosoftError>,
    PendingSignIn,
    url::Url,
) {
    let start = ms.sign_in().start(Some("admin@contoso.example"));
    let q: HashMap<String, String> = start.authorize_url.query_pairs().into_owned().collect();
    {
        let mut s = state.lock().unwrap();
        s.challenge = Some(q["code_challenge"].clone());
        s.nonce = q["nonce"].clone();
    }
    let callback = format!(
        "code=0.AAAA-code&state={}&session_state=abc",
        start.pending.state
    );
    let result = ms.sign_in().finish(&start.pending, &callback).await;
    (result, start.pending, start.authorize_url)
}

#[tokio::test]
async fn a_global_administrator_signs_in() {
    let (server, state, ms) = setup(json!({})).await;
    let (result, pending, authorize) = sign_in(&state, &ms).await;
    let admin = result.unwrap();
    assert_eq!(admin.tenant_id, TENANT);
    assert_eq!(admin.object_id, "0f9a7c1e-admin-oid");
    assert_eq!(admin.username.as_deref(), Some("admin@contoso.example"));
    assert!(admin.is_global_admin);
    assert!(!admin.is_teams_admin);

    assert_eq!(authorize.path(), "/organizations/oauth2/v2.0/authorize");
    let q: HashMap<String, String> = authorize.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["scope"], "openid profile email offline_access User.Read");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["state"], pending.state);
    assert_eq!(q["nonce"], pending.nonce);
    assert_eq!(
        q["redirect_uri"],
        "https://teamline.example/auth/microsoft/callback"
    );
    assert_eq!(q["login_hint"], "admin@contoso.example");

    let token = &server.requests_to("/organizations/oauth2/v2.0/token")[0].form();
    assert_eq!(token["grant_type"], "authorization_code");
    assert_eq!(token["code"], "0.AAAA-code");
    assert_eq!(token["client_secret"], CLIENT_SECRET);
    assert_eq!(
        token["redirect_uri"],
        "https://teamline.example/auth/microsoft/callback"
    );
}

#[tokio::test]
async fn a_teams_administrator_is_reported_as_such() {
    let (_server, state, ms) = setup(json!({"wids": [roles::TEAMS_ADMINISTRATOR]})).await;
    let admin = sign_in(&state, &ms).await.0.unwrap();
    assert!(admin.is_teams_admin);
    assert!(!admin.is_global_admin);
}

async fn rejected(claims: Value, signer: Option<(&'static str, &'static str)>) -> MicrosoftError {
    let (_server, state, ms) = setup(claims).await;
    if let Some(s) = signer {
        state.lock().unwrap().signer = s;
    }
    sign_in(&state, &ms).await.0.unwrap_err()
}

#[tokio::test]
async fn id_tokens_for_another_app_tenant_or_sign_in_are_rejected() {
    let err = rejected(json!({"aud": "someone-elses-app"}), None).await;
    assert!(
        matches!(err, MicrosoftError::InvalidIdToken { ref problem } if problem.contains("another application")),
        "{err:?}"
    );

    let err = rejected(
        json!({"iss": "https://login.microsoftonline.com/0000-other-tenant/v2.0"}),
        None,
    )
    .await;
    assert!(
        matches!(err, MicrosoftError::InvalidIdToken { ref problem } if problem.contains("issued by")),
        "{err:?}"
    );

    let err = rejected(json!({"nonce": "replayed-nonce"}), None).await;
    assert!(
        matches!(err, MicrosoftError::InvalidIdToken { ref problem } if problem.contains("nonce")),
        "{err:?}"
    );

    let err = rejected(json!({"exp": now() - 3600, "nbf": now() - 7200}), None).await;
    assert!(
        matches!(err, MicrosoftError::InvalidIdToken { ref problem } if problem.contains("expired")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_forged_signature_is_rejected() {
    // Signed with key 2 but claiming to be key 1, which Microsoft publishes.
    let err = rejected(json!({}), Some((KEY_2, "key-1"))).await;
    assert!(
        matches!(err, MicrosoftError::InvalidIdToken { ref problem } if problem.contains("signature")),
        "{err:?}"
    );
    // Signed with a key Microsoft does not publish at all.
    let err = rejected(json!({}), Some((KEY_2, "key-2"))).await;
    assert!(
        matches!(err, MicrosoftError::InvalidIdToken { ref problem } if problem.contains("does not publish")),
        "{err:?}"
    );
}

#[tokio::test]
async fn rotated_signing_keys_are_fetched_again() {
    let (server, state, ms) = setup(json!({})).await;
    sign_in(&state, &ms).await.0.unwrap();
    {
        let mut s = state.lock().unwrap();
        s.published = vec![jwk(KEY_2, "key-2")];
        s.signer = (KEY_2, "key-2");
        s.claims = json!({});
    }
    sign_in(&state, &ms).await.0.unwrap();
    sign_in(&state, &ms).await.0.unwrap();
    assert_eq!(
        server
            .requests_to("/organizations/discovery/v2.0/keys")
            .len(),
        2,
        "keys are re-read once, on the unknown kid"
    );
}

#[tokio::test]
async fn a_callback_from_another_sign_in_is_refused() {
    let (server, _state, ms) = setup(json!({})).await;
    let start = ms.sign_in().start(None);
    let err = ms
        .sign_in()
        .finish(&start.pending, "code=abc&state=not-ours")
        .await
        .unwrap_err();
    assert!(matches!(err, MicrosoftError::StateMismatch));
    assert!(server.requests().is_empty(), "the code is not redeemed");
}

#[tokio::test]
async fn sign_in_errors_become_admin_facing_messages() {
    let (_server, state, ms) = setup(json!({})).await;
    let start = ms.sign_in().start(None);
    let cb = format!(
        "error=access_denied&error_description={}&state={}",
        urlencode("AADSTS65004: User declined to consent to access the app.\r\nTrace ID: 1"),
        start.pending.state
    );
    let err = ms.sign_in().finish(&start.pending, &cb).await.unwrap_err();
    assert!(
        matches!(err, MicrosoftError::ConsentDeclined { ref description } if description == "AADSTS65004: User declined to consent to access the app."),
        "{err:?}"
    );

    state.lock().unwrap().token_error = Some((
        StatusCode::BAD_REQUEST,
        json!({"error": "invalid_request", "error_description": "AADSTS50011: The redirect URI 'https://teamline.example/auth/microsoft/callback' specified in the request does not match the redirect URIs configured for the application.", "error_codes": [50011]}),
    ));
    let err = sign_in(&state, &ms).await.0.unwrap_err();
    assert!(
        matches!(err, MicrosoftError::RedirectUriMismatch { ref redirect_uri } if redirect_uri == "https://teamline.example/auth/microsoft/callback"),
        "{err:?}"
    );

    state.lock().unwrap().token_error = Some((
        StatusCode::UNAUTHORIZED,
        json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": [7000215]}),
    ));
    let err = sign_in(&state, &ms).await.0.unwrap_err();
    assert!(
        matches!(err, MicrosoftError::InvalidClientSecret { .. }),
        "{err:?}"
    );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn admin_consent_url_and_callback() {
    let (_server, _state, ms) = setup(json!({})).await;
    let url = ms.sign_in().admin_consent_url(TENANT, "st-1");
    assert_eq!(url.path(), format!("/{TENANT}/v2.0/adminconsent"));
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["scope"], "https://graph.microsoft.com/.default");
    assert_eq!(q["state"], "st-1");
    assert_eq!(
        q["redirect_uri"],
        "https://teamline.example/auth/microsoft/callback"
    );

    let ok = ms
        .sign_in()
        .finish_admin_consent("st-1", &format!("admin_consent=True&tenant={TENANT}&state=st-1&scope=https%3a%2f%2fgraph.microsoft.com%2f.default"))
        .unwrap();
    assert_eq!(ok.tenant_id, TENANT);
    assert_eq!(
        ok.scope.as_deref(),
        Some("https://graph.microsoft.com/.default")
    );

    let declined = ms
        .sign_in()
        .finish_admin_consent("st-1", "error=access_denied&error_description=AADSTS65004%3a+User+declined+to+consent+to+access+the+app.&state=st-1")
        .unwrap_err();
    assert!(
        matches!(declined, MicrosoftError::ConsentDeclined { .. }),
        "{declined:?}"
    );

    let not_admin = ms
        .sign_in()
        .finish_admin_consent("st-1", "error=access_denied&error_description=AADSTS90094%3a+An+administrator+of+Contoso+has+set+a+policy&state=st-1")
        .unwrap_err();
    assert!(
        matches!(not_admin, MicrosoftError::AdminConsentRequired),
        "{not_admin:?}"
    );

    assert!(matches!(
        ms.sign_in()
            .finish_admin_consent("st-1", "admin_consent=True&tenant=x&state=other"),
        Err(MicrosoftError::StateMismatch)
    ));
}
