//! Entra ID: discovery, sign-in with PKCE, consent, client credentials and AADSTS errors.

use base64::Engine;
use reqwest::Response;
use serde_json::Value;
use sha2::Digest;
use teamline_sim::microsoft::demo;

use crate::ms_common::*;

const REDIRECT: &str = "http://127.0.0.1:45678/auth/microsoft/callback";
const CONSENT_REDIRECT: &str = "http://127.0.0.1:45678/auth/microsoft/consent";
const VERIFIER: &str = "a-long-enough-pkce-code-verifier-0123456789-abcdefghij";

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

async fn authorize(sim: &Sim, tenant: &str, extra: &[(&str, &str)]) -> Response {
    let ch = challenge(VERIFIER);
    let mut q: Vec<(&str, &str)> = vec![
        ("client_id", demo::TEAMLINE_APP_CLIENT_ID),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile email offline_access User.Read"),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", &ch),
        ("code_challenge_method", "S256"),
    ];
    q.extend_from_slice(extra);
    sim.http
        .get(sim.url(&format!("/{tenant}/oauth2/v2.0/authorize")))
        .query(&q)
        .send()
        .await
        .unwrap()
}

async fn sign_in(sim: &Sim, tenant: &str, page: Response, upn: &str, password: &str) -> Response {
    let html = page.text().await.unwrap();
    assert!(
        html.contains("id=\"i0116\"") && html.contains("name=\"passwd\""),
        "not a sign-in page: {html}"
    );
    let flow = form_field(&html, "flow");
    sim.http
        .post(sim.url(&format!("/{tenant}/login")))
        .form(&[
            ("flow", flow.as_str()),
            ("loginfmt", upn),
            ("passwd", password),
        ])
        .send()
        .await
        .unwrap()
}

async fn redeem(sim: &Sim, code: &str, verifier: &str) -> Response {
    sim.token_request(
        "organizations",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", demo::TEAMLINE_APP_CLIENT_ID),
            ("client_secret", demo::TEAMLINE_APP_CLIENT_SECRET),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
            ("scope", "openid profile email offline_access User.Read"),
        ],
    )
    .await
}

