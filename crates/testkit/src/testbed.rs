//! A provisioned enterprise with many configured users, for load and crash tests: seeds an
//! enterprise for a generated tenant of the Microsoft simulator (`teamline sim --tenants
//! NAME:USERS:MEMBERS`), creates the tenant's voice policies there, and sets up one PBX user
//! per eligible synced Teams user. `teamline bench`, the engine's throttling tests and the
//! crash test start from it.

use futures::TryStreamExt;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::device::DeviceAuthId;
use teamline_domain::enterprise::{ConsentKind, Enterprise, EnterpriseForm, TenantId};
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::pbx_location::{PbxLocation, PbxLocationForm};
use teamline_domain::pbx_user::{CallerNamePolicy, ForwardedCallerId, PbxUserSpec};
use teamline_domain::phone::PhoneNumber;
use teamline_domain::reseller::ResellerForm;
use teamline_domain::sip::Extension;
use teamline_domain::sync_group::SyncGroupChoice;
use teamline_domain::voice_route::{NewSbcRegion, NewVoiceRoute, VoiceRoute, VoiceRouteState};
use teamline_engine::{Engine, EngineError};
use teamline_microsoft::direct_routing::{
    CallingPolicySpec, DialPlanSpec, VoiceRoutingPolicySpec, VoicemailMode,
};
use teamline_store::{ConsentChange, NewPbxUser, TeamsUserQuery};

/// What [`seed_enterprise`] made.
#[derive(Debug, Clone)]
pub struct Testbed {
    pub enterprise: Enterprise,
    pub route: VoiceRoute,
    pub location: PbxLocation,
}

fn audit(what: impl Into<String>) -> Audit {
    Audit::new(Actor::System("testbed".into()), "testbed.seed", what)
}

fn invalid(e: impl std::fmt::Display) -> EngineError {
    EngineError::refused(format!("testbed data is invalid: {e}"))
}

/// An onboarded enterprise `name` for the Microsoft tenant `tenant_id`: registered, consent
/// granted, `sync_group` (looked up by name in the tenant) chosen, the voice route "US East 2"
/// provisioned (its policies created in the tenant), a NetSapiens PBX location at
/// `pbx_api_base_url`.
pub async fn seed_enterprise(
    engine: &Engine,
    name: &str,
    tenant_id: &TenantId,
    sync_group: &str,
    pbx_api_base_url: &str,
) -> Result<Testbed, EngineError> {
    let store = engine.store();
    let reseller = match store.reseller_by_name("Testbed Voice").await? {
        Some(r) => r,
        None => {
            let form = ResellerForm {
                name: "Testbed Voice".into(),
                contact_email: "ops@testbed.example".into(),
                ..Default::default()
            };
            store
                .create_reseller(&form.validate().map_err(invalid)?, &audit("reseller"))
                .await?
        }
    };
    let region = match store
        .list_sbc_regions()
        .await?
        .into_iter()
        .find(|r| r.name.as_str() == "US East 2")
    {
        Some(r) => r,
        None => {
            store
                .create_sbc_region(
                    &NewSbcRegion::parse("US East 2", "useast2.sbc.example.net")
                        .map_err(invalid)?,
                    &audit("region"),
                )
                .await?
        }
    };
    let form = EnterpriseForm {
        name: name.into(),
        global_admin_email: format!("admin@{}.example", name.to_lowercase()),
        sbc_regions: vec![region.id],
        ..Default::default()
    };
    let e = store
        .create_enterprise(
            reseller.id,
            &form.validate(&[region.id]).map_err(invalid)?,
            &audit(format!("Added {name}")),
        )
        .await?
        .id;
    store
        .register_enterprise(e, tenant_id, &audit("registered"))
        .await?;
    let mut enterprise = store.get_enterprise(e).await?;
    for kind in ConsentKind::ALL {
        enterprise = store
            .set_consent(
                e,
                &ConsentChange {
                    kind,
                    granted: true,
                    by: None,
                },
                &audit("consent"),
            )
            .await?;
    }
    let tenant = engine.microsoft().tenant(tenant_id.as_str());
    let mut groups = tenant.groups(Some(sync_group));
    let mut found = None;
    while let Some(page) = groups.try_next().await? {
        found = found.or(page.into_iter().find(|g| g.display_name == sync_group));
    }
    let group = found.ok_or_else(|| {
        EngineError::refused(format!("the tenant has no group named \"{sync_group}\""))
    })?;
    let choice = SyncGroupChoice::parse(&group.id, &group.display_name).map_err(invalid)?;
    store
        .set_sync_groups(e, &[choice], &audit("sync group"))
        .await?;
    let mut new = NewVoiceRoute::for_region(&region, &name.to_lowercase()).map_err(invalid)?;
    new.state = VoiceRouteState::Provisioned;
    let route = store
        .create_voice_route(e, &new, &audit("voice route"))
        .await?;
    let location_form = PbxLocationForm {
        name: "PBX".into(),
        pbx_type: "netsapiens".into(),
        dns_lookup: "srv".into(),
        sip_domain: name.to_lowercase(),
        proxy: "sbc.pbx.example".into(),
        voicemail_code: "9901".into(),
        api_base_url: pbx_api_base_url.into(),
        api_auth: "api_key".into(),
        api_key: "nsk_testbed".into(),
        ..Default::default()
    };
    let location = store
        .create_pbx_location(
            e,
            &location_form.validate(false).map_err(invalid)?,
            &audit("pbx location"),
        )
        .await?;
    ensure_voice_policies(engine, tenant_id, &route).await?;
    Ok(Testbed {
        enterprise,
        route,
        location,
    })
}

