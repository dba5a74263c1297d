//! A PBX user's device-handle registration as the Users page shows it: the state the SIP
//! gateway last reported (stored by the engine's gateway loop), with since when, where, and
//! what went wrong. Kept apart from the Users page's own code so each can change alone.

use crate::error::PageError;
use crate::views::timestamp;
use std::collections::HashMap;
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::registration::RegistrationStatus;
use teamline_store::{DynStore, RegistrationRecord};

/// The Registration column's cell.
pub struct RegistrationCell {
    pub text: &'static str,
    pub class: &'static str,
    /// The device, and since when / where / what failed.
    pub detail: Vec<String>,
    /// What to do about a failing handle.
    pub fix: Option<&'static str>,
}

impl RegistrationCell {
    pub fn of(r: &RegistrationRecord) -> Self {
        let class = match r.state {
            RegistrationStatus::Registered => "badge badge-ok",
            RegistrationStatus::Registering => "badge badge-info",
            s if s.is_failing() => "badge badge-bad",
            _ => "badge",
        };
        let mut detail = vec![r.device.to_string()];
        if let Some(since) = r
            .since_ms
            .filter(|_| r.state == RegistrationStatus::Registered)
        {
            detail.push(format!("since {}", timestamp(since)));
        }
        if let Some(target) = r.target.as_ref().filter(|_| !r.state.is_failing()) {
            detail.push(format!("at {target}"));
        }
        if let Some(error) = &r.last_error {
            detail.push(error.clone());
        }
        Self {
            text: r.state.label(),
            class,
            detail,
            fix: r.state.fix(),
        }
    }
}

/// The cells of some PBX users of one enterprise (users without a stored state have none).
pub async fn cells(
    store: &DynStore,
    e: EnterpriseId,
    users: &[PbxUserId],
) -> Result<HashMap<i64, RegistrationCell>, PageError> {
    Ok(store
        .list_registrations(Some(e), Some(users))
        .await?
        .iter()
        .map(|r| (r.pbx_user_id.0, RegistrationCell::of(r)))
        .collect())
}
