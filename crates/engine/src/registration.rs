//! Registration behind the invitation link: the invited Global Administrator signs in with
//! Microsoft, and the enterprise learns its tenant (state invited → registered). Then the
//! sync groups (Manage User Groups), which the portal asks for before anything else.

use crate::onboarding::StoreLedger;
use crate::{Engine, EngineError};
use futures::TryStreamExt;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::enterprise::{Enterprise, EnterpriseState, TenantId};
use teamline_domain::ids::EnterpriseId;
use teamline_domain::reseller::Reseller;
use teamline_domain::sync_group::{SyncGroupChoice, is_org_wide};
use teamline_domain::{FieldError, FieldErrors};
use teamline_mail::invitation::InvitationError;
use time::OffsetDateTime;

/// An invitation link as opened: whom it is for (nothing is used up yet).
pub struct OpenedInvitation {
    pub enterprise: Enterprise,
    pub reseller: Reseller,
    pub expires_at: OffsetDateTime,
}

/// Who signed in at Microsoft to register, as Microsoft told it.
pub struct RegisteringAdmin {
    pub tenant_id: String,
    /// Sign-in name (UPN) or e-mail.
    pub username: String,
    pub is_global_admin: bool,
}

/// Why a registration was refused; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("{0}")]
    Invitation(#[from] InvitationError),
    #[error(
        "invitation e-mail is not configured on this Teamline, so its links cannot be checked: ask your service provider"
    )]
    NotConfigured,
    #[error(
        "{username} is not a Global Administrator of its Microsoft 365 tenant. Registering {enterprise} grants Teamline tenant-wide permissions, which only a Global Administrator can do: sign out of Microsoft and follow the link again as {invited}"
    )]
    NotGlobalAdmin {
        username: String,
        enterprise: String,
        invited: String,
    },
    #[error(
        "you signed in as {username}, but this invitation is for {invited}'s tenant ({enterprise}). Sign out of Microsoft and follow the link again as a Global Administrator of that tenant; if {enterprise} really uses this tenant, ask your service provider to correct the Global Admin e-mail and resend the invitation"
    )]
    WrongTenant {
        username: String,
        invited: String,
        enterprise: String,
    },
    #[error(
        "the Microsoft 365 tenant {tenant_id} is already registered with Teamline as {other}: one tenant belongs to one enterprise. Sign in at the Enterprise portal instead, or ask your service provider"
    )]
    TenantTaken { tenant_id: String, other: String },
    #[error("{enterprise} is already registered: sign in at the Enterprise portal")]
    AlreadyRegistered { enterprise: String },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<teamline_store::StoreError> for RegistrationError {
    fn from(e: teamline_store::StoreError) -> Self {
        Self::Engine(e.into())
    }
}

/// The domain of an e-mail address or UPN, lower-cased.
fn domain_of(address: &str) -> Option<String> {
    address
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
}

/// A group of the tenant as Manage User Groups offers it.
pub struct GroupOption {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    /// Microsoft's built-in organisation-wide group: offered, but refused with the fix.
    pub org_wide: bool,
    pub selected: bool,
}

impl Engine {
    /// Opens an invitation link (signature and expiry); the link is not used up.
    pub async fn open_invitation(
        &self,
        token: &str,
    ) -> Result<OpenedInvitation, RegistrationError> {
        let config = self.invitations().ok_or(RegistrationError::NotConfigured)?;
        let pending = config.key.open(token, OffsetDateTime::now_utc())?;
        let store = &self.inner.store;
        let enterprise = match store.get_enterprise(pending.enterprise()).await {
            Ok(e) => e,
            // An enterprise removed since: the link no longer leads anywhere.
            Err(teamline_store::StoreError::NotFound { .. }) => {
                return Err(InvitationError::Invalid.into());
            }
            Err(e) => return Err(e.into()),
        };
        let reseller = store.get_reseller(enterprise.reseller_id).await?;
        Ok(OpenedInvitation {
            enterprise,
            reseller,
            expires_at: pending.expires_at(),
        })
    }

