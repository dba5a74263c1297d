//! Enterprise admin sign-in with Entra ID (OpenID Connect authorization code + PKCE against
//! the `organizations` authority) and tenant-wide admin consent. The admin's directory roles
//! come from the ID token's `wids` claim, or from Microsoft Graph when the token has none
//! (`roles`).
//!
//! Built on `jsonwebtoken` rather than `openidconnect`: Microsoft's multi-tenant metadata
//! advertises the issuer as the template `https://login.microsoftonline.com/{tenantid}/v2.0`,
//! which spec-strict OIDC libraries reject at discovery and at id_token validation, and the
//! key set rotates, so keys must be re-read when a token names an unknown `kid`. Doing these
//! few steps here keeps the checks explicit: signature (RS256, JWKS), audience, issuer for
//! the token's own `tid`, nonce, expiry.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

mod role_check;

use self::role_check::RoleReader;
pub use self::role_check::RoleSource;
use crate::aad::{self, AadContext, OAuthErrorBody};
use crate::error::MicrosoftError;
use crate::http::{CallInfo, Http};
use crate::odata::{segment, trim_base};

/// Directory role template ids (the same in every tenant), as found in the `wids` claim.
pub mod roles {
    /// Global Administrator.
    pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
    /// Teams Administrator.
    pub const TEAMS_ADMINISTRATOR: &str = "69091246-20e8-4a56-aa4d-066075b2a7a8";
    /// Teams Communications Administrator.
    pub const TEAMS_COMMUNICATIONS_ADMINISTRATOR: &str = "baf37b3a-610e-45da-9e62-d9d1e5e8914b";
}

/// Scopes of the admin sign-in: identity, plus `User.Read` so Microsoft returns a Graph token
/// with which Teamline reads the admin's own directory roles when the ID token has no `wids`.
/// Everything else Teamline does with app-only tokens.
const SIGN_IN_SCOPES: &str = "openid profile email offline_access User.Read";
/// Admin consent to every permission configured on the app registration.
const CONSENT_SCOPE: &str = "https://graph.microsoft.com/.default";
/// How far clocks may disagree when checking `exp` / `nbf`.
const CLOCK_LEEWAY_SECS: u64 = 60;

/// Where to send the browser, and what to remember until it comes back.
#[derive(Clone, Debug)]
pub struct SignInStart {
    /// The Microsoft sign-in page URL.
    pub authorize_url: Url,
    /// Keep this in the (server-side, encrypted) session until the callback.
    pub pending: PendingSignIn,
}

/// The per-attempt secrets of a sign-in in progress.
#[derive(Clone, Debug)]
pub struct PendingSignIn {
    /// Anti-forgery value echoed back by Microsoft.
    pub state: String,
    /// Replay protection, echoed inside the id_token.
    pub nonce: String,
    /// PKCE code verifier.
    pub pkce_verifier: SecretString,
}

/// A verified enterprise admin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedInAdmin {
    /// The customer tenant (`tid`).
    pub tenant_id: String,
    /// The admin's object id in that tenant (`oid`).
    pub object_id: String,
    /// Sign-in name (`preferred_username`), for display only.
    pub username: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// E-mail, when Microsoft sends it.
    pub email: Option<String>,
    /// Active directory role template ids (`wids`, or read from Graph).
    pub role_template_ids: Vec<String>,
    /// Holds the Global Administrator role.
    pub is_global_admin: bool,
    /// Holds the Teams Administrator role.
    pub is_teams_admin: bool,
    /// Where the roles came from.
    pub role_source: RoleSource,
    /// Roles the admin may activate through Privileged Identity Management but has not;
    /// `None` when Microsoft did not say (asked only when Global Administrator is not active).
    pub eligible_role_template_ids: Option<Vec<String>>,
}

impl SignedInAdmin {
    /// Global Administrator is eligible through Privileged Identity Management but not active:
    /// the admin must activate it and sign in again.
    pub fn global_admin_needs_activation(&self) -> bool {
        !self.is_global_admin
            && self.eligible_role_template_ids.as_ref().is_some_and(|e| {
                e.iter()
                    .any(|r| r.eq_ignore_ascii_case(roles::GLOBAL_ADMINISTRATOR))
            })
    }
}

/// A tenant-wide admin consent that Microsoft confirmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminConsentGranted {
    /// The tenant that granted consent.
    pub tenant_id: String,
    /// The scopes granted, as Microsoft reports them.
    pub scope: Option<String>,
}

