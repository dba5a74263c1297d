//! Enable and Disable Calling: what Teamline wants Microsoft to hold for a PBX user, the job
//! that makes it so (changing only what differs, `push`), and the checks that follow while
//! Microsoft propagates the change (`verify`); Repair and Retry.

mod bulk;
mod journal;
mod preview;
mod push;
mod verify;

use crate::{Engine, EngineError, convert};
use std::collections::BTreeMap;
use std::time::Duration;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::enterprise::{ConsentKind, Enterprise};
use teamline_domain::ids::{EnterpriseId, PbxUserId, VoiceRouteId};
use teamline_domain::pbx_user::{CallerNamePolicy, PbxUser, PbxUserSpec, PbxUserState, PushState};
use teamline_domain::teams_voice::{DesiredVoice, ObservedVoice, PolicyType, VoiceStep};
use teamline_domain::voice_route::VoiceRoute;
use teamline_microsoft::voice::UserRef;
use teamline_microsoft::{MicrosoftError, TenantApi};
use teamline_store::{PbxUserListItem, PushOutcome};

pub use bulk::BulkGrants;
pub use preview::{ChangePreview, RowPreview};
pub(crate) use push::PushUser;
pub(crate) use verify::VerifyUser;

/// The throttle group of every job that calls Microsoft: when Microsoft throttles a tenant,
/// that enterprise's queued jobs of this group wait together.
pub(crate) const MICROSOFT: &str = "microsoft";

/// The lane of everything about one PBX user: its jobs run one after the other, in order.
pub(crate) fn user_lane(id: PbxUserId) -> String {
    format!("user:{id}")
}

impl Engine {
    /// What Microsoft should hold for this user now.
    pub fn desired_voice(&self, user: &PbxUser, route: Option<&VoiceRoute>) -> DesiredVoice {
        let on = user.state == PbxUserState::Active && user.calling_enabled;
        self.desired_voice_of(&user.spec, on, route)
    }

    /// What Microsoft should hold for a user configured as `spec`, with calling on or off (a
    /// configuration not stored yet: the preview of Save).
    pub(crate) fn desired_voice_of(
        &self,
        spec: &PbxUserSpec,
        on: bool,
        route: Option<&VoiceRoute>,
    ) -> DesiredVoice {
        let s = &self.inner.settings;
        if !on {
            return DesiredVoice {
                number: None,
                policies: PolicyType::ALL.into_iter().map(|p| (p, None)).collect(),
            };
        }
        let policies = BTreeMap::from([
            (
                PolicyType::OnlineVoiceRoutingPolicy,
                route.map(|r| r.policy_name.clone()),
            ),
            (
                PolicyType::TenantDialPlan,
                spec.assign_dial_plan.then(|| s.dial_plan.clone()),
            ),
            (
                PolicyType::TeamsCallingPolicy,
                (!spec.use_teams_voicemail).then(|| s.no_voicemail_calling_policy.clone()),
            ),
            (
                PolicyType::CallingLineIdentity,
                match &spec.caller_name {
                    CallerNamePolicy::Transparent => None,
                    CallerNamePolicy::Other(name) => {
                        Some(format!("{}{name}", s.caller_id_policy_prefix))
                    }
                },
            ),
        ]);
        DesiredVoice {
            number: Some(spec.phone_number.to_string()),
            policies,
        }
    }

    /// The Teams steps a Repair would send now, read fresh from Microsoft, in words (see
    /// [`Engine::preview_repair`] for the whole preview).
    pub async fn preview_push(
        &self,
        e: EnterpriseId,
        id: PbxUserId,
    ) -> Result<Vec<String>, EngineError> {
        let preview = self.preview_repair(e, id).await?;
        Ok(preview.plan.teams.iter().map(VoiceStep::describe).collect())
    }

