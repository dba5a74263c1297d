//! Signing in and out, and who may use the Enterprise portal.
//!
//! Enterprise admins sign in with Microsoft (OpenID Connect through the `microsoft` crate). Only
//! a Global Administrator of a registered enterprise's tenant gets in, and a Teams Administrator
//! once the enterprise granted management consent; anyone else gets a page that says why.

use crate::error::PageError;
use crate::routes::{Routes, get, post};
use crate::session::{EnterpriseAdmin, Principal, keys, renew_if_due};
use crate::views::{Layout, Menu};
use crate::{AppState, csrf};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use teamline_domain::audit::Actor;
use teamline_domain::enterprise::{ConsentKind, Enterprise, TenantId};
use teamline_engine::registration::{RegisteringAdmin, RegistrationError};
use teamline_microsoft::signin::{PendingSignIn, SignedInAdmin};
use teamline_store::AuditRecord;
use time::OffsetDateTime;
use tower_sessions::Session;
use tower_sessions::cookie::{Cookie, SameSite};

pub fn routes() -> Routes {
    Routes::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in_page))
        .route("/auth/microsoft/start", get(start_microsoft))
        .route("/auth/microsoft/callback", get(microsoft_callback))
        .route("/sign-out", post(sign_out))
}

/// The signed-in enterprise admin of a portal request, with the enterprise they manage.
/// Every page of the Enterprise portal takes this, and scopes every read and write by
/// `enterprise.id`.
pub struct Admin {
    pub principal: EnterpriseAdmin,
    pub enterprise: Enterprise,
    pub session: Session,
    pub csrf: String,
    /// A reseller admin acting for the enterprise through its management consent (then
    /// `principal` names them, and every change is recorded as theirs).
    pub acting: Option<crate::reseller::Acting>,
}

impl Admin {
    pub fn actor(&self) -> Actor {
        match &self.acting {
            Some(a) => a.actor(),
            None => Actor::EnterpriseAdmin(self.principal.username.clone()),
        }
    }

    /// Shows `message` on the next page this admin opens.
    pub async fn flash(&self, message: impl Into<String>) -> Result<(), PageError> {
        crate::local_portal::flash(&self.session, message).await
    }

    /// The message left by the previous request, once.
    pub async fn take_flash(&self) -> Result<Option<String>, PageError> {
        crate::local_portal::take_flash(&self.session).await
    }

    pub fn layout(&self, active: Menu) -> Layout {
        Layout {
            enterprise: self.enterprise.name.as_str().to_owned(),
            admin: self.principal.display_name.clone(),
            username: self.principal.username.clone(),
            role: self.principal.role.clone(),
            csrf: self.csrf.clone(),
            active,
            acting: self.acting.as_ref().map(|a| {
                format!(
                    "You are acting for {} as reseller admin {} ({}), through the management consent {} granted. Everything you do here is recorded as done by you for {}.",
                    self.enterprise.name, a.email, a.reseller, self.enterprise.name, self.enterprise.name
                )
            }),
        }
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| PageError::Internal("the session layer is missing".into()))?;
        let principal: Option<Principal> = session
            .get(keys::PRINCIPAL)
            .await
            .map_err(PageError::session)?;
        let principal = match principal {
            None => return Err(deep_link(parts)),
            Some(Principal::EnterpriseAdmin(a)) => a,
            Some(Principal::PlatformOperator { .. }) => {
                return Err(PageError::Forbidden {
                    title: "This is the Enterprise portal".into(),
                    detail: "You are signed in as a platform operator: the operator area is at /operator.".into(),
                });
            }
            Some(Principal::ResellerAdmin { account_id, .. }) => {
                let (enterprise, acting) =
                    crate::reseller::acting_admin(parts, state, &session).await?;
                let csrf = csrf::token(&session).await?;
                return Ok(Self {
                    principal: EnterpriseAdmin {
                        enterprise_id: enterprise.id,
                        tenant_id: enterprise
                            .tenant_id
                            .as_ref()
                            .map(|t| t.as_str().to_owned())
                            .unwrap_or_default(),
                        object_id: format!("reseller-account:{}", account_id.0),
                        username: acting.email.clone(),
                        display_name: acting.email.clone(),
                        role: format!("Reseller admin, {}", acting.reseller),
                    },
                    enterprise,
                    session,
                    csrf,
                    acting: Some(acting),
                });
            }
        };
        // The enterprise may have been removed or re-registered to another tenant since the
        // admin signed in: then the session no longer grants anything.
        let enterprise = match state.store.get_enterprise(principal.enterprise_id).await {
            Ok(e)
                if e.tenant_id.as_ref().map(TenantId::as_str)
                    == Some(principal.tenant_id.as_str()) =>
            {
                e
            }
            Ok(_) | Err(teamline_store::StoreError::NotFound { .. }) => {
                session.flush().await.map_err(PageError::session)?;
                return Err(PageError::SignInRequired);
            }
            Err(e) => return Err(e.into()),
        };
        renew_if_due(&session, OffsetDateTime::now_utc()).await;
        let csrf = csrf::token(&session).await?;
        Ok(Self {
            principal,
            enterprise,
            session,
            csrf,
            acting: None,
        })
    }
}

