//! Small builders for the stories: a reseller, an enterprise with a PBX and two voice routes,
//! synced Teams users, PBX users.

use crate::Harness;
use secrecy::SecretString;
use std::sync::Arc;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::device::DeviceAuthId;
use teamline_domain::enterprise::{Enterprise, EnterpriseForm};
use teamline_domain::ids::*;
use teamline_domain::pbx_location::{BoundPbxAuth, PbxApiAuth, PbxLocation, PbxLocationForm};
use teamline_domain::pbx_user::{CallerNamePolicy, ForwardedCallerId, PbxUserSpec};
use teamline_domain::phone::PhoneNumber;
use teamline_domain::reseller::ResellerForm;
use teamline_domain::sip::Extension;
use teamline_domain::teams_user::{Licences, PlanState, UserType};
use teamline_domain::voice_route::{NewSbcRegion, NewVoiceRoute, VoiceRoute};
use teamline_store::{NewPbxUser, Store, TeamsUserUpsert};

pub fn audit(action: &str) -> Audit {
    Audit::new(
        Actor::System("test".into()),
        action,
        format!("test {action}"),
    )
}

pub const API_KEY: &str = "nsk_live_8f2d0c1e9b7a4455";

pub struct Tenant {
    pub enterprise: Enterprise,
    pub location: PbxLocation,
    pub east: VoiceRoute,
    pub west: VoiceRoute,
}

pub async fn tenant(store: &Arc<dyn Store>, name: &str) -> Tenant {
    let reseller = match store.reseller_by_name("Northwind Voice").await.unwrap() {
        Some(r) => r,
        None => {
            let form = ResellerForm {
                name: "Northwind Voice".into(),
                contact_email: "reseller@northwind.example".into(),
                ..Default::default()
            };
            store
                .create_reseller(&form.validate().unwrap(), &audit("reseller.create"))
                .await
                .unwrap()
        }
    };
    let regions = store.list_sbc_regions().await.unwrap();
    let (east_region, west_region) = if regions.len() >= 2 {
        (regions[0].clone(), regions[1].clone())
    } else {
        let e = store
            .create_sbc_region(
                &NewSbcRegion::parse("US East 2", "useast2.sbc.example.net").unwrap(),
                &audit("region.create"),
            )
            .await
            .unwrap();
        let w = store
            .create_sbc_region(
                &NewSbcRegion::parse("US West", "uswest.sbc.example.net").unwrap(),
                &audit("region.create"),
            )
            .await
            .unwrap();
        (e, w)
    };
    let form = EnterpriseForm {
        name: name.into(),
        global_admin_email: format!("admin@{}.example", name.to_lowercase()),
        sbc_regions: vec![east_region.id, west_region.id],
        ..Default::default()
    };
    let enterprise = store
        .create_enterprise(
            reseller.id,
            &form.validate(&[east_region.id, west_region.id]).unwrap(),
            &audit("enterprise.create"),
        )
        .await
        .unwrap();
    let label = name.to_lowercase();
    let east = store
        .create_voice_route(
            enterprise.id,
            &NewVoiceRoute::for_region(&east_region, &label).unwrap(),
            &audit("voice_route.create"),
        )
        .await
        .unwrap();
    let west = store
        .create_voice_route(
            enterprise.id,
            &NewVoiceRoute::for_region(&west_region, &label).unwrap(),
            &audit("voice_route.create"),
        )
        .await
        .unwrap();
    let location = store
        .create_pbx_location(
            enterprise.id,
            &location_form_for(&name.to_lowercase())
                .validate(false)
                .unwrap(),
            &audit("pbx_location.create"),
        )
        .await
        .unwrap();
    Tenant {
        enterprise,
        location,
        east,
        west,
    }
}

/// Contoso's PBX location form (SIP domain `contoso`).
pub fn location_form() -> PbxLocationForm {
    location_form_for("contoso")
}

/// A PBX location form on `sip_domain` (each enterprise has its own).
pub fn location_form_for(sip_domain: &str) -> PbxLocationForm {
    PbxLocationForm {
        name: "PBX".into(),
        pbx_type: "netsapiens".into(),
        dns_lookup: "srv".into(),
        sip_domain: sip_domain.into(),
        proxy: "sbc.pbx.example".into(),
        voicemail_code: "9901".into(),
        api_base_url: "https://pbx.example/ns-api/v2".into(),
        api_auth: "api_key".into(),
        api_key: API_KEY.into(),
        ..Default::default()
    }
}

pub fn api_key_of(auth: &BoundPbxAuth) -> String {
    match &auth.auth {
        PbxApiAuth::ApiKey { api_key } => secrecy::ExposeSecret::expose_secret(api_key).to_owned(),
        PbxApiAuth::OAuth { .. } => panic!("expected an API key"),
    }
}

pub fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

/// A licensed member user in scope, e.g. `teams_user("adele", "Adele Vance")`.
pub fn teams_user(key: &str, name: &str) -> TeamsUserUpsert {
    TeamsUserUpsert {
        object_id: format!("obj-{key}"),
        upn: format!("{}@contoso.example", key),
        display_name: name.into(),
        account_enabled: true,
        user_type: UserType::Member,
        licences: Licences {
            teams: PlanState::Enabled,
            teams_phone: PlanState::Enabled,
            calling_plan: false,
            teams_phone_assigned_at_ms: None,
        },
        sync_groups: vec!["grp-sync".into()],
        in_scope: true,
    }
}

pub fn spec(t: &Tenant, teams_key: &str, ext: &str) -> PbxUserSpec {
    PbxUserSpec {
        pbx_location_id: t.location.id,
        voice_route_id: t.east.id,
        teams_user_object_id: format!("obj-{teams_key}"),
        sip_user: Extension::parse(ext).unwrap(),
        phone_number: PhoneNumber::parse(&format!("1{ext}")).unwrap(),
        use_teams_voicemail: false,
        caller_name: CallerNamePolicy::Transparent,
        forwarded_caller_id: ForwardedCallerId::UserCallerId,
        assign_dial_plan: true,
        device: DeviceAuthId::parse(&format!("{ext}tm")).unwrap(),
        tag: None,
    }
}

pub fn new_user(t: &Tenant, teams_key: &str, ext: &str) -> NewPbxUser {
    NewPbxUser {
        enterprise_id: t.enterprise.id,
        spec: spec(t, teams_key, ext),
        calling_enabled: true,
    }
}

pub fn ids(v: &[PbxUserId]) -> Vec<i64> {
    v.iter().map(|i| i.0).collect()
}

/// Stores these Teams users (`(key, display name)`) as a directory sync would.
pub async fn synced(h: &Harness, t: &Tenant, users: &[(&str, &str)]) {
    let upserts: Vec<_> = users.iter().map(|(k, n)| teams_user(k, n)).collect();
    h.store
        .upsert_teams_users(t.enterprise.id, &upserts)
        .await
        .unwrap();
}
