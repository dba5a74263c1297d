//! `?dry_run=true`: the changes an operation would make in Microsoft Teams and on the PBX,
//! planned as the jobs will plan them, without writing anything (no user stored, no job
//! queued, nothing sent to Microsoft or the PBX, the Idempotency-Key not used up).

use axum::http::Uri;
use serde::{Deserialize, Serialize};
use teamline_domain::FieldErrors;
use teamline_domain::preview::PbxStep;
use teamline_domain::teams_voice::VoiceStep;
use teamline_engine::{ChangePreview, RowPreview};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DryRun {
    /// `true`: answer 200 with the changes this request would make, and change nothing.
    pub dry_run: Option<bool>,
}

impl DryRun {
    pub fn is_set(&self) -> bool {
        self.dry_run == Some(true)
    }
}

/// Whether a request asks for a dry run (read before the handler, by the idempotency layer).
pub fn is_dry_run(uri: &Uri) -> bool {
    uri.query().is_some_and(|q| {
        q.split('&')
            .any(|pair| pair.eq_ignore_ascii_case("dry_run=true"))
    })
}

/// One change in Microsoft Teams.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeamsChangeOut {
    /// `assign_number` (enterprise voice goes on with it), `unassign_number` or
    /// `grant_policy`.
    pub action: String,
    /// The phone number assigned or removed.
    pub number: Option<String>,
    /// For `grant_policy`: `OnlineVoiceRoutingPolicy`, `TenantDialPlan`,
    /// `TeamsCallingPolicy` (voicemail) or `CallingLineIdentity` (caller ID).
    pub policy_type: Option<String>,
    /// For `grant_policy`: the policy granted; `null` = back to the Global policy.
    pub policy: Option<String>,
    /// The change in words, as the portal shows it.
    pub summary: String,
}

impl From<&VoiceStep> for TeamsChangeOut {
    fn from(step: &VoiceStep) -> Self {
        let (action, number, policy_type, policy) = match step {
            VoiceStep::AssignNumber { number } => {
                ("assign_number", Some(number.clone()), None, None)
            }
            VoiceStep::UnassignNumber { number } => {
                ("unassign_number", Some(number.clone()), None, None)
            }
            VoiceStep::GrantPolicy { policy_type, name } => (
                "grant_policy",
                None,
                Some(policy_type.as_str().to_owned()),
                name.clone(),
            ),
        };
        Self {
            action: action.to_owned(),
            number,
            policy_type,
            policy,
            summary: step.describe(),
        }
    }
}

/// One change on the PBX.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PbxChangeOut {
    /// `create_device`.
    pub action: String,
    pub extension: String,
    /// The device (SIP authentication id) Teams registers as.
    pub device: String,
    pub summary: String,
}

impl From<&PbxStep> for PbxChangeOut {
    fn from(step: &PbxStep) -> Self {
        let PbxStep::CreateDevice { extension, device } = step;
        Self {
            action: "create_device".to_owned(),
            extension: extension.clone(),
            device: device.clone(),
            summary: step.describe(),
        }
    }
}

/// What the operation would change; nothing that already holds is listed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PreviewOut {
    /// Always `true`: nothing was changed.
    pub dry_run: bool,
    /// In Microsoft Teams, in the order Teamline makes them.
    pub teams: Vec<TeamsChangeOut>,
    /// On the PBX.
    pub pbx: Vec<PbxChangeOut>,
    /// What could not be checked (then the plan comes from what Teamline last knew), or
    /// Teams changes that wait for consent.
    pub notes: Vec<String>,
}

impl From<&ChangePreview> for PreviewOut {
    fn from(p: &ChangePreview) -> Self {
        Self {
            dry_run: true,
            teams: p.plan.teams.iter().map(TeamsChangeOut::from).collect(),
            pbx: p.plan.pbx.iter().map(PbxChangeOut::from).collect(),
            notes: p.notes.clone(),
        }
    }
}

/// A field of a Bulk Upload row that no longer passes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RowProblemOut {
    pub field: String,
    pub message: String,
}

/// One row of a Bulk Upload: what applying it would change, or why it no longer passes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RowPreviewOut {
    /// The row number a spreadsheet shows (the header is row 1).
    pub row: u64,
    pub upn: String,
    pub sip_user: String,
    /// `null` when the row no longer passes (see `problems`).
    pub changes: Option<PreviewOut>,
    pub problems: Vec<RowProblemOut>,
}

/// What applying the import would change, row by row.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportPreviewOut {
    /// Always `true`: nothing was changed.
    pub dry_run: bool,
    pub rows: Vec<RowPreviewOut>,
}

impl ImportPreviewOut {
    pub fn new(rows: &[RowPreview]) -> Self {
        Self {
            dry_run: true,
            rows: rows.iter().map(row_out).collect(),
        }
    }
}

fn row_out(r: &RowPreview) -> RowPreviewOut {
    let (changes, problems) = match &r.outcome {
        Ok(p) => (Some(PreviewOut::from(p)), Vec::new()),
        Err(errors) => (None, problems(errors)),
    };
    RowPreviewOut {
        row: r.row as u64,
        upn: r.upn.clone(),
        sip_user: r.sip_user.clone(),
        changes,
        problems,
    }
}

fn problems(errors: &FieldErrors) -> Vec<RowProblemOut> {
    errors
        .iter()
        .map(|e| RowProblemOut {
            field: e.field.to_owned(),
            message: e.message.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dry_run_true_is_a_dry_run() {
        let dry = |s: &str| is_dry_run(&s.parse::<Uri>().unwrap());
        assert!(dry("/api/v1/x?dry_run=true"));
        assert!(dry("/api/v1/x?a=1&dry_run=true"));
        assert!(!dry("/api/v1/x?dry_run=false"));
        assert!(!dry("/api/v1/x"));
        assert!(!dry("/api/v1/x?not_dry_run=true"));
    }
}