/// A page opened (GET, not an htmx fragment) without being signed in is opened again after
/// sign-in: its path travels in the sign-in links and the sealed sign-in cookie, never in a
/// session (an anonymous visit writes nothing).
fn deep_link(parts: &Parts) -> PageError {
    if parts.method != axum::http::Method::GET || parts.headers.contains_key("hx-request") {
        return PageError::SignInRequired;
    }
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    match safe_next(Some(target.to_owned())) {
        Some(next) => PageError::SignInFor(next),
        None => PageError::SignInRequired,
    }
}

/// The deep link when it is a path of this site (never another origin: `//host` or `/\\host`
/// would leave it) other than the sign-in itself.
fn safe_next(next: Option<String>) -> Option<String> {
    next.filter(|p| {
        p.starts_with('/')
            && !p.starts_with("//")
            && !p.starts_with("/\\")
            && !p.starts_with("/sign-in")
            && !p.starts_with("/auth/")
            && p != "/"
            && p.len() <= 2000
    })
}

/// Where to go after sign-in: the remembered page when it is a path of this site (never
/// another origin: `//host` or `/\\host` would leave it), else the Dashboard.
fn after_sign_in(return_to: Option<String>) -> String {
    safe_next(return_to).unwrap_or_else(|| "/dashboard".to_owned())
}

async fn home(session: Session) -> Result<Redirect, PageError> {
    let signed_in = session
        .get::<Principal>(keys::PRINCIPAL)
        .await
        .map_err(PageError::session)?
        .is_some();
    Ok(Redirect::to(if signed_in {
        "/dashboard"
    } else {
        "/sign-in"
    }))
}

#[derive(Template, WebTemplate)]
#[template(path = "sign_in.html")]
struct SignInPage {
    signed_out: bool,
    /// "Sign in with Microsoft", carrying the page to open afterwards.
    start: String,
}

#[derive(Deserialize)]
struct SignInQuery {
    #[serde(default)]
    signed_out: Option<String>,
    #[serde(default)]
    next: Option<String>,
    /// The invitation link's token when the sign-in registers an invited enterprise.
    #[serde(default)]
    invitation: Option<String>,
}

async fn sign_in_page(axum::extract::Query(q): axum::extract::Query<SignInQuery>) -> SignInPage {
    SignInPage {
        signed_out: q.signed_out.is_some(),
        start: match safe_next(q.next) {
            Some(next) => format!(
                "/auth/microsoft/start?{}",
                serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
            ),
            None => "/auth/microsoft/start".to_owned(),
        },
    }
}

