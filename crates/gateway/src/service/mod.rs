//! The registration service: holds the set of registrations Teamline wants, keeps one Kamailio
//! node's uac_reg records equal to it, and reports each handle's live state.
//!
//! One pass ([`RegistrationService::reconcile`]) applies what changed in the desired set,
//! moves a handle whose PBX target does not answer to the next DNS target, resolves every PBX
//! proxy (from cache while the TTL lasts), audits a slice of records (see [`audit`]) and
//! records the states it learned. Kamailio's whole set is read (`uac.reg_dump`, seconds for
//! 10 000 records) only when Teamline does not know what it holds: at Teamline's start, after
//! Kamailio restarted (a new `core.uptime`), after a pass that failed half-way, and when
//! Kamailio holds more records than Teamline gave it. [`RegistrationService::run`] repeats it.

pub mod audit;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use teamline_domain::device::DeviceAuthId;
use teamline_domain::ids::EnterpriseId;
use teamline_domain::pbx_location::DnsLookup;
use teamline_domain::sip::{ProxyHost, SipDomain};
use tokio::sync::watch;

use crate::config::RECENT_ANSWERS_SECS;
use crate::dns::{DnsError, PbxResolver, auth_proxy};
use crate::reconcile::{self, Applied};
use crate::registration::{
    DesiredRegistration, LastReply, Observed, RegistrationId, RegistrationState, Unreachable,
    observe, observe_answer,
};
use crate::rpc::{RpcClient, RpcError, UacFilter, UacRecord, UacRecordState};
use audit::{AuditCursor, DEFAULT_AUDIT_PER_PASS};
use futures::StreamExt;

/// The htables the gateway's configuration keeps per record (see `registrations.cfg`).
pub const STATE_TABLE: &str = "uacstate";
pub const WAIT_TABLE: &str = "uacwait";
pub const RECENT_TABLE: &str = "uacrecent";

/// One handle's live state, for the store, the portal and `teamline gateway status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandleStatus {
    pub id: RegistrationId,
    pub enterprise: EnterpriseId,
    pub device: DeviceAuthId,
    pub sip_domain: SipDomain,
    pub state: RegistrationState,
}

impl HandleStatus {
    pub fn of(want: &DesiredRegistration, state: RegistrationState) -> Self {
        HandleStatus {
            id: want.id.clone(),
            enterprise: want.enterprise,
            device: want.device.clone(),
            sip_domain: want.sip_domain.clone(),
            state,
        }
    }

    /// The flat view `teamline gateway status --json` and the store need: one object per
    /// handle with `device`, `enterprise`, `state`, `since`, `target`, `expires_at` and
    /// `last_error` (times in Unix seconds).
    pub fn summary(&self) -> StatusSummary {
        let unix = |t: &SystemTime| {
            t.duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        };
        let (since, target, expires_at) = match &self.state {
            RegistrationState::Registered {
                since,
                target,
                expires_at,
            } => (
                Some(unix(since)),
                Some(target.clone()),
                Some(unix(expires_at)),
            ),
            RegistrationState::PbxUnreachable(
                Unreachable::NoAnswer { target } | Unreachable::Unavailable { target, .. },
            ) => (None, Some(target.clone()), None),
            _ => (None, None, None),
        };
        StatusSummary {
            registration: self.id.to_string(),
            device: self.device.to_string(),
            sip_domain: self.sip_domain.to_string(),
            enterprise: self.enterprise.0,
            state: self.state.kind(),
            since,
            target,
            expires_at,
            last_error: self.state.last_error(),
        }
    }
}

/// See [`HandleStatus::summary`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatusSummary {
    pub registration: String,
    pub device: String,
    pub sip_domain: String,
    pub enterprise: i64,
    pub state: &'static str,
    pub since: Option<i64>,
    pub target: Option<String>,
    pub expires_at: Option<i64>,
    pub last_error: Option<String>,
}

/// What one reconcile pass found and did.
#[derive(Debug, Clone)]
pub struct ReconcileReport {
    /// Whether the pass read every record back (rather than applying only the changes).
    pub full: bool,
    /// Records Kamailio held before the pass (as last known, for a quick pass).
    pub kamailio_records: usize,
    pub desired: usize,
    pub applied: Applied,
    /// Handles moved to another PBX target because theirs did not answer.
    pub failed_over: usize,
    /// Proxies that did not resolve (their handles are not pushed until they do).
    pub dns_failures: Vec<DnsError>,
    /// Kamailio started since the previous pass (a restart, or the first pass).
    pub kamailio_restarted: bool,
    /// Records read back one by one and compared with the desired ones (a quick pass's
    /// audit slice; a full pass reads every record instead).
    pub audited: usize,
    /// Records the audit found missing, different, disabled or un-registered behind
    /// Teamline's back (repaired by this pass).
    pub drift: usize,
    /// The states this pass learned: every wanted handle after a full pass; after a quick
    /// pass, the handles whose state may have changed (added or replaced, a new kind of
    /// answer, a REGISTER that went unanswered or was answered at last, a proxy that does not
    /// resolve). What the store keeps is updated from these.
    pub observed: Vec<HandleStatus>,
    pub took: Duration,
}