/// Sign-in and consent, as the web layer uses them.
#[async_trait]
pub trait SignIn: Send + Sync {
    /// Starts a sign-in; `login_hint` pre-fills the account (e.g. the invited admin's e-mail).
    fn start(&self, login_hint: Option<&str>) -> SignInStart;

    /// Completes a sign-in from the callback's query string: checks `state`, redeems the code
    /// with PKCE, validates the id_token and reads who signed in.
    async fn finish(
        &self,
        pending: &PendingSignIn,
        callback_query: &str,
    ) -> Result<SignedInAdmin, MicrosoftError>;

    /// The URL where a Global Administrator of `tenant_id` grants Teamline's permissions.
    fn admin_consent_url(&self, tenant_id: &str, state: &str) -> Url;

    /// Reads the admin-consent callback's query string.
    fn finish_admin_consent(
        &self,
        expected_state: &str,
        callback_query: &str,
    ) -> Result<AdminConsentGranted, MicrosoftError>;
}

#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    kty: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

#[derive(Deserialize)]
struct CodeTokenResponse {
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

#[derive(Deserialize)]
struct IdClaims {
    iss: String,
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    /// Absent unless the app registration asks for directory roles.
    #[serde(default)]
    wids: Option<Vec<String>>,
}

#[derive(Default)]
struct KeyCache {
    metadata: Option<(String, String)>,
    keys: HashMap<String, DecodingKey>,
}

pub(crate) struct EntraSignIn {
    http: Arc<Http>,
    login_base: Url,
    graph_base: Url,
    client_id: String,
    client_secret: SecretString,
    redirect_uri: Url,
    consent_redirect_uri: Url,
    cache: tokio::sync::Mutex<KeyCache>,
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    URL_SAFE_NO_PAD.encode(&buf)
}

fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn invalid(problem: impl Into<String>) -> MicrosoftError {
    MicrosoftError::InvalidIdToken {
        problem: problem.into(),
    }
}

fn parse_callback(query: &str) -> HashMap<String, String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query.trim_start_matches('?'))
        .unwrap_or_default()
        .into_iter()
        .collect()
}

impl EntraSignIn {
    pub fn new(
        http: Arc<Http>,
        login_base: Url,
        graph_base: Url,
        client_id: String,
        client_secret: SecretString,
        redirect_uri: Url,
        consent_redirect_uri: Url,
    ) -> Self {
        Self {
            http,
            login_base,
            graph_base,
            client_id,
            client_secret,
            redirect_uri,
            consent_redirect_uri,
            cache: tokio::sync::Mutex::new(KeyCache::default()),
        }
    }

    fn url(&self, path: &str) -> Result<Url, MicrosoftError> {
        Url::parse(&format!("{}{path}", trim_base(&self.login_base))).map_err(|e| {
            MicrosoftError::Config(format!("the Microsoft login base URL is unusable: {e}"))
        })
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
    ) -> Result<T, MicrosoftError> {
        let info = CallInfo {
            what,
            tenant: "login",
            idempotent: true,
            limited: false,
        };
        let reply = self
            .http
            .send(&info, || self.http.client().get(url))
            .await
            .map_err(|e| e.into_error(aad::request_id))?;
        if !reply.status.is_success() {
            return Err(MicrosoftError::Unavailable {
                what: what.to_owned(),
                status: reply.status.as_u16(),
                retry_after: None,
                request_id: aad::request_id(&reply),
            });
        }
        serde_json::from_slice(&reply.body).map_err(|e| MicrosoftError::UnexpectedResponse {
            what: what.to_owned(),
            detail: e.to_string(),
        })
    }

    /// Reads the key set; with `cache` locked so concurrent sign-ins share one fetch.
    async fn refresh_keys(&self, cache: &mut KeyCache) -> Result<(), MicrosoftError> {
        if cache.metadata.is_none() {
            let url = self.url("/organizations/v2.0/.well-known/openid-configuration")?;
            let m: Metadata = self
                .get_json(url.as_str(), "read Microsoft's sign-in metadata")
                .await?;
            cache.metadata = Some((m.issuer, m.jwks_uri));
        }
        let jwks_uri = cache
            .metadata
            .as_ref()
            .map(|(_, j)| j.clone())
            .unwrap_or_default();
        let set: JwkSet = self
            .get_json(&jwks_uri, "read Microsoft's sign-in keys")
            .await?;
        cache.keys = set
            .keys
            .into_iter()
            .filter(|k| k.kty.as_deref().is_none_or(|t| t == "RSA"))
            .filter_map(|k| {
                let key =
                    DecodingKey::from_rsa_components(k.n.as_deref()?, k.e.as_deref()?).ok()?;
                Some((k.kid?, key))
            })
            .collect();
        Ok(())
    }

