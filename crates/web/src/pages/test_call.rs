//! Test call on a PBX user's page: the gateway calls the user's extension as the user's
//! device handle (as a call from Teams would go) and hangs up once it is answered. The panel
//! shows each leg as it goes (htmx polls it every second while the call is in progress): the
//! gateway → PBX leg from the call's record (trying, ringing, answered, or failed with the SIP
//! code in words), and the Microsoft side from the gateway's health (whether the region's
//! proxies answer OPTIONS). Only for enterprises with Access SIP Data, as the Calls page: the
//! result is a call record. The engine refuses a user's second test call within a minute.

use super::users::user_id;
use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::routes::{Routes, get, post};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use teamline_domain::call;
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_engine::EngineError;
use teamline_engine::test_call::CALL_ID_PREFIX;
use teamline_store::{RegionHealthRecord, StoredCall};

pub fn routes() -> Routes {
    Routes::new()
        .route("/users/{id}/test-call", post(place))
        .route("/users/{id}/test-call/{call_id}", get(panel))
}

/// The Test call panel of a user's page.
pub struct TestCallPanel {
    pub user_id: String,
    pub csrf: String,
    /// The enterprise may see call records (Access SIP Data): the button is offered.
    pub allowed: bool,
    pub result: Option<TestCallResult>,
}

/// Where one test call stands.
pub struct TestCallResult {
    pub call_id: String,
    pub pbx_leg: String,
    pub microsoft: Vec<String>,
    /// Still going: the panel asks again in a second.
    pub live: bool,
    /// The call has a record (the Calls page shows it).
    pub recorded: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "test_call_panel.html")]
pub struct PanelFragment {
    pub test_call: TestCallPanel,
}

impl TestCallPanel {
    /// The panel of `user`, with test call `call_id`'s result when one is shown.
    pub async fn load(
        state: &AppState,
        admin: &Admin,
        user: PbxUserId,
        call_id: Option<&str>,
    ) -> Result<Self, PageError> {
        let allowed = admin.enterprise.access_sip_data;
        let result = match call_id {
            Some(cid) if allowed && cid.starts_with(CALL_ID_PREFIX) => {
                Some(result(state, admin.enterprise.id, user, cid).await?)
            }
            _ => None,
        };
        Ok(TestCallPanel {
            user_id: user.to_string(),
            csrf: admin.csrf.clone(),
            allowed,
            result,
        })
    }
}

async fn result(
    state: &AppState,
    e: EnterpriseId,
    user: PbxUserId,
    call_id: &str,
) -> Result<TestCallResult, PageError> {
    let rec = state
        .store
        .get_call(e, call_id)
        .await?
        .filter(|c| c.pbx_user_id == Some(user));
    let health = state.store.gateway_health().await?;
    let microsoft = match &rec {
        Some(c) => microsoft_side(&health, &c.tenant_fqdn),
        None => vec!["waiting for the gateway's first report of the call".to_owned()],
    };
    Ok(TestCallResult {
        call_id: call_id.to_owned(),
        pbx_leg: rec
            .as_ref()
            .map_or_else(|| "Placing the call…".to_owned(), pbx_leg),
        microsoft,
        live: rec.as_ref().is_none_or(|c| c.ended_ms.is_none()),
        recorded: rec.is_some(),
    })
}

/// The gateway → PBX leg in words.
pub fn pbx_leg(c: &StoredCall) -> String {
    if c.answered_ms.is_some() {
        return if c.ended_ms.is_some() {
            "Answered, then Teamline hung up: the PBX side works.".to_owned()
        } else {
            "Answered: Teamline hangs up in a moment.".to_owned()
        };
    }
    if c.ended_ms.is_some() {
        return match c.sip_code {
            // The PBX rings the extension's registered devices; the user's own Teams device
            // is among them and refuses a test call, so 480 means no other phone was there.
            Some(480) => format!(
                "Failed: the PBX answered 480 — {}. No phone of the extension is registered at \
                 the PBX other than the user's Teams device, which a test call does not ring.",
                call::sip_code_meaning(480)
            ),
            Some(code) => format!(
                "Failed: the PBX answered {code} — {}.",
                call::sip_code_meaning(code)
            ),
            None => "Failed: the call ended without an answer.".to_owned(),
        };
    }
    if c.ringing_ms.is_some() {
        "Ringing: the PBX rings the extension's phones.".to_owned()
    } else {
        "Trying: the gateway sent the call to the PBX as the user's device.".to_owned()
    }
}

/// Whether the Microsoft proxies of the region of `tenant_fqdn` answer the gateway's OPTIONS.
pub fn microsoft_side(health: &[RegionHealthRecord], tenant_fqdn: &str) -> Vec<String> {
    let fqdn = tenant_fqdn.to_ascii_lowercase();
    let Some(region) = health.iter().find(|r| {
        let base = r.base_fqdn.to_ascii_lowercase();
        fqdn == base || fqdn.ends_with(&format!(".{base}"))
    }) else {
        return vec![format!(
            "no health reported for the SBC region of {tenant_fqdn}: the gateway does not carry calls for it"
        )];
    };
    if region.proxies.is_empty() {
        return vec![format!(
            "region {}: no Microsoft proxy configured",
            region.region
        )];
    }
    region
        .proxies
        .iter()
        .map(|p| {
            let what = match p.state.as_str() {
                "up" => "answers OPTIONS",
                "down" => "does not answer OPTIONS: calls from Teams cannot come through it",
                "trying" => "is being tried again after not answering OPTIONS",
                "disabled" => "is disabled in the gateway",
                other => other,
            };
            format!("{} {what}", p.fqdn)
        })
        .collect()
}

/// Test call: places the call and shows the user's page with its result.
async fn place(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = user_id(&id)?;
    let e = admin.enterprise.id;
    super::calls::allowed(&admin.enterprise)?;
    // Another enterprise's user answers 404 before anything is tried.
    state.store.get_pbx_user(e, id).await?;
    match state.engine.place_test_call(e, id).await {
        Ok(call_id) => {
            Ok(Redirect::to(&format!("/users/{id}?test_call={call_id}#test-call")).into_response())
        }
        Err(EngineError::Refused(why)) => {
            admin.flash(format!("Test call not placed: {why}")).await?;
            Ok(Redirect::to(&format!("/users/{id}#test-call")).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

/// The panel alone, as htmx asks for it while the call goes on.
async fn panel(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, call_id)): Path<(String, String)>,
) -> Result<PanelFragment, PageError> {
    let id = user_id(&id)?;
    super::calls::allowed(&admin.enterprise)?;
    state.store.get_pbx_user(admin.enterprise.id, id).await?;
    Ok(PanelFragment {
        test_call: TestCallPanel::load(&state, &admin, id, Some(&call_id)).await?,
    })
}
