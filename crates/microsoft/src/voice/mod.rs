//! Per-user Teams voice through Graph v1.0 `admin/teams`: Direct Routing numbers (with
//! long-running operation polling, `numbers`), policy grants (Graph first, the Teams admin
//! REST surface for types Graph refuses, `policies`) and the read-back of a user's Teams
//! configuration.

mod numbers;
mod policies;
mod types;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

pub use self::types::{
    AccountType, EffectivePolicy, NumberAssignment, NumberChange, NumberOperation, NumberRequest,
    PolicySource, PolicyType, TelephoneNumber, UserRef, UserVoiceConfig,
};
use self::wire::UserConfigurationWire;
use crate::directory::BatchItem;
use crate::directory::batch;
use crate::error::MicrosoftError;
use crate::learned::PolicyPath;
use crate::odata::segment;
use crate::tenant::{Req, TenantCore};

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

    /// The first half of [`TeamsVoice::assign_number`]: sends the assignment and returns
    /// Microsoft's first answer, an operation to follow when it accepted the change, so the
    /// caller can write the operation down before it waits (a process killed while waiting
    /// then follows the same operation instead of sending the assignment again).
    async fn request_number_assignment(
        &self,
        user: &UserRef,
        number: &str,
    ) -> Result<NumberRequest, MicrosoftError>;

    /// The second half: follows an accepted assignment's operation until it ends, and
    /// explains the outcome as [`TeamsVoice::assign_number`] does.
    async fn finish_number_assignment(
        &self,
        user: &UserRef,
        number: &str,
        operation: &NumberOperation,
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

    /// Gives many users the same policy in as few requests as possible (bulk work); the
    /// default grants them one by one.
    async fn grant_policy_to_users(
        &self,
        users: &[UserRef],
        policy_type: PolicyType,
        name: Option<&str>,
    ) -> Result<(), MicrosoftError> {
        for user in users {
            self.grant_policy(user, policy_type, name).await?;
        }
        Ok(())
    }

    /// Where this tenant turned out to grant a policy type, once a grant or lookup told.
    fn policy_path(&self, policy_type: PolicyType) -> Option<PolicyPath> {
        let _ = policy_type;
        None
    }

    /// The user's Teams voice state as Microsoft reports it now.
    async fn user_voice_config(&self, user: &UserRef) -> Result<UserVoiceConfig, MicrosoftError>;

    /// Several users' Teams voice state in as few requests as possible (`$batch`, 20 per
    /// request), one result per user in the same order; `Ok(None)` when Teams has no record
    /// of the user (yet).
    async fn user_voice_configs(&self, users: &[UserRef]) -> Vec<BatchItem<UserVoiceConfig>>;
}

pub(crate) struct GraphTeamsVoice {
    pub core: Arc<TenantCore>,
    /// Policy ids Graph gave so far; only hits are kept, so a policy created later is found.
    pub(super) policy_ids: Mutex<HashMap<(PolicyType, String), String>>,
}

impl GraphTeamsVoice {
    pub fn new(core: Arc<TenantCore>) -> Self {
        Self {
            core,
            policy_ids: Mutex::new(HashMap::new()),
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
        self.assign(user, number).await
    }

    async fn request_number_assignment(
        &self,
        user: &UserRef,
        number: &str,
    ) -> Result<NumberRequest, MicrosoftError> {
        self.request_assign(user, number).await
    }

    async fn finish_number_assignment(
        &self,
        user: &UserRef,
        number: &str,
        operation: &NumberOperation,
    ) -> Result<NumberChange, MicrosoftError> {
        self.finish_assign(user, number, operation).await
    }

    async fn unassign_number(
        &self,
        user: &UserRef,
        number: &str,
    ) -> Result<NumberChange, MicrosoftError> {
        self.unassign(user, number).await
    }

    async fn number_assignment(
        &self,
        number: &str,
    ) -> Result<Option<NumberAssignment>, MicrosoftError> {
        self.holder(number).await
    }

    async fn policy_id(
        &self,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<Option<String>, MicrosoftError> {
        self.lookup_policy(policy_type, name).await
    }

    async fn grant_policy(
        &self,
        user: &UserRef,
        policy_type: PolicyType,
        name: Option<&str>,
    ) -> Result<(), MicrosoftError> {
        self.grant(std::slice::from_ref(user), policy_type, name)
            .await
    }

    async fn grant_policy_to_users(
        &self,
        users: &[UserRef],
        policy_type: PolicyType,
        name: Option<&str>,
    ) -> Result<(), MicrosoftError> {
        if users.is_empty() {
            return Ok(());
        }
        self.grant(users, policy_type, name).await
    }

    fn policy_path(&self, policy_type: PolicyType) -> Option<PolicyPath> {
        self.core.learned.policy_path(policy_type)
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
