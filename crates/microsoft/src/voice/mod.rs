//! Per-user Teams voice through Graph v1.0 `admin/teams`: Direct Routing numbers (with
//! long-running operation polling, `numbers`), policy grants (Graph first, the Teams admin
//! REST surface for types Graph refuses, `policies`) and the read-back of a user's Teams
//! configuration.

mod coalesce;
mod numbers;
mod policies;
mod types;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// How long a single-user grant or read waits for others of the same tenant to join it
/// (see `coalesce`): short against a request's round trip, long enough for the pushes that
/// run at once to meet.
const GATHER_WINDOW: Duration = Duration::from_millis(10);

/// How long a grant waits for others while the tenant's grants are shared (many pushes at
/// once, see `coalesce`). Such pushes are bound by Microsoft's request budget: waiting lets a
/// `userAssignments/assign` carry up to 20 users instead of a few, and each request saved is
/// one more user's number assignment within the budget. Reads gain nothing from waiting:
/// Microsoft counts each item of a `$batch`.
const BUSY_GATHER_WINDOW: Duration = Duration::from_millis(250);

/// A policy type and the policy to grant (`None` = Global).
type GrantKey = (PolicyType, Option<String>);

/// Cheap to clone: a coalesced request runs on its own task with a clone.
#[derive(Clone)]
pub(crate) struct GraphTeamsVoice {
    pub core: Arc<TenantCore>,
    /// Policy ids Graph gave so far; only hits are kept, so a policy created later is found.
    pub(super) policy_ids: Arc<Mutex<HashMap<(PolicyType, String), String>>>,
    /// Concurrent grants of one policy, sent as one `userAssignments/assign`.
    grants: Arc<coalesce::Coalescer<GrantKey, UserRef, Result<(), MicrosoftError>>>,
    /// Concurrent reads of users' Teams configurations, sent as one `$batch`.
    reads: Arc<coalesce::Coalescer<(), UserRef, Result<UserVoiceConfig, MicrosoftError>>>,
}

impl GraphTeamsVoice {
    pub fn new(core: Arc<TenantCore>) -> Self {
        Self {
            core,
            policy_ids: Arc::new(Mutex::new(HashMap::new())),
            grants: Arc::new(coalesce::Coalescer::new(
                policies::USERS_PER_ASSIGNMENT,
                GATHER_WINDOW,
                BUSY_GATHER_WINDOW,
            )),
            reads: Arc::new(coalesce::Coalescer::new(
                batch::MAX_PER_BATCH,
                GATHER_WINDOW,
                GATHER_WINDOW,
            )),
        }
    }

    /// Grants one policy to the users of a coalesced batch. Microsoft's `assign` changes
    /// nothing when any user of the list is refused, so a refused list is granted again one
    /// by one and only the refused user gets the error; a throttled or failing service
    /// answers everyone alike.
    async fn grant_gathered(
        &self,
        (policy_type, name): GrantKey,
        users: Vec<UserRef>,
    ) -> Vec<Result<(), MicrosoftError>> {
        let all = self.grant(&users, policy_type, name.as_deref()).await;
        match all {
            Ok(()) => users.iter().map(|_| Ok(())).collect(),
            Err(err)
                if users.len() == 1
                    || err.is_retryable()
                    || matches!(err, MicrosoftError::Throttled { .. }) =>
            {
                users.iter().map(|_| Err(err.clone())).collect()
            }
            Err(_) => {
                let mut answers = Vec::with_capacity(users.len());
                for user in &users {
                    answers.push(
                        self.grant(std::slice::from_ref(user), policy_type, name.as_deref())
                            .await,
                    );
                }
                answers
            }
        }
    }

    /// Reads the users of a coalesced batch: one GET for one user, `$batch` for more.
    async fn read_gathered(
        &self,
        users: Vec<UserRef>,
    ) -> Vec<Result<UserVoiceConfig, MicrosoftError>> {
        if let [one] = users.as_slice() {
            return vec![self.read_one(one).await];
        }
        self.user_voice_configs(&users)
            .await
            .into_iter()
            .zip(&users)
            .map(|(item, user)| match item.result {
                Ok(Some(config)) => Ok(config),
                // Teams has no record of the user yet: usually a licence assigned recently.
                Ok(None) => Err(MicrosoftError::NotYetInTeams {
                    user: user.upn.clone(),
                }),
                Err(err) => Err(err),
            })
            .collect()
    }

    async fn read_one(&self, user: &UserRef) -> Result<UserVoiceConfig, MicrosoftError> {
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

    /// The answer a coalesced call got, or why it got none.
    fn gathered<T>(
        answer: Option<Result<T, MicrosoftError>>,
        what: &str,
    ) -> Result<T, MicrosoftError> {
        answer.unwrap_or_else(|| {
            Err(MicrosoftError::UnexpectedResponse {
                what: what.to_owned(),
                detail: "the request shared with other users' requests ended without an answer"
                    .to_owned(),
            })
        })
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
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case("Global"))
            .map(str::to_owned);
        let what = format!("give {} the {policy_type}", user.upn);
        let me = self.clone();
        let answer = self
            .grants
            .call((policy_type, name), user.clone(), move |key, users| {
                let me = me.clone();
                async move { me.grant_gathered(key, users).await }
            })
            .await;
        Self::gathered(answer, &what)
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
        let me = self.clone();
        let answer = self
            .reads
            .call((), user.clone(), move |(), users| {
                let me = me.clone();
                async move { me.read_gathered(users).await }
            })
            .await;
        Self::gathered(answer, &what)
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