    pub(crate) fn tenant_api(
        &self,
        enterprise: &Enterprise,
    ) -> Result<std::sync::Arc<dyn TenantApi>, EngineError> {
        let tenant = enterprise.tenant_id.as_ref().ok_or_else(|| {
            EngineError::refused(format!("{} has not registered its Microsoft 365 tenant yet: its Global Administrator must sign in first", enterprise.name))
        })?;
        Ok(self.inner.microsoft.tenant(tenant.as_str()))
    }

    async fn route_of(
        &self,
        e: EnterpriseId,
        user: &PbxUser,
    ) -> Result<Option<VoiceRoute>, EngineError> {
        self.voice_route(e, user.spec.voice_route_id).await
    }

    async fn voice_route(
        &self,
        e: EnterpriseId,
        id: VoiceRouteId,
    ) -> Result<Option<VoiceRoute>, EngineError> {
        Ok(self
            .inner
            .store
            .list_voice_routes(e)
            .await?
            .into_iter()
            .find(|r| r.id == id))
    }

    /// Queues a push when the enterprise's consent allows Teamline to change Microsoft;
    /// otherwise the change waits for Sync Teams Users (the Dashboard shows it).
    pub(crate) async fn push_if_allowed(
        &self,
        e: EnterpriseId,
        id: PbxUserId,
    ) -> Result<bool, EngineError> {
        let enterprise = self.inner.store.get_enterprise(e).await?;
        if enterprise.consent(ConsentKind::UserSync) && enterprise.tenant_id.is_some() {
            self.enqueue(&PushUser::new(e, id)).await?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Enable Calling / Disable Calling from the ⋮ menu. Idempotent: asking again for what is
    /// already wanted queues nothing new that would change Microsoft.
    pub async fn set_calling(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        id: PbxUserId,
        enabled: bool,
    ) -> Result<PbxUser, EngineError> {
        let item = self.inner.store.get_pbx_user(e, id).await?;
        let verb = if enabled { "Enabled" } else { "Disabled" };
        let audit = Audit::new(
            actor.clone(),
            if enabled {
                "calling.enable"
            } else {
                "calling.disable"
            },
            format!("{verb} calling for {}", item.display_name),
        );
        let user = self
            .inner
            .store
            .set_calling_enabled(e, id, enabled, &audit)
            .await?;
        self.push_if_allowed(e, id).await?;
        Ok(user)
    }

    /// Repair (drift) and Retry (failed): re-applies only what differs, read fresh from
    /// Microsoft (the push plans from what Teams holds now), and makes sure the PBX device is
    /// there (a device Teamline created is created again if it was deleted).
    pub async fn repair_user(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        id: PbxUserId,
    ) -> Result<(), EngineError> {
        let item = self.inner.store.get_pbx_user(e, id).await?;
        let audit = Audit::new(
            actor.clone(),
            "pbx_user.repair",
            format!("Asked to repair {} in Teams", item.display_name),
        );
        let outcome = PushOutcome {
            push_state: PushState::Pending,
            last_error: item.user.last_error.clone(),
            observed: None,
        };
        self.inner
            .store
            .record_push(e, id, &outcome, Some(&audit))
            .await?;
        // An explicit Repair sends again what Microsoft still does not show.
        self.inner.store.set_push_journal(e, id, None).await?;
        self.enqueue(&crate::pbx::EnsureDevice::new(e, id)).await?;
        if !self.push_if_allowed(e, id).await? {
            return Err(EngineError::refused(
                "Teamline has no consent to change this tenant yet: grant consent from the Dashboard",
            ));
        }
        Ok(())
    }
}

pub(crate) fn user_ref(item: &PbxUserListItem) -> UserRef {
    let upn = if item.upn.is_empty() {
        item.user.spec.teams_user_object_id.clone()
    } else {
        item.upn.clone()
    };
    UserRef::new(item.user.spec.teams_user_object_id.clone(), upn)
}

async fn read_observed(
    tenant: &dyn TenantApi,
    user: &UserRef,
    now_ms: i64,
) -> Result<ObservedVoice, MicrosoftError> {
    Ok(convert::observed(
        &tenant.user_voice_config(user).await?,
        now_ms,
    ))
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
