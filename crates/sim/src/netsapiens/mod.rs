//! Simulator of a NetSapiens PBX: API v2 (`/ns-api/v2`).
//!
//! It speaks the v2 wire format Teamline's `pbx` crate talks to: hyphenated JSON fields,
//! `{code, message}` error bodies, `limit`/`start` paging, `synchronous: "yes"` (200) versus
//! 202 Accepted on writes, API keys (`Authorization: Bearer <key>`) and the OAuth token
//! endpoint `POST /ns-api/v2/tokens` (password and refresh-token grants, expiring access
//! tokens, single-use refresh tokens). State lives in memory behind one lock.
//!
//! # Endpoints
//! `GET /version` · `POST /tokens` · `GET /apikeys/~` · `GET /domains` ·
//! `GET /domains/{d}` · `GET /domains/{d}/count` · `GET /domains/{d}/users[/count]` ·
//! `GET /domains/{d}/users/{u}` · `GET /domains/{d}/devices[/count]` ·
//! `GET|POST /domains/{d}/users/{u}/devices` · `GET /domains/{d}/users/{u}/devices/count` ·
//! `GET|DELETE /domains/{d}/users/{u}/devices/{device}` · `GET|POST /domains/{d}/addresses` ·
//! `GET|POST /domains/{d}/users/{u}/addresses` (all under `/ns-api/v2`).
//!
//! # Seed data (a contract, described in `docs/demo-data.md`)
//! [`NetSapiensSim::seed_contoso`] creates domain [`CONTOSO_DOMAIN`] (`contoso`, reseller
//! [`DEMO_RESELLER`]) with extensions 1000–1019 as listed by [`contoso_extensions`] (Debra
//! Berger on 1015, the users after her in the demo list shifted by one).
//!
//! Every extension has its desk device (`1000`, `1001`, …); 1000 and 1001 also have `1000tm`
//! and `1001tm`. Desk phones are registered (always re-registering) except 1015 and 1019; `tm`
//! devices are not registered. Contoso requires an emergency address on every new device;
//! the domain-wide address [`CONTOSO_HQ_ADDRESS_ID`] ("Contoso HQ") is on file and is listed
//! for every user. Passwords are deterministic (same seed, same passwords); read them with
//! [`NetSapiensSim::device_password`].
//!
//! [`NetSapiensSim::seed_fabrikam`] adds a second domain of the same reseller,
//! [`FABRIKAM_DOMAIN`] (`fabrikam`), with extensions 2000–2004 ([`fabrikam_extensions`]),
//! each with a registered desk phone and a `tm` device: another customer's PBX that the
//! reseller's key reaches too.
//!
//! Credentials accepted from the start: [`DEMO_API_KEY`] (reseller `northwind`, read/write),
//! and OAuth client [`DEMO_OAUTH_CLIENT_ID`]/[`DEMO_OAUTH_CLIENT_SECRET`] with the masquerade
//! login [`DEMO_OAUTH_USERNAME`]/[`DEMO_OAUTH_PASSWORD`].
//!
//! # Faults
//! Per instance, in-process ([`NetSapiensSim::set_faults`], [`NetSapiensSim::expire_tokens`],
//! …) or over HTTP: `PUT|DELETE /_sim/netsapiens/faults` with a [`FaultConfig`] body,
//! `POST /_sim/netsapiens/tokens/expire|revoke`, `PUT /_sim/netsapiens/token-lifetime`,
//! `GET /_sim/netsapiens/stats`, `POST /_sim/netsapiens/seed/contoso|generated`,
//! `POST /_sim/netsapiens/api-keys`,
//! `PUT /_sim/netsapiens/domains/{d}/emergency-address-required`,
//! `PUT /_sim/netsapiens/domains/{d}/address-validation-required` (`{"required": bool}`),
//! `PUT /_sim/netsapiens/domains/{d}/empty-device-list-404` (`{"enabled": bool}`),
//! `PUT|DELETE /_sim/netsapiens/domains/{d}/devices/{device}/registration`.

