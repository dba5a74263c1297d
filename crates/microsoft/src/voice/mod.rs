//! Per-user Teams voice through Graph v1.0 `admin/teams`: Direct Routing numbers (with
//! long-running operation polling), policy assignment and the read-back of a user's Teams
//! configuration.

mod types;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

pub use self::types::{
    AccountType, EffectivePolicy, NumberAssignment, NumberChange, PolicySource, PolicyType,
    TelephoneNumber, UserRef, UserVoiceConfig,
};
use self::wire::{NumberAssignmentWire, OperationWire, PolicyIdWire, UserConfigurationWire};
use crate::directory::batch;
use crate::directory::{BatchItem, Directory, GraphDirectory};
use crate::error::MicrosoftError;
use crate::http::Reply;
use crate::odata::{function_call, literal, query, segment};
use crate::tenant::{Req, TenantCore};

const NUMBERS: &str = "/admin/teams/telephoneNumberManagement/numberAssignments";
const ASSIGNMENT_TYPE: &str = "#microsoft.graph.teamsAdministration.teamsPolicyUserAssignment";

/// Changing and reading a user's Teams voice setup.
#[async_trait]
pub trait TeamsVoice: Send + Sync {
    /// Assigns `number` to the user as their primary Direct Routing number (this also turns
    /// Enterprise Voice on) and waits for Microsoft to finish. Assigning a number the user
    /// already holds changes nothing.
    async fn assign_number(
        &self,
        user: &UserRef,
        number: &str,
    ) -> Result<NumberChange, MicrosoftError>;

    /// Removes `number` from the user (this turns Enterprise Voice off) and waits for
    /// Microsoft to finish. A number the user does not hold is left alone.
    async fn unassign_number(
        &self,
        user: &UserRef,
        number: &str,
    ) -> Result<NumberChange, MicrosoftError>;

    /// Who holds a number in the tenant, if anyone.
    async fn number_assignment(
        &self,
        number: &str,
    ) -> Result<Option<NumberAssignment>, MicrosoftError>;

    /// The opaque id of a named policy; `None` when the tenant has no such policy.
    async fn policy_id(
        &self,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<Option<String>, MicrosoftError>;

    /// Gives the user the named policy, or the org-wide default (Global) when `name` is
    /// `None` or `"Global"`.
    async fn grant_policy(
        &self,
        user: &UserRef,
        policy_type: PolicyType,
        name: Option<&str>,
    ) -> Result<(), MicrosoftError>;

    /// The user's Teams voice state as Microsoft reports it now.
    async fn user_voice_config(&self, user: &UserRef) -> Result<UserVoiceConfig, MicrosoftError>;

    /// Several users' Teams voice state in as few requests as possible (`$batch`, 20 per
    /// request), one result per user in the same order; `Ok(None)` when Teams has no record
    /// of the user (yet).
    async fn user_voice_configs(&self, users: &[UserRef]) -> Vec<BatchItem<UserVoiceConfig>>;
}

pub(crate) struct GraphTeamsVoice {
    pub core: Arc<TenantCore>,
    /// Policy ids found so far; only hits are cached, so a policy created later is found.
    policy_ids: Mutex<HashMap<(PolicyType, String), String>>,
}

enum OperationOutcome {
    Succeeded,
    Skipped,
    Failed(String),
}

impl GraphTeamsVoice {
    pub fn new(core: Arc<TenantCore>) -> Self {
        Self {
            core,
            policy_ids: Mutex::new(HashMap::new()),
        }
    }

