//! The demo data (README, "The demo"), seeded into a store: the reseller Northwind Voice with
//! its admin account, the SBC regions, the onboarded enterprise Contoso (see [`contoso`]) and
//! the invited enterprise Fabrikam. Seeding again changes nothing that is already there; it
//! only points Contoso's PBX location at this run's simulator, whose address can change.
//!
//! [`DemoFacts::of_simulators`] is the one mapping from the simulators' seeds to what the
//! demo stores.

mod contoso;

use secrecy::{ExposeSecret, SecretString};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::enterprise::{Enterprise, EnterpriseForm, TenantId};
use teamline_domain::reseller::{AccountRole, Reseller, ResellerForm};
use teamline_domain::text::Email;
use teamline_domain::voice_route::{NewSbcRegion, SbcRegion};
use teamline_engine::accounts::hash_password;
use teamline_sim::microsoft::demo as ms;
use teamline_sim::netsapiens::DEMO_API_KEY;
use teamline_store::{DynStore, NewAccount, StoreError};

pub const RESELLER_NAME: &str = "Northwind Voice";
pub const RESELLER_ADMIN: &str = "reseller@northwind.example";
/// The demo reseller admin's password (printed by `teamline demo`; demo only).
pub const RESELLER_PASSWORD: &str = "northwind-demo-2026";

/// The demo's platform operator (printed by `teamline demo`; demo only).
pub const OPERATOR_EMAIL: &str = "operator@teamline.example";
pub const OPERATOR_PASSWORD: &str = "teamline-operator-2026";

/// Facts the demo takes from the simulators it runs against (tenant ids, URLs, keys).
#[derive(Debug, Clone)]
pub struct DemoFacts {
    pub contoso_tenant_id: TenantId,
    /// The "Teammate Sync" group: (object id, display name).
    pub contoso_sync_group: (String, String),
    /// Debra Berger, previously configured on extension 1015 and now Disabled.
    pub debra: DemoTeamsUser,
    pub pbx_api_base_url: String,
    pub pbx_api_key: SecretString,
    pub reseller_password: SecretString,
}

#[derive(Debug, Clone)]
pub struct DemoTeamsUser {
    pub object_id: String,
    pub upn: String,
    pub display_name: String,
}

impl DemoFacts {
    /// The simulators' Contoso (`teamline_sim::microsoft::demo`) and a NetSapiens simulator
    /// seeded with Contoso's domain at `pbx_base_url` (e.g. `http://127.0.0.1:41234`).
    pub fn of_simulators(pbx_base_url: &str) -> Result<Self, DemoError> {
        Ok(Self {
            contoso_tenant_id: TenantId::parse(ms::CONTOSO_TENANT_ID).map_err(invalid)?,
            contoso_sync_group: (
                ms::contoso_group_id(ms::SYNC_GROUP),
                ms::SYNC_GROUP.to_owned(),
            ),
            debra: DemoTeamsUser {
                object_id: ms::contoso_user_id(ms::DEBRA_BERGER),
                upn: ms::upn_for(ms::DEBRA_BERGER, ms::CONTOSO_DOMAIN),
                display_name: ms::DEBRA_BERGER.to_owned(),
            },
            pbx_api_base_url: format!("{}/ns-api/v2", pbx_base_url.trim_end_matches('/')),
            pbx_api_key: SecretString::from(DEMO_API_KEY.to_owned()),
            reseller_password: SecretString::from(RESELLER_PASSWORD.to_owned()),
        })
    }
}

/// Which enterprises the demo seeds besides Contoso.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DemoSeed {
    /// Contoso and the invited Fabrikam (the demo, and most tests).
    #[default]
    WithInvitedFabrikam,
    /// Contoso only: Fabrikam is left for a test to add from nothing, as a reseller would
    /// (its simulated Microsoft tenant and NetSapiens domain are there all the same).
    WithoutFabrikam,
}

/// What the demo holds after seeding.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub reseller: Reseller,
    pub contoso: Enterprise,
    /// `None` when seeded [`DemoSeed::WithoutFabrikam`] (and Fabrikam was not there already).
    pub fabrikam: Option<Enterprise>,
    /// False when the data was already there.
    pub created: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("demo data is invalid: {0}")]
    Invalid(String),
}

fn audit(what: &str) -> Audit {
    Audit::new(Actor::System("demo".into()), "demo.seed", what)
}

fn invalid(e: impl std::fmt::Display) -> DemoError {
    DemoError::Invalid(e.to_string())
}

pub async fn seed(store: &DynStore, facts: &DemoFacts) -> Result<DemoSummary, DemoError> {
    seed_with(store, facts, DemoSeed::default()).await
}

pub async fn seed_with(
    store: &DynStore,
    facts: &DemoFacts,
    which: DemoSeed,
) -> Result<DemoSummary, DemoError> {
    let created = store.reseller_by_name(RESELLER_NAME).await?.is_none();
    let reseller = ensure_reseller(store, facts).await?;
    ensure_account(store, OPERATOR_EMAIL, OPERATOR_PASSWORD, None).await?;
    let regions = ensure_regions(store).await?;
    let contoso = contoso::ensure(store, &reseller, &regions, facts).await?;
    let fabrikam = match which {
        DemoSeed::WithInvitedFabrikam => Some(ensure_fabrikam(store, &reseller, &regions).await?),
        DemoSeed::WithoutFabrikam => store.enterprise_by_slug("fabrikam").await?,
    };
    Ok(DemoSummary {
        reseller,
        contoso,
        fabrikam,
        created,
    })
}

