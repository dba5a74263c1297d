//! Test controls of the simulator: fault injection per tenant, directory changes, and reads of
//! the Teams state — in process ([`TenantControl`]) and over HTTP under `/_sim/...` (JSON) for
//! other processes.
//!
//! HTTP control API (no authentication; the simulator is a test tool):
//! - `GET  /_sim/tenants` — tenants (id, name, domains)
//! - `POST /_sim/tenants` `{"name","users","groupMembers"}` — seed a generated tenant
//! - `GET  /_sim/tenants/{t}` — summary; `{t}` is a tenant id, domain or name
//! - `GET|PUT|PATCH /_sim/tenants/{t}/faults` — [`Faults`] (PATCH merges)
//! - `GET|PUT|PATCH /_sim/tenants/{t}/behaviour` — [`Behaviour`](crate::microsoft::Behaviour),
//!   the alternative behaviours (PATCH merges)
//! - `PUT  /_sim/tenants/{t}/users/{u}/roles` [`UserRoles`] — active and PIM-eligible roles
//! - `PUT  /_sim/tenants/{t}/users/{u}/enterprise-voice` `{"enabled": bool}`
//! - `POST /_sim/tenants/{t}/delta/expire` — delta tokens answer 400 `syncStateNotFound`
//! - `POST /_sim/tenants/{t}/delta/reset` — delta tokens answer 410 Gone + Location
//! - `POST /_sim/tenants/{t}/propagation/flush` — pending policy changes take effect now
//! - `POST /_sim/tenants/{t}/users` [`NewUser`] → `{"id"}`
//! - `PATCH /_sim/tenants/{t}/users/{u}` [`UserPatch`]
//! - `DELETE /_sim/tenants/{t}/users/{u}[?hard=true]`
//! - `GET  /_sim/tenants/{t}/users/{u}/teams` → [`TeamsState`]
//! - `POST /_sim/tenants/{t}/groups` `{"name"}` → `{"id"}` — a new security group
//! - `POST /_sim/tenants/{t}/groups/{g}/members` `{"id": "<user or group id/UPN/name>"}`
//! - `DELETE /_sim/tenants/{t}/groups/{g}/members/{m}`
//! - `PUT  /_sim/tenants/{t}/consent` [`ConsentState`]
//! - `GET  /_sim/tenants/{t}/counters` — write requests per user id
//! - `GET  /_sim/tenants/{t}/counters/number-assignments` — `assignNumber` requests per user id
//! - `GET  /_sim/tenants/{t}/stats` — [`RequestStats`](crate::microsoft::RequestStats)
//!   (requests, 429s, early requests, peak concurrency, accepted reads and writes, the
//!   throttling windows, the requests by kind); `POST /_sim/tenants/{t}/stats/reset`
//!   starts counting afresh
//! - `GET  /_sim/tenants/{t}/numbers` — number inventory
//! - `GET  /_sim/tenants/{t}/voice-config` — tenant voice configuration
//! - `POST /_sim/tenants/{t}/domains/{d}/publish-dns` — the domain's TXT record is "in DNS"

//!
//! The in-process handle is split by what it touches: faults, delta tokens and consent here,
//! alternative behaviours in `behaviour.rs`, directory changes in `directory.rs`, reads in
//! `reads.rs`; `http.rs` serves the same over
//! HTTP and `types.rs` holds the request and answer types of both.

mod behaviour;
mod directory;
mod http;
mod reads;
mod types;

use std::sync::{Arc, Mutex};

use super::demo;
use super::faults::{Faults, InjectedErrors};
use super::model::{Change, Tenant, well_known};
use super::state::{SimState, lock};

pub(crate) use self::http::routes;
pub use self::types::{
    ConsentState, ControlError, NewUser, PlanState, TeamsState, UserPatch, UserRoles,
};

/// In-process handle on one simulated tenant.
#[derive(Clone)]
pub struct TenantControl {
    pub(crate) tenant: Arc<Mutex<Tenant>>,
    pub(crate) state: Arc<SimState>,
}

impl std::fmt::Debug for TenantControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantControl")
            .field("id", &self.id())
            .finish()
    }
}