/// A sign-in in progress travels in a cookie of its own, sealed (encrypted and authenticated)
/// by the store, not in a session row: anonymous visits to `/auth/microsoft/start` then cost
/// the database nothing, however many there are. The cookie is only sent back to the
/// callback's path, expires with the sign-in, and is removed when the callback reads it.
const PENDING_COOKIE: &str = "teamline_sign_in";
/// What the sealed value is for: it opens for nothing else.
const PENDING_PURPOSE: &str = "web.pending_sign_in";
/// The path the cookie is sent to (the callback).
const PENDING_PATH: &str = "/auth/microsoft";
/// How long a sign-in may take at Microsoft.
const PENDING_TTL: time::Duration = time::Duration::minutes(10);

/// `PendingSignIn` as sealed in the sign-in cookie until Microsoft sends the admin back.
#[derive(Serialize, Deserialize)]
struct StoredPending {
    state: String,
    nonce: String,
    pkce_verifier: String,
    /// Unix seconds after which the sign-in is refused.
    expires_at: i64,
    /// The page to open after sign-in.
    #[serde(default)]
    next: Option<String>,
    /// The invitation token, when this sign-in registers an invited enterprise.
    #[serde(default)]
    invitation: Option<String>,
}

impl StoredPending {
    fn new(p: &PendingSignIn, now: OffsetDateTime) -> Self {
        Self {
            state: p.state.clone(),
            nonce: p.nonce.clone(),
            pkce_verifier: p.pkce_verifier.expose_secret().to_owned(),
            expires_at: (now + PENDING_TTL).unix_timestamp(),
            next: None,
            invitation: None,
        }
    }

    /// The sealed cookie value (hex).
    fn seal(&self, state: &AppState) -> Result<String, PageError> {
        let json = serde_json::to_string(self)
            .map_err(|e| PageError::Internal(format!("cannot encode a sign-in: {e}")))?;
        Ok(hex::encode(state.store.seal(PENDING_PURPOSE, &json)?))
    }

    /// The sign-in of `headers`' cookie, if there is one that Teamline sealed and that has not
    /// expired.
    fn unseal(state: &AppState, headers: &HeaderMap, now: OffsetDateTime) -> Option<Self> {
        let value = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == PENDING_COOKIE)
            .map(|(_, value)| value.to_owned())?;
        let sealed = hex::decode(value).ok()?;
        let json = state.store.unseal(PENDING_PURPOSE, &sealed).ok()?;
        let pending: Self = serde_json::from_str(&json).ok()?;
        (pending.expires_at >= now.unix_timestamp()).then_some(pending)
    }

    fn cookie(value: String, max_age: time::Duration, secure: bool) -> HeaderValue {
        let cookie = Cookie::build((PENDING_COOKIE, value))
            .path(PENDING_PATH)
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(secure)
            .max_age(max_age)
            .build();
        // A cookie built from hex and fixed attributes is always a valid header value.
        HeaderValue::from_str(&cookie.to_string()).unwrap_or(HeaderValue::from_static(""))
    }
}

impl From<StoredPending> for PendingSignIn {
    fn from(p: StoredPending) -> Self {
        PendingSignIn {
            state: p.state,
            nonce: p.nonce,
            pkce_verifier: SecretString::from(p.pkce_verifier),
        }
    }
}

async fn start_microsoft(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<SignInQuery>,
) -> Result<Response, PageError> {
    // Registering: Microsoft's page starts with the invited address filled in.
    let login_hint = match &q.invitation {
        Some(token) => state
            .engine
            .open_invitation(token)
            .await
            .ok()
            .map(|i| i.enterprise.global_admin_email.as_str().to_owned()),
        None => None,
    };
    let start = state
        .engine
        .microsoft()
        .sign_in()
        .start(login_hint.as_deref());
    let mut pending = StoredPending::new(&start.pending, OffsetDateTime::now_utc());
    pending.next = safe_next(q.next);
    pending.invitation = q.invitation;
    let sealed = pending.seal(&state)?;
    let mut response = Redirect::to(start.authorize_url.as_str()).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        StoredPending::cookie(sealed, PENDING_TTL, state.secure_cookies()),
    );
    Ok(response)
}

