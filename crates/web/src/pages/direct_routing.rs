//! Teamline's Direct Routing set-up as the portals show it: per SBC region, each step with its
//! state and what Microsoft (or the DNS server) said; on the Dashboard and on the reseller's
//! enterprise page. "Set up Direct Routing" runs it again (every step is idempotent).

use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::routes::{Routes, post};
use crate::views::timestamp;
use axum::extract::State;
use axum::response::Redirect;
use teamline_domain::direct_routing::StepState;
use teamline_domain::ids::EnterpriseId;

pub fn routes() -> Routes {
    Routes::new().route("/direct-routing", post(set_up))
}

pub struct StepRow {
    pub label: &'static str,
    pub state: &'static str,
    pub class: &'static str,
    pub detail: String,
}

/// One region's set-up.
pub struct RegionSetup {
    pub region: String,
    pub state: &'static str,
    pub class: &'static str,
    pub steps: Vec<StepRow>,
}

fn class(s: StepState) -> &'static str {
    match s {
        StepState::Done => "badge badge-ok",
        StepState::Waiting => "badge badge-info",
        StepState::Failed => "badge badge-bad",
        StepState::Pending => "badge",
    }
}

/// The enterprise's set-ups, region by region.
pub async fn region_setups(
    state: &AppState,
    e: EnterpriseId,
) -> Result<Vec<RegionSetup>, PageError> {
    Ok(state
        .engine
        .direct_routing_setups(e)
        .await?
        .into_iter()
        .map(|(region, setup)| RegionSetup {
            region: region.name.as_str().to_owned(),
            state: setup.summary().label(),
            class: class(setup.summary()),
            steps: setup
                .steps
                .iter()
                .map(|s| StepRow {
                    label: s.step.label(),
                    state: s.state.label(),
                    class: class(s.state),
                    detail: match (&s.detail, s.at_ms) {
                        (Some(d), Some(at)) => format!("{d} · {}", timestamp(at)),
                        (Some(d), None) => d.clone(),
                        (None, _) => String::new(),
                    },
                })
                .collect(),
        })
        .collect())
}

async fn set_up(State(state): State<AppState>, admin: Admin) -> Result<Redirect, PageError> {
    let message = match state
        .engine
        .set_up_direct_routing(admin.enterprise.id, &admin.actor())
        .await
    {
        Ok(_) => "Direct Routing set-up started: its steps show below.".to_owned(),
        Err(teamline_engine::EngineError::Refused(why)) => format!("Not started: {why}."),
        Err(e) => return Err(e.into()),
    };
    admin.flash(message).await?;
    Ok(Redirect::to("/dashboard"))
}
