//! Two-factor sign-in pages of the local accounts: enrolment (a QR code drawn here as SVG,
//! the secret as text, a code to confirm before it is switched on, recovery codes shown once)
//! under `/reseller/two-factor` and `/operator/two-factor`, and a reseller admin's switch that
//! requires two-factor for all of the reseller's accounts. The code step of sign-in itself is in
//! [`crate::local_sign_in`].

use crate::AppState;
use crate::error::PageError;
use crate::local_sign_in::Portal;
use crate::operator::{Operator, OperatorLayout, OperatorMenu};
use crate::reseller::{ResellerAdmin, ResellerLayout, ResellerMenu};
use crate::routes::{Routes, get, post};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use teamline_domain::audit::{Actor, Audit};
use teamline_engine::two_factor::{self, TwoFactorError};
use teamline_store::Account;
use tower_sessions::Session;

/// The session key of a secret being enrolled, until its first code confirms it.
const ENROLMENT: &str = "two_factor_enrolment";
/// Where a reseller account that must enrol is sent.
pub const RESELLER_PAGE: &str = "/reseller/two-factor";

pub fn routes() -> Routes {
    Routes::new()
        .route(RESELLER_PAGE, get(reseller_page).post(reseller_confirm))
        .route("/reseller/two-factor/require", post(reseller_require))
        .route(
            "/operator/two-factor",
            get(operator_page).post(operator_confirm),
        )
}

/// What the page shows, the same in both portals.
pub struct TwoFactorView {
    pub portal: Portal,
    pub enabled: bool,
    /// The secret to enrol (as text) and its QR code (SVG), while two-factor is off.
    pub enrol: Option<(String, String)>,
    /// Shown once, right after enrolment.
    pub recovery_codes: Vec<String>,
    pub error: Option<String>,
    /// The one-time message of the previous request.
    pub notice: Option<String>,
    /// For a reseller admin: whether the reseller requires two-factor of all its accounts.
    pub required: Option<Requirement>,
    /// The reseller requires two-factor and this account has not enrolled yet.
    pub must_enrol: bool,
}

/// The reseller-wide switch.
pub struct Requirement {
    pub on: bool,
    pub reseller: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "reseller/two_factor.html")]
struct ResellerPage {
    layout: ResellerLayout,
    tf: TwoFactorView,
}

