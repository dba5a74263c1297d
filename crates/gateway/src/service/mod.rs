//! The registration service: holds the set of registrations Teamline wants, keeps one Kamailio
//! node's uac_reg records equal to it, and reports each handle's live state.
//!
//! One pass ([`RegistrationService::reconcile`]) reads Kamailio's records and the last answers
//! to their REGISTERs, moves a handle whose PBX target does not answer to the next DNS target,
//! resolves every PBX proxy (from cache while the TTL lasts), and applies the difference.
//! [`RegistrationService::run`] repeats it; a Kamailio restart needs nothing special (the pass
//! finds an empty set and adds everything back).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use teamline_domain::device::DeviceAuthId;
use teamline_domain::ids::EnterpriseId;
use teamline_domain::pbx_location::DnsLookup;
use teamline_domain::sip::{ProxyHost, SipDomain};
use tokio::sync::watch;

use crate::dns::{DnsError, PbxResolver, auth_proxy};
use crate::reconcile::{self, Applied};
use crate::registration::{
    DesiredRegistration, LastReply, Observed, RegistrationId, RegistrationState, Unreachable,
    observe,
};
use crate::rpc::{RpcClient, RpcError, UacRecord, UacRecordState};

/// The htables the gateway's configuration keeps per record (see `registrations.cfg`).
pub const STATE_TABLE: &str = "uacstate";
pub const WAIT_TABLE: &str = "uacwait";

/// One handle's live state, for the store, the portal and `teamline gateway status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandleStatus {
    pub id: RegistrationId,
    pub enterprise: EnterpriseId,
    pub device: DeviceAuthId,
    pub sip_domain: SipDomain,
    pub state: RegistrationState,
}

/// What one reconcile pass found and did.
#[derive(Debug, Clone)]
pub struct ReconcileReport {
    /// Records Kamailio held before the pass.
    pub kamailio_records: usize,
    pub desired: usize,
    pub applied: Applied,
    /// Handles moved to another PBX target because theirs did not answer.
    pub failed_over: usize,
    /// Proxies that did not resolve (their handles are not pushed until they do).
    pub dns_failures: Vec<DnsError>,
    /// Kamailio started since the previous pass (a restart, or the first pass).
    pub kamailio_restarted: bool,
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
    up_since: std::sync::Mutex<Option<String>>,
    /// Proxies that did not resolve at the last pass.
    dns_errors: std::sync::Mutex<HashMap<(ProxyHost, DnsLookup), DnsError>>,
}

impl std::fmt::Debug for RegistrationService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrationService")
            .field("rpc", &self.rpc)
            .field("desired", &self.read().len())
            .finish_non_exhaustive()
    }
}

/// What Kamailio holds, read in one go.
struct Snapshot {
    records: Vec<UacRecordState>,
    replies: HashMap<String, LastReply>,
    waiting: HashMap<String, String>,
}

