//! Signing in with a local account (e-mail and password), and out: the Reseller portal's
//! reseller admins at `/reseller/sign-in`, platform operators at `/operator/sign-in`. Both use
//! the same accounts, lock-out and sessions; each portal admits only its own role and sends the
//! other to its own sign-in page.

use crate::AppState;
use crate::error::PageError;
use crate::routes::{Routes, get, post};
use crate::session::Principal;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use teamline_domain::audit::Actor;
use teamline_domain::reseller::AccountRole;
use teamline_engine::accounts::SignInError;
use teamline_store::{Account, AuditRecord, LockoutPolicy};
use tower_sessions::Session;

pub fn routes() -> Routes {
    Routes::new()
        .route("/reseller", get(reseller_home))
        .route(
            "/reseller/sign-in",
            get(reseller_page).post(reseller_submit),
        )
        .route("/reseller/sign-in/code", post(reseller_code))
        .route("/reseller/sign-out", post(reseller_sign_out))
        .route("/operator", get(operator_home))
        .route(
            "/operator/sign-in",
            get(operator_page).post(operator_submit),
        )
        .route("/operator/sign-in/code", post(operator_code))
        .route("/operator/sign-out", post(operator_sign_out))
}

/// Which portal a local sign-in is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Portal {
    Reseller,
    Operator,
}

impl Portal {
    pub fn title(self) -> &'static str {
        match self {
            Self::Reseller => "Reseller portal",
            Self::Operator => "operator area",
        }
    }

    /// Where its pages live, e.g. `/reseller`.
    pub fn base(self) -> &'static str {
        match self {
            Self::Reseller => "/reseller",
            Self::Operator => "/operator",
        }
    }

    /// The first page after sign-in.
    fn home(self) -> &'static str {
        match self {
            Self::Reseller => "/reseller/enterprises",
            Self::Operator => "/operator/resellers",
        }
    }
}

async fn reseller_home() -> Redirect {
    Redirect::to(Portal::Reseller.home())
}

async fn operator_home() -> Redirect {
    Redirect::to(Portal::Operator.home())
}

