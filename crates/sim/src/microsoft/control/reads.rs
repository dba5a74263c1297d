//! What a test reads back: Teams state, numbers, voice configuration, write counters and
//! traffic statistics, domains and a tenant summary.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Value, json};

use super::{ControlError, TeamsState, TenantControl};
use crate::microsoft::faults::RequestStats;
use crate::microsoft::teams::normalize_number;

impl TenantControl {
    /// Write requests (assign/unassign number, policy grants) per target user id.
    pub fn write_counts(&self) -> BTreeMap<String, u64> {
        self.with(|t| t.write_counts.clone())
    }

    /// `assignNumber` requests per target user id.
    pub fn number_assignment_counts(&self) -> BTreeMap<String, u64> {
        self.with(|t| t.number_assignments.clone())
    }

    /// Graph policy assignment requests (`userAssignments/assign|unassign`) received; one
    /// request may grant a policy to many users.
    pub fn policy_assignment_requests(&self) -> u64 {
        self.with(|t| t.policy_assignment_requests)
    }

    /// Traffic seen since the tenant was created or the stats were reset.
    pub fn request_stats(&self) -> RequestStats {
        self.with(|t| t.traffic.stats_at(Instant::now()))
    }

    /// Starts counting traffic afresh (write counts are kept).
    pub fn reset_request_stats(&self) {
        self.with(|t| t.traffic.reset_stats());
    }

    /// A user's Teams state.
    pub fn teams_state(&self, user: &str) -> Result<TeamsState, ControlError> {
        self.with(|t| {
            let idx = t
                .user_idx(user)
                .ok_or_else(|| ControlError::UnknownUser(user.to_string()))?;
            t.settle_policies(idx, Instant::now());
            let u = t.user(idx);
            let mut effective = BTreeMap::new();
            let mut pending = BTreeMap::new();
            for (ty, slot) in &u.teams.policies {
                if let Some(e) = &slot.effective {
                    effective.insert(ty.clone(), e.clone());
                }
                if let Some((p, _)) = &slot.pending {
                    pending.insert(ty.clone(), p.clone().unwrap_or_else(|| "Global".into()));
                }
            }
            Ok(TeamsState {
                id: u.id.clone(),
                user_principal_name: u.upn.clone(),
                enterprise_voice_enabled: u.teams.ev,
                numbers: u.teams.numbers.iter().map(|n| n.number.clone()).collect(),
                effective_policies: effective,
                pending_policies: pending,
            })
        })
    }

    /// Who holds a number (user id), if anyone.
    pub fn number_holder(&self, number: &str) -> Option<String> {
        let n = normalize_number(number)?;
        self.with(|t| {
            t.numbers
                .get(&n)
                .filter(|r| r.activation_state == "activated")
                .and_then(|r| r.target.clone())
        })
    }

    /// The number inventory as JSON.
    pub fn numbers(&self) -> Value {
        self.with(|t| {
            Value::Array(
                t.numbers
                    .values()
                    .map(|r| {
                        json!({"telephoneNumber": r.number, "numberType": r.number_type, "assignmentTargetId": r.target,
                               "activationState": r.activation_state, "assignmentCategory": r.category})
                    })
                    .collect(),
            )
        })
    }

    /// Tenant voice configuration as JSON, by type.
    pub fn voice_config(&self) -> Value {
        self.with(|t| {
            let mut m = serde_json::Map::new();
            for (ty, items) in &t.config {
                m.insert(
                    ty.to_string(),
                    Value::Array(
                        items
                            .iter()
                            .map(|i| {
                                let mut p = i.props.clone();
                                p.insert("Identity".into(), Value::from(i.identity.as_str()));
                                Value::Object(p)
                            })
                            .collect(),
                    ),
                );
            }
            Value::Object(m)
        })
    }

    /// Verified and unverified domains.
    pub fn domains(&self) -> Vec<(String, bool)> {
        self.with(|t| {
            t.domains
                .iter()
                .map(|d| (d.id.clone(), d.is_verified))
                .collect()
        })
    }

    /// Number of live users.
    pub fn user_count(&self) -> usize {
        self.with(|t| t.users.iter().filter(|u| u.deleted.is_none()).count())
    }

    pub(super) fn summary(&self) -> Value {
        self.with(|t| {
            json!({
                "id": t.id,
                "displayName": t.display_name,
                "domains": t.domains.iter().map(|d| json!({"id": d.id, "isVerified": d.is_verified, "isDefault": d.is_default})).collect::<Vec<_>>(),
                "users": t.users.iter().filter(|u| u.deleted.is_none()).count(),
                "groups": t.groups.iter().filter(|g| g.deleted.is_none()).count(),
                "consentGranted": t.consent.is_some(),
                "faults": t.traffic.faults,
            })
        })
    }
}