mod api;
mod control;
mod faults;
mod json;
pub mod registrar;
mod seed;
mod state;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::FaultConfig;
pub use seed::{
    CONTOSO_DOMAIN, CONTOSO_HQ_ADDRESS_ID, CONTOSO_PHONE_NUMBERS, CONTOSO_TM_EXTENSIONS,
    DEMO_API_KEY, DEMO_CORE_SERVER, DEMO_OAUTH_CLIENT_ID, DEMO_OAUTH_CLIENT_SECRET,
    DEMO_OAUTH_PASSWORD, DEMO_OAUTH_USERNAME, DEMO_RESELLER, FABRIKAM_DOMAIN,
    FABRIKAM_HQ_ADDRESS_ID, GENERATED_FIRST_EXTENSION, contoso_extensions, fabrikam_extensions,
};
pub use state::{Access, GENERATED_PASSWORD_LEN, MAX_PAGE_LIMIT, SimStats};

use state::{ApiKey, Registration, SimState, User};

/// An in-memory NetSapiens PBX. Cheap to clone: clones share the same state, so one clone can
/// serve HTTP while another injects faults.
#[derive(Clone)]
pub struct NetSapiensSim {
    state: Arc<Mutex<SimState>>,
    /// Woken whenever devices are created or deleted, so the SIP registrar learns about
    /// them at once (see `registrar`).
    device_changes: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for NetSapiensSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.lock();
        f.debug_struct("NetSapiensSim")
            .field("domains", &st.domains.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for NetSapiensSim {
    fn default() -> Self {
        Self::new()
    }
}

/// A device registration to report (see [`NetSapiensSim::set_registration`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationInfo {
    pub user_agent: String,
    pub contact: String,
    #[serde(default)]
    pub ip_address: String,
    /// Keep the registration alive (a client that re-registers on time); otherwise it lapses
    /// after the device's expiry (60 s by default).
    #[serde(default = "default_true")]
    pub keeps_registering: bool,
}

fn default_true() -> bool {
    true
}

impl NetSapiensSim {
    /// An empty PBX that already accepts the demo credentials ([`DEMO_API_KEY`] and the demo
    /// OAuth client and login).
    pub fn new() -> Self {
        let mut st = SimState::new();
        seed::install_demo_credentials(&mut st);
        NetSapiensSim {
            state: Arc::new(Mutex::new(st)),
            device_changes: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Adds (or resets) the Contoso PBX of the demo data (`docs/demo-data.md`).
    #[must_use]
    pub fn seed_contoso(self) -> Self {
        self.add_contoso();
        self
    }

    /// Adds (or resets) the Fabrikam PBX: a second domain of the demo reseller
    /// ([`FABRIKAM_DOMAIN`], extensions 2000–2004).
    #[must_use]
    pub fn seed_fabrikam(self) -> Self {
        self.add_fabrikam();
        self
    }

    /// [`Self::seed_fabrikam`] on a shared handle.
    pub fn add_fabrikam(&self) {
        let d = seed::fabrikam(SystemTime::now());
        self.lock().domains.insert(d.name.clone(), d);
    }

    /// Adds (or resets) a generated domain with `extensions` users numbered from 1000.
    #[must_use]
    pub fn seed_generated(self, domain: &str, extensions: u32) -> Self {
        self.add_generated(domain, extensions);
        self
    }

    /// [`Self::seed_contoso`] on a shared handle.
    pub fn add_contoso(&self) {
        let d = seed::contoso(SystemTime::now());
        self.lock().domains.insert(d.name.clone(), d);
        self.devices_changed();
    }

    /// [`Self::seed_generated`] on a shared handle.
    pub fn add_generated(&self, domain: &str, extensions: u32) {
        let d = seed::generated(domain, extensions, SystemTime::now());
        self.lock().domains.insert(d.name.clone(), d);
        self.devices_changed();
    }

    /// Copies domain `from` to a new domain `to` of the same reseller: the same users, devices
    /// and SIP passwords, no registrations (a customer moved to a new domain on the same PBX,
    /// the old one still serving until the move is done). Returns `false` when `from` does not
    /// exist or `to` does.
    pub fn copy_domain(&self, from: &str, to: &str) -> bool {
        let mut st = self.lock();
        if st.domains.contains_key(to) {
            return false;
        }
        let Some(mut copy) = st.domains.get(from).cloned() else {
            return false;
        };
        copy.name = to.to_owned();
        for dev in copy.devices.values_mut() {
            dev.registration = None;
        }
        st.domains.insert(to.to_owned(), copy);
        drop(st);
        self.devices_changed();
        true
    }

    /// Tells whoever mirrors the devices (the SIP registrar) that they changed.
    pub(crate) fn devices_changed(&self) {
        self.device_changes.notify_one();
    }

    pub(crate) fn device_changes(&self) -> Arc<tokio::sync::Notify> {
        self.device_changes.clone()
    }

    /// The NetSapiens API (`/ns-api/v2/...`) plus the control surface (`/_sim/netsapiens/...`).
    pub fn router(&self) -> Router {
        api::router(self.clone()).merge(control::router(self.clone()))
    }

    /// Serves [`Self::router`] on `addr` (use `127.0.0.1:0` for a random port) until the handle
    /// is shut down or dropped.
    pub async fn spawn(self, addr: SocketAddr) -> io::Result<NetSapiensSimHandle> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let app = self.router();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!(error = %e, "NetSapiens simulator stopped");
            }
        });
        Ok(NetSapiensSimHandle {
            base_url: format!("http://{addr}"),
            addr,
            sim: self,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SimState> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters to a simulator; keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Arms faults (absent fields keep their current value).
    pub fn set_faults(&self, config: &FaultConfig) {
        self.lock().faults.apply(config);
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.lock().faults = faults::Faults::default();
    }

    /// The next `count` API requests fail with `status` (e.g. 503).
    pub fn fail_next(&self, count: u32, status: u16) {
        self.set_faults(&FaultConfig {
            fail_next: Some(count),
            fail_status: Some(status),
            ..FaultConfig::default()
        });
    }

    /// The next `count` API requests answer 429 with `Retry-After: retry_after_secs`.
    pub fn rate_limit_next(&self, count: u32, retry_after_secs: u64) {
        self.set_faults(&FaultConfig {
            rate_limit_next: Some(count),
            retry_after_secs: Some(retry_after_secs),
            ..FaultConfig::default()
        });
    }

    /// Delay added before every API answer (`None` turns it off).
    pub fn set_latency(&self, latency: Option<Duration>) {
        self.lock().faults.latency = latency;
    }

    /// The next `count` device creations answer 202 Accepted even when asked to be synchronous.
    pub fn accept_async_next(&self, count: u32) {
        self.lock().faults.accept_async_next = count;
    }

    /// Every access token issued so far expires now (refresh tokens stay valid).
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for grant in self.lock().access_tokens.values_mut() {
            grant.expires_at = now;
        }
    }

    /// Every access and refresh token issued so far is revoked.
    pub fn revoke_tokens(&self) {
        let mut st = self.lock();
        st.access_tokens.clear();
        st.refresh_tokens.clear();
    }

    /// Lifetime (`expires_in`) of access tokens issued from now on (default one hour).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.lock().token_lifetime = lifetime;
    }

