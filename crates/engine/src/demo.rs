//! The demo data of SPEC.md §8, seeded into a store. Running it again changes nothing that is
//! already there (it only refreshes the simulator's address, which can change between runs).

use crate::accounts::hash_password;
use secrecy::{ExposeSecret, SecretString};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::device::DeviceAuthId;
use teamline_domain::enterprise::{
    ConsentKind, Enterprise, EnterpriseForm, EnterpriseState, TenantId,
};
use teamline_domain::pbx_location::PbxLocationForm;
use teamline_domain::pbx_user::{CallerNamePolicy, ForwardedCallerId, PbxUserSpec, PbxUserState};
use teamline_domain::phone::PhoneNumber;
use teamline_domain::reseller::{AccountRole, Reseller, ResellerForm};
use teamline_domain::sip::Extension;
use teamline_domain::sync_group::SyncGroupChoice;
use teamline_domain::teams_user::{Licences, PlanState, UserType};
use teamline_domain::text::Email;
use teamline_domain::voice_route::{NewSbcRegion, NewVoiceRoute, SbcRegion};
use teamline_store::{
    ConsentChange, DynStore, NewAccount, NewPbxUser, PbxUserQuery, StoreError, TeamsUserUpsert,
    UserTab,
};

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

/// What the demo holds after seeding.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub reseller: Reseller,
    pub contoso: Enterprise,
    pub fabrikam: Enterprise,
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

pub const RESELLER_NAME: &str = "Northwind Voice";
pub const RESELLER_ADMIN: &str = "reseller@northwind.example";

