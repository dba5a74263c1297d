//! Grant Consent (the Dashboard's action items): recording the enterprise's consents and
//! starting what each makes possible.

use crate::{Engine, EngineError};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::enterprise::{ConsentKind, Enterprise, EnterpriseState};
use teamline_domain::ids::EnterpriseId;
use teamline_store::ConsentChange;

impl Engine {
    /// Records the user-sync consent an administrator granted (`by`: who, as Microsoft named
    /// them) and starts Sync Teams Users: the first sync, and the changes that waited for it.
    pub async fn grant_user_sync_consent(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        by: &str,
    ) -> Result<Enterprise, EngineError> {
        let audit = Audit::new(
            actor.clone(),
            "consent.grant",
            "Granted Teamline consent to sync users and configure Teams",
        );
        let enterprise = self.grant(e, ConsentKind::UserSync, by, &audit).await?;
        // The consent stands even if the sync cannot be queued now: Sync Teams Users on the
        // Dashboard starts it again.
        if let Err(err) = self.sync_teams_users(e, actor).await {
            tracing::warn!(error = %err, enterprise = %e, "could not start the first sync after consent");
        }
        // The first consent of a newly registered enterprise starts Teamline's Direct Routing
        // set-up of its regions.
        if enterprise.state == EnterpriseState::Registered
            && !enterprise.sbc_regions.is_empty()
            && self
                .inner
                .store
                .list_direct_routing_setups(e)
                .await?
                .is_empty()
            && let Err(err) = self.set_up_direct_routing(e, actor).await
        {
            tracing::warn!(error = %err, enterprise = %e, "could not start the Direct Routing set-up after consent");
        }
        Ok(enterprise)
    }

    /// Records that the enterprise lets its reseller manage it.
    pub async fn grant_management_consent(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        by: &str,
    ) -> Result<Enterprise, EngineError> {
        let audit = Audit::new(
            actor.clone(),
            "consent.grant",
            "Granted the reseller management consent",
        );
        self.grant(e, ConsentKind::Management, by, &audit).await
    }

    /// Withdraws the management consent: the reseller's admins can no longer act inside the
    /// enterprise (a reseller admin acting there is refused from their next request on).
    pub async fn revoke_management_consent(
        &self,
        e: EnterpriseId,
        actor: &Actor,
    ) -> Result<Enterprise, EngineError> {
        let audit = Audit::new(
            actor.clone(),
            "consent.revoke",
            "Revoked the reseller's management consent",
        );
        let change = ConsentChange {
            kind: ConsentKind::Management,
            granted: false,
            by: None,
        };
        Ok(self.inner.store.set_consent(e, &change, &audit).await?)
    }

    async fn grant(
        &self,
        e: EnterpriseId,
        kind: ConsentKind,
        by: &str,
        audit: &Audit,
    ) -> Result<Enterprise, EngineError> {
        let change = ConsentChange {
            kind,
            granted: true,
            by: Some(by.to_owned()),
        };
        Ok(self.inner.store.set_consent(e, &change, audit).await?)
    }
}
