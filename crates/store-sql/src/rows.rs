//! Rows as the database returns them, and their conversion into domain objects. A row that no
//! longer parses is reported as corrupt rather than silently patched.

use teamline_domain::audit::{Actor, AuditEvent};
use teamline_domain::device::DeviceAuthId;
use teamline_domain::enterprise::{Consent, ConsentKind, Enterprise, EnterpriseState, TenantId};
use teamline_domain::ids::*;
use teamline_domain::job::{Job, JobState};
use teamline_domain::pbx_location::{
    ApiAuthKind, ApiBaseUrl, DnsLookup, PbxLocation, PbxLocationSettings, PbxType,
};
use teamline_domain::pbx_user::{
    CallerNamePolicy, DeviceCreation, ForwardedCallerId, Holder, PbxUser, PbxUserSpec,
    PbxUserState, PushState,
};
use teamline_domain::phone::PhoneNumber;
use teamline_domain::reseller::{AccountRole, Reseller};
use teamline_domain::sip::{Extension, FeatureCode, ProxyHost, SipDomain};
use teamline_domain::teams_user::{Licences, PlanState, TeamsUser, UserType};
use teamline_domain::teams_voice::ObservedVoice;
use teamline_domain::text::{Email, HostName, Name, Slug};
use teamline_domain::voice_route::{SbcRegion, VoiceRoute, VoiceRouteState};
use teamline_store::{
    Account, PbxUserListItem, StoreError, StoreResult, StoredDeviceHandle, SyncGroup,
};

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(format!("{what}: {detail}"))
}

fn parse<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> StoreResult<T> {
    r.map_err(|e| corrupt(what, e))
}

pub(crate) fn some<T>(what: &str, v: Option<T>) -> StoreResult<T> {
    v.ok_or_else(|| corrupt(what, "unknown value"))
}

pub fn plan_state(s: &str) -> PlanState {
    match s {
        "enabled" => PlanState::Enabled,
        "suspended" => PlanState::Suspended,
        "deleted" => PlanState::Deleted,
        _ => PlanState::Missing,
    }
}

pub fn plan_state_str(p: PlanState) -> &'static str {
    match p {
        PlanState::Enabled => "enabled",
        PlanState::Suspended => "suspended",
        PlanState::Deleted => "deleted",
        PlanState::Missing => "missing",
    }
}

#[derive(sqlx::FromRow)]
pub struct ResellerRow {
    pub id: i64,
    pub name: String,
    pub contact_email: String,
    pub services: Option<String>,
    pub billing_reference: Option<String>,
    pub suspended_reason: Option<String>,
}