/// Why someone who proved who they are at Microsoft still does not get in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    TenantNotRegistered {
        tenant_id: String,
    },
    NotAnAdmin {
        username: String,
        enterprise: String,
    },
    TeamsAdminWithoutConsent {
        username: String,
        enterprise: String,
    },
    /// Global Administrator is only eligible through Privileged Identity Management.
    GlobalAdminNotActivated {
        username: String,
        enterprise: String,
    },
}

impl Refusal {
    pub fn title(&self) -> &'static str {
        match self {
            Self::TenantNotRegistered { .. } => "Your organization is not registered with Teamline",
            Self::NotAnAdmin { .. } | Self::TeamsAdminWithoutConsent { .. } => {
                "This account is not an administrator of the enterprise"
            }
            Self::GlobalAdminNotActivated { .. } => "Your Global Administrator role is not active",
        }
    }

    pub fn detail(&self) -> String {
        match self {
            Self::TenantNotRegistered { tenant_id } => format!(
                "You signed in with a Microsoft 365 account of the tenant {tenant_id}, which no enterprise in Teamline belongs to. Ask your service provider to add your organization to Teamline and to send the invitation to your Global Administrator."
            ),
            Self::NotAnAdmin {
                username,
                enterprise,
            } => format!(
                "{username} is not a Global Administrator of {enterprise}'s Microsoft 365 tenant. The Enterprise portal is for the tenant's Global Administrators, and for its Teams Administrators once a Global Administrator has granted enterprise management consent: sign in with such an account, or ask your Global Administrator to do this."
            ),
            Self::TeamsAdminWithoutConsent {
                username,
                enterprise,
            } => format!(
                "{username} is a Teams Administrator of {enterprise}, but Teams Administrators can only sign in after a Global Administrator granted enterprise management consent. Sign in as the Global Administrator, or ask them to grant that consent."
            ),
            Self::GlobalAdminNotActivated {
                username,
                enterprise,
            } => format!(
                "{username} is eligible for the Global Administrator role of {enterprise}'s Microsoft 365 tenant through Privileged Identity Management, but the role is not active. Activate it in the Microsoft Entra admin center (My roles, Activate), then sign in again."
            ),
        }
    }
}

