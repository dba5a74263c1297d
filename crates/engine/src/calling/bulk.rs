//! Policy grants in bulk. When many users' pushes start at once (Sync Teams Users after the
//! consent, or with a whole enterprise's pending changes), most of them need the same
//! policies. Graph's `userAssignments/assign` takes a list, so each (policy type, policy) is
//! granted to all the users who need it in one request per 20 users instead of one request
//! per user. Each user's push journal then holds the grant, so the user's own push (which
//! still assigns the number and checks everything) does not send it again while it
//! propagates. Anything that fails here is left to the pushes, which grant one by one.

use super::journal::Journal;
use super::push::ensure_policy_exists;
use super::user_ref;
use crate::{Engine, EngineError, convert};
use std::collections::{BTreeMap, HashMap};
use teamline_domain::audit::Actor;
use teamline_domain::enterprise::ConsentKind;
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::teams_voice::{PolicyType, VoiceStep, plan_voice};
use teamline_microsoft::voice::UserRef;
use teamline_store::AuditRecord;

/// Users whose Teams state is read in one `$batch` (Graph's limit).
const READ_CHUNK: usize = 20;
/// Fewer users than this gain nothing from a bulk grant: their pushes grant one by one.
const MIN_USERS: usize = 2;

/// A policy type and the policy (`None` = Global).
type Grant = (PolicyType, Option<String>);

/// What a bulk grant did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BulkGrants {
    /// Policies granted, each to several users at once.
    pub policies: usize,
    /// User grants these covered.
    pub grants: usize,
    /// Policies that could not be granted in bulk (their users' pushes grant them), with
    /// Microsoft's error.
    pub failed: Vec<String>,
}

impl Engine {
    /// Grants the policies these users' pushes would grant, one request per policy and 20
    /// users, and records each grant in the user's push journal. Reads Microsoft first, so a
    /// user who already holds a policy is not sent it. Does nothing without the user-sync
    /// consent or for fewer than two users.
    pub async fn grant_policies_in_bulk(
        &self,
        e: EnterpriseId,
        ids: &[PbxUserId],
    ) -> Result<BulkGrants, EngineError> {
        let mut report = BulkGrants::default();
        let store = &self.inner.store;
        let enterprise = store.get_enterprise(e).await?;
        if ids.len() < MIN_USERS || !enterprise.consent(ConsentKind::UserSync) {
            return Ok(report);
        }
        let tenant = self.tenant_api(&enterprise)?;
        let routes: HashMap<_, _> = store
            .list_voice_routes(e)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();

        // (policy type, policy) → the users whose plan grants it and whose journal does not
        // hold it yet.
        let mut groups: BTreeMap<Grant, Vec<(PbxUserId, UserRef)>> = BTreeMap::new();
        for chunk in ids.chunks(READ_CHUNK) {
            let mut items = Vec::with_capacity(chunk.len());
            for id in chunk {
                items.push(store.get_pbx_user(e, *id).await?);
            }
            let refs: Vec<UserRef> = items.iter().map(user_ref).collect();
            let configs = tenant.user_voice_configs(&refs).await;
            let now = store.clock().now_ms();
            for ((item, who), config) in items.iter().zip(refs).zip(configs) {
                // Users Teams does not know (yet), or whose read failed: their push says why.
                let Ok(Some(config)) = config.result else {
                    continue;
                };
                let desired =
                    self.desired_voice(&item.user, routes.get(&item.user.spec.voice_route_id));
                let journal = Journal::load(self, e, item.user.id).await?;
                for step in plan_voice(&desired, &convert::observed(&config, now)) {
                    if let VoiceStep::GrantPolicy { policy_type, name } = &step
                        && !journal.holds(&step)
                    {
                        groups
                            .entry((*policy_type, name.clone()))
                            .or_default()
                            .push((item.user.id, who.clone()));
                    }
                }
            }
        }

        for ((policy_type, name), users) in groups {
            if users.len() < MIN_USERS {
                continue;
            }
            let refs: Vec<UserRef> = users.iter().map(|(_, u)| u.clone()).collect();
            let granted = async {
                ensure_policy_exists(self, tenant.as_ref(), policy_type, name.as_deref()).await?;
                tenant
                    .grant_policy_to_users(
                        &refs,
                        convert::policy_type(policy_type),
                        name.as_deref(),
                    )
                    .await
            }
            .await;
            let step = VoiceStep::GrantPolicy {
                policy_type,
                name: name.clone(),
            };
            if let Err(err) = granted {
                tracing::info!(enterprise = %e, step = %step.describe(), error = %err, "bulk grant failed; the users' pushes grant it one by one");
                report.failed.push(format!("{}: {err}", step.describe()));
                continue;
            }
            let now = store.clock().now_ms();
            for (id, _) in &users {
                let mut journal = Journal::load(self, e, *id).await?;
                journal.sent(&step, now);
                journal.save(self, e, *id, false).await?;
            }
            store
                .record_audit(&AuditRecord {
                    enterprise_id: Some(e),
                    actor: Actor::Job("bulk_grant".into()),
                    action: "teams.bulk_grant".into(),
                    summary: format!(
                        "{} for {} users at once in Teams",
                        step.describe(),
                        users.len()
                    ),
                    object_type: "enterprise".into(),
                    object_id: Some(e.to_string()),
                    before: None,
                    after: None,
                })
                .await?;
            report.policies += 1;
            report.grants += users.len();
        }
        Ok(report)
    }
}
