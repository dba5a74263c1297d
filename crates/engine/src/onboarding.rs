//! Onboarding a new customer from the Reseller portal: the reseller adds an enterprise, and
//! Teamline e-mails its Global Administrator a signed, expiring, single-use registration link.
//! A resend supersedes the links sent before; registering uses a link once (the store records
//! the nonce through [`StoreLedger`]).

use crate::{Engine, EngineError};
use async_trait::async_trait;
use std::sync::Arc;
use teamline_domain::FieldErrors;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::enterprise::{Enterprise, EnterpriseForm, EnterpriseState};
use teamline_domain::ids::EnterpriseId;
use teamline_domain::reseller::Reseller;
use teamline_mail::invitation::{
    DEFAULT_VALIDITY, Invitation, InvitationKey, InvitationNonce, NonceLedger, NonceUse,
    invitation_message, registration_link,
};
use teamline_mail::{MailAddress, Mailer};
use teamline_store::{DynStore, InvitationRecord, InvitationUse};
use time::OffsetDateTime;
use url::Url;

/// How invitations are signed and delivered.
pub struct Invitations {
    /// Signs the links; the same key must open them later (all instances share it).
    pub key: InvitationKey,
    /// SMTP in production, the outbox in the demo.
    pub mailer: Arc<dyn Mailer>,
    /// Where the portal is reached (the links point there).
    pub portal_url: Url,
    /// How long a link works.
    pub validity: time::Duration,
    /// When the mailer is an outbox (the demo), the same outbox, for its page.
    pub outbox: Option<teamline_mail::Outbox>,
}

impl Invitations {
    pub fn new(key: InvitationKey, mailer: Arc<dyn Mailer>, portal_url: Url) -> Self {
        Self {
            key,
            mailer,
            portal_url,
            validity: DEFAULT_VALIDITY,
            outbox: None,
        }
    }

    /// Keeps messages in `outbox` instead of sending them.
    pub fn into_outbox(key: InvitationKey, outbox: teamline_mail::Outbox, portal_url: Url) -> Self {
        Self {
            outbox: Some(outbox.clone()),
            ..Self::new(key, Arc::new(outbox), portal_url)
        }
    }
}

/// Adding an enterprise: the form needs fixing, or something else went wrong.
#[derive(Debug, thiserror::Error)]
pub enum AddEnterpriseError {
    #[error("{0}")]
    Fields(FieldErrors),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// What Add Enterprise did: the enterprise is stored even when the e-mail could not be sent
/// (the reseller fixes the mail set-up and uses Resend Invitation Email).
pub struct AddedEnterprise {
    pub enterprise: Enterprise,
    pub invitation: Result<InvitationRecord, EngineError>,
}

/// What Edit Enterprise did: the enterprise as stored, and the new invitation when the Global
/// Admin e-mail changed.
pub struct EditedEnterprise {
    pub enterprise: Enterprise,
    pub invitation: Option<Result<InvitationRecord, EngineError>>,
}

impl Engine {
    /// Configures invitation e-mail (once; later calls are ignored and answer `false`).
    pub fn set_invitations(&self, invitations: Invitations) -> bool {
        self.inner.invitations.set(Arc::new(invitations)).is_ok()
    }

    pub fn invitations(&self) -> Option<&Arc<Invitations>> {
        self.inner.invitations.get()
    }

    /// Adds an enterprise for `reseller` (state Invited) and sends the invitation.
    pub async fn add_enterprise(
        &self,
        reseller: &Reseller,
        form: &EnterpriseForm,
        actor: Actor,
    ) -> Result<AddedEnterprise, AddEnterpriseError> {
        let store = &self.inner.store;
        let regions: Vec<_> = store
            .list_sbc_regions()
            .await
            .map_err(EngineError::from)?
            .into_iter()
            .map(|r| r.id)
            .collect();
        let new = form
            .validate(&regions)
            .map_err(AddEnterpriseError::Fields)?;
        let audit = Audit::new(
            actor.clone(),
            "enterprise.create",
            format!("Added enterprise {}", new.name.as_str()),
        );
        let enterprise = match store.create_enterprise(reseller.id, &new, &audit).await {
            Ok(e) => e,
            Err(teamline_store::StoreError::Conflict { field, message }) => {
                return Err(AddEnterpriseError::Fields(
                    teamline_domain::FieldError::new(field, message).into(),
                ));
            }
            Err(e) => return Err(EngineError::from(e).into()),
        };
        let invitation = self.send_invitation(reseller, enterprise.id, actor).await;
        Ok(AddedEnterprise {
            enterprise,
            invitation,
        })
    }