pub async fn seed(store: &DynStore, facts: &DemoFacts) -> Result<DemoSummary, DemoError> {
    let created = store.reseller_by_name(RESELLER_NAME).await?.is_none();
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
    if store.account_by_email(RESELLER_ADMIN).await?.is_none() {
        let hash = hash_password(facts.reseller_password.expose_secret()).map_err(invalid)?;
        let email = Email::parse("E-mail", RESELLER_ADMIN).map_err(invalid)?;
        let new = NewAccount {
            email,
            role: AccountRole::ResellerAdmin,
            reseller_id: Some(reseller.id),
            password_hash: hash,
        };
        store
            .create_account(&new, &audit("Created reseller admin account"))
            .await?;
    }

    let regions = ensure_regions(store).await?;
    let contoso = ensure_contoso(store, &reseller, &regions, facts).await?;
    let fabrikam = match store.enterprise_by_slug("fabrikam").await? {
        Some(e) => e,
        None => {
            let form = EnterpriseForm {
                name: "Fabrikam".into(),
                global_admin_email: "admin@fabrikam.example".into(),
                sbc_regions: regions.iter().map(|r| r.id).collect(),
                ..Default::default()
            };
            let ids: Vec<_> = regions.iter().map(|r| r.id).collect();
            store
                .create_enterprise(
                    reseller.id,
                    &form.validate(&ids).map_err(invalid)?,
                    &audit("Invited Fabrikam"),
                )
                .await?
        }
    };
    Ok(DemoSummary {
        reseller,
        contoso,
        fabrikam,
        created,
    })
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

async fn ensure_contoso(
    store: &DynStore,
    reseller: &Reseller,
    regions: &[SbcRegion],
    facts: &DemoFacts,
) -> Result<Enterprise, DemoError> {
    let region_ids: Vec<_> = regions.iter().map(|r| r.id).collect();
    let mut contoso = match store.enterprise_by_slug("contoso").await? {
        Some(e) => e,
        None => {
            let form = EnterpriseForm {
                name: "Contoso".into(),
                global_admin_email: "admin@contoso.example".into(),
                pbx_music_on_hold: true,
                request_management_consent: true,
                sbc_regions: region_ids.clone(),
                ..Default::default()
            };
            store
                .create_enterprise(
                    reseller.id,
                    &form.validate(&region_ids).map_err(invalid)?,
                    &audit("Invited Contoso"),
                )
                .await?
        }
    };
    let id = contoso.id;
    if contoso.tenant_id.is_none() {
        contoso = store
            .register_enterprise(
                id,
                &facts.contoso_tenant_id,
                &audit("Contoso registered its Microsoft 365 tenant"),
            )
            .await?;
    }
    for kind in ConsentKind::ALL {
        if !contoso.consent(kind) {
            let change = ConsentChange {
                kind,
                granted: true,
                by: Some("admin@contoso.example".into()),
            };
            contoso = store
                .set_consent(
                    id,
                    &change,
                    &audit(&format!("Granted {} consent", kind.label())),
                )
                .await?;
        }
    }
    if store.list_sync_groups(id).await?.is_empty() {
        store
            .set_sync_groups(
                id,
                &[
                    SyncGroupChoice::parse(
                        &facts.contoso_sync_group.0,
                        &facts.contoso_sync_group.1,
                    )
                    .map_err(invalid)?,
                ],
                &audit("Chose sync group Teammate Sync"),
            )
            .await?;
    }
    let routes = store.list_voice_routes(id).await?;
    for region in regions {
        if !routes.iter().any(|r| r.region_id == region.id) {
            let mut new = NewVoiceRoute::for_region(region, "contoso").map_err(invalid)?;
            new.state = teamline_domain::voice_route::VoiceRouteState::Provisioned;
            store
                .create_voice_route(
                    id,
                    &new,
                    &audit(&format!("Provisioned voice route {}", region.name)),
                )
                .await?;
        }
    }
    if contoso.state != EnterpriseState::DirectRoutingReady {
        contoso = store
            .set_enterprise_state(
                id,
                EnterpriseState::DirectRoutingReady,
                &audit("Direct Routing ready"),
            )
            .await?;
    }

    let form = PbxLocationForm {
        name: "PBX".into(),
        pbx_type: "netsapiens".into(),
        dns_lookup: "srv".into(),
        sip_domain: "contoso".into(),
        proxy: "sbc.pbx.example".into(),
        voicemail_code: "9901".into(),
        api_base_url: facts.pbx_api_base_url.clone(),
        api_auth: "api_key".into(),
        api_key: facts.pbx_api_key.expose_secret().to_owned(),
        ..Default::default()
    };
    let locations = store.list_pbx_locations(id).await?;
    let location = match locations
        .into_iter()
        .find(|l| l.settings.name.as_str() == "PBX")
    {
        None => {
            store
                .create_pbx_location(
                    id,
                    &form.validate(false).map_err(invalid)?,
                    &audit("Added PBX location PBX"),
                )
                .await?
        }
        Some(l)
            if l.settings.api_base_url.as_str() != facts.pbx_api_base_url.trim_end_matches('/') =>
        {
            store
                .update_pbx_location(
                    id,
                    l.id,
                    &form.validate(true).map_err(invalid)?,
                    &audit("Pointed PBX at this run's simulator"),
                )
                .await?
        }
        Some(l) => l,
    };

    // Debra Berger: configured on extension 1015 earlier, now Disabled (reserves 1015).
    let has_debra = store
        .list_pbx_users(
            id,
            &PbxUserQuery {
                tab: UserTab::Disabled,
                search: Some(facts.debra.upn.clone()),
                limit: 1,
                offset: 0,
            },
        )
        .await?
        .total
        > 0;
    if !has_debra {
        if store
            .get_teams_user(id, &facts.debra.object_id)
            .await?
            .is_none()
        {
            let debra = TeamsUserUpsert {
                object_id: facts.debra.object_id.clone(),
                upn: facts.debra.upn.clone(),
                display_name: facts.debra.display_name.clone(),
                account_enabled: true,
                user_type: UserType::Member,
                licences: Licences {
                    teams: PlanState::Enabled,
                    teams_phone: PlanState::Enabled,
                    calling_plan: false,
                    teams_phone_assigned_at_ms: None,
                },
                sync_groups: vec![facts.contoso_sync_group.0.clone()],
                in_scope: true,
            };
            store.upsert_teams_users(id, &[debra]).await?;
        }
        let route = store
            .list_voice_routes(id)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| invalid("no voice route"))?;
        let spec = PbxUserSpec {
            pbx_location_id: location.id,
            voice_route_id: route.id,
            teams_user_object_id: facts.debra.object_id.clone(),
            sip_user: Extension::parse("1015").map_err(invalid)?,
            phone_number: PhoneNumber::parse("+11015").map_err(invalid)?,
            use_teams_voicemail: false,
            caller_name: CallerNamePolicy::Transparent,
            forwarded_caller_id: ForwardedCallerId::UserCallerId,
            assign_dial_plan: true,
            device: DeviceAuthId::parse("1015tm").map_err(invalid)?,
            tag: None,
        };
        let user = store
            .create_pbx_user(
                &NewPbxUser {
                    enterprise_id: id,
                    spec,
                    calling_enabled: false,
                },
                &audit("Set up Debra Berger on extension 1015"),
            )
            .await?;
        store
            .set_pbx_user_state(
                id,
                user.id,
                PbxUserState::Disabled,
                &audit("Disabled Debra Berger"),
            )
            .await?;
        store
            .record_push(
                id,
                user.id,
                &teamline_store::PushOutcome {
                    push_state: teamline_domain::pbx_user::PushState::InSync,
                    last_error: None,
                    observed: None,
                },
                None,
            )
            .await?;
    }
    Ok(contoso)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use teamline_store::SystemClock;
    use teamline_store::crypto::Keyring;

    fn facts() -> DemoFacts {
        DemoFacts {
            contoso_tenant_id: TenantId::parse("6d1b3f6e-4c1a-4f5e-9a53-2a1f0c0b7e11").unwrap(),
            contoso_sync_group: (
                "7a4c2f8e-1b3d-4e5f-8a9b-0c1d2e3f4a5b".into(),
                "Teammate Sync".into(),
            ),
            debra: DemoTeamsUser {
                object_id: "obj-debra".into(),
                upn: "DebraB@contoso.example".into(),
                display_name: "Debra Berger".into(),
            },
            pbx_api_base_url: "http://127.0.0.1:9/ns-api/v2".into(),
            pbx_api_key: SecretString::from("nsk_demo".to_owned()),
            reseller_password: SecretString::from("northwind-demo-2026".to_owned()),
        }
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
        assert_eq!(second.fabrikam.state, EnterpriseState::Invited);
    }
}