    /// Validates the id_token and returns its claims plus the expected issuer.
    async fn validate(&self, id_token: &str, nonce: &str) -> Result<IdClaims, MicrosoftError> {
        let header = jsonwebtoken::decode_header(id_token)
            .map_err(|e| invalid(format!("the token is malformed: {e}")))?;
        if header.alg != Algorithm::RS256 {
            return Err(invalid(format!(
                "the token is signed with {:?}, not RS256",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| invalid("the token names no signing key"))?;

        let mut cache = self.cache.lock().await;
        if !cache.keys.contains_key(&kid) {
            // Unknown key: Microsoft rotated its keys, read them again.
            self.refresh_keys(&mut cache).await?;
        }
        let key = cache
            .keys
            .get(&kid)
            .ok_or_else(|| invalid("the token is signed with a key Microsoft does not publish"))?;
        let issuer_template = cache
            .metadata
            .as_ref()
            .map(|(i, _)| i.clone())
            .unwrap_or_default();

        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[&self.client_id]);
        validation.leeway = CLOCK_LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "aud", "iss"]);
        let data = jsonwebtoken::decode::<IdClaims>(id_token, key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            invalid(match e.kind() {
                ErrorKind::InvalidSignature => "its signature is invalid".to_owned(),
                ErrorKind::ExpiredSignature => "it has expired".to_owned(),
                ErrorKind::ImmatureSignature => "it is not valid yet".to_owned(),
                ErrorKind::InvalidAudience => "it was issued for another application".to_owned(),
                other => format!("{other:?}"),
            })
        })?;
        drop(cache);

        let claims = data.claims;
        let tid = claims
            .tid
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| invalid("it names no tenant"))?;
        let expected_issuer = if issuer_template.contains("{tenantid}") {
            issuer_template.replace("{tenantid}", tid)
        } else {
            format!("{}/{tid}/v2.0", trim_base(&self.login_base))
        };
        if claims.iss != expected_issuer {
            return Err(invalid(format!(
                "it was issued by {} instead of {expected_issuer}",
                claims.iss
            )));
        }
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(invalid("its nonce does not match this sign-in"));
        }
        Ok(claims)
    }
}