#[tokio::test]
async fn discovery_document_and_jwks_are_consistent_per_tenant() {
    let sim = start().await;
    let (_, doc) = sim
        .get_json(
            "",
            &format!(
                "/{}/v2.0/.well-known/openid-configuration",
                demo::CONTOSO_TENANT_ID
            ),
        )
        .await;
    assert_eq!(
        doc["issuer"],
        format!("{}/{}/v2.0", sim.run.base_url(), demo::CONTOSO_TENANT_ID)
    );
    assert_eq!(
        doc["token_endpoint"],
        sim.url(&format!("/{}/oauth2/v2.0/token", demo::CONTOSO_TENANT_ID))
    );
    let (_, orgs) = sim
        .get_json("", "/organizations/v2.0/.well-known/openid-configuration")
        .await;
    assert_eq!(
        orgs["issuer"],
        format!("{}/{{tenantid}}/v2.0", sim.run.base_url())
    );
    let (_, jwks) = sim.get_json("", "/common/discovery/v2.0/keys").await;
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert!(key["n"].is_string() && key["kid"].is_string());
    let resp = sim
        .http
        .get(sim.url("/nosuch.example/v2.0/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(aad_error_code(&resp.json().await.unwrap()), 90002);
}

#[tokio::test]
async fn admin_signs_in_with_pkce_and_gets_verifiable_tokens() {
    let sim = start().await;
    let page = authorize(&sim, "organizations", &[]).await;
    assert_eq!(page.status(), 200);

    // wrong password: the page says so with AADSTS50126
    let page2 = authorize(&sim, "organizations", &[]).await;
    let wrong = sign_in(
        &sim,
        "organizations",
        page2,
        demo::CONTOSO_ADMIN_UPN,
        "nope",
    )
    .await;
    let html = wrong.text().await.unwrap();
    assert!(html.contains("AADSTS50126"), "{html}");
    assert!(html.contains("Your account or password is incorrect"));

    let done = sign_in(
        &sim,
        "organizations",
        page,
        demo::CONTOSO_ADMIN_UPN,
        demo::ADMIN_PASSWORD,
    )
    .await;
    assert!(done.status().is_redirection(), "status {}", done.status());
    let (loc, params) = location_params(&done);
    assert!(loc.starts_with(REDIRECT));
    assert_eq!(params["state"], "st-123");
    let code = params["code"].clone();

    // a wrong verifier is refused, and the code can't be reused afterwards either way
    let bad = redeem(
        &sim,
        &code,
        "another-verifier-that-does-not-match-000000000000",
    )
    .await;
    assert_eq!(bad.status(), 400);
    assert_eq!(aad_error_code(&bad.json().await.unwrap()), 50148);

    let page = authorize(&sim, "organizations", &[]).await;
    let done = sign_in(
        &sim,
        "organizations",
        page,
        demo::CONTOSO_ADMIN_UPN,
        demo::ADMIN_PASSWORD,
    )
    .await;
    let code = location_params(&done).1["code"].clone();
    let ok = redeem(&sim, &code, VERIFIER).await;
    assert_eq!(ok.status(), 200);
    let tokens: Value = ok.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    let id_token = tokens["id_token"].as_str().unwrap();

    // verify the id_token with the JWKS key, as an OIDC library would
    let (_, jwks) = sim.get_json("", "/organizations/discovery/v2.0/keys").await;
    let key = &jwks["keys"][0];
    let dk = jsonwebtoken::DecodingKey::from_rsa_components(
        key["n"].as_str().unwrap(),
        key["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[demo::TEAMLINE_APP_CLIENT_ID]);
    v.set_issuer(&[format!(
        "{}/{}/v2.0",
        sim.run.base_url(),
        demo::CONTOSO_TENANT_ID
    )]);
    let claims = jsonwebtoken::decode::<Value>(id_token, &dk, &v)
        .unwrap()
        .claims;
    assert_eq!(claims["tid"], demo::CONTOSO_TENANT_ID);
    assert_eq!(claims["nonce"], "n-456");
    assert_eq!(claims["preferred_username"], demo::CONTOSO_ADMIN_UPN);
    assert_eq!(
        claims["oid"],
        sim.contoso.user_id(demo::CONTOSO_ADMIN_UPN).unwrap()
    );
    assert!(
        claims["wids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w == demo::ROLE_GLOBAL_ADMIN)
    );

    let reuse = redeem(&sim, &code, VERIFIER).await;
    assert_eq!(aad_error_code(&reuse.json().await.unwrap()), 54005);

    // refresh
    let refreshed = sim
        .token_request(
            "organizations",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", demo::TEAMLINE_APP_CLIENT_ID),
                ("client_secret", demo::TEAMLINE_APP_CLIENT_SECRET),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(refreshed.status(), 200);
    let refreshed: Value = refreshed.json().await.unwrap();
    let access = refreshed["access_token"].as_str().unwrap();
    assert_eq!(jwt_claims(access)["upn"], demo::CONTOSO_ADMIN_UPN);
    let (status, me) = sim.get_json(access, "/v1.0/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["userPrincipalName"], demo::CONTOSO_ADMIN_UPN);
}

#[tokio::test]
async fn sign_in_errors_and_redirect_checks() {
    let sim = start().await;
    let resp = sim
        .http
        .get(sim.url("/organizations/oauth2/v2.0/authorize"))
        .query(&[
            ("client_id", demo::TEAMLINE_APP_CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", "https://evil.example/cb"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("AADSTS50011"));

    let page = authorize(&sim, "organizations", &[]).await;
    let disabled = sign_in(
        &sim,
        "organizations",
        page,
        "EnricoC@contoso.example",
        demo::USER_PASSWORD,
    )
    .await;
    assert!(disabled.text().await.unwrap().contains("AADSTS50057"));

    // a Contoso user cannot sign in at Fabrikam's authority
    let page = authorize(&sim, demo::FABRIKAM_TENANT_ID, &[]).await;
    let other = sign_in(
        &sim,
        demo::FABRIKAM_TENANT_ID,
        page,
        demo::CONTOSO_ADMIN_UPN,
        demo::ADMIN_PASSWORD,
    )
    .await;
    assert!(other.text().await.unwrap().contains("AADSTS50020"));
}

#[tokio::test]
async fn client_credentials_errors_are_shaped_like_entra() {
    let sim = start().await;
    let bad_secret = sim
        .token_request(
            demo::CONTOSO_TENANT_ID,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", demo::TEAMLINE_APP_CLIENT_ID),
                ("client_secret", "wrong"),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
        )
        .await;
    assert_eq!(bad_secret.status(), 401);
    let body: Value = bad_secret.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(aad_error_code(&body), 7000215);

    let form = |scope: &'static str| {
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", demo::TEAMLINE_APP_CLIENT_ID),
            ("client_secret", demo::TEAMLINE_APP_CLIENT_SECRET),
            ("scope", scope),
        ]
    };
    let no_sp = sim
        .token_request(
            demo::FABRIKAM_TENANT_ID,
            &form("https://graph.microsoft.com/.default"),
        )
        .await;
    assert_eq!(no_sp.status(), 401);
    assert_eq!(aad_error_code(&no_sp.json().await.unwrap()), 7000229);

    let unknown = sim
        .token_request(
            "nosuch.example",
            &form("https://graph.microsoft.com/.default"),
        )
        .await;
    assert_eq!(aad_error_code(&unknown.json().await.unwrap()), 90002);

    let not_default = sim
        .token_request(
            demo::CONTOSO_TENANT_ID,
            &form("https://graph.microsoft.com/User.Read.All"),
        )
        .await;
    assert_eq!(aad_error_code(&not_default.json().await.unwrap()), 1002012);

    let teams = sim
        .app_token_for(
            demo::CONTOSO_TENANT_ID,
            "48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default",
        )
        .await;
    let claims = jwt_claims(&teams);
    assert_eq!(claims["aud"], demo::TEAMS_ADMIN_APP_ID);
    assert_eq!(claims["roles"][0], demo::TEAMS_ADMIN_APP_ROLE);
    let graph = jwt_claims(&sim.graph_token().await);
    assert_eq!(graph["tid"], demo::CONTOSO_TENANT_ID);
    assert_eq!(graph["idtyp"], "app");
    assert!(
        graph["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "TeamsTelephoneNumber.ReadWrite.All")
    );
}

#[tokio::test]
async fn non_admin_is_refused_and_admin_grants_consent_in_fabrikam() {
    let sim = start().await;
    // A Fabrikam user who is not an admin: "Need admin approval" (AADSTS90094).
    let page = authorize(&sim, "organizations", &[]).await;
    let refused = sign_in(
        &sim,
        "organizations",
        page,
        demo::FABRIKAM_NON_ADMIN_UPN,
        demo::USER_PASSWORD,
    )
    .await;
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("Need admin approval") && html.contains("AADSTS90094"),
        "{html}"
    );

    // Same through the admin consent endpoint.
    let consent_url = |tenant: &str| {
        format!(
            "/{tenant}/v2.0/adminconsent?client_id={}&scope=https://graph.microsoft.com/.default&redirect_uri={}&state=c-1",
            demo::TEAMLINE_APP_CLIENT_ID,
            CONSENT_REDIRECT
        )
    };
    let page = sim
        .http
        .get(sim.url(&consent_url("organizations")))
        .send()
        .await
        .unwrap();
    let refused = sign_in(
        &sim,
        "organizations",
        page,
        demo::FABRIKAM_NON_ADMIN_UPN,
        demo::USER_PASSWORD,
    )
    .await;
    assert!(refused.text().await.unwrap().contains("AADSTS90094"));

    // The Global Administrator accepts.
    let page = sim
        .http
        .get(sim.url(&consent_url(demo::FABRIKAM_TENANT_ID)))
        .send()
        .await
        .unwrap();
    let consent = sign_in(
        &sim,
        demo::FABRIKAM_TENANT_ID,
        page,
        demo::FABRIKAM_ADMIN_UPN,
        demo::ADMIN_PASSWORD,
    )
    .await;
    let html = consent.text().await.unwrap();
    assert!(html.contains("Permissions requested"), "{html}");
    let flow = form_field(&html, "flow");
    let done = sim
        .http
        .post(sim.url(&format!("/{}/consent", demo::FABRIKAM_TENANT_ID)))
        .form(&[
            ("flow", flow.as_str()),
            ("decision", "accept"),
            ("consent_org", "true"),
        ])
        .send()
        .await
        .unwrap();
    let (loc, params) = location_params(&done);
    assert!(loc.starts_with(CONSENT_REDIRECT));
    assert_eq!(params["admin_consent"], "True");
    assert_eq!(params["tenant"], demo::FABRIKAM_TENANT_ID);
    assert_eq!(params["state"], "c-1");
    assert!(sim.fabrikam.consent_granted());
    let token = sim
        .app_token_for(
            demo::FABRIKAM_TENANT_ID,
            "https://graph.microsoft.com/.default",
        )
        .await;
    let (status, _) = sim.get_json(&token, "/v1.0/users").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn unconsented_admin_sees_the_consent_screen_then_sessions_and_logout_work() {
    let sim = start().await;
    let page = authorize(&sim, "organizations", &[("response_mode", "form_post")]).await;
    let signed_in = sign_in(
        &sim,
        "organizations",
        page,
        demo::FABRIKAM_ADMIN_UPN,
        demo::ADMIN_PASSWORD,
    )
    .await;
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let html = signed_in.text().await.unwrap();
    assert!(
        html.contains("Consent on behalf of your organization"),
        "{html}"
    );
    let flow = form_field(&html, "flow");
    let posted = sim
        .http
        .post(sim.url("/organizations/consent"))
        .form(&[
            ("flow", flow.as_str()),
            ("decision", "accept"),
            ("consent_org", "true"),
        ])
        .send()
        .await
        .unwrap();
    let html = posted.text().await.unwrap();
    assert!(
        html.contains(&format!("action=\"{REDIRECT}\"")),
        "form_post page expected: {html}"
    );
    let code = form_field(&html, "code");
    assert_eq!(redeem(&sim, &code, VERIFIER).await.status(), 200);

    // the browser session is reused: no password asked again
    let again = sim
        .http
        .get(sim.url("/organizations/oauth2/v2.0/authorize"))
        .header("cookie", &cookie)
        .query(&[
            ("client_id", demo::TEAMLINE_APP_CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("state", "s2"),
        ])
        .send()
        .await
        .unwrap();
    assert!(again.status().is_redirection());
    assert!(location_params(&again).1.contains_key("code"));

    // prompt=none without a session: login_required on the redirect
    let none = authorize(&sim, "organizations", &[("prompt", "none")]).await;
    let (_, params) = location_params(&none);
    assert_eq!(params["error"], "login_required");

    let out = sim
        .http
        .get(sim.url(
            "/organizations/oauth2/v2.0/logout?post_logout_redirect_uri=http://127.0.0.1:45678/",
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(out.status().is_redirection());
    let after = sim
        .http
        .get(sim.url("/organizations/oauth2/v2.0/authorize"))
        .header("cookie", &cookie)
        .query(&[
            ("client_id", demo::TEAMLINE_APP_CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        after.text().await.unwrap().contains("loginfmt"),
        "signed out: the password is asked again"
    );
}

#[tokio::test]
async fn v1_admin_consent_and_declining() {
    let sim = start().await;
    let url = format!(
        "/{}/adminconsent?client_id={}&redirect_uri={}&state=v1",
        demo::FABRIKAM_TENANT_ID,
        demo::TEAMLINE_APP_CLIENT_ID,
        CONSENT_REDIRECT
    );
    let page = sim.http.get(sim.url(&url)).send().await.unwrap();
    let consent = sign_in(
        &sim,
        demo::FABRIKAM_TENANT_ID,
        page,
        demo::FABRIKAM_ADMIN_UPN,
        demo::ADMIN_PASSWORD,
    )
    .await;
    let flow = form_field(&consent.text().await.unwrap(), "flow");
    let declined = sim
        .http
        .post(sim.url(&format!("/{}/consent", demo::FABRIKAM_TENANT_ID)))
        .form(&[("flow", flow.as_str()), ("decision", "cancel")])
        .send()
        .await
        .unwrap();
    let (_, params) = location_params(&declined);
    assert_eq!(params["error"], "consent_required");
    assert!(params["error_description"].starts_with("AADSTS65004"));
    assert_eq!(params["state"], "v1");
    assert!(!sim.fabrikam.consent_granted());
}

#[tokio::test]
async fn https_listener_serves_with_the_written_ca() {
    let sim = teamline_sim::microsoft::MicrosoftSim::new(Default::default()).unwrap();
    sim.seed_contoso();
    let dir = tempfile::tempdir().unwrap();
    let run = sim
        .spawn_https("127.0.0.1:0".parse().unwrap(), dir.path())
        .await
        .unwrap();
    assert!(run.base_url().starts_with("https://127.0.0.1:"));
    let pem = std::fs::read(run.ca_pem_path().unwrap()).unwrap();
    teamline_sim::tls::install_crypto_provider();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    let doc: Value = client
        .get(format!(
            "{}/organizations/v2.0/.well-known/openid-configuration",
            run.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["token_endpoint"],
        format!("{}/organizations/oauth2/v2.0/token", run.base_url())
    );
    run.shutdown().await;
}