/// Decides whether a verified Microsoft account may manage `enterprise` (the enterprise
/// registered for its tenant, if any). Returns the role it signs in with.
pub fn authorize(
    admin: &SignedInAdmin,
    enterprise: Option<&Enterprise>,
) -> Result<&'static str, Refusal> {
    let username = admin
        .username
        .clone()
        .unwrap_or_else(|| admin.object_id.clone());
    let Some(enterprise) = enterprise else {
        return Err(Refusal::TenantNotRegistered {
            tenant_id: admin.tenant_id.clone(),
        });
    };
    let name = enterprise.name.as_str().to_owned();
    if admin.is_global_admin {
        Ok("Global Administrator")
    } else if admin.is_teams_admin && enterprise.consent(ConsentKind::Management) {
        Ok("Teams Administrator")
    } else if admin.global_admin_needs_activation() {
        Err(Refusal::GlobalAdminNotActivated {
            username,
            enterprise: name,
        })
    } else if admin.is_teams_admin {
        Err(Refusal::TeamsAdminWithoutConsent {
            username,
            enterprise: name,
        })
    } else {
        Err(Refusal::NotAnAdmin {
            username,
            enterprise: name,
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "refused.html")]
struct RefusedPage {
    title: String,
    detail: String,
}

fn refused(title: impl Into<String>, detail: impl Into<String>) -> Response {
    (
        StatusCode::FORBIDDEN,
        RefusedPage {
            title: title.into(),
            detail: detail.into(),
        },
    )
        .into_response()
}

async fn microsoft_callback(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    query: RawQuery,
) -> Result<Response, PageError> {
    let pending = StoredPending::unseal(&state, &headers, OffsetDateTime::now_utc());
    let mut response = finish_microsoft(&state, session, pending, query).await?;
    // The sign-in cookie is used once, whatever the outcome.
    response.headers_mut().append(
        header::SET_COOKIE,
        StoredPending::cookie(String::new(), time::Duration::ZERO, state.secure_cookies()),
    );
    Ok(response)
}

async fn finish_microsoft(
    state: &AppState,
    session: Session,
    pending: Option<StoredPending>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let Some(pending) = pending else {
        return Ok(refused(
            "The sign-in could not be completed",
            "This sign-in was not started from this browser, or it took too long. Start again with Sign in with Microsoft.",
        ));
    };
    let return_to = pending.next.clone();
    let invitation = pending.invitation.clone();
    let admin = match state
        .engine
        .microsoft()
        .sign_in()
        .finish(&pending.into(), query.as_deref().unwrap_or_default())
        .await
    {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "Microsoft sign-in failed");
            return Ok(refused(
                "Microsoft did not sign you in",
                format!("{e}. Start again with Sign in with Microsoft."),
            ));
        }
    };
    let username = admin
        .username
        .clone()
        .or_else(|| admin.email.clone())
        .unwrap_or_else(|| admin.object_id.clone());
    if let Some(token) = &invitation {
        let who = RegisteringAdmin {
            tenant_id: admin.tenant_id.clone(),
            username: username.clone(),
            is_global_admin: admin.is_global_admin,
        };
        match state.engine.register_from_invitation(token, &who).await {
            Ok(e) => {
                tracing::info!(enterprise = %e.id, tenant = %admin.tenant_id, "registered an invited enterprise")
            }
            Err(RegistrationError::Engine(e)) => return Err(e.into()),
            Err(refusal) => {
                tracing::info!(tenant = %admin.tenant_id, %refusal, "refused a registration");
                return Ok(refused("Registration refused", refusal.to_string()));
            }
        }
    }
    let enterprise = match TenantId::parse(&admin.tenant_id) {
        Ok(t) => state.store.enterprise_by_tenant(&t).await?,
        Err(_) => None,
    };
    let role = match authorize(&admin, enterprise.as_ref()) {
        Ok(role) => role,
        Err(refusal) => {
            tracing::info!(tenant = %admin.tenant_id, ?refusal, "refused an enterprise sign-in");
            return Ok(refused(refusal.title(), refusal.detail()));
        }
    };
    let Some(enterprise) = enterprise else {
        return Err(PageError::Internal(
            "authorized without an enterprise".into(),
        ));
    };
    let principal = EnterpriseAdmin {
        enterprise_id: enterprise.id,
        tenant_id: admin.tenant_id.clone(),
        object_id: admin.object_id.clone(),
        display_name: admin.name.clone().unwrap_or_else(|| username.clone()),
        username: username.clone(),
        role: role.to_owned(),
    };
    crate::session::begin(&session, Principal::EnterpriseAdmin(principal)).await?;
    state
        .store
        .record_audit(&AuditRecord {
            enterprise_id: Some(enterprise.id),
            actor: Actor::EnterpriseAdmin(username.clone()),
            action: "admin.sign_in".into(),
            summary: format!("{username} signed in ({role})"),
            object_type: "enterprise".into(),
            object_id: Some(enterprise.id.to_string()),
            before: None,
            // How Microsoft told the roles (ID token or Graph), for `teamline doctor`.
            after: serde_json::to_string(&teamline_microsoft::doctor::sign_in_check(&admin)).ok(),
        })
        .await?;
    if invitation.is_some() {
        // Registered: straight on to Microsoft's admin consent for the tenant.
        let tenant = enterprise.tenant_id.clone().ok_or_else(|| {
            PageError::Internal("a registered enterprise without its tenant".into())
        })?;
        return Ok(
            crate::pages::consent::to_admin_consent(state, &session, &tenant)
                .await?
                .into_response(),
        );
    }
    Ok(Redirect::to(&after_sign_in(return_to)).into_response())
}

