//! Contoso, the onboarded enterprise of the demo: its Microsoft 365 tenant registered with
//! every consent granted, the sync group "Teammate Sync", a provisioned voice route per SBC
//! region (Direct Routing ready), the PBX location "PBX" on the simulated NetSapiens domain
//! `contoso`, and Debra Berger, set up on extension 1015 earlier and now Disabled.

use super::{DemoError, DemoFacts, audit, invalid};
use secrecy::ExposeSecret;
use teamline_domain::device::DeviceAuthId;
use teamline_domain::enterprise::{ConsentKind, Enterprise, EnterpriseForm, EnterpriseState};
use teamline_domain::ids::{EnterpriseId, PbxLocationId};
use teamline_domain::pbx_location::{PbxLocation, PbxLocationForm};
use teamline_domain::pbx_user::{
    CallerNamePolicy, ForwardedCallerId, PbxUserSpec, PbxUserState, PushState,
};
use teamline_domain::phone::PhoneNumber;
use teamline_domain::reseller::Reseller;
use teamline_domain::sip::Extension;
use teamline_domain::sync_group::SyncGroupChoice;
use teamline_domain::teams_user::{Licences, PlanState, UserType};
use teamline_domain::voice_route::{NewVoiceRoute, SbcRegion, VoiceRouteState};
use teamline_store::{
    ConsentChange, DynStore, NewPbxUser, PbxUserQuery, PushOutcome, TeamsUserUpsert, UserTab,
};

pub(super) async fn ensure(
    store: &DynStore,
    reseller: &Reseller,
    regions: &[SbcRegion],
    facts: &DemoFacts,
) -> Result<Enterprise, DemoError> {
    let contoso = ensure_onboarded(store, reseller, regions, facts).await?;
    ensure_sync_group(store, contoso.id, facts).await?;
    let contoso = ensure_direct_routing(store, contoso, regions).await?;
    let location = ensure_pbx_location(store, contoso.id, facts).await?;
    ensure_debra(store, contoso.id, location.id, facts).await?;
    Ok(contoso)
}

/// Invited, its tenant registered by its Global Administrator, every consent granted.
async fn ensure_onboarded(
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
                access_sip_data: true,
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
    Ok(contoso)
}

async fn ensure_sync_group(
    store: &DynStore,
    id: EnterpriseId,
    facts: &DemoFacts,
) -> Result<(), DemoError> {
    if !store.list_sync_groups(id).await?.is_empty() {
        return Ok(());
    }
    let (group_id, name) = &facts.contoso_sync_group;
    store
        .set_sync_groups(
            id,
            &[SyncGroupChoice::parse(group_id, name).map_err(invalid)?],
            &audit("Chose sync group Teammate Sync"),
        )
        .await?;
    Ok(())
}

/// A provisioned voice route per SBC region, and the enterprise ready for Direct Routing.
async fn ensure_direct_routing(
    store: &DynStore,
    mut contoso: Enterprise,
    regions: &[SbcRegion],
) -> Result<Enterprise, DemoError> {
    let id = contoso.id;
    let routes = store.list_voice_routes(id).await?;
    for region in regions {
        if !routes.iter().any(|r| r.region_id == region.id) {
            let mut new = NewVoiceRoute::for_region(region, "contoso").map_err(invalid)?;
            new.state = VoiceRouteState::Provisioned;
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
    Ok(contoso)
}

/// The PBX location "PBX", pointed at this run's NetSapiens simulator.
async fn ensure_pbx_location(
    store: &DynStore,
    id: EnterpriseId,
    facts: &DemoFacts,
) -> Result<PbxLocation, DemoError> {
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
    Ok(location)
}

/// Debra Berger: configured on extension 1015 earlier, now Disabled (reserves 1015).
async fn ensure_debra(
    store: &DynStore,
    id: EnterpriseId,
    location: PbxLocationId,
    facts: &DemoFacts,
) -> Result<(), DemoError> {
    let has_debra = store
        .list_pbx_users(
            id,
            &PbxUserQuery {
                tab: UserTab::Disabled,
                search: Some(facts.debra.upn.clone()),
                limit: 1,
                ..Default::default()
            },
        )
        .await?
        .total
        > 0;
    if has_debra {
        return Ok(());
    }
    ensure_debra_synced(store, id, facts).await?;
    let route = store
        .list_voice_routes(id)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| invalid("no voice route"))?;
    let spec = PbxUserSpec {
        pbx_location_id: location,
        voice_route_id: route.id,
        teams_user_object_id: facts.debra.object_id.clone(),
        sip_user: Extension::parse("1015").map_err(invalid)?,
        phone_number: PhoneNumber::parse("+11015").map_err(invalid)?,
        use_teams_voicemail: false,
        caller_name: CallerNamePolicy::Transparent,
        forwarded_caller_id: ForwardedCallerId::UserCallerId,
        assign_dial_plan: true,
        device: DeviceAuthId::parse("1015tm").map_err(invalid)?,
        device_creation: None,
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
            &PushOutcome {
                push_state: PushState::InSync,
                last_error: None,
                observed: None,
            },
            None,
        )
        .await?;
    Ok(())
}

/// Debra's Teams user, as a directory sync stores it (a PBX user needs one).
async fn ensure_debra_synced(
    store: &DynStore,
    id: EnterpriseId,
    facts: &DemoFacts,
) -> Result<(), DemoError> {
    if store
        .get_teams_user(id, &facts.debra.object_id)
        .await?
        .is_some()
    {
        return Ok(());
    }
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
    Ok(())
}