impl Snapshot {
    fn state_of(&self, rec: &UacRecordState) -> RegistrationState {
        observe(&Observed {
            record: rec,
            last_reply: self.replies.get(&rec.l_uuid),
            awaiting_since: self
                .waiting
                .get(&rec.l_uuid)
                .map(|t| t.parse().unwrap_or(0)),
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
            up_since: std::sync::Mutex::new(None),
            dns_errors: std::sync::Mutex::new(HashMap::new()),
        }
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
        })
    }

    /// One pass: observe, fail over, resolve, apply.
    pub async fn reconcile(&self) -> Result<ReconcileReport, ServiceError> {
        let started = std::time::Instant::now();
        let restarted = self.note_uptime().await?;
        let snap = self.snapshot().await?;
        let desired: Vec<DesiredRegistration> = self.read().values().cloned().collect();

        let by_id: HashMap<&str, &UacRecordState> = snap
            .records
            .iter()
            .map(|r| (r.l_uuid.as_str(), r))
            .collect();
        let mut failed_over = 0;
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
                failed_over += 1;
            }
        }

        let mut targets: HashMap<(ProxyHost, DnsLookup), Result<String, DnsError>> = HashMap::new();
        let mut records: Vec<UacRecord> = Vec::with_capacity(desired.len());
        for want in &desired {
            let key = (want.proxy.clone(), want.dns_lookup);
            let current = by_id
                .get(want.id.as_str())
                .and_then(|h| parse_auth_proxy(&h.auth_proxy));
            // Handles of one proxy share an answer; one that works keeps its own target.
            let target = match (current, targets.get(&key)) {
                (None, Some(t)) => t.clone(),
                _ => {
                    let t = self
                        .resolver
                        .resolve_keeping(&want.proxy, want.dns_lookup, current)
                        .await
                        .map(auth_proxy);
                    if current.is_none() || !targets.contains_key(&key) {
                        targets.entry(key).or_insert_with(|| t.clone());
                    }
                    t
                }
            };
            match target {
                Ok(proxy) => records.push(want.to_uac(proxy)),
                // DNS is down: keep what Kamailio has rather than un-registering.
                Err(_) => {
                    if let Some(have) = by_id.get(want.id.as_str()) {
                        records.push(want.to_uac(have.auth_proxy.clone()));
                    }
                }
            }
        }
        // Only count a failover that moved the handle.
        failed_over = failed_over.min(
            records
                .iter()
                .filter(|r| {
                    by_id
                        .get(r.l_uuid.as_str())
                        .is_some_and(|h| h.auth_proxy != r.auth_proxy)
                })
                .count(),
        );

        let now = unix_now();
        let plan = reconcile::plan(&records, &snap.records, now);
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
        let dns_errors: HashMap<(ProxyHost, DnsLookup), DnsError> = targets
            .into_iter()
            .filter_map(|(k, t)| t.err().map(|e| (k, e)))
            .collect();
        let dns_failures = dns_errors.values().cloned().collect();
        *self
            .dns_errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = dns_errors;
        Ok(ReconcileReport {
            kamailio_records: snap.records.len(),
            desired: desired.len(),
            applied,
            failed_over,
            dns_failures,
            kamailio_restarted: restarted,
            took: started.elapsed(),
        })
    }

    /// Whether Kamailio started since the last look (by its `up_since`).
    async fn note_uptime(&self) -> Result<bool, RpcError> {
        let up = self.rpc.core_uptime().await?;
        let mut last = self
            .up_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let restarted = last.as_deref() != Some(up.up_since.as_str());
        if restarted && last.is_some() {
            tracing::warn!(up_since = %up.up_since, "the gateway's Kamailio restarted: pushing every registration again");
        }
        *last = Some(up.up_since);
        Ok(restarted)
    }

    /// The live state of every wanted handle. When Kamailio does not answer, every handle
    /// is `GatewayDown` with the reason.
    pub async fn status(&self) -> Vec<HandleStatus> {
        let desired: Vec<DesiredRegistration> = self.read().values().cloned().collect();
        let snap = self.snapshot().await;
        let by_id: HashMap<&str, &UacRecordState> = snap
            .as_ref()
            .map(|s| s.records.iter().map(|r| (r.l_uuid.as_str(), r)).collect())
            .unwrap_or_default();
        let dns_errors = self
            .dns_errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
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
                        .unwrap_or_else(|| {
                            match dns_errors.get(&(want.proxy.clone(), want.dns_lookup)) {
                                Some(e) => RegistrationState::PbxUnreachable(Unreachable::Dns {
                                    proxy: want.proxy.to_string(),
                                    error: e.to_string(),
                                }),
                                None => RegistrationState::Registering,
                            }
                        }),
                };
                HandleStatus {
                    id: want.id,
                    enterprise: want.enterprise,
                    device: want.device,
                    sip_domain: want.sip_domain,
                    state,
                }
            })
            .collect()
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

/// `sip:192.0.2.7:5060` → the socket address (what the resolver hands out).
fn parse_auth_proxy(auth_proxy: &str) -> Option<std::net::SocketAddr> {
    auth_proxy.strip_prefix("sip:")?.parse().ok()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