/// Takes no form fields: the CSRF check (origin and token) is what a sign-out needs.
async fn sign_out(session: Session) -> Result<Redirect, PageError> {
    session.flush().await.map_err(PageError::session)?;
    Ok(Redirect::to("/sign-in?signed_out=1"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use teamline_domain::enterprise::{Consent, EnterpriseState};
    use teamline_domain::ids::{EnterpriseId, ResellerId};
    use teamline_domain::text::{Email, Name, Slug};

    fn contoso(management_consent: bool) -> Enterprise {
        let name = Name::parse("Enterprise Name", "Contoso").unwrap();
        Enterprise {
            id: EnterpriseId(1),
            reseller_id: ResellerId(1),
            slug: Slug::from_name(&name),
            name,
            tenant_id: Some(TenantId::parse("8750e5a4-2c6e-4949-9e43-8043af3f92f2").unwrap()),
            global_admin_email: Email::parse("E-mail", "admin@contoso.example").unwrap(),
            user_limit: None,
            pbx_music_on_hold: false,
            access_sip_data: false,
            request_management_consent: true,
            state: EnterpriseState::DirectRoutingReady,
            consents: vec![Consent {
                kind: ConsentKind::Management,
                granted_at_ms: management_consent.then_some(1),
                granted_by: None,
            }],
            sbc_regions: vec![],
            billing_reference: None,
            version: 1,
        }
    }

    #[test]
    fn a_global_administrator_only_eligible_through_pim_is_told_to_activate_the_role() {
        let mut admin = signed_in(false, false);
        admin.eligible_role_template_ids = Some(vec![
            teamline_microsoft::signin::roles::GLOBAL_ADMINISTRATOR.into(),
        ]);
        let refusal = authorize(&admin, Some(&contoso(false))).unwrap_err();
        assert_eq!(
            refusal.title(),
            "Your Global Administrator role is not active"
        );
        assert!(
            refusal.detail().contains("Activate it"),
            "{}",
            refusal.detail()
        );
        // A Teams Administrator with management consent still gets in as such.
        admin.is_teams_admin = true;
        assert_eq!(
            authorize(&admin, Some(&contoso(true))),
            Ok("Teams Administrator")
        );
    }

    fn signed_in(global: bool, teams: bool) -> SignedInAdmin {
        SignedInAdmin {
            tenant_id: "8750e5a4-2c6e-4949-9e43-8043af3f92f2".into(),
            object_id: "oid".into(),
            username: Some("AdeleV@contoso.example".into()),
            name: Some("Adele Vance".into()),
            email: None,
            role_template_ids: vec![],
            is_global_admin: global,
            is_teams_admin: teams,
            role_source: teamline_microsoft::signin::RoleSource::IdToken,
            eligible_role_template_ids: None,
        }
    }

    #[test]
    fn the_deep_link_stays_on_this_site() {
        assert_eq!(
            after_sign_in(Some("/users/7/edit?x=1".into())),
            "/users/7/edit?x=1"
        );
        for away in [
            "//evil.example/x",
            "/\\evil.example",
            "https://evil.example",
            "/sign-in",
        ] {
            assert_eq!(after_sign_in(Some(away.into())), "/dashboard", "{away}");
        }
        assert_eq!(after_sign_in(None), "/dashboard");
    }

    #[test]
    fn global_admin_of_a_registered_tenant_gets_in() {
        assert_eq!(
            authorize(&signed_in(true, false), Some(&contoso(false))),
            Ok("Global Administrator")
        );
    }

    #[test]
    fn teams_admin_needs_management_consent() {
        let refusal = authorize(&signed_in(false, true), Some(&contoso(false))).unwrap_err();
        assert!(refusal.detail().contains("management consent"));
        assert_eq!(
            authorize(&signed_in(false, true), Some(&contoso(true))),
            Ok("Teams Administrator")
        );
    }

    #[test]
    fn non_admin_is_told_why() {
        let refusal = authorize(&signed_in(false, false), Some(&contoso(true))).unwrap_err();
        assert!(
            refusal
                .detail()
                .contains("AdeleV@contoso.example is not a Global Administrator of Contoso")
        );
    }

    #[test]
    fn unregistered_tenant_is_told_why() {
        let refusal = authorize(&signed_in(true, false), None).unwrap_err();
        assert_eq!(
            refusal.title(),
            "Your organization is not registered with Teamline"
        );
        assert!(refusal.detail().contains("8750e5a4"));
    }
}