/// The tenant-level policies Enable Calling grants (what Direct Routing setup creates).
async fn ensure_voice_policies(
    engine: &Engine,
    tenant_id: &TenantId,
    route: &VoiceRoute,
) -> Result<(), EngineError> {
    let tenant = engine.microsoft().tenant(tenant_id.as_str());
    let s = engine.settings();
    let usage = route.name.as_str().to_owned();
    tenant.ensure_pstn_usage(&usage).await?;
    tenant
        .ensure_voice_routing_policy(&VoiceRoutingPolicySpec {
            name: route.policy_name.clone(),
            pstn_usages: vec![usage],
            description: Some("Teamline testbed".into()),
        })
        .await?;
    tenant
        .ensure_dial_plan(&DialPlanSpec {
            name: s.dial_plan.clone(),
            description: Some("Teamline testbed".into()),
            normalization_rules: Vec::new(),
        })
        .await?;
    tenant
        .ensure_calling_policy(&CallingPolicySpec {
            name: s.no_voicemail_calling_policy.clone(),
            voicemail: VoicemailMode::AlwaysDisabled,
        })
        .await?;
    Ok(())
}

/// Sets up `count` PBX users (calling off) for the first eligible synced Teams users, on
/// extensions from `first_extension` up, each with the number `+1<extension>`.
pub async fn seed_pbx_users(
    engine: &Engine,
    tb: &Testbed,
    count: usize,
    first_extension: u32,
) -> Result<Vec<PbxUserId>, EngineError> {
    let store = engine.store();
    let e = tb.enterprise.id;
    let users = store
        .list_teams_users(
            e,
            &TeamsUserQuery {
                eligible_unpaired_only: true,
                limit: u32::try_from(count).unwrap_or(u32::MAX),
                ..Default::default()
            },
        )
        .await?
        .items;
    if users.len() < count {
        return Err(EngineError::refused(format!(
            "only {} eligible Teams users are synced, {count} are needed",
            users.len()
        )));
    }
    let mut ids = Vec::with_capacity(count);
    for (i, u) in users.iter().enumerate() {
        let ext = first_extension + u32::try_from(i).unwrap_or(0);
        let spec = PbxUserSpec {
            pbx_location_id: tb.location.id,
            voice_route_id: tb.route.id,
            teams_user_object_id: u.object_id.clone(),
            sip_user: Extension::parse(&ext.to_string()).map_err(invalid)?,
            phone_number: PhoneNumber::parse(&format!("+1{ext}")).map_err(invalid)?,
            use_teams_voicemail: false,
            caller_name: CallerNamePolicy::Transparent,
            forwarded_caller_id: ForwardedCallerId::UserCallerId,
            assign_dial_plan: true,
            device: DeviceAuthId::parse(&format!("{ext}tm")).map_err(invalid)?,
            device_creation: None,
            tag: None,
        };
        let user = store
            .create_pbx_user(
                &NewPbxUser {
                    enterprise_id: e,
                    spec,
                    calling_enabled: false,
                },
                &audit(format!("Set up {} on {ext}", u.display_name)),
            )
            .await?;
        ids.push(user.id);
    }
    Ok(ids)
}

/// Enable Calling for each user, as an admin would from the Users page (queues the pushes).
pub async fn enable_calling(
    engine: &Engine,
    e: EnterpriseId,
    ids: &[PbxUserId],
) -> Result<(), EngineError> {
    let actor = Actor::System("testbed".into());
    for id in ids {
        engine.set_calling(e, &actor, *id, true).await?;
    }
    Ok(())
}