    /// Follows the `Location` of a 202 until the operation ends, with bounded back-off.
    async fn wait_for_operation(
        &self,
        accepted: &Reply,
        what: &str,
    ) -> Result<OperationOutcome, MicrosoftError> {
        let Some(location) = accepted.header("location") else {
            // Nothing to poll: Microsoft finished the work synchronously.
            return Ok(OperationOutcome::Succeeded);
        };
        let url = self.core.graph_link(location, what)?;
        let policy = &self.core.polling;
        let mut interval = policy.initial_interval;
        let mut waited = Duration::ZERO;
        let mut suggested = crate::http::retry_after(&accepted.headers);
        loop {
            let wait = suggested.map_or(interval, |s| s.min(policy.max_interval));
            if waited + wait > policy.max_total {
                return Err(MicrosoftError::NumberOperationPending {
                    what: what.to_owned(),
                });
            }
            tokio::time::sleep(wait).await;
            waited += wait;
            interval = (interval * 2).min(policy.max_interval);

            let reply = self.core.send_ok(&Req::get(url.clone(), what)).await?;
            suggested = crate::http::retry_after(&reply.headers);
            let op: OperationWire = wire::unwrap_value(&reply.body).map_err(|e| {
                MicrosoftError::UnexpectedResponse {
                    what: what.to_owned(),
                    detail: e.to_string(),
                }
            })?;
            match op.status().as_str() {
                "succeeded" => return Ok(OperationOutcome::Succeeded),
                "skipped" => return Ok(OperationOutcome::Skipped),
                "failed" => return Ok(OperationOutcome::Failed(op.detail())),
                // notStarted, running, or a future value: keep waiting.
                other => tracing::debug!(
                    status = other,
                    operation = op.id.as_deref().unwrap_or(""),
                    "number operation still in progress"
                ),
            }
        }
    }

    /// Turns Microsoft's reason for a failed number change into the error an admin can act
    /// on. The phrases are those Teams uses (seen in Teams PowerShell and in third-party
    /// tools); anything else is reported verbatim.
    async fn explain_failure(
        &self,
        user: &UserRef,
        number: &str,
        detail: &str,
        what: &str,
    ) -> Result<NumberChange, MicrosoftError> {
        let d = detail.to_ascii_lowercase();
        if d.contains("already assigned") {
            let holder = self
                .number_assignment(number)
                .await
                .ok()
                .flatten()
                .and_then(|a| a.target_id);
            if holder.as_deref() == Some(user.id.as_str()) {
                return Ok(NumberChange::AlreadyInPlace);
            }
            let holder = match holder {
                Some(id) => Some(self.upn_of(&id).await.unwrap_or(id)),
                None => None,
            };
            return Err(MicrosoftError::NumberAlreadyAssigned {
                number: number.to_owned(),
                holder,
            });
        }
        if d.contains("already has a phone number") || d.contains("already has a number") {
            return Err(MicrosoftError::UserAlreadyHasNumber {
                user: user.upn.clone(),
                detail: detail.to_owned(),
            });
        }
        // "not a valid target" is also how Teams refuses guests; only a licence wording
        // (or an unlicensed-target wording without "guest") means a missing Teams Phone.
        let licence_wording = d.contains("licen")
            || d.contains("not enabled for enterprise voice")
            || d.contains("phone system");
        if licence_wording || (d.contains("not a valid target") && !d.contains("guest")) {
            return Err(MicrosoftError::NoTeamsPhoneLicence {
                user: user.upn.clone(),
            });
        }
        if d.contains("could not find user") || d.contains("management object not found") {
            return Err(MicrosoftError::NotYetInTeams {
                user: user.upn.clone(),
            });
        }
        Err(MicrosoftError::NumberOperationFailed {
            what: what.to_owned(),
            detail: detail.to_owned(),
        })
    }

    async fn upn_of(&self, user_id: &str) -> Option<String> {
        let dir = GraphDirectory {
            core: self.core.clone(),
        };
        dir.user(user_id)
            .await
            .ok()
            .flatten()
            .map(|u| u.user_principal_name)
            .filter(|u| !u.is_empty())
    }