/// Northwind Voice and its admin account.
async fn ensure_reseller(store: &DynStore, facts: &DemoFacts) -> Result<Reseller, DemoError> {
    let reseller = match store.reseller_by_name(RESELLER_NAME).await? {
        Some(r) => r,
        None => {
            let form = ResellerForm {
                name: RESELLER_NAME.into(),
                contact_email: RESELLER_ADMIN.into(),
                services: "Hosted PBX, Microsoft Teams Direct Routing".into(),
                billing_reference: "NW-0001".into(),
            };
            store
                .create_reseller(
                    &form.validate().map_err(invalid)?,
                    &audit("Created reseller Northwind Voice"),
                )
                .await?
        }
    };
    ensure_account(
        store,
        RESELLER_ADMIN,
        facts.reseller_password.expose_secret(),
        Some(reseller.id),
    )
    .await?;
    Ok(reseller)
}

/// A local account: a reseller admin of `reseller`, or a platform operator (`None`).
async fn ensure_account(
    store: &DynStore,
    email: &str,
    password: &str,
    reseller: Option<teamline_domain::ids::ResellerId>,
) -> Result<(), DemoError> {
    if store.account_by_email(email).await?.is_some() {
        return Ok(());
    }
    let new = NewAccount {
        email: Email::parse("E-mail", email).map_err(invalid)?,
        role: match reseller {
            Some(_) => AccountRole::ResellerAdmin,
            None => AccountRole::PlatformOperator,
        },
        reseller_id: reseller,
        password_hash: hash_password(password).map_err(invalid)?,
    };
    store
        .create_account(&new, &audit(&format!("Created the demo account {email}")))
        .await?;
    Ok(())
}

async fn ensure_regions(store: &DynStore) -> Result<Vec<SbcRegion>, DemoError> {
    let wanted = [
        ("US East 2", "useast2.sbc.example.net"),
        ("US West", "uswest.sbc.example.net"),
    ];
    let existing = store.list_sbc_regions().await?;
    let mut out = Vec::new();
    for (name, fqdn) in wanted {
        match existing.iter().find(|r| r.name.as_str() == name) {
            Some(r) => out.push(r.clone()),
            None => {
                let new = NewSbcRegion::parse(name, fqdn).map_err(invalid)?;
                out.push(
                    store
                        .create_sbc_region(&new, &audit(&format!("Created SBC region {name}")))
                        .await?,
                );
            }
        }
    }
    Ok(out)
}

/// Fabrikam: invited, not onboarded yet.
async fn ensure_fabrikam(
    store: &DynStore,
    reseller: &Reseller,
    regions: &[SbcRegion],
) -> Result<Enterprise, DemoError> {
    if let Some(e) = store.enterprise_by_slug("fabrikam").await? {
        return Ok(e);
    }
    let ids: Vec<_> = regions.iter().map(|r| r.id).collect();
    let form = EnterpriseForm {
        name: "Fabrikam".into(),
        global_admin_email: "admin@fabrikam.example".into(),
        access_sip_data: true,
        sbc_regions: ids.clone(),
        ..Default::default()
    };
    Ok(store
        .create_enterprise(
            reseller.id,
            &form.validate(&ids).map_err(invalid)?,
            &audit("Invited Fabrikam"),
        )
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use teamline_domain::enterprise::{ConsentKind, EnterpriseState};
    use teamline_store::crypto::Keyring;
    use teamline_store::{PbxUserQuery, SystemClock, UserTab};

    fn facts() -> DemoFacts {
        DemoFacts::of_simulators("http://127.0.0.1:9").unwrap()
    }

    #[tokio::test]
    async fn seeding_twice_does_not_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        let store: DynStore = Arc::new(
            teamline_store_sqlite::open(
                &dir.path().join("d.db"),
                Arc::new(Keyring::for_testing()),
                Arc::new(SystemClock),
            )
            .await
            .unwrap(),
        );
        let first = seed(&store, &facts()).await.unwrap();
        assert!(first.created);
        let audit_after_first = store.list_audit(None, 1000).await.unwrap().len();
        let mut moved = facts();
        moved.pbx_api_base_url = "http://127.0.0.1:10/ns-api/v2".into();
        let second = seed(&store, &moved).await.unwrap();
        assert!(!second.created);
        assert_eq!(store.list_enterprises(None).await.unwrap().len(), 2);
        assert_eq!(store.list_resellers().await.unwrap().len(), 1);
        assert_eq!(
            store
                .list_voice_routes(first.contoso.id)
                .await
                .unwrap()
                .len(),
            2
        );
        let disabled = store
            .list_pbx_users(
                first.contoso.id,
                &PbxUserQuery {
                    tab: UserTab::Disabled,
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(disabled.total, 1);
        assert_eq!(disabled.items[0].display_name, "Debra Berger");
        // Only the simulator address moved.
        let events = store.list_audit(None, 1000).await.unwrap();
        assert_eq!(events.len(), audit_after_first + 1);
        let loc = &store.list_pbx_locations(first.contoso.id).await.unwrap()[0];
        assert_eq!(
            loc.settings.api_base_url.as_str(),
            "http://127.0.0.1:10/ns-api/v2"
        );
        assert!(second.contoso.consent(ConsentKind::UserSync));
        assert_eq!(second.fabrikam.unwrap().state, EnterpriseState::Invited);
    }
}