#[async_trait]
impl SignIn for EntraSignIn {
    fn start(&self, login_hint: Option<&str>) -> SignInStart {
        let state = random_token(24);
        let nonce = random_token(24);
        let verifier = random_token(32);
        let mut url = self
            .url("/organizations/oauth2/v2.0/authorize")
            .unwrap_or_else(|_| self.login_base.clone());
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &self.client_id)
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", self.redirect_uri.as_str())
                .append_pair("response_mode", "query")
                .append_pair("scope", SIGN_IN_SCOPES)
                .append_pair("state", &state)
                .append_pair("nonce", &nonce)
                .append_pair("code_challenge", &pkce_challenge(&verifier))
                .append_pair("code_challenge_method", "S256")
                .append_pair("prompt", "select_account");
            if let Some(hint) = login_hint.filter(|h| !h.trim().is_empty()) {
                q.append_pair("login_hint", hint.trim());
            }
        }
        SignInStart {
            authorize_url: url,
            pending: PendingSignIn {
                state,
                nonce,
                pkce_verifier: SecretString::from(verifier),
            },
        }
    }

    async fn finish(
        &self,
        pending: &PendingSignIn,
        callback_query: &str,
    ) -> Result<SignedInAdmin, MicrosoftError> {
        let params = parse_callback(callback_query);
        if params.get("state").map(String::as_str) != Some(pending.state.as_str()) {
            return Err(MicrosoftError::StateMismatch);
        }
        let ctx = AadContext {
            tenant_id: None,
            redirect_uri: Some(self.redirect_uri.as_str()),
        };
        if let Some(error) = params.get("error") {
            let description = params.get("error_description").map_or("", String::as_str);
            return Err(aad::map_error(error, description, &[], ctx));
        }
        let code = params
            .get("code")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| MicrosoftError::SignInRejected {
                code: "missing_code".into(),
                description:
                    "Microsoft's answer carried no authorization code; start the sign-in again"
                        .into(),
            })?;

        let token_url = self.url("/organizations/oauth2/v2.0/token")?;
        let form = [
            ("client_id", self.client_id.as_str()),
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_verifier", pending.pkce_verifier.expose_secret()),
            ("client_secret", self.client_secret.expose_secret()),
            ("scope", SIGN_IN_SCOPES),
        ];
        let what = "complete the Microsoft sign-in";
        // A code can be redeemed once: never resend after the request may have arrived.
        let info = CallInfo {
            what,
            tenant: "login",
            idempotent: false,
            limited: false,
        };
        let reply = self
            .http
            .send(&info, || {
                self.http.client().post(token_url.as_str()).form(&form)
            })
            .await
            .map_err(|e| e.into_error(aad::request_id))?;
        if !reply.status.is_success() {
            return Err(
                match serde_json::from_slice::<OAuthErrorBody>(&reply.body) {
                    Ok(err) => aad::map_error(
                        &err.error,
                        err.error_description.as_deref().unwrap_or(""),
                        &err.error_codes,
                        ctx,
                    ),
                    Err(_) => MicrosoftError::UnexpectedResponse {
                        what: what.into(),
                        detail: format!(
                            "HTTP {} without an OAuth error body",
                            reply.status.as_u16()
                        ),
                    },
                },
            );
        }
        let tokens: CodeTokenResponse = serde_json::from_slice(&reply.body).map_err(|e| {
            MicrosoftError::UnexpectedResponse {
                what: what.into(),
                detail: e.to_string(),
            }
        })?;
        let id_token = tokens
            .id_token
            .ok_or_else(|| invalid("Microsoft returned no id_token"))?;
        let claims = self.validate(&id_token, &pending.nonce).await?;
        let object_id = claims
            .oid
            .filter(|o| !o.is_empty())
            .ok_or_else(|| invalid("it names no user object id"))?;
        let tenant_id = claims.tid.clone().unwrap_or_default();
        let access_token = tokens.access_token.map(SecretString::from);
        let reader = access_token.as_ref().map(|token| RoleReader {
            http: &self.http,
            graph_base: &self.graph_base,
            tenant_id: &tenant_id,
            token,
        });
        let (active, role_source) = match (claims.wids, &reader) {
            (Some(wids), _) => (wids, RoleSource::IdToken),
            (None, Some(reader)) => (reader.active().await?, RoleSource::Graph),
            (None, None) => {
                return Err(MicrosoftError::RoleCheckFailed {
                    status: 200,
                    code: "NoAccessToken".into(),
                    message: "Microsoft's sign-in answer had neither a wids claim nor a Graph access token".into(),
                });
            }
        };
        let has = |role: &str| active.iter().any(|w| w.eq_ignore_ascii_case(role));
        let is_global_admin = has(roles::GLOBAL_ADMINISTRATOR);
        let eligible = match (&reader, is_global_admin) {
            (Some(reader), false) => reader.eligible().await,
            _ => None,
        };
        Ok(SignedInAdmin {
            is_global_admin,
            is_teams_admin: has(roles::TEAMS_ADMINISTRATOR),
            tenant_id,
            object_id,
            username: claims.preferred_username,
            name: claims.name,
            email: claims.email,
            role_template_ids: active,
            role_source,
            eligible_role_template_ids: eligible,
        })
    }

    fn admin_consent_url(&self, tenant_id: &str, state: &str) -> Url {
        let path = format!("/{}/v2.0/adminconsent", segment(tenant_id));
        let mut url = self.url(&path).unwrap_or_else(|_| self.login_base.clone());
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("scope", CONSENT_SCOPE)
            .append_pair("redirect_uri", self.consent_redirect_uri.as_str())
            .append_pair("state", state);
        url
    }

    fn finish_admin_consent(
        &self,
        expected_state: &str,
        callback_query: &str,
    ) -> Result<AdminConsentGranted, MicrosoftError> {
        let params = parse_callback(callback_query);
        if params.get("state").map(String::as_str) != Some(expected_state) {
            return Err(MicrosoftError::StateMismatch);
        }
        let tenant = params.get("tenant").cloned();
        if let Some(error) = params.get("error") {
            let description = params.get("error_description").map_or("", String::as_str);
            let ctx = AadContext {
                tenant_id: tenant.as_deref(),
                redirect_uri: Some(self.consent_redirect_uri.as_str()),
            };
            return Err(aad::map_error(error, description, &[], ctx));
        }
        let granted = params
            .get("admin_consent")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        match (granted, tenant) {
            (true, Some(tenant_id)) if !tenant_id.is_empty() => Ok(AdminConsentGranted {
                tenant_id,
                scope: params.get("scope").cloned(),
            }),
            _ => Err(MicrosoftError::ConsentDeclined {
                description: "Microsoft did not confirm the consent".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc7636_example() {
        // RFC 7636 appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