impl ResellerRow {
    pub fn into_domain(self) -> StoreResult<Reseller> {
        Ok(Reseller {
            id: ResellerId(self.id),
            name: parse("reseller name", Name::parse("name", &self.name))?,
            contact_email: parse(
                "reseller e-mail",
                Email::parse("e-mail", &self.contact_email),
            )?,
            services: self.services,
            billing_reference: self.billing_reference,
            suspended: self.suspended_reason,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub reseller_id: Option<i64>,
    pub password_hash: String,
    pub failed_sign_ins: i64,
    pub locked_until_ms: Option<i64>,
    /// 1 while two-factor is on (an integer: SQLite has no boolean to decode).
    pub two_factor: i64,
}

impl AccountRow {
    pub fn into_domain(self) -> StoreResult<Account> {
        Ok(Account {
            id: AccountId(self.id),
            email: parse("account e-mail", Email::parse("e-mail", &self.email))?,
            role: parse("account role", AccountRole::parse(&self.role))?,
            reseller_id: self.reseller_id.map(ResellerId),
            password_hash: self.password_hash,
            failed_sign_ins: u32::try_from(self.failed_sign_ins).unwrap_or(u32::MAX),
            locked_until_ms: self.locked_until_ms,
            two_factor: self.two_factor == 1,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct SbcRegionRow {
    pub id: i64,
    pub name: String,
    pub gateway_fqdn: String,
}

impl SbcRegionRow {
    pub fn into_domain(self) -> StoreResult<SbcRegion> {
        Ok(SbcRegion {
            id: SbcRegionId(self.id),
            name: parse("region name", Name::parse("name", &self.name))?,
            gateway_fqdn: parse("gateway", HostName::parse("gateway", &self.gateway_fqdn))?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct EnterpriseRow {
    pub id: i64,
    pub reseller_id: i64,
    pub name: String,
    pub slug: String,
    pub tenant_id: Option<String>,
    pub global_admin_email: String,
    pub user_limit: Option<i64>,
    pub pbx_music_on_hold: i64,
    pub access_sip_data: i64,
    pub request_management_consent: i64,
    pub state: String,
    pub billing_reference: Option<String>,
    pub version: i64,
}

#[derive(sqlx::FromRow)]
pub struct ConsentRow {
    pub kind: String,
    pub granted_ms: Option<i64>,
    pub granted_by: Option<String>,
}

impl EnterpriseRow {
    pub fn into_domain(
        self,
        consents: Vec<ConsentRow>,
        regions: Vec<i64>,
    ) -> StoreResult<Enterprise> {
        let consents = ConsentKind::ALL
            .into_iter()
            .map(|kind| {
                let row = consents.iter().find(|c| c.kind == kind.as_str());
                Consent {
                    kind,
                    granted_at_ms: row.and_then(|r| r.granted_ms),
                    granted_by: row.and_then(|r| r.granted_by.clone()),
                }
            })
            .collect();
        Ok(Enterprise {
            id: EnterpriseId(self.id),
            reseller_id: ResellerId(self.reseller_id),
            name: parse("enterprise name", Name::parse("name", &self.name))?,
            slug: parse("enterprise slug", Slug::parse("slug", &self.slug))?,
            tenant_id: self
                .tenant_id
                .map(|t| parse("tenant id", TenantId::parse(&t)))
                .transpose()?,
            global_admin_email: parse(
                "global admin e-mail",
                Email::parse("e-mail", &self.global_admin_email),
            )?,
            user_limit: self.user_limit.and_then(|l| u32::try_from(l).ok()),
            pbx_music_on_hold: self.pbx_music_on_hold != 0,
            access_sip_data: self.access_sip_data != 0,
            request_management_consent: self.request_management_consent != 0,
            state: some("enterprise state", EnterpriseState::parse(&self.state))?,
            consents,
            sbc_regions: regions.into_iter().map(SbcRegionId).collect(),
            billing_reference: self.billing_reference,
            version: self.version,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct VoiceRouteRow {
    pub id: i64,
    pub enterprise_id: i64,
    pub region_id: i64,
    pub name: String,
    pub subdomain: String,
    pub policy_name: String,
    pub state: String,
}

impl VoiceRouteRow {
    pub fn into_domain(self) -> StoreResult<VoiceRoute> {
        Ok(VoiceRoute {
            id: VoiceRouteId(self.id),
            enterprise_id: EnterpriseId(self.enterprise_id),
            region_id: SbcRegionId(self.region_id),
            name: parse("voice route name", Name::parse("name", &self.name))?,
            subdomain: parse("subdomain", HostName::parse("subdomain", &self.subdomain))?,
            policy_name: self.policy_name,
            state: some("voice route state", VoiceRouteState::parse(&self.state))?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct PbxLocationRow {
    pub id: i64,
    pub enterprise_id: i64,
    pub name: String,
    pub pbx_type: String,
    pub dns_lookup: String,
    pub sip_domain: String,
    pub proxy: String,
    pub voicemail_code: String,
    pub api_base_url: String,
    pub api_auth_kind: String,
    pub oauth_client_id: Option<String>,
    pub oauth_username: Option<String>,
    pub locked_fields: String,
}

impl PbxLocationRow {
    pub fn into_domain(self) -> StoreResult<PbxLocation> {
        Ok(PbxLocation {
            id: PbxLocationId(self.id),
            enterprise_id: EnterpriseId(self.enterprise_id),
            settings: PbxLocationSettings {
                name: parse("location name", Name::parse("name", &self.name))?,
                pbx_type: parse("pbx type", PbxType::parse(&self.pbx_type))?,
                dns_lookup: parse("dns lookup", DnsLookup::parse(&self.dns_lookup))?,
                sip_domain: parse("sip domain", SipDomain::parse(&self.sip_domain))?,
                proxy: parse("proxy", ProxyHost::parse(&self.proxy))?,
                voicemail_code: parse("feature code", FeatureCode::parse(&self.voicemail_code))?,
                api_base_url: parse("api url", ApiBaseUrl::parse(&self.api_base_url))?,
                api_auth_kind: parse("api auth", ApiAuthKind::parse(&self.api_auth_kind))?,
                oauth_client_id: self.oauth_client_id,
                oauth_username: self.oauth_username,
            },
            locked: teamline_domain::pbx_lock::LockedFields::decode(&self.locked_fields),
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct SyncGroupRow {
    pub id: i64,
    pub enterprise_id: i64,
    pub group_object_id: String,
    pub display_name: String,
}

impl SyncGroupRow {
    pub fn into_domain(self) -> SyncGroup {
        SyncGroup {
            id: SyncGroupId(self.id),
            enterprise_id: EnterpriseId(self.enterprise_id),
            group_object_id: self.group_object_id,
            display_name: self.display_name,
        }
    }
}

pub const TEAMS_USER_COLUMNS: &str = "id, enterprise_id, object_id, upn, display_name, \
    account_enabled, user_type, teams_plan, teams_phone_plan, calling_plan, \
    teams_phone_assigned_ms, sync_groups, in_scope, deleted_in_tenant, last_seen_ms";

#[derive(sqlx::FromRow)]
pub struct TeamsUserRow {
    pub id: i64,
    pub enterprise_id: i64,
    pub object_id: String,
    pub upn: String,
    pub display_name: String,
    pub account_enabled: i64,
    pub user_type: String,
    pub teams_plan: String,
    pub teams_phone_plan: String,
    pub calling_plan: i64,
    pub teams_phone_assigned_ms: Option<i64>,
    pub sync_groups: String,
    pub in_scope: i64,
    pub deleted_in_tenant: i64,
    pub last_seen_ms: i64,
}

impl TeamsUserRow {
    pub fn into_domain(self) -> StoreResult<TeamsUser> {
        Ok(TeamsUser {
            id: TeamsUserId(self.id),
            enterprise_id: EnterpriseId(self.enterprise_id),
            object_id: self.object_id,
            upn: self.upn,
            display_name: self.display_name,
            account_enabled: self.account_enabled != 0,
            user_type: some("user type", UserType::parse(&self.user_type))?,
            licences: Licences {
                teams: plan_state(&self.teams_plan),
                teams_phone: plan_state(&self.teams_phone_plan),
                calling_plan: self.calling_plan != 0,
                teams_phone_assigned_at_ms: self.teams_phone_assigned_ms,
            },
            sync_groups: parse("sync groups", serde_json::from_str(&self.sync_groups))?,
            in_scope: self.in_scope != 0,
            last_seen_ms: self.last_seen_ms,
            deleted_in_tenant: self.deleted_in_tenant != 0,
        })
    }
}

/// The columns of a Users-page row: the pairing plus its joined Teams user, route and location.
pub const PBX_USER_SELECT: &str = "SELECT p.id, p.enterprise_id, p.pbx_location_id, \
    p.voice_route_id, p.teams_user_object_id, p.sip_user, p.phone_number, p.use_teams_voicemail, \
    p.caller_name_policy, p.caller_name, p.forwarded_caller_id, p.assign_dial_plan, p.device, \
    p.tag, p.state, p.calling_enabled, p.push_state, p.last_error, p.observed, p.version, \
    p.created_ms, p.updated_ms, p.replaces_pbx_user_id, p.create_device, p.device_emergency_address, \
    COALESCE(t.display_name, p.teams_user_object_id) AS display_name, \
    COALESCE(t.upn, '') AS upn, \
    COALESCE(t.account_enabled, 1) AS t_enabled, COALESCE(t.in_scope, 1) AS t_in_scope, \
    COALESCE(t.deleted_in_tenant, 0) AS t_deleted, COALESCE(t.teams_phone_plan, 'enabled') AS t_phone, \
    COALESCE(v.name, '') AS voice_route_name, COALESCE(l.sip_domain, '') AS sip_domain \
    FROM pbx_users p \
    LEFT JOIN teams_users t ON t.enterprise_id = p.enterprise_id AND t.object_id = p.teams_user_object_id \
    LEFT JOIN voice_routes v ON v.id = p.voice_route_id \
    LEFT JOIN pbx_locations l ON l.id = p.pbx_location_id";

#[derive(sqlx::FromRow)]
pub struct PbxUserRow {
    pub id: i64,
    pub enterprise_id: i64,
    pub pbx_location_id: i64,
    pub voice_route_id: i64,
    pub teams_user_object_id: String,
    pub sip_user: String,
    pub phone_number: String,
    pub use_teams_voicemail: i64,
    pub caller_name_policy: String,
    pub caller_name: Option<String>,
    pub forwarded_caller_id: String,
    pub assign_dial_plan: i64,
    pub device: String,
    pub tag: Option<String>,
    pub state: String,
    pub calling_enabled: i64,
    pub push_state: String,
    pub last_error: Option<String>,
    pub observed: Option<String>,
    pub version: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub replaces_pbx_user_id: Option<i64>,
    pub create_device: i64,
    pub device_emergency_address: Option<String>,
    pub display_name: String,
    pub upn: String,
    pub t_enabled: i64,
    pub t_in_scope: i64,
    pub t_deleted: i64,
    pub t_phone: String,
    pub voice_route_name: String,
    pub sip_domain: String,
}

impl PbxUserRow {
    pub fn into_item(self) -> StoreResult<PbxUserListItem> {
        let caller_name = match (self.caller_name_policy.as_str(), self.caller_name) {
            ("other", Some(name)) => CallerNamePolicy::Other(name),
            ("transparent", _) => CallerNamePolicy::Transparent,
            (other, _) => return Err(corrupt("caller name policy", other)),
        };
        let flag = if self.t_deleted != 0 {
            Some("Deleted from Microsoft 365".to_owned())
        } else if self.t_enabled == 0 {
            Some("Account disabled in Microsoft 365".to_owned())
        } else if plan_state(&self.t_phone) != PlanState::Enabled {
            Some("Teams Phone licence missing".to_owned())
        } else if self.t_in_scope == 0 {
            Some("Not in a sync group".to_owned())
        } else {
            None
        };
        let observed = self
            .observed
            .map(|o| parse::<ObservedVoice, _>("observed state", serde_json::from_str(&o)))
            .transpose()?;
        let user = PbxUser {
            id: PbxUserId(self.id),
            enterprise_id: EnterpriseId(self.enterprise_id),
            spec: PbxUserSpec {
                pbx_location_id: PbxLocationId(self.pbx_location_id),
                voice_route_id: VoiceRouteId(self.voice_route_id),
                teams_user_object_id: self.teams_user_object_id,
                sip_user: parse("sip user", Extension::parse(&self.sip_user))?,
                phone_number: parse("phone number", PhoneNumber::parse(&self.phone_number))?,
                use_teams_voicemail: self.use_teams_voicemail != 0,
                caller_name,
                forwarded_caller_id: parse(
                    "forwarded caller id",
                    ForwardedCallerId::parse(&self.forwarded_caller_id),
                )?,
                assign_dial_plan: self.assign_dial_plan != 0,
                device: parse("device", DeviceAuthId::parse(&self.device))?,
                device_creation: (self.create_device != 0).then_some(DeviceCreation {
                    emergency_address_id: self.device_emergency_address,
                }),
                tag: self.tag,
            },
            state: some("pbx user state", PbxUserState::parse(&self.state))?,
            calling_enabled: self.calling_enabled != 0,
            push_state: some("push state", PushState::parse(&self.push_state))?,
            last_error: self.last_error,
            replaces: self.replaces_pbx_user_id.map(PbxUserId),
            version: self.version,
            created_ms: self.created_ms,
            updated_ms: self.updated_ms,
        };
        Ok(PbxUserListItem {
            user,
            display_name: self.display_name,
            upn: self.upn,
            voice_route_name: self.voice_route_name,
            sip_domain: self.sip_domain,
            observed,
            teams_user_flag: flag,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct HolderRow {
    pub id: i64,
    pub display_name: String,
    pub upn: String,
    pub state: String,
}

impl HolderRow {
    pub fn into_domain(self) -> StoreResult<Holder> {
        Ok(Holder {
            id: PbxUserId(self.id),
            display_name: self.display_name,
            upn: self.upn,
            state: some("pbx user state", PbxUserState::parse(&self.state))?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct DeviceHandleRow {
    pub id: i64,
    pub enterprise_id: i64,
    pub pbx_location_id: i64,
    pub extension: String,
    pub auth_id: String,
    pub created_by_teamline: i64,
}

impl DeviceHandleRow {
    pub fn into_domain(self) -> StoreResult<StoredDeviceHandle> {
        Ok(StoredDeviceHandle {
            id: DeviceHandleId(self.id),
            enterprise_id: EnterpriseId(self.enterprise_id),
            pbx_location_id: PbxLocationId(self.pbx_location_id),
            extension: parse("extension", Extension::parse(&self.extension))?,
            auth_id: parse("device", DeviceAuthId::parse(&self.auth_id))?,
            created_by_teamline: self.created_by_teamline != 0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct JobRow {
    pub id: i64,
    pub enterprise_id: Option<i64>,
    pub kind: String,
    pub payload: String,
    pub lane: String,
    pub idempotency_key: Option<String>,
    pub state: String,
    pub priority: i64,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_after_ms: i64,
    pub locked_by: Option<String>,
    pub locked_until_ms: Option<i64>,
    pub progress_done: i64,
    pub progress_total: Option<i64>,
    pub progress_message: Option<String>,
    pub last_error: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub finished_ms: Option<i64>,
}

fn non_negative(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl JobRow {
    pub fn into_domain(self) -> StoreResult<Job> {
        Ok(Job {
            id: JobId(self.id),
            enterprise_id: self.enterprise_id.map(EnterpriseId),
            kind: self.kind,
            payload: self.payload,
            lane: self.lane,
            idempotency_key: self.idempotency_key,
            state: some("job state", JobState::parse(&self.state))?,
            priority: i32::try_from(self.priority).unwrap_or(0),
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            max_attempts: u32::try_from(self.max_attempts).unwrap_or(1),
            run_after_ms: self.run_after_ms,
            locked_by: self.locked_by,
            locked_until_ms: self.locked_until_ms,
            progress_done: non_negative(self.progress_done),
            progress_total: self.progress_total.map(non_negative),
            progress_message: self.progress_message,
            last_error: self.last_error,
            created_ms: self.created_ms,
            updated_ms: self.updated_ms,
            finished_ms: self.finished_ms,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub enterprise_id: Option<i64>,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub summary: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

impl AuditRow {
    pub fn into_domain(self) -> AuditEvent {
        AuditEvent {
            id: AuditEventId(self.id),
            enterprise_id: self.enterprise_id.map(EnterpriseId),
            at_ms: self.at_ms,
            actor: Actor::decode(&self.actor),
            action: self.action,
            summary: self.summary,
            object_type: self.object_type,
            object_id: self.object_id,
            before: self.before_json,
            after: self.after_json,
        }
    }
}