    /// Whether new devices in `domain` must name an emergency address. Returns `false` when the
    /// domain does not exist.
    pub fn set_require_emergency_address(&self, domain: &str, required: bool) -> bool {
        match self.lock().domains.get_mut(domain) {
            Some(d) => {
                d.require_emergency_address = required;
                true
            }
            None => false,
        }
    }

    /// Whether new addresses in `domain` must pass the validate endpoint first. Returns
    /// `false` when the domain does not exist.
    pub fn set_require_address_validation(&self, domain: &str, required: bool) -> bool {
        match self.lock().domains.get_mut(domain) {
            Some(d) => {
                d.require_address_validation = required;
                true
            }
            None => false,
        }
    }

    /// Whether an empty device listing in `domain` answers 404 instead of `[]`. Returns `false`
    /// when the domain does not exist.
    pub fn set_empty_device_list_404(&self, domain: &str, enabled: bool) -> bool {
        match self.lock().domains.get_mut(domain) {
            Some(d) => {
                d.empty_device_list_404 = enabled;
                true
            }
            None => false,
        }
    }

    /// Accepts another API key with the given reach.
    pub fn add_api_key(&self, key: &str, access: Access, readonly: bool) {
        let prefix = match access {
            Access::System => "nss",
            Access::Reseller(_) => "nsr",
            Access::Domain(_) => "nsd",
        };
        let key_id = format!("{prefix}-{}", key.chars().rev().take(8).collect::<String>());
        self.lock().api_keys.insert(
            key.to_owned(),
            ApiKey {
                key_id,
                description: "Added by a test".to_owned(),
                access,
                readonly,
            },
        );
    }

