//! Drives the SIP gateway from the store: the device handles to register are whatever the
//! store says (active PBX users with calling enabled whose device credentials are stored), so
//! Enable/Disable Calling, Save User, Disable/Delete User, a changed device, a new SIP
//! password or a PBX location's new proxy change the gateway without a hook of their own: the
//! next tick sees the store's targets version move, hands the new set to the gateway's
//! `RegistrationService` and reconciles. Each tick records the live states it learned, so
//! the portal, `teamline gateway status` and `/metrics` read them from the store.
//!
//! On a node that carries calls (Direct Routing), each user's caller name policy and
//! forwarded-call caller ID are pushed the same way: a tick whose targets changed, or after
//! Kamailio restarted (its htables start empty), pushes every setting that differs from what
//! the gateway was last given.
//!
//! One instance at a time drives the gateway (a lease in the store); an authentication failure
//! queues a fresh read of the device's password from the PBX (`EnsureDevice`), at most once
//! per [`REREAD_PASSWORD_EVERY`] per handle.

use crate::pbx::EnsureDevice;
use crate::{Engine, EngineError};
use secrecy::SecretString;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use teamline_domain::ids::PbxUserId;
use teamline_domain::pbx_user::{CallerNamePolicy, ForwardedCallerId};
use teamline_domain::registration::RegistrationStatus;
use teamline_gateway::calls::{CallSettings, CallerName, ForwardedCallerId as GatewayForwarded};
use teamline_gateway::calls::{RegionHealth, health};
use teamline_gateway::config::DirectRouting;
use teamline_gateway::registration::{DesiredRegistration, RegistrationId, RegistrationState};
use teamline_gateway::service::{HandleStatus, RegistrationService};
use teamline_store::{
    ProxyHealthRecord, RegionHealthRecord, RegistrationRecord, RegistrationTarget,
};
use tokio::sync::{Mutex, watch};

/// The lease's name in the store.
pub const LEASE: &str = "sip-gateway";
/// How long after an authentication failure the device's password is read again at the
/// earliest.
pub const REREAD_PASSWORD_EVERY: Duration = Duration::from_secs(300);

/// What one tick did.
#[derive(Debug, Clone, Default)]
pub struct TickReport {
    /// Another instance holds the lease: nothing was done.
    pub standby: bool,
    /// The store's targets changed since the last tick and were handed to the gateway.
    pub reloaded: bool,
    pub desired: usize,
    /// States that changed and were stored.
    pub recorded: usize,
    /// The gateway's RPC failed (every wanted handle is recorded as Gateway down).
    pub gateway_error: Option<String>,
    /// Users whose call settings were pushed to the gateway this tick.
    pub call_settings_pushed: usize,
}

/// Keeps the gateway equal to the store, and the store's registration states equal to the
/// gateway's.
pub struct GatewaySync {
    engine: Engine,
    service: Arc<RegistrationService>,
    holder: String,
    lease_ttl_ms: i64,
    expires_secs: u32,
    push_call_settings: bool,
    /// The gateway's Direct Routing settings, when it carries calls: each tick also reads the
    /// health of its Microsoft side (proxies, certificates) into the store.
    direct_routing: Option<DirectRouting>,
    state: Mutex<SyncState>,
}

#[derive(Default)]
struct SyncState {
    version: Option<String>,
    /// Wanted handles: registration id → (PBX user, target).
    wanted: HashMap<RegistrationId, RegistrationTarget>,
    /// What the store holds, as last written, by PBX user.
    recorded: Option<HashMap<PbxUserId, RegistrationRecord>>,
    reread: HashMap<PbxUserId, Instant>,
    /// The call settings the gateway holds, as last pushed (forgotten when it restarts).
    pushed: HashMap<RegistrationId, CallSettings>,
    /// The Microsoft side's health as last stored, and when.
    health: Option<(Vec<RegionHealthRecord>, Instant)>,
}

/// How often the Microsoft side's health is stored when nothing in it changed (so its
/// "observed" time shows the reading is current).
pub const HEALTH_REFRESH: Duration = Duration::from_secs(60);