#[derive(Template, WebTemplate)]
#[template(path = "local_sign_in.html")]
struct SignInPage {
    portal: Portal,
    signed_out: bool,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct SignInQuery {
    #[serde(default)]
    signed_out: Option<String>,
}

async fn reseller_page(Query(q): Query<SignInQuery>) -> SignInPage {
    page(Portal::Reseller, q)
}

async fn operator_page(Query(q): Query<SignInQuery>) -> SignInPage {
    page(Portal::Operator, q)
}

fn page(portal: Portal, q: SignInQuery) -> SignInPage {
    SignInPage {
        portal,
        signed_out: q.signed_out.is_some(),
        email: String::new(),
        error: None,
    }
}

#[derive(Deserialize)]
struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn reseller_submit(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<Credentials>,
) -> Result<Response, PageError> {
    submit(Portal::Reseller, &state, &session, form).await
}

async fn operator_submit(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<Credentials>,
) -> Result<Response, PageError> {
    submit(Portal::Operator, &state, &session, form).await
}

async fn submit(
    portal: Portal,
    state: &AppState,
    session: &Session,
    form: Credentials,
) -> Result<Response, PageError> {
    let refused = |error: String| {
        (
            StatusCode::UNAUTHORIZED,
            SignInPage {
                portal,
                signed_out: false,
                email: form.email.trim().to_owned(),
                error: Some(error),
            },
        )
            .into_response()
    };
    let account = match state
        .engine
        .sign_in_local(&form.email, &form.password, LockoutPolicy::default())
        .await
    {
        Ok(a) => a,
        Err(SignInError::Refused(r)) => return Ok(refused(r.to_string())),
        Err(SignInError::Store(e)) => return Err(e.into()),
    };
    let email = account.email.as_str().to_owned();
    let (principal, actor) = match (portal, account.role, account.reseller_id) {
        (Portal::Reseller, AccountRole::ResellerAdmin, Some(reseller_id)) => (
            Principal::ResellerAdmin {
                account_id: account.id,
                reseller_id,
                email: email.clone(),
            },
            Actor::ResellerAdmin(email.clone()),
        ),
        (Portal::Operator, AccountRole::PlatformOperator, _) => (
            Principal::PlatformOperator {
                account_id: account.id,
                email: email.clone(),
            },
            Actor::PlatformOperator(email.clone()),
        ),
        (Portal::Reseller, _, _) => {
            return Ok(refused(
                "This is the Reseller portal: platform operator accounts sign in to the operator area at /operator."
                    .into(),
            ));
        }
        (Portal::Operator, _, _) => {
            return Ok(refused(
                "This is the operator area, for platform operators only: reseller admins sign in to the Reseller portal at /reseller."
                    .into(),
            ));
        }
    };
    if account.two_factor {
        // The password was right; the session is signed in only once the code is too.
        session
            .insert(PENDING_SECOND_FACTOR, &principal)
            .await
            .map_err(PageError::session)?;
        let csrf = crate::csrf::token(session).await?;
        return Ok(CodePage {
            portal,
            csrf,
            error: None,
        }
        .into_response());
    }
    finish(portal, state, session, principal, actor, &account).await
}

/// The password (and the code, if the account has two-factor) were right: the session is
/// signed in.
async fn finish(
    portal: Portal,
    state: &AppState,
    session: &Session,
    principal: Principal,
    actor: Actor,
    account: &Account,
) -> Result<Response, PageError> {
    let email = account.email.as_str().to_owned();
    crate::session::begin(session, principal).await?;
    let (action, summary) = match portal {
        Portal::Reseller => (
            "reseller_admin.sign_in",
            format!("{email} signed in to the Reseller portal"),
        ),
        Portal::Operator => (
            "platform_operator.sign_in",
            format!("{email} signed in to the operator area"),
        ),
    };
    state
        .store
        .record_audit(&AuditRecord {
            enterprise_id: None,
            actor,
            action: action.into(),
            summary,
            object_type: "account".into(),
            object_id: Some(account.id.to_string()),
            before: None,
            after: None,
        })
        .await?;
    Ok(Redirect::to(portal.home()).into_response())
}

/// The session key of a sign-in whose password was right and whose code is awaited.
const PENDING_SECOND_FACTOR: &str = "pending_second_factor";

#[derive(Template, WebTemplate)]
#[template(path = "local_sign_in_code.html")]
struct CodePage {
    portal: Portal,
    csrf: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn reseller_code(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    code(Portal::Reseller, &state, &session, form).await
}

async fn operator_code(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    code(Portal::Operator, &state, &session, form).await
}

/// The second step of a sign-in: the code from the authenticator app (or a recovery code).
async fn code(
    portal: Portal,
    state: &AppState,
    session: &Session,
    form: CodeForm,
) -> Result<Response, PageError> {
    let pending: Option<Principal> = session
        .get(PENDING_SECOND_FACTOR)
        .await
        .map_err(PageError::session)?;
    let Some(principal) = pending else {
        // No password was entered in this session.
        return Ok(Redirect::to(&format!("{}/sign-in", portal.base())).into_response());
    };
    let (email, actor) = match &principal {
        Principal::ResellerAdmin { email, .. } if portal == Portal::Reseller => {
            (email.clone(), Actor::ResellerAdmin(email.clone()))
        }
        Principal::PlatformOperator { email, .. } if portal == Portal::Operator => {
            (email.clone(), Actor::PlatformOperator(email.clone()))
        }
        _ => return Ok(Redirect::to(&format!("{}/sign-in", portal.base())).into_response()),
    };
    let Some(account) = state.store.account_by_email(&email).await? else {
        return Ok(Redirect::to(&format!("{}/sign-in", portal.base())).into_response());
    };
    match state
        .engine
        .verify_second_factor(&account, &form.code, LockoutPolicy::default())
        .await
    {
        Ok(()) => {
            session
                .remove::<Principal>(PENDING_SECOND_FACTOR)
                .await
                .map_err(PageError::session)?;
            finish(portal, state, session, principal, actor, &account).await
        }
        Err(SignInError::Refused(r)) => {
            let csrf = crate::csrf::token(session).await?;
            Ok((
                StatusCode::UNAUTHORIZED,
                CodePage {
                    portal,
                    csrf,
                    error: Some(r.to_string()),
                },
            )
                .into_response())
        }
        Err(SignInError::Store(e)) => Err(e.into()),
    }
}

async fn reseller_sign_out(session: Session) -> Result<Redirect, PageError> {
    sign_out(Portal::Reseller, session).await
}

async fn operator_sign_out(session: Session) -> Result<Redirect, PageError> {
    sign_out(Portal::Operator, session).await
}

async fn sign_out(portal: Portal, session: Session) -> Result<Redirect, PageError> {
    session.flush().await.map_err(PageError::session)?;
    Ok(Redirect::to(&format!(
        "{}/sign-in?signed_out=1",
        portal.base()
    )))
}