    /// Adds an extension (user) without devices. Returns `false` when the domain does not exist
    /// or the extension is taken.
    pub fn add_extension(
        &self,
        domain: &str,
        extension: &str,
        first_name: &str,
        last_name: &str,
    ) -> bool {
        let mut st = self.lock();
        let Some(d) = st.domains.get_mut(domain) else {
            return false;
        };
        if d.users.contains_key(extension) || !state::valid_object_id(extension) {
            return false;
        }
        d.users.insert(
            extension.to_owned(),
            User {
                user: extension.to_owned(),
                first_name: first_name.to_owned(),
                last_name: last_name.to_owned(),
                email: String::new(),
                site: String::new(),
                department: String::new(),
                emergency_address_id: None,
                devices: Default::default(),
            },
        );
        true
    }

    /// Routes phone number `number` (digits) to `extension`. Returns `false` when the domain
    /// or the extension does not exist.
    pub fn add_phone_number(&self, domain: &str, number: &str, extension: &str) -> bool {
        let mut st = self.lock();
        let Some(d) = st.domains.get_mut(domain) else {
            return false;
        };
        if !d.users.contains_key(extension) {
            return false;
        }
        d.phone_numbers.insert(
            number.to_owned(),
            state::PhoneNumberRec {
                number: number.to_owned(),
                user: extension.to_owned(),
                enabled: true,
            },
        );
        true
    }

    /// Reports `device` as registered (or not, with `None`). Returns `false` when the device
    /// does not exist.
    pub fn set_registration(
        &self,
        domain: &str,
        device: &str,
        info: Option<RegistrationInfo>,
    ) -> bool {
        let mut st = self.lock();
        let Some(rec) = st
            .domains
            .get_mut(domain)
            .and_then(|d| d.devices.get_mut(device))
        else {
            return false;
        };
        rec.registration = info.map(|i| Registration {
            user_agent: i.user_agent,
            contact: i.contact,
            ip_address: i.ip_address,
            core_server: DEMO_CORE_SERVER.to_owned(),
            keeps_registering: i.keeps_registering,
            registered_at: SystemTime::now(),
            expires_at: None,
            from_registrar: false,
        });
        true
    }

    /// Counters of what clients did so far.
    pub fn stats(&self) -> SimStats {
        self.lock().stats.clone()
    }

    /// The SIP password of a device, as the PBX stores it.
    pub fn device_password(&self, domain: &str, device: &str) -> Option<String> {
        self.lock()
            .domains
            .get(domain)?
            .devices
            .get(device)
            .map(|d| d.password.clone())
    }

    /// All device ids of a domain, sorted.
    pub fn device_ids(&self, domain: &str) -> Vec<String> {
        self.lock()
            .domains
            .get(domain)
            .map(|d| d.devices.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The emergency address a device is bound to.
    pub fn device_emergency_address(&self, domain: &str, device: &str) -> Option<String> {
        self.lock()
            .domains
            .get(domain)?
            .devices
            .get(device)?
            .emergency_address_id
            .clone()
    }

    /// Number of extensions (users) in a domain.
    pub fn extension_count(&self, domain: &str) -> usize {
        self.lock().domains.get(domain).map_or(0, |d| d.users.len())
    }
}

/// A running simulator. Dropping it stops the server.
#[derive(Debug)]
pub struct NetSapiensSimHandle {
    /// `http://127.0.0.1:<port>`: what a client uses as the NetSapiens API base URL (the API
    /// lives under `/ns-api/v2`).
    pub base_url: String,
    pub addr: SocketAddr,
    sim: NetSapiensSim,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl NetSapiensSimHandle {
    /// The control handle of the running simulator.
    pub fn sim(&self) -> &NetSapiensSim {
        &self.sim
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for NetSapiensSimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