impl std::fmt::Debug for GatewaySync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewaySync")
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl GatewaySync {
    /// `holder` names this instance in the lease; `lease_ttl` should be a few ticks long.
    pub fn new(
        engine: Engine,
        service: Arc<RegistrationService>,
        holder: impl Into<String>,
        lease_ttl: Duration,
    ) -> Self {
        Self {
            engine,
            service,
            holder: holder.into(),
            lease_ttl_ms: i64::try_from(lease_ttl.as_millis()).unwrap_or(i64::MAX),
            expires_secs: 600,
            push_call_settings: false,
            direct_routing: None,
            state: Mutex::new(SyncState::default()),
        }
    }

    /// The registration lifetime asked of the PBX (default 600 s).
    pub fn set_expires_secs(&mut self, secs: u32) {
        self.expires_secs = secs;
    }

    /// The gateway carries calls (its configuration has Direct Routing): push each user's
    /// caller name policy and forwarded-call caller ID too.
    pub fn set_push_call_settings(&mut self, on: bool) {
        self.push_call_settings = on;
    }

    /// The gateway carries calls with these Direct Routing settings: read and store the health
    /// of its Microsoft side (each proxy's OPTIONS state, each region's certificate) too.
    pub fn set_direct_routing(&mut self, dr: DirectRouting) {
        self.direct_routing = Some(dr);
    }

    pub fn service(&self) -> &Arc<RegistrationService> {
        &self.service
    }

    /// One round: take or renew the lease, reload the targets when they changed, reconcile,
    /// record what changed.
    pub async fn tick(&self) -> Result<TickReport, EngineError> {
        let store = self.engine.store();
        let mut report = TickReport::default();
        if !store
            .claim_lease(LEASE, &self.holder, self.lease_ttl_ms)
            .await?
        {
            // Another instance drives the gateway; forget what we knew so that taking over
            // later starts from the store.
            *self.state.lock().await = SyncState::default();
            report.standby = true;
            return Ok(report);
        }
        let mut st = self.state.lock().await;
        let version = store.registration_targets_version().await?;
        if st.version.as_ref() != Some(&version) {
            let targets = store.registration_targets(None).await?;
            let desired: Vec<DesiredRegistration> =
                targets.iter().map(|t| self.desired(t)).collect();
            st.wanted = desired.iter().map(|d| d.id.clone()).zip(targets).collect();
            self.service.set_desired(desired);
            st.version = Some(version);
            report.reloaded = true;
        }
        report.desired = st.wanted.len();
        if st.recorded.is_none() {
            let stored = store.list_registrations(None, None).await?;
            st.recorded = Some(stored.into_iter().map(|r| (r.pbx_user_id, r)).collect());
        }
        let now = store.clock().now_ms();
        let observed: Vec<HandleStatus> = match self.service.reconcile().await {
            Ok(r) => {
                if r.kamailio_restarted {
                    st.pushed.clear();
                }
                if self.push_call_settings {
                    report.call_settings_pushed = self.push_settings(&mut st).await;
                }
                r.observed
            }
            Err(e) => {
                st.pushed.clear();
                let error = format!(
                    "the SIP gateway's Kamailio does not answer its RPC ({e}): start it and check Teamline's gateway RPC address"
                );
                report.gateway_error = Some(error.clone());
                st.wanted
                    .iter()
                    .map(|(id, t)| HandleStatus {
                        id: id.clone(),
                        enterprise: t.enterprise_id,
                        device: t.device.clone(),
                        sip_domain: t.sip_domain.clone(),
                        state: RegistrationState::GatewayDown {
                            error: error.clone(),
                        },
                    })
                    .collect()
            }
        };
        let mut changes = Vec::new();
        let mut auth_failed = Vec::new();
        {
            let st = &mut *st;
            let recorded = st.recorded.get_or_insert_with(HashMap::new);
            for h in &observed {
                let Some(target) = st.wanted.get(&h.id) else {
                    continue;
                };
                let record = record_of(target, h, recorded.get(&target.pbx_user_id), now);
                if record.state == RegistrationStatus::AuthFailed {
                    auth_failed.push(target.clone());
                }
                if recorded
                    .get(&target.pbx_user_id)
                    .is_none_or(|r| !same(r, &record))
                {
                    changes.push(record);
                }
            }
            // Users no longer wanted: Not registered (the gateway un-registers them).
            let wanted_users: HashSet<PbxUserId> =
                st.wanted.values().map(|t| t.pbx_user_id).collect();
            for r in recorded.values() {
                if !wanted_users.contains(&r.pbx_user_id)
                    && r.state != RegistrationStatus::NotRegistered
                {
                    changes.push(RegistrationRecord {
                        state: RegistrationStatus::NotRegistered,
                        since_ms: Some(now),
                        expires_ms: None,
                        last_error: None,
                        observed_ms: now,
                        ..r.clone()
                    });
                }
            }
        }
        if !changes.is_empty() {
            store.record_registrations(&changes).await?;
            report.recorded = changes.len();
            let recorded = st.recorded.get_or_insert_with(HashMap::new);
            for r in changes {
                recorded.insert(r.pbx_user_id, r);
            }
        }
        for t in auth_failed {
            let due = st
                .reread
                .get(&t.pbx_user_id)
                .is_none_or(|at| at.elapsed() >= REREAD_PASSWORD_EVERY);
            if due {
                st.reread.insert(t.pbx_user_id, Instant::now());
                tracing::info!(device = %t.device, "the PBX refused a device's SIP password: reading it again from the PBX");
                self.engine
                    .enqueue(&EnsureDevice::new(t.enterprise_id, t.pbx_user_id))
                    .await?;
            }
        }
        self.record_health(&mut st).await?;
        Ok(report)
    }

    /// Reads the Microsoft side's health from the gateway and stores it when it changed (or
    /// every [`HEALTH_REFRESH`]). A gateway that does not answer leaves the last reading, whose
    /// time then shows its age.
    async fn record_health(&self, st: &mut SyncState) -> Result<(), EngineError> {
        let Some(dr) = &self.direct_routing else {
            return Ok(());
        };
        let regions = match health::region_health(self.service.rpc(), dr).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the health of the gateway's Microsoft side");
                return Ok(());
            }
        };
        let store = self.engine.store();
        let now = store.clock().now_ms();
        let records: Vec<RegionHealthRecord> =
            regions.iter().map(|r| health_record(r, now)).collect();
        let unchanged = st
            .health
            .as_ref()
            .is_some_and(|(last, at)| at.elapsed() < HEALTH_REFRESH && same_health(last, &records));
        if !unchanged {
            store.record_gateway_health(&records).await?;
            st.health = Some((records, Instant::now()));
        }
        Ok(())
    }

    /// Pushes the call settings that differ from what the gateway holds, and resets those of
    /// handles no longer wanted. Returns how many were pushed; a failure is logged and retried
    /// on the next tick (the setting stays unrecorded as pushed).
    async fn push_settings(&self, st: &mut SyncState) -> usize {
        let mut changes: Vec<(RegistrationId, CallSettings)> = st
            .wanted
            .iter()
            .map(|(id, t)| (id.clone(), call_settings_of(t)))
            .filter(|(id, want)| st.pushed.get(id) != Some(want))
            .collect();
        changes.extend(
            st.pushed
                .keys()
                .filter(|id| !st.wanted.contains_key(*id))
                .map(|id| (id.clone(), CallSettings::default())),
        );
        let mut pushed = 0;
        for (id, settings) in changes {
            match self.service.rpc().set_call_settings(&id, &settings).await {
                Ok(()) => {
                    pushed += 1;
                    if st.wanted.contains_key(&id) {
                        st.pushed.insert(id, settings);
                    } else {
                        st.pushed.remove(&id);
                    }
                }
                Err(e) => {
                    tracing::warn!(registration = %id, error = %e, "could not push a user's call settings to the SIP gateway; trying again on the next tick");
                }
            }
        }
        pushed
    }

    fn desired(&self, t: &RegistrationTarget) -> DesiredRegistration {
        let mut d = DesiredRegistration::new(
            t.enterprise_id,
            t.teams_number.clone(),
            t.sbc_fqdn.clone(),
            t.device.clone(),
            t.sip_domain.clone(),
            SecretString::from(t.password.expose().to_owned()),
            t.proxy.clone(),
            t.dns_lookup,
        );
        d.expires_secs = self.expires_secs;
        d
    }

    /// Ticks every `interval` until `shutdown` turns true, then gives the lease up.
    pub async fn run(self: Arc<Self>, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            match self.tick().await {
                Ok(r) if r.gateway_error.is_some() => {
                    tracing::warn!(error = r.gateway_error.as_deref(), "SIP gateway down")
                }
                Ok(r) => tracing::debug!(
                    standby = r.standby,
                    desired = r.desired,
                    recorded = r.recorded,
                    "gateway tick"
                ),
                Err(e) => tracing::warn!(error = %e, "gateway tick failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
            }
        }
        if let Err(e) = self.engine.store().release_lease(LEASE, &self.holder).await {
            tracing::warn!(error = %e, "could not give the SIP gateway lease up");
        }
    }
}