    /// Runs assignNumber / unassignNumber and explains the outcome.
    async fn number_change(
        &self,
        action: &str,
        body: serde_json::Value,
        user: &UserRef,
        number: &str,
        what: &str,
    ) -> Result<NumberChange, MicrosoftError> {
        let url = self.core.graph_url(&format!("{NUMBERS}/{action}"));
        let reply = self.core.send(&Req::post(url, &body, what)).await?;
        if !reply.status.is_success() {
            let err = crate::graph::parse_error(&reply.body);
            // A 4xx with a reason Microsoft would also have put in statusDetail.
            if reply.status.is_client_error()
                && !matches!(reply.status.as_u16(), 401 | 403 | 404)
                && !err.message.is_empty()
            {
                return self.explain_failure(user, number, &err.message, what).await;
            }
            return Err(self.core.error_from(&reply, what));
        }
        match self.wait_for_operation(&reply, what).await? {
            OperationOutcome::Succeeded => Ok(NumberChange::Applied),
            OperationOutcome::Skipped => Ok(NumberChange::AlreadyInPlace),
            OperationOutcome::Failed(detail) => {
                self.explain_failure(user, number, &detail, what).await
            }
        }
    }
}

#[async_trait]
impl TeamsVoice for GraphTeamsVoice {
    async fn assign_number(
        &self,
        user: &UserRef,
        number: &str,
    ) -> Result<NumberChange, MicrosoftError> {
        let what = format!("assign {number} to {}", user.upn);
        let body = json!({
            "telephoneNumber": number,
            "assignmentTargetId": user.id,
            "numberType": "directRouting",
            "assignmentCategory": "primary",
        });
        self.number_change("assignNumber", body, user, number, &what)
            .await
    }

    async fn unassign_number(
        &self,
        user: &UserRef,
        number: &str,
    ) -> Result<NumberChange, MicrosoftError> {
        // unassignNumber names only the number; make sure it is this user's before removing
        // it, so a stale request can never take someone else's number away.
        match self.number_assignment(number).await? {
            Some(a) if a.is_assigned() && a.target_id.as_deref() == Some(user.id.as_str()) => {}
            _ => return Ok(NumberChange::AlreadyInPlace),
        }
        let what = format!("remove {number} from {}", user.upn);
        let body = json!({ "telephoneNumber": number, "numberType": "directRouting" });
        self.number_change("unassignNumber", body, user, number, &what)
            .await
    }

    async fn number_assignment(
        &self,
        number: &str,
    ) -> Result<Option<NumberAssignment>, MicrosoftError> {
        let what = format!("look up who holds {number}");
        let filter = format!("telephoneNumber eq {}", literal(number));
        let url = self
            .core
            .graph_url(&format!("{NUMBERS}?{}", query(&[("$filter", &filter)])));
        let reply = self.core.send_ok(&Req::get(url, &what)).await?;
        let items: Vec<NumberAssignmentWire> =
            wire::collection(&reply.body).map_err(|e| MicrosoftError::UnexpectedResponse {
                what: what.clone(),
                detail: e.to_string(),
            })?;
        let wanted = number.trim_start_matches('+');
        Ok(items
            .into_iter()
            .map(NumberAssignment::from)
            .find(|a| a.number.trim_start_matches('+') == wanted))
    }