/// Errors of a pass: Kamailio's RPC failed (the gateway is down or refuses).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ServiceError(#[from] pub RpcError);

pub struct RegistrationService {
    rpc: RpcClient,
    resolver: PbxResolver,
    desired: RwLock<BTreeMap<RegistrationId, DesiredRegistration>>,
    concurrency: usize,
    /// Records a quick pass audits (`uac.reg_info` each).
    audit_per_pass: usize,
    audit: std::sync::Mutex<AuditCursor>,
    /// Every wanted handle's state as the passes learned it, for [`Self::status`].
    tracked: std::sync::Mutex<Tracked>,
    /// What Kamailio holds as of the last pass (`None`: look at everything next time).
    known: std::sync::Mutex<Option<Known>>,
    /// Proxies that did not resolve at the last pass.
    dns_errors: std::sync::Mutex<HashMap<(ProxyHost, DnsLookup), DnsError>>,
    /// How long a REGISTER may wait for its final answer (the gateway's `fr_timer`).
    register_timeout: Duration,
    /// What the quick passes have seen, to tell what changed since.
    seen: std::sync::Mutex<Seen>,
}

/// The states the passes learned, and how fresh they are.
#[derive(Default)]
struct Tracked {
    states: HashMap<RegistrationId, RegistrationState>,
    /// When the last pass ended, and its error when it failed.
    as_of: Option<SystemTime>,
    error: Option<String>,
}

/// Every wanted handle's state as the last pass left it ([`RegistrationService::status`]).
#[derive(Debug, Clone)]
pub struct TrackedStatus {
    pub handles: Vec<HandleStatus>,
    /// When the last pass ended (`None`: no pass yet). Each pass updates every state it may
    /// have changed, so the states are as of this moment.
    pub as_of: Option<SystemTime>,
}

/// What the last passes saw of the answers, between passes.
#[derive(Default)]
struct Seen {
    /// `uacrecent` entries already turned into states.
    recent: HashMap<String, String>,
    /// Handles whose last REGISTER went unanswered.
    unanswered: HashSet<String>,
}

impl std::fmt::Debug for RegistrationService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrationService")
            .field("rpc", &self.rpc)
            .field("desired", &self.read().len())
            .finish_non_exhaustive()
    }
}

/// What Teamline believes Kamailio holds, between full passes.
struct Known {
    /// Kamailio's `up_since` when this was true.
    up_since: String,
    /// Records as pushed, by l_uuid.
    records: HashMap<String, UacRecord>,
    /// Records un-registered and not removed yet (a full pass removes them).
    unregistering: HashSet<String>,
    /// When this was true: a quick pass after a longer gap than the `uacrecent` window
    /// could miss answers, so it is a full one.
    pass_at: Instant,
}

/// What Kamailio holds, read in one go.
struct Snapshot {
    records: Vec<UacRecordState>,
    replies: HashMap<String, LastReply>,
    waiting: HashMap<String, String>,
    /// When it was read (Unix ms) and the REGISTER timeout, to tell overdue answers.
    read_at_ms: i64,
    register_timeout: Duration,
}

impl Snapshot {
    fn state_of(&self, rec: &UacRecordState) -> RegistrationState {
        let awaiting_since = self
            .waiting
            .get(&rec.l_uuid)
            .map(|t| t.parse().unwrap_or(0));
        observe(&Observed {
            record: rec,
            last_reply: self.replies.get(&rec.l_uuid),
            awaiting_since,
            overdue: awaiting_since
                .is_some_and(|sent| overdue(sent, self.read_at_ms, self.register_timeout)),
        })
    }
}

impl RegistrationService {
    pub fn new(rpc: RpcClient, resolver: PbxResolver) -> Self {
        RegistrationService {
            rpc,
            resolver,
            desired: RwLock::new(BTreeMap::new()),
            concurrency: 16,
            audit_per_pass: DEFAULT_AUDIT_PER_PASS,
            audit: std::sync::Mutex::new(AuditCursor::default()),
            tracked: std::sync::Mutex::new(Tracked::default()),
            known: std::sync::Mutex::new(None),
            dns_errors: std::sync::Mutex::new(HashMap::new()),
            register_timeout: Duration::from_secs(5),
            seen: std::sync::Mutex::new(Seen::default()),
        }
    }