/// What the gateway applies to calls toward this user.
fn call_settings_of(t: &RegistrationTarget) -> CallSettings {
    CallSettings {
        caller_name: match &t.caller_name {
            CallerNamePolicy::Transparent => CallerName::Transparent,
            CallerNamePolicy::Other(name) => CallerName::Other(name.clone()),
        },
        forwarded_caller_id: match t.forwarded_caller_id {
            ForwardedCallerId::UserCallerId => GatewayForwarded::UsersCallerId,
            ForwardedCallerId::OriginalCaller => GatewayForwarded::OriginalCaller,
        },
    }
}

/// The record to store for one handle's observed state; `since` carries over while the state
/// stays the same.
fn record_of(
    t: &RegistrationTarget,
    h: &HandleStatus,
    before: Option<&RegistrationRecord>,
    now: i64,
) -> RegistrationRecord {
    let summary = h.summary();
    let state = RegistrationStatus::parse(summary.state).unwrap_or(RegistrationStatus::Registering);
    let secs_to_ms = |s: i64| s.saturating_mul(1000);
    let since_ms = match summary.since {
        Some(s) => Some(secs_to_ms(s)),
        None => match before {
            Some(b) if b.state == state && b.device == t.device => b.since_ms,
            _ => Some(now),
        },
    };
    RegistrationRecord {
        enterprise_id: t.enterprise_id,
        pbx_user_id: t.pbx_user_id,
        device: t.device.clone(),
        registration: h.id.to_string(),
        state,
        since_ms,
        target: summary.target,
        expires_ms: summary.expires_at.map(secs_to_ms),
        last_error: summary.last_error,
        observed_ms: now,
    }
}