    async fn policy_id(
        &self,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<Option<String>, MicrosoftError> {
        let key = (policy_type, name.to_ascii_lowercase());
        if let Some(id) = self
            .policy_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(Some(id.clone()));
        }
        let what = format!("look up the {policy_type} \"{name}\"");
        let function = function_call(
            "getPolicyId",
            &[("type", policy_type.as_str()), ("name", name)],
        );
        let url = self
            .core
            .graph_url(&format!("/admin/teams/policy/{function}"));
        let reply = self.core.send(&Req::get(url, &what)).await?;
        if reply.status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !reply.status.is_success() {
            return Err(self.core.error_from(&reply, &what));
        }
        let ids: Vec<PolicyIdWire> =
            wire::collection(&reply.body).map_err(|e| MicrosoftError::UnexpectedResponse {
                what: what.clone(),
                detail: e.to_string(),
            })?;
        let tagged = format!("Tag:{name}");
        let exact = ids.iter().find(|p| {
            p.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name) || n.eq_ignore_ascii_case(&tagged))
        });
        let found = exact.or(ids.first()).map(|p| p.policy_id.clone());
        if let Some(id) = &found {
            self.policy_ids
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key, id.clone());
        }
        Ok(found)
    }

    async fn grant_policy(
        &self,
        user: &UserRef,
        policy_type: PolicyType,
        name: Option<&str>,
    ) -> Result<(), MicrosoftError> {
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case("Global"));
        let (action, body, what) = match name {
            Some(name) => {
                let Some(policy_id) = self.policy_id(policy_type, name).await? else {
                    return Err(MicrosoftError::PolicyNotFound {
                        tenant_id: self.core.tenant_id.clone(),
                        policy_type: policy_type.to_string(),
                        name: name.to_owned(),
                    });
                };
                let body = json!({"value": [{
                    "@odata.type": ASSIGNMENT_TYPE,
                    "userId": user.id,
                    "policyType": policy_type.as_str(),
                    "policyId": policy_id,
                }]});
                (
                    "assign",
                    body,
                    format!("give {} the {policy_type} \"{name}\"", user.upn),
                )
            }
            None => {
                let body = json!({"value": [{
                    "@odata.type": ASSIGNMENT_TYPE,
                    "userId": user.id,
                    "policyType": policy_type.as_str(),
                }]});
                (
                    "unassign",
                    body,
                    format!("reset the {policy_type} of {} to Global", user.upn),
                )
            }
        };
        let url = self
            .core
            .graph_url(&format!("/admin/teams/policy/userAssignments/{action}"));
        let mut req = Req::post(url, &body, &what);
        // Assigning the same policy twice has the effect of assigning it once.
        req.idempotent = true;
        self.core.send_ok(&req).await?;
        Ok(())
    }

    async fn user_voice_config(&self, user: &UserRef) -> Result<UserVoiceConfig, MicrosoftError> {
        let what = format!("read the Teams configuration of {}", user.upn);
        let url = self.core.graph_url(&format!(
            "/admin/teams/userConfigurations/{}",
            segment(&user.id)
        ));
        let reply = self.core.send(&Req::get(url, &what)).await?;
        if reply.status == reqwest::StatusCode::NOT_FOUND {
            // Teams has no record of the user yet: usually a licence assigned recently.
            return Err(MicrosoftError::NotYetInTeams {
                user: user.upn.clone(),
            });
        }
        if !reply.status.is_success() {
            return Err(self.core.error_from(&reply, &what));
        }
        let config: UserConfigurationWire =
            wire::unwrap_value(&reply.body).map_err(|e| MicrosoftError::UnexpectedResponse {
                what: what.clone(),
                detail: e.to_string(),
            })?;
        Ok(config.into())
    }

    async fn user_voice_configs(&self, users: &[UserRef]) -> Vec<BatchItem<UserVoiceConfig>> {
        let urls: Vec<String> = users
            .iter()
            .map(|u| format!("/admin/teams/userConfigurations/{}", segment(&u.id)))
            .collect();
        let replies =
            batch::get_all(&self.core, &urls, "read the Teams configuration of users").await;
        users
            .iter()
            .zip(replies)
            .map(|(user, reply)| {
                let what = format!("read the Teams configuration of {}", user.upn);
                let result = reply.and_then(|r| match r.status {
                    200..=299 => {
                        let bytes = serde_json::to_vec(&r.body).unwrap_or_default();
                        wire::unwrap_value::<UserConfigurationWire>(&bytes)
                            .map(|c| Some(c.into()))
                            .map_err(|e| MicrosoftError::UnexpectedResponse {
                                what: what.clone(),
                                detail: e.to_string(),
                            })
                    }
                    404 => Ok(None),
                    status => Err(batch::item_error(&self.core, status, &r.body, &what)),
                });
                BatchItem {
                    id: user.id.clone(),
                    result,
                }
            })
            .collect()
    }
}