impl TenantControl {
    pub(crate) fn new(tenant: Arc<Mutex<Tenant>>, state: Arc<SimState>) -> Self {
        Self { tenant, state }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Tenant) -> R) -> R {
        f(&mut lock(&self.tenant))
    }

    /// Tenant id (GUID).
    pub fn id(&self) -> String {
        self.with(|t| t.id.clone())
    }

    /// Display name.
    pub fn name(&self) -> String {
        self.with(|t| t.display_name.clone())
    }

    /// Current faults.
    pub fn faults(&self) -> Faults {
        self.with(|t| t.traffic.faults.clone())
    }

    /// Replaces the faults.
    pub fn set_faults(&self, faults: Faults) {
        self.with(|t| t.traffic.set_faults(faults));
    }

    /// How many licences of a SKU (by id) the tenant bought beyond those assigned, as
    /// `subscribedSkus` shows them; 0 makes `assignLicense` of that SKU fail as Microsoft does
    /// when no licence is left.
    pub fn set_spare_licences(&self, sku_id: &str, spare: i64) {
        self.with(|t| {
            t.spare_licences.insert(sku_id.to_ascii_lowercase(), spare);
        });
    }

    /// The organization's country (`countryLetterCode`) and default usage location
    /// (`defaultUsageLocation`) as `GET /organization` shows them; `None` = not set.
    pub fn set_organization_country(
        &self,
        country_letter_code: Option<&str>,
        default_usage_location: Option<&str>,
    ) {
        self.with(|t| {
            t.country_letter_code = country_letter_code.map(str::to_owned);
            t.default_usage_location = default_usage_location.map(str::to_owned);
        });
    }

    /// Edits the faults in place.
    pub fn update_faults(&self, f: impl FnOnce(&mut Faults)) {
        self.with(|t| f(&mut t.traffic.faults));
    }

    /// Requests allowed per 10 s window (`None` = unlimited).
    pub fn set_throttle_budget(&self, budget: Option<u32>) {
        self.with(|t| {
            t.traffic.faults.throttle_budget = budget;
            t.traffic.restart_throttling();
        });
    }

    /// New number operations stay `running` for `polls` polls.
    pub fn set_operation_running_polls(&self, polls: u32) {
        self.update_faults(|f| f.operation_running_polls = polls);
    }

    /// New number operations fail with this status detail (`None` = succeed normally).
    pub fn set_operation_failure(&self, detail: Option<&str>) {
        self.update_faults(|f| f.operation_failure = detail.map(str::to_string));
    }

    /// Delay before policy assignments show in reads.
    pub fn set_propagation_delay(&self, delay: std::time::Duration) {
        self.update_faults(|f| f.propagation_delay_ms = delay.as_millis() as u64);
    }

    /// Makes all pending policy assignments effective now.
    pub fn flush_propagation(&self) {
        self.with(Tenant::flush_propagation);
    }

    /// Latency added to each Graph / Teams admin request.
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.update_faults(|f| f.latency_ms = latency.as_millis() as u64);
    }

    /// The next `count` requests answer `status` (with `Retry-After` if given).
    pub fn inject_errors(&self, status: u16, count: u32, retry_after: Option<u64>) {
        self.update_faults(|f| {
            f.inject_errors = Some(InjectedErrors {
                status,
                remaining: count,
                retry_after,
            })
        });
    }

    /// Every delta token issued so far answers 400 `syncStateNotFound` (expired).
    pub fn expire_delta_tokens(&self) {
        self.with(|t| {
            t.record(Change::Marker);
            t.delta_min_seq = t.current_seq();
        });
    }

    /// Every delta token issued so far answers 410 Gone with a `Location` to restart from.
    pub fn reset_delta_tokens(&self) {
        self.with(|t| t.delta_epoch += 1);
    }

    /// Sets Teamline's consent state.
    pub fn set_consent(&self, consent: ConsentState) {
        let app_roles: Vec<String> = self
            .state
            .app(demo::TEAMLINE_APP_CLIENT_ID)
            .map(|a| a.graph_roles)
            .unwrap_or_default();
        self.with(|t| {
            if consent.granted {
                t.consent = Some(super::model::Consent {
                    graph_roles: consent
                        .graph_roles
                        .unwrap_or(app_roles)
                        .into_iter()
                        .collect(),
                    teams_admin: consent.teams_admin.unwrap_or(true),
                    delegated_org: true,
                });
                t.sp_roles = consent
                    .service_principal_roles
                    .unwrap_or_else(|| vec![well_known::ROLE_TEAMS_ADMIN.to_string()]);
            } else {
                t.consent = None;
                t.sp_roles.clear();
                t.user_consents.clear();
            }
        });
    }

    /// Whether admin consent was granted (the app has a service principal).
    pub fn consent_granted(&self) -> bool {
        self.with(|t| t.consent.is_some())
    }
}