#[derive(Template, WebTemplate)]
#[template(path = "operator/two_factor.html")]
struct OperatorPage {
    layout: OperatorLayout,
    tf: TwoFactorView,
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

#[derive(Deserialize)]
struct RequireForm {
    #[serde(default)]
    required: Option<String>,
}

/// The page's state for `account`; a new enrolment secret is kept in the session until
/// confirmed, so reloading the page shows the same QR code.
async fn view(
    portal: Portal,
    account: &Account,
    session: &Session,
    error: Option<String>,
) -> Result<TwoFactorView, PageError> {
    let enrol = if account.two_factor {
        None
    } else {
        let secret = match session
            .get::<String>(ENROLMENT)
            .await
            .map_err(PageError::session)?
        {
            Some(s) => s,
            None => {
                let e = two_factor::new_enrolment(&issuer(portal), account.email.as_str())
                    .map_err(|e| PageError::Internal(e.to_string()))?;
                session
                    .insert(ENROLMENT, &e.secret)
                    .await
                    .map_err(PageError::session)?;
                e.secret
            }
        };
        let url = two_factor::enrolment_url(&secret, &issuer(portal), account.email.as_str())
            .map_err(|e| PageError::Internal(e.to_string()))?;
        Some((secret, qr_svg(&url)?))
    };
    Ok(TwoFactorView {
        portal,
        enabled: account.two_factor,
        enrol,
        recovery_codes: vec![],
        error,
        notice: None,
        required: None,
        must_enrol: false,
    })
}

fn issuer(portal: Portal) -> String {
    format!("Teamline {}", portal.title())
}

/// The QR code as an inline SVG image (no script, no outside service).
fn qr_svg(url: &str) -> Result<String, PageError> {
    let code = qrcode::QrCode::new(url.as_bytes())
        .map_err(|e| PageError::Internal(format!("the QR code could not be drawn: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// Confirms the enrolment with the first code; the page then shows the recovery codes.
async fn confirm(
    state: &AppState,
    portal: Portal,
    account: &Account,
    session: &Session,
    actor: Actor,
    code: &str,
) -> Result<(StatusCode, TwoFactorView), PageError> {
    if account.two_factor {
        return Ok((StatusCode::OK, view(portal, account, session, None).await?));
    }
    let Some(secret) = session
        .get::<String>(ENROLMENT)
        .await
        .map_err(PageError::session)?
    else {
        let error = Some("The enrolment expired: scan the new QR code and enter its code.".into());
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            view(portal, account, session, error).await?,
        ));
    };
    match state
        .engine
        .enable_two_factor(account, &secret, code, actor)
        .await
    {
        Ok(codes) => {
            session
                .remove::<String>(ENROLMENT)
                .await
                .map_err(PageError::session)?;
            Ok((
                StatusCode::OK,
                TwoFactorView {
                    portal,
                    enabled: true,
                    enrol: None,
                    recovery_codes: codes,
                    error: None,
                    notice: None,
                    required: None,
                    must_enrol: false,
                },
            ))
        }
        Err(TwoFactorError::WrongCode) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            view(
                portal,
                account,
                session,
                Some(TwoFactorError::WrongCode.to_string()),
            )
            .await?,
        )),
        Err(TwoFactorError::Store(e)) => Err(e.into()),
        Err(e @ TwoFactorError::Secret(_)) => Err(PageError::Internal(e.to_string())),
    }
}

async fn with_requirement(
    state: &AppState,
    admin: &ResellerAdmin,
    mut tf: TwoFactorView,
) -> Result<TwoFactorView, PageError> {
    let required = state
        .store
        .reseller_requires_two_factor(admin.reseller.id)
        .await?;
    tf.must_enrol = required && !tf.enabled;
    tf.required = Some(Requirement {
        on: required,
        reseller: admin.reseller.name.as_str().to_owned(),
    });
    Ok(tf)
}

async fn reseller_page(
    State(state): State<AppState>,
    admin: ResellerAdmin,
) -> Result<ResellerPage, PageError> {
    let mut tf = view(Portal::Reseller, &admin.account, &admin.session, None).await?;
    tf.notice = admin.take_flash().await?;
    Ok(ResellerPage {
        layout: admin.layout(ResellerMenu::TwoFactor),
        tf: with_requirement(&state, &admin, tf).await?,
    })
}

async fn reseller_confirm(
    State(state): State<AppState>,
    admin: ResellerAdmin,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let (status, tf) = confirm(
        &state,
        Portal::Reseller,
        &admin.account,
        &admin.session,
        admin.actor(),
        &form.code,
    )
    .await?;
    let page = ResellerPage {
        layout: admin.layout(ResellerMenu::TwoFactor),
        tf: with_requirement(&state, &admin, tf).await?,
    };
    Ok((status, page).into_response())
}

async fn reseller_require(
    State(state): State<AppState>,
    admin: ResellerAdmin,
    Form(form): Form<RequireForm>,
) -> Result<Response, PageError> {
    let required = form.required.is_some();
    // Requiring it of everyone starts with oneself: otherwise this admin would be sent to
    // enrol by their own next click anyway.
    if required && !admin.account.two_factor {
        admin
            .flash(
                "Switch on two-factor for your own account first, then require it of all accounts.",
            )
            .await?;
        return Ok(Redirect::to(RESELLER_PAGE).into_response());
    }
    let name = admin.reseller.name.as_str();
    let audit = Audit::new(
        admin.actor(),
        "reseller.require_two_factor",
        if required {
            format!("Required two-factor sign-in for all accounts of {name}")
        } else {
            format!("Stopped requiring two-factor sign-in for the accounts of {name}")
        },
    );
    state
        .store
        .set_reseller_requires_two_factor(admin.reseller.id, required, &audit)
        .await?;
    admin
        .flash(if required {
            "Two-factor is now required: accounts without it enrol at their next sign-in."
        } else {
            "Two-factor is no longer required (accounts that have it keep it)."
        })
        .await?;
    Ok(Redirect::to(RESELLER_PAGE).into_response())
}

async fn operator_page(operator: Operator) -> Result<OperatorPage, PageError> {
    let tf = view(Portal::Operator, &operator.account, &operator.session, None).await?;
    Ok(OperatorPage {
        layout: operator.layout(OperatorMenu::TwoFactor),
        tf,
    })
}

async fn operator_confirm(
    State(state): State<AppState>,
    operator: Operator,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let (status, tf) = confirm(
        &state,
        Portal::Operator,
        &operator.account,
        &operator.session,
        operator.actor(),
        &form.code,
    )
    .await?;
    let page = OperatorPage {
        layout: operator.layout(OperatorMenu::TwoFactor),
        tf,
    };
    Ok((status, page).into_response())
}