    /// The gateway's REGISTER timeout (`RegistrationTimers::register_timeout`, default 5 s):
    /// a REGISTER unanswered for longer counts as "PBX unreachable".
    pub fn set_register_timeout(&mut self, timeout: Duration) {
        self.register_timeout = timeout;
    }

    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    pub fn resolver(&self) -> &PbxResolver {
        &self.resolver
    }

    fn read(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, BTreeMap<RegistrationId, DesiredRegistration>> {
        self.desired
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, BTreeMap<RegistrationId, DesiredRegistration>> {
        self.desired
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Replaces the whole desired set (e.g. everything the store says at start-up).
    pub fn set_desired(&self, registrations: impl IntoIterator<Item = DesiredRegistration>) {
        *self.write() = registrations
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
    }

    /// Adds or changes one registration (Enable Calling, Save User, a new password).
    pub fn upsert(&self, registration: DesiredRegistration) {
        self.write().insert(registration.id.clone(), registration);
    }

    /// Drops one registration (Disable Calling, Disable/Delete User, a changed device).
    pub fn remove(&self, id: &RegistrationId) -> bool {
        self.write().remove(id).is_some()
    }

    pub fn desired_ids(&self) -> Vec<RegistrationId> {
        self.read().keys().cloned().collect()
    }

    async fn snapshot(&self) -> Result<Snapshot, RpcError> {
        let records = self.rpc.uac_reg_dump().await?;
        let replies = self
            .rpc
            .htable_dump(STATE_TABLE)
            .await?
            .into_iter()
            .filter_map(|(k, v)| LastReply::parse(&v).map(|r| (k, r)))
            .collect();
        let waiting = self
            .rpc
            .htable_dump(WAIT_TABLE)
            .await?
            .into_iter()
            .collect();
        Ok(Snapshot {
            records,
            replies,
            waiting,
            read_at_ms: unix_now_ms(),
            register_timeout: self.register_timeout,
        })
    }

    /// One pass. A *full* pass reads every record back from Kamailio and fixes any drift; it
    /// runs when Teamline does not know what Kamailio holds: the first pass, after Kamailio
    /// restarted, after a pass that failed half-way, after a longer gap between passes than
    /// the `uacrecent` window (answers could be missed), and when Kamailio counts more
    /// records than Teamline gave it (someone added some; only a full read finds which).
    /// Otherwise a *quick* pass applies what changed in the desired set since the last pass,
    /// moves handles whose REGISTER went unanswered (read from the small `uacwait` table) to
    /// their next DNS target, and audits a slice of records (`uac.reg_info`, see [`audit`]),
    /// repairing whatever differs: every record is audited within
    /// [`Self::audit_lap_passes`] passes.
    pub async fn reconcile(&self) -> Result<ReconcileReport, ServiceError> {
        let result = self.pass().await;
        self.track(&result);
        result
    }

    async fn pass(&self) -> Result<ReconcileReport, ServiceError> {
        let started = Instant::now();
        let up = self.rpc.core_uptime().await?;
        let known = self.known_lock().take();
        let restarted = known.as_ref().is_none_or(|k| k.up_since != up.up_since);
        if restarted && known.is_some() {
            tracing::warn!(up_since = %up.up_since, "the gateway's Kamailio restarted: pushing every registration again");
        }
        // On an error `known` stays empty, so the next pass is a full one.
        let window = Duration::from_secs(u64::from(RECENT_ANSWERS_SECS.saturating_sub(5)));
        let known = match known {
            Some(k) if !restarted && k.pass_at.elapsed() < window => {
                let expected = k.records.len() + k.unregistering.len();
                match self.rpc.uac_reg_count().await? {
                    Some(held) if held > expected as u64 => {
                        tracing::warn!(
                            held,
                            expected,
                            "the gateway's Kamailio holds registrations Teamline did not give it: reading them all to remove them"
                        );
                        None
                    }
                    _ => Some(k),
                }
            }
            _ => None,
        };
        let mut report = match known {
            Some(k) => self.quick_pass(k, up.up_since).await?,
            None => self.full_pass(up.up_since).await?,
        };
        report.kamailio_restarted = restarted;
        report.took = started.elapsed();
        Ok(report)
    }

    /// Records a quick pass audits (default [`DEFAULT_AUDIT_PER_PASS`]); the cost of a pass
    /// grows with it, the time until a record changed behind Teamline's back is repaired
    /// shrinks.
    pub fn set_audit_per_pass(&mut self, records: usize) {
        self.audit_per_pass = records.max(1);
    }

    pub fn audit_per_pass(&self) -> usize {
        self.audit_per_pass
    }

    /// How many passes audit every wanted record once (with `serve`'s 2-s tick, 40 passes or
    /// 80 s for 10 000 records).
    pub fn audit_lap_passes(&self) -> usize {
        audit::passes_per_lap(self.read().len(), self.audit_per_pass)
    }

    /// Makes the next pass a full one (e.g. when someone suspects drift).
    pub fn force_full_pass(&self) {
        self.known_lock().take();
    }

    fn known_lock(&self) -> std::sync::MutexGuard<'_, Option<Known>> {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn full_pass(&self, up_since: String) -> Result<ReconcileReport, ServiceError> {
        let snap = self.snapshot().await?;
        let desired: Vec<DesiredRegistration> = self.read().values().cloned().collect();
        let by_id: HashMap<&str, &UacRecordState> = snap
            .records
            .iter()
            .map(|r| (r.l_uuid.as_str(), r))
            .collect();
        let mut unanswered = 0;
        for want in &desired {
            let Some(have) = by_id.get(want.id.as_str()) else {
                continue;
            };
            if let RegistrationState::PbxUnreachable(Unreachable::NoAnswer { target }) =
                snap.state_of(have)
                && let Ok(addr) = target.parse()
            {
                self.resolver
                    .report_unreachable(&want.proxy, want.dns_lookup, addr);
                unanswered += 1;
            }
        }
        let (records, dns_failures) = self
            .build_records(&desired, |id| by_id.get(id).map(|h| h.auth_proxy.clone()))
            .await;
        let failed_over = unanswered.min(
            records
                .iter()
                .filter(|r| {
                    by_id
                        .get(r.l_uuid.as_str())
                        .is_some_and(|h| h.auth_proxy != r.auth_proxy)
                })
                .count(),
        );

        let plan = reconcile::plan(&records, &snap.records, unix_now());
        let applied = reconcile::apply(&self.rpc, &plan, self.concurrency).await?;
        // A record added again starts with a clean slate: the last answers belonged to the
        // old one (and an old "no answer" would send it to the next target at once). The
        // `uacauth` mark needs no cleaning: the next REGISTER sets or clears it.
        let fresh = plan
            .replace
            .iter()
            .chain(&plan.add)
            .map(|r| r.l_uuid.as_str())
            .chain(plan.remove.iter().map(String::as_str));
        for id in fresh {
            if snap.replies.contains_key(id) {
                self.rpc.htable_delete(STATE_TABLE, id).await?;
            }
            if snap.waiting.contains_key(id) {
                self.rpc.htable_delete(WAIT_TABLE, id).await?;
            }
        }
        let unregistering = snap
            .records
            .iter()
            .filter(|r| r.expires == 0 && !plan.remove.contains(&r.l_uuid))
            .map(|r| r.l_uuid.clone())
            .chain(plan.unregister.iter().cloned())
            .collect();
        let pushed: HashSet<&str> = plan
            .replace
            .iter()
            .chain(&plan.add)
            .map(|r| r.l_uuid.as_str())
            .collect();
        let dns_errors = self.last_dns_errors();
        let observed: Vec<HandleStatus> = desired
            .iter()
            .map(|want| {
                let state = match by_id.get(want.id.as_str()) {
                    _ if pushed.contains(want.id.as_str()) => RegistrationState::Registering,
                    Some(have) => snap.state_of(have),
                    None => unpushed_state(want, &dns_errors),
                };
                HandleStatus::of(want, state)
            })
            .collect();
        {
            let mut seen = self.seen_lock();
            seen.unanswered = observed
                .iter()
                .filter(|h| {
                    matches!(
                        h.state,
                        RegistrationState::PbxUnreachable(Unreachable::NoAnswer { .. })
                    )
                })
                .map(|h| h.id.as_str().to_owned())
                .collect();
        }
        self.remember(up_since, records, unregistering, &applied);
        Ok(ReconcileReport {
            full: true,
            kamailio_records: snap.records.len(),
            desired: desired.len(),
            applied,
            failed_over,
            dns_failures,
            kamailio_restarted: false,
            audited: 0,
            drift: 0,
            observed,
            took: Duration::ZERO,
        })
    }

    fn seen_lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn last_dns_errors(&self) -> HashMap<(ProxyHost, DnsLookup), DnsError> {
        self.dns_errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Handles whose REGISTER has been waiting for its final answer for longer than the
    /// REGISTER timeout (by the time it was sent), and every handle with a REGISTER out.
    async fn waiting(&self) -> Result<(HashMap<String, i64>, HashSet<String>), RpcError> {
        let now_ms = unix_now_ms();
        let mut out = HashMap::new();
        let mut pending = HashSet::new();
        for (id, sent) in self.rpc.htable_dump(WAIT_TABLE).await? {
            let sent: i64 = sent.parse().unwrap_or(0);
            if overdue(sent, now_ms, self.register_timeout) {
                out.insert(id.clone(), sent);
            }
            pending.insert(id);
        }
        Ok((out, pending))
    }

    /// The states a quick pass learns: handles just pushed are registering; handles whose
    /// answer's code changed (`uacrecent`) are what that answer says; a REGISTER unanswered
    /// for longer than the timeout makes its handle unreachable, and a handle that was
    /// unreachable and has been answered since is what the answer says.
    async fn observe_changes(
        &self,
        desired: &[DesiredRegistration],
        records: &HashMap<&str, &UacRecord>,
        pushed: &HashSet<&str>,
        unanswered: &HashMap<String, i64>,
        pending: &HashSet<String>,
    ) -> Result<Vec<HandleStatus>, RpcError> {
        let recent: HashMap<String, String> = self
            .rpc
            .htable_dump(RECENT_TABLE)
            .await?
            .into_iter()
            .collect();
        let (changed, answered_at_last) = {
            let seen = self.seen_lock();
            let changed: HashSet<String> = recent
                .iter()
                .filter(|(id, v)| seen.recent.get(*id) != Some(*v))
                .map(|(id, _)| id.clone())
                .collect();
            let answered: Vec<String> = seen
                .unanswered
                .iter()
                .filter(|id| !pending.contains(*id) && !changed.contains(*id))
                .cloned()
                .collect();
            (changed, answered)
        };
        let mut answers: HashMap<String, LastReply> = recent
            .iter()
            .filter(|(id, _)| changed.contains(*id))
            .filter_map(|(id, v)| LastReply::parse(v).map(|r| (id.clone(), r)))
            .collect();
        for id in &answered_at_last {
            if let Some(v) = self.rpc.htable_get(STATE_TABLE, id).await?
                && let Some(r) = LastReply::parse(&v)
            {
                answers.insert(id.clone(), r);
            }
        }
        let dns_errors = self.last_dns_errors();
        let mut observed = Vec::new();
        for want in desired {
            let id = want.id.as_str();
            let state = match records.get(id) {
                None => unpushed_state(want, &dns_errors),
                Some(_) if pushed.contains(id) => RegistrationState::Registering,
                Some(rec) => {
                    let news = answers.get(id);
                    let silent = unanswered.get(id).copied();
                    if news.is_none()
                        && silent.is_none()
                        && !answered_at_last.iter().any(|a| a == id)
                    {
                        continue;
                    }
                    observe_answer(news, silent, rec.expires, &rec.auth_proxy)
                }
            };
            observed.push(HandleStatus::of(want, state));
        }
        let mut seen = self.seen_lock();
        seen.recent = recent;
        seen.unanswered.retain(|id| pending.contains(id));
        seen.unanswered.extend(unanswered.keys().cloned());
        Ok(observed)
    }

    async fn quick_pass(
        &self,
        known: Known,
        up_since: String,
    ) -> Result<ReconcileReport, ServiceError> {
        let desired: Vec<DesiredRegistration> = self.read().values().cloned().collect();
        let now = unix_now();
        let (unanswered, pending) = self.waiting().await?;
        let mut silent = 0;
        for want in &desired {
            if !unanswered.contains_key(want.id.as_str()) {
                continue;
            }
            if let Some(addr) = known
                .records
                .get(want.id.as_str())
                .and_then(|r| parse_auth_proxy(&r.auth_proxy))
            {
                self.resolver
                    .report_unreachable(&want.proxy, want.dns_lookup, addr);
                silent += 1;
            }
        }
        let (records, dns_failures) = self
            .build_records(&desired, |id| {
                known.records.get(id).map(|r| r.auth_proxy.clone())
            })
            .await;
        // The audit: a slice of the records read back; what differs is planned from what
        // Kamailio really holds rather than from what Teamline believes it holds.
        let by_uuid: HashMap<&str, &UacRecord> =
            records.iter().map(|r| (r.l_uuid.as_str(), r)).collect();
        let slice: Vec<UacRecord> = {
            let wanted = self.read();
            let mut cursor = self
                .audit
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            cursor
                .next_slice(&*wanted, self.audit_per_pass)
                .into_iter()
                .filter_map(|id| by_uuid.get(id).map(|r| (*r).clone()))
                .collect()
        };
        let held = self.read_records(&slice).await?;
        let drift = reconcile::plan(&slice, &held, now);
        let audited: HashSet<&str> = slice.iter().map(|r| r.l_uuid.as_str()).collect();
        if !drift.is_empty() {
            tracing::warn!(
                missing = drift.add.len(),
                different = drift.replace.len(),
                disabled = drift.enable.len(),
                "the gateway's Kamailio holds registrations other than Teamline gave it: repairing them"
            );
        }
        let drifted = drift.add.len() + drift.replace.len() + drift.enable.len();
        let mut plan = reconcile::Plan {
            enable: drift.enable,
            ..Default::default()
        };
        let mut moved = 0;
        for r in &records {
            if audited.contains(r.l_uuid.as_str()) {
                if drift.add.iter().any(|d| d.l_uuid == r.l_uuid) {
                    plan.add.push(r.clone());
                } else if drift.replace.iter().any(|d| d.l_uuid == r.l_uuid) {
                    plan.replace.push(r.clone());
                }
                continue;
            }
            match known.records.get(&r.l_uuid) {
                None if known.unregistering.contains(&r.l_uuid) => plan.replace.push(r.clone()),
                None => plan.add.push(r.clone()),
                Some(had) if had != r => {
                    if had.auth_proxy != r.auth_proxy {
                        moved += 1;
                    }
                    plan.replace.push(r.clone());
                }
                Some(_) => {}
            }
        }
        let wanted: HashSet<&str> = records.iter().map(|r| r.l_uuid.as_str()).collect();
        // Un-registered records are forgotten once their un-REGISTER is answered.
        for id in &known.unregistering {
            if wanted.contains(id.as_str()) {
                continue;
            }
            match self.rpc.uac_reg_info(UacFilter::LUuid, id).await? {
                Some(rec) if reconcile::unregister_done(&rec, now) => plan.remove.push(id.clone()),
                Some(_) => {}
                None => plan.remove.push(id.clone()),
            }
        }
        plan.unregister = known
            .records
            .keys()
            .filter(|id| !wanted.contains(id.as_str()))
            .cloned()
            .collect();
        let applied = reconcile::apply(&self.rpc, &plan, self.concurrency).await?;
        // A record added again starts with a clean slate (see the full pass).
        for r in plan.replace.iter().chain(&plan.add) {
            if known.records.contains_key(&r.l_uuid) || known.unregistering.contains(&r.l_uuid) {
                self.rpc.htable_delete(STATE_TABLE, &r.l_uuid).await?;
            }
            if pending.contains(&r.l_uuid) {
                self.rpc.htable_delete(WAIT_TABLE, &r.l_uuid).await?;
            }
        }
        for id in &plan.remove {
            self.rpc.htable_delete(STATE_TABLE, id).await?;
            self.rpc.htable_delete(WAIT_TABLE, id).await?;
        }
        let pushed: HashSet<&str> = plan
            .replace
            .iter()
            .chain(&plan.add)
            .map(|r| r.l_uuid.as_str())
            .collect();
        let observed = self
            .observe_changes(&desired, &by_uuid, &pushed, &unanswered, &pending)
            .await?;
        let mut unregistering = known.unregistering;
        unregistering.retain(|id| !wanted.contains(id.as_str()) && !plan.remove.contains(id));
        unregistering.extend(plan.unregister.iter().cloned());
        let audited = audited.len();
        self.remember(up_since, records, unregistering, &applied);
        Ok(ReconcileReport {
            full: false,
            kamailio_records: known.records.len(),
            desired: desired.len(),
            applied,
            failed_over: moved.min(silent),
            dns_failures,
            kamailio_restarted: false,
            audited,
            drift: drifted,
            observed,
            took: Duration::ZERO,
        })
    }

    /// What Kamailio holds of `records`, read one by one (`uac.reg_info`), a few at a time.
    async fn read_records(&self, records: &[UacRecord]) -> Result<Vec<UacRecordState>, RpcError> {
        let reads: Vec<_> = records
            .iter()
            .map(|r| self.rpc.uac_reg_info(UacFilter::LUuid, &r.l_uuid))
            .collect();
        let mut results = futures::stream::iter(reads).buffer_unordered(self.concurrency);
        let mut held = Vec::with_capacity(records.len());
        while let Some(found) = results.next().await {
            held.extend(found?);
        }
        Ok(held)
    }

    /// The uac records for the desired handles: each proxy resolved (from cache while its TTL
    /// lasts), a handle that works keeping its target. A handle whose proxy does not resolve
    /// keeps the record Kamailio has (`current`), if any, rather than being un-registered.
    async fn build_records(
        &self,
        desired: &[DesiredRegistration],
        current: impl Fn(&str) -> Option<String>,
    ) -> (Vec<UacRecord>, Vec<DnsError>) {
        let mut targets: HashMap<(ProxyHost, DnsLookup), Result<String, DnsError>> = HashMap::new();
        let mut records = Vec::with_capacity(desired.len());
        for want in desired {
            let key = (want.proxy.clone(), want.dns_lookup);
            let have = current(want.id.as_str());
            let have_addr = have.as_deref().and_then(parse_auth_proxy);
            let target = match (have_addr, targets.get(&key)) {
                (None, Some(t)) => t.clone(),
                _ => {
                    let t = self
                        .resolver
                        .resolve_keeping(&want.proxy, want.dns_lookup, have_addr)
                        .await
                        .map(auth_proxy);
                    targets.entry(key).or_insert_with(|| t.clone());
                    t
                }
            };
            match (target, have) {
                (Ok(proxy), _) => records.push(want.to_uac(proxy)),
                (Err(_), Some(have)) => records.push(want.to_uac(have)),
                (Err(_), None) => {}
            }
        }
        let dns_errors: HashMap<(ProxyHost, DnsLookup), DnsError> = targets
            .into_iter()
            .filter_map(|(k, t)| t.err().map(|e| (k, e)))
            .collect();
        let failures = dns_errors.values().cloned().collect();
        *self
            .dns_errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = dns_errors;
        (records, failures)
    }

    fn remember(
        &self,
        up_since: String,
        records: Vec<UacRecord>,
        unregistering: HashSet<String>,
        applied: &Applied,
    ) {
        // A refused step means Kamailio may not hold what Teamline thinks: look at everything
        // again next time.
        if !applied.failures.is_empty() {
            return;
        }
        *self.known_lock() = Some(Known {
            up_since,
            records: records.into_iter().map(|r| (r.l_uuid.clone(), r)).collect(),
            unregistering,
            pass_at: Instant::now(),
        });
    }

    /// Every wanted handle's state as the passes learned it, without asking Kamailio: what
    /// the portal, the store and `teamline gateway status` show. After a pass that failed
    /// because Kamailio did not answer, every handle is `GatewayDown` with the reason; a
    /// handle no pass has seen yet is `Registering` (or PBX unreachable when its proxy did
    /// not resolve).
    pub fn status(&self) -> TrackedStatus {
        let desired: Vec<DesiredRegistration> = self.read().values().cloned().collect();
        let dns_errors = self.last_dns_errors();
        let tracked = self.tracked_lock();
        let handles = desired
            .iter()
            .map(|want| {
                let state = match &tracked.error {
                    Some(error) => RegistrationState::GatewayDown {
                        error: error.clone(),
                    },
                    None => tracked
                        .states
                        .get(&want.id)
                        .cloned()
                        .unwrap_or_else(|| unpushed_state(want, &dns_errors)),
                };
                HandleStatus::of(want, state)
            })
            .collect();
        TrackedStatus {
            handles,
            as_of: tracked.as_of,
        }
    }

    fn tracked_lock(&self) -> std::sync::MutexGuard<'_, Tracked> {
        self.tracked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps what a pass learned for [`Self::status`]: a full pass's states replace all;
    /// a quick pass's update those it may have changed.
    fn track(&self, pass: &Result<ReconcileReport, ServiceError>) {
        let wanted = self.read();
        let mut tracked = self.tracked_lock();
        match pass {
            Ok(report) => {
                if report.full {
                    tracked.states.clear();
                }
                for h in &report.observed {
                    tracked.states.insert(h.id.clone(), h.state.clone());
                }
                tracked.error = None;
            }
            // A Kamailio that does not answer: the gateway is down. A refused call leaves
            // the states as they were (the next pass is a full one and learns them all).
            Err(ServiceError(e)) if e.is_unreachable() => tracked.error = Some(e.to_string()),
            Err(_) => {}
        }
        tracked.states.retain(|id, _| wanted.contains_key(id));
        tracked.as_of = Some(SystemTime::now());
    }

    /// Every wanted handle's state read from Kamailio itself (`uac.reg_dump` and the answer
    /// tables): seconds for 10 000 records, so only for diagnostics and tests that compare
    /// what Teamline tracks with what Kamailio holds. When Kamailio does not answer, every
    /// handle is `GatewayDown` with the reason.
    pub async fn status_from_kamailio(&self) -> Vec<HandleStatus> {
        let desired: Vec<DesiredRegistration> = self.read().values().cloned().collect();
        let snap = self.snapshot().await;
        let by_id: HashMap<&str, &UacRecordState> = snap
            .as_ref()
            .map(|s| s.records.iter().map(|r| (r.l_uuid.as_str(), r)).collect())
            .unwrap_or_default();
        let dns_errors = self.last_dns_errors();
        desired
            .into_iter()
            .map(|want| {
                let state = match &snap {
                    Err(e) => RegistrationState::GatewayDown {
                        error: e.to_string(),
                    },
                    Ok(snap) => by_id
                        .get(want.id.as_str())
                        .map(|r| snap.state_of(r))
                        .unwrap_or_else(|| unpushed_state(&want, &dns_errors)),
                };
                HandleStatus::of(&want, state)
            })
            .collect()
    }

    /// The live state of one wanted handle (a few small RPCs: for a user's page, where
    /// [`Self::status`] would read every record). `None` when Teamline does not want it.
    pub async fn status_of(&self, id: &RegistrationId) -> Option<HandleStatus> {
        let want = self.read().get(id).cloned()?;
        let state = match self.read_one(id).await {
            Err(e) => RegistrationState::GatewayDown {
                error: e.to_string(),
            },
            Ok(None) => RegistrationState::Registering,
            Ok(Some((rec, reply, waiting))) => observe(&Observed {
                record: &rec,
                last_reply: reply.as_ref(),
                awaiting_since: waiting,
                overdue: waiting
                    .is_some_and(|sent| overdue(sent, unix_now_ms(), self.register_timeout)),
            }),
        };
        Some(HandleStatus::of(&want, state))
    }

    async fn read_one(
        &self,
        id: &RegistrationId,
    ) -> Result<Option<(UacRecordState, Option<LastReply>, Option<i64>)>, RpcError> {
        let Some(rec) = self.rpc.uac_reg_info(UacFilter::LUuid, id.as_str()).await? else {
            return Ok(None);
        };
        let reply = self
            .rpc
            .htable_get(STATE_TABLE, id.as_str())
            .await?
            .and_then(|v| LastReply::parse(&v));
        let waiting = self
            .rpc
            .htable_get(WAIT_TABLE, id.as_str())
            .await?
            .map(|v| v.parse().unwrap_or(0));
        Ok(Some((rec, reply, waiting)))
    }

    /// Reconciles every `interval` until `shutdown` turns true. Errors are logged and the
    /// next pass tries again (a Kamailio that is down comes back, and the pass after that
    /// restores every registration).
    pub async fn run(self: Arc<Self>, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            match self.reconcile().await {
                Ok(r) if r.applied.failures.is_empty() => {
                    tracing::debug!(took = ?r.took, desired = r.desired, "reconciled")
                }
                Ok(r) => {
                    tracing::warn!(failures = ?r.applied.failures, "reconcile: some steps failed")
                }
                Err(e) => tracing::warn!(error = %e, "reconcile failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        return;
                    }
                }
            }
        }
    }
}

/// The state of a wanted handle Kamailio has no record of: its proxy did not resolve, or it
/// is about to be pushed.
fn unpushed_state(
    want: &DesiredRegistration,
    dns_errors: &HashMap<(ProxyHost, DnsLookup), DnsError>,
) -> RegistrationState {
    match dns_errors.get(&(want.proxy.clone(), want.dns_lookup)) {
        Some(e) => RegistrationState::PbxUnreachable(Unreachable::Dns {
            proxy: want.proxy.to_string(),
            error: e.to_string(),
        }),
        None => RegistrationState::Registering,
    }
}

/// A REGISTER first sent at `sent` (Unix seconds, as the gateway's `$Ts` records it) with no
/// final answer by `now_ms` has waited longer than `timeout`.
fn overdue(sent: i64, now_ms: i64, timeout: Duration) -> bool {
    let timeout_ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
    // `$Ts` is whole seconds: the REGISTER left before `sent + 1`.
    sent.saturating_add(1)
        .saturating_mul(1000)
        .saturating_add(timeout_ms)
        < now_ms
}

fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `sip:192.0.2.7:5060` → the socket address (what the resolver hands out).
fn parse_auth_proxy(auth_proxy: &str) -> Option<std::net::SocketAddr> {
    auth_proxy.strip_prefix("sip:")?.parse().ok()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