/// Equal but for when it was observed and (for a registered handle) its next expiry: a
/// refresh is not worth a write.
fn same(a: &RegistrationRecord, b: &RegistrationRecord) -> bool {
    a.state == b.state
        && a.device == b.device
        && a.registration == b.registration
        && a.since_ms == b.since_ms
        && a.target == b.target
        && a.last_error == b.last_error
}

/// A region's health as the store keeps it; `now` is when it was read (and when a proxy's
/// state began, unless the store already knew it in that state).
fn health_record(r: &RegionHealth, now: i64) -> RegionHealthRecord {
    let ms = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_millis()).ok())
    };
    RegionHealthRecord {
        region: r.region.clone(),
        base_fqdn: r.base_fqdn.clone(),
        proxies: r
            .proxies
            .iter()
            .map(|p| ProxyHealthRecord {
                fqdn: p.fqdn.clone(),
                uri: p.uri.clone(),
                state: proxy_state(p.state).to_owned(),
                since_ms: now,
            })
            .collect(),
        certificate_expires_ms: r.certificate_expires.and_then(ms),
        certificate_problem: r.certificate_problem.clone(),
        observed_ms: now,
    }
}

fn proxy_state(s: teamline_gateway::calls::ProxyState) -> &'static str {
    use teamline_gateway::calls::ProxyState;
    match s {
        ProxyState::Up => "up",
        ProxyState::Down => "down",
        ProxyState::Trying => "trying",
        ProxyState::Disabled => "disabled",
    }
}

/// The same regions, proxies in the same states and certificates: only the reading's time
/// differs.
fn same_health(a: &[RegionHealthRecord], b: &[RegionHealthRecord]) -> bool {
    let key = |r: &RegionHealthRecord| {
        (
            r.region.clone(),
            r.base_fqdn.clone(),
            r.certificate_expires_ms,
            r.certificate_problem.clone(),
            r.proxies
                .iter()
                .map(|p| (p.fqdn.clone(), p.state.clone()))
                .collect::<Vec<_>>(),
        )
    };
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| key(x) == key(y))
}