    /// Edit Enterprise for one of `reseller`'s enterprises (another's is "not found"), if it is
    /// still at `expected_version`. The user limit may not drop below the users configured now;
    /// the Global Admin e-mail changes only while the enterprise is invited, and a changed one
    /// gets a new invitation (the links sent to the old address stop working).
    pub async fn edit_enterprise(
        &self,
        reseller: &Reseller,
        id: EnterpriseId,
        expected_version: i64,
        form: &EnterpriseForm,
        actor: Actor,
    ) -> Result<EditedEnterprise, AddEnterpriseError> {
        let store = &self.inner.store;
        let current = store.get_enterprise(id).await.map_err(EngineError::from)?;
        if current.reseller_id != reseller.id {
            return Err(
                EngineError::from(teamline_store::StoreError::not_found(format!(
                    "enterprise {id}"
                )))
                .into(),
            );
        }
        let regions: Vec<_> = store
            .list_sbc_regions()
            .await
            .map_err(EngineError::from)?
            .into_iter()
            .map(|r| r.id)
            .collect();
        let counts = store.user_counts(id).await.map_err(EngineError::from)?;
        let edit = form
            .validate_edit(&regions, &current, counts.active + counts.disabled)
            .map_err(AddEnterpriseError::Fields)?;
        let audit = Audit::new(
            actor.clone(),
            "enterprise.update",
            format!("Changed enterprise {}", edit.name.as_str()),
        );
        let enterprise = match store
            .update_enterprise(id, expected_version, &edit, &audit)
            .await
        {
            Ok(e) => e,
            Err(teamline_store::StoreError::Conflict { field, message }) => {
                return Err(AddEnterpriseError::Fields(
                    teamline_domain::FieldError::new(field, message).into(),
                ));
            }
            Err(e) => return Err(EngineError::from(e).into()),
        };
        let invitation = if enterprise.global_admin_email != current.global_admin_email {
            Some(self.send_invitation(reseller, id, actor).await)
        } else {
            None
        };
        Ok(EditedEnterprise {
            enterprise,
            invitation,
        })
    }

    /// Sends (again) the invitation of one of `reseller`'s enterprises; earlier links stop
    /// working. Another reseller's enterprise is "not found".
    pub async fn send_invitation(
        &self,
        reseller: &Reseller,
        enterprise: EnterpriseId,
        actor: Actor,
    ) -> Result<InvitationRecord, EngineError> {
        let store = &self.inner.store;
        let enterprise = store.get_enterprise(enterprise).await?;
        if enterprise.reseller_id != reseller.id {
            return Err(teamline_store::StoreError::not_found(format!(
                "enterprise {}",
                enterprise.id
            ))
            .into());
        }
        if enterprise.state != EnterpriseState::Invited {
            return Err(EngineError::refused(format!(
                "{} is already registered: its Global Administrator signs in at the Enterprise portal, no invitation is needed",
                enterprise.name.as_str()
            )));
        }
        let Some(config) = self.invitations() else {
            return Err(EngineError::refused(
                "invitation e-mail is not configured on this Teamline: ask the platform operator to set up SMTP (TEAMLINE_SMTP_*)",
            ));
        };
        let to = MailAddress::parse(enterprise.global_admin_email.as_str()).map_err(|e| {
            EngineError::refused(format!(
                "the Global Admin e-mail of {} cannot receive mail ({e}): edit the enterprise",
                enterprise.name.as_str()
            ))
        })?;
        let now = OffsetDateTime::now_utc();
        let issued = config.key.issue(enterprise.id, now + config.validity);
        let message = invitation_message(&Invitation {
            to,
            enterprise_name: enterprise.name.as_str().to_owned(),
            reseller_name: reseller.name.as_str().to_owned(),
            link: registration_link(&config.portal_url, &issued.token),
            expires_at: issued.expires_at,
        })
        .map_err(|e| EngineError::refused(e.to_string()))?;
        let sent = config.mailer.send(&message).await.map_err(|e| {
            EngineError::refused(format!(
                "the invitation to {} was not sent: {e}",
                enterprise.global_admin_email.as_str()
            ))
        })?;
        let record = InvitationRecord {
            enterprise_id: enterprise.id,
            nonce: issued.nonce.to_hex(),
            sent_ms: store.clock().now_ms(),
            expires_ms: issued.expires_at.unix_timestamp() * 1000,
            message_id: Some(sent.message_id),
            used_ms: None,
            superseded_ms: None,
        };
        let audit = Audit::new(
            actor,
            "enterprise.invite",
            format!(
                "Sent the invitation for {} to {}",
                enterprise.name.as_str(),
                enterprise.global_admin_email.as_str()
            ),
        );
        store.record_invitation(&record, &audit).await?;
        Ok(record)
    }
}

/// The store as the invitations' nonce ledger.
pub struct StoreLedger(pub DynStore);

#[async_trait]
impl NonceLedger for StoreLedger {
    async fn use_nonce(
        &self,
        enterprise: EnterpriseId,
        nonce: &InvitationNonce,
    ) -> Result<NonceUse, Box<dyn std::error::Error + Send + Sync>> {
        match self.0.use_invitation(enterprise, &nonce.to_hex()).await? {
            InvitationUse::Fresh => Ok(NonceUse::Fresh),
            InvitationUse::AlreadyUsed => Ok(NonceUse::AlreadyUsed),
            // A nonce the store never recorded was not sent by this Teamline's latest
            // invitations: treat it as replaced.
            InvitationUse::Superseded | InvitationUse::Unknown => Ok(NonceUse::Superseded),
        }
    }
}