    /// Registers the invited enterprise for the tenant `admin` signed in from, using the link
    /// up. Refused (link unused) when the admin is not a Global Administrator, signed in with
    /// an account outside the invited address's domain (Teamline cannot read a tenant's
    /// domains before consent, so the account's own domain stands for its tenant), or when the
    /// tenant already belongs to another enterprise.
    pub async fn register_from_invitation(
        &self,
        token: &str,
        admin: &RegisteringAdmin,
    ) -> Result<Enterprise, RegistrationError> {
        let config = self.invitations().ok_or(RegistrationError::NotConfigured)?;
        let pending = config.key.open(token, OffsetDateTime::now_utc())?;
        let store = &self.inner.store;
        let enterprise = store.get_enterprise(pending.enterprise()).await?;
        let name = enterprise.name.as_str().to_owned();
        let invited = enterprise.global_admin_email.as_str().to_owned();
        if enterprise.state != EnterpriseState::Invited {
            return Err(RegistrationError::AlreadyRegistered { enterprise: name });
        }
        if !admin.is_global_admin {
            return Err(RegistrationError::NotGlobalAdmin {
                username: admin.username.clone(),
                enterprise: name,
                invited,
            });
        }
        if domain_of(&admin.username).is_none() || domain_of(&admin.username) != domain_of(&invited)
        {
            return Err(RegistrationError::WrongTenant {
                username: admin.username.clone(),
                invited,
                enterprise: name,
            });
        }
        let tenant = TenantId::parse(&admin.tenant_id)
            .map_err(|e| EngineError::refused(e.message.clone()))?;
        if let Some(other) = store.enterprise_by_tenant(&tenant).await?
            && other.id != enterprise.id
        {
            return Err(RegistrationError::TenantTaken {
                tenant_id: tenant.to_string(),
                other: other.name.as_str().to_owned(),
            });
        }
        pending
            .redeem(OffsetDateTime::now_utc(), &StoreLedger(store.clone()))
            .await?;
        let audit = Audit::new(
            Actor::EnterpriseAdmin(admin.username.clone()),
            "enterprise.register",
            format!("Registered {name} for the Microsoft 365 tenant {tenant}"),
        );
        Ok(store
            .register_enterprise(enterprise.id, &tenant, &audit)
            .await?)
    }

    /// The tenant's groups for Manage User Groups (read from Microsoft), the chosen ones
    /// marked.
    pub async fn sync_group_options(
        &self,
        e: EnterpriseId,
    ) -> Result<Vec<GroupOption>, EngineError> {
        let enterprise = self.inner.store.get_enterprise(e).await?;
        let tenant = enterprise.tenant_id.ok_or_else(|| {
            EngineError::refused("this enterprise has no Microsoft 365 tenant registered yet")
        })?;
        let chosen: Vec<String> = self
            .inner
            .store
            .list_sync_groups(e)
            .await?
            .into_iter()
            .map(|g| g.group_object_id)
            .collect();
        let api = self.inner.microsoft.tenant(tenant.as_str());
        let mut pages = api.groups(None);
        let mut out = Vec::new();
        while let Some(page) = pages.try_next().await? {
            out.extend(page.into_iter().map(|g| GroupOption {
                selected: chosen.iter().any(|c| c.eq_ignore_ascii_case(&g.id)),
                org_wide: is_org_wide(&g.display_name),
                id: g.id,
                display_name: g.display_name,
                description: g.description,
            }));
        }
        out.sort_by_key(|g| g.display_name.to_lowercase());
        Ok(out)
    }

    /// Manage User Groups: syncs the transitive members of `group_ids` from now on, and
    /// starts a sync. Each id must be a group of the tenant; an organisation-wide group such
    /// as "All Company" is refused with the fix. At least one group is needed.
    pub async fn choose_sync_groups(
        &self,
        e: EnterpriseId,
        group_ids: &[String],
        actor: &Actor,
    ) -> Result<Result<(), FieldErrors>, EngineError> {
        let options = self.sync_group_options(e).await?;
        let mut errors = FieldErrors::new();
        if group_ids.is_empty() {
            errors.push(FieldError::new(
                "Sync Groups",
                "choose at least one group: Teamline syncs the members of the groups you choose",
            ));
        }
        let mut choices = Vec::new();
        for id in group_ids {
            match options.iter().find(|o| o.id.eq_ignore_ascii_case(id)) {
                Some(o) => {
                    if let Some(c) = errors.check(SyncGroupChoice::parse(&o.id, &o.display_name)) {
                        choices.push(c);
                    }
                }
                None => errors.push(FieldError::new(
                    "Sync Groups",
                    format!("group {id} is not a group of this tenant any more: reload the page and choose again"),
                )),
            }
        }
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        let names: Vec<&str> = choices.iter().map(SyncGroupChoice::display_name).collect();
        let audit = Audit::new(
            actor.clone(),
            "sync_groups.set",
            format!("Chose the sync groups {}", names.join(", ")),
        );
        self.inner
            .store
            .set_sync_groups(e, &choices, &audit)
            .await?;
        if let Err(err) = self.enqueue_directory_sync(e, true).await {
            tracing::warn!(error = %err, enterprise = %e, "could not start a sync after choosing sync groups");
        }
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::domain_of;

    #[test]
    fn domains_of_addresses() {
        assert_eq!(
            domain_of("Admin@Fabrikam.example").as_deref(),
            Some("fabrikam.example")
        );
        assert_eq!(domain_of("nobody"), None);
        assert_eq!(domain_of("x@"), None);
    }
}
