//! The simulated PBX's SIP core: a real Kamailio registrar (registrar + usrloc + auth) that
//! authenticates REGISTERs with digest against the device passwords this simulator issues.
//!
//! How the two stay in step: the simulator *pushes* every device's SIP password into the
//! registrar's `creds` htable over Kamailio's JSON-RPC (`htable.sets` / `htable.delete`),
//! right after a device is created or deleted and once a second as a safety net, and pushes
//! all of them again after the registrar restarts. Pushing keeps the registrar stateless (it
//! can be killed and started at will, as the tests do), needs no database or SQL in the
//! simulator, and keeps passwords in memory only. In the other direction the registrar's
//! bindings (`ul.dump`) are mirrored into the simulator's devices, so the NetSapiens API's
//! `device-sip-registration-*` fields report what the registrar really holds.
//!
//! Faults for tests: [`Registrar::set_fault`] makes it answer every REGISTER with 403, 503,
//! 423 Interval Too Brief (below a minimum expiry), or not at all.

mod process;
mod rpc;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use askama::Template;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use super::NetSapiensSim;
use super::state::Registration;
use process::RegistrarProcess;
use rpc::RegistrarRpc;

/// Where Debian's package puts Kamailio's modules.
const MODULE_DIR: &str = "/usr/lib/x86_64-linux-gnu/kamailio/modules";

/// The expiry a registrar armed with [`RegistrarFault::IntervalTooBrief`] asks for.
pub const MIN_EXPIRES_ON_423: u32 = 3600;

/// How the registrar misbehaves, for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrarFault {
    /// 403 Forbidden to every REGISTER.
    Forbidden,
    /// 503 Service Unavailable to every REGISTER.
    Unavailable,
    /// 423 Interval Too Brief with `Min-Expires: 3600` to a REGISTER asking for less.
    IntervalTooBrief,
    /// No answer at all.
    NoAnswer,
}

impl RegistrarFault {
    fn as_str(self) -> &'static str {
        match self {
            RegistrarFault::Forbidden => "403",
            RegistrarFault::Unavailable => "503",
            RegistrarFault::IntervalTooBrief => "423",
            RegistrarFault::NoAnswer => "drop",
        }
    }
}

/// Errors of the registrar's process or RPC; they name what to install or look at.
#[derive(Debug, thiserror::Error)]
pub enum RegistrarError {
    #[error(
        "the simulated PBX registrar needs Kamailio ({0}); run scripts/test.sh or `apt-get install kamailio`"
    )]
    Spawn(std::io::Error),
    #[error(
        "the simulated PBX registrar did not answer its RPC within 20 s; the end of its log:\n{log}"
    )]
    NotReady { log: String },
    #[error("the simulated PBX registrar's files could not be written in {dir}: {source}")]
    Files {
        dir: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the simulated PBX registrar refused {method}: {detail}")]
    Rpc {
        method: &'static str,
        detail: String,
    },
    #[error("rendering the simulated PBX registrar's configuration failed: {0}")]
    Template(#[from] askama::Error),
}

/// One binding the registrar holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// `device@domain`.
    pub aor: String,
    pub contact: String,
    /// Seconds left.
    pub expires_in: u64,
    pub user_agent: String,
    /// Where the REGISTER came from (`sip:ip:port`), empty when it equals the contact.
    pub received: String,
    /// Unix time of the last REGISTER that refreshed it.
    pub last_modified: i64,
}

#[derive(Template)]
#[template(path = "netsapiens/registrar.cfg", escape = "none")]
struct RegistrarCfg<'a> {
    log_level: i8,
    module_dir: &'a str,
    sip_addr: IpAddr,
    sip_port: u16,
    rpc_port: u16,
    min_expires_on_423: u32,
    /// What an unknown device is checked against: random, so nobody can answer it.
    unknown_device_password: String,
}

/// A running registrar, kept in step with a [`NetSapiensSim`]. Dropping it kills Kamailio.
pub struct Registrar {
    inner: Arc<Inner>,
    sync: Option<JoinHandle<()>>,
}

struct Inner {
    sim: NetSapiensSim,
    dir: PathBuf,
    sip: SocketAddr,
    rpc: RegistrarRpc,
    process: Mutex<Option<RegistrarProcess>>,
    /// What the registrar's `creds` and `devs` tables hold, as last pushed.
    pushed: Mutex<BTreeMap<String, String>>,
    pushed_devs: Mutex<BTreeMap<String, String>>,
}

impl std::fmt::Debug for Registrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registrar")
            .field("sip", &self.inner.sip)
            .finish_non_exhaustive()
    }
}

impl Registrar {
    /// Starts a registrar for `sim` listening for SIP (UDP) on `sip` and for RPC on
    /// `127.0.0.1:rpc_port`, with its files in `dir`. Returns once every device's password is
    /// pushed.
    pub async fn start(
        sim: NetSapiensSim,
        sip: SocketAddr,
        rpc_port: u16,
        dir: &Path,
    ) -> Result<Registrar, RegistrarError> {
        let files = |source| RegistrarError::Files {
            dir: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(files)?;
        let cfg = RegistrarCfg {
            log_level: 1,
            module_dir: MODULE_DIR,
            sip_addr: sip.ip(),
            sip_port: sip.port(),
            rpc_port,
            min_expires_on_423: MIN_EXPIRES_ON_423,
            unknown_device_password: super::state::generate_password(&mut rand::rng()),
        }
        .render()?;
        std::fs::write(dir.join("registrar.cfg"), cfg).map_err(files)?;
        let inner = Arc::new(Inner {
            sim,
            dir: dir.to_owned(),
            sip,
            rpc: RegistrarRpc::new(rpc_port),
            process: Mutex::new(None),
            pushed: Mutex::new(BTreeMap::new()),
            pushed_devs: Mutex::new(BTreeMap::new()),
        });
        inner.start_process().await?;
        let sync = tokio::spawn(sync_loop(inner.clone()));
        Ok(Registrar {
            inner,
            sync: Some(sync),
        })
    }

    /// Where the PBX's SIP core listens (what the gateway registers to).
    pub fn sip_addr(&self) -> SocketAddr {
        self.inner.sip
    }

    /// The registrar Kamailio's process id (also its process group's), while it runs.
    pub async fn pid(&self) -> Option<u32> {
        self.inner.process.lock().await.as_ref().map(|p| p.pid())
    }

    /// Kills the registrar (as a crash or an outage would): REGISTERs go unanswered.
    pub async fn stop(&self) {
        if let Some(p) = self.inner.process.lock().await.take() {
            p.kill().await;
        }
    }

    /// Starts it again on the same addresses, with no bindings, and pushes every password.
    pub async fn restart(&self) -> Result<(), RegistrarError> {
        self.stop().await;
        self.inner.start_process().await
    }

    /// Arms a fault (`None` disarms it).
    pub async fn set_fault(&self, fault: Option<RegistrarFault>) -> Result<(), RegistrarError> {
        match fault {
            Some(f) => {
                self.inner
                    .rpc
                    .call("htable.sets", &["fault", "register", f.as_str()])
                    .await
            }
            None => self
                .inner
                .rpc
                .call("htable.delete", &["fault", "register"])
                .await
                .or_else(|e| match e {
                    RegistrarError::Rpc { .. } => Ok(serde_json::Value::Null),
                    other => Err(other),
                }),
        }
        .map(drop)
    }

    /// Forwards every call for `extension` of `domain` to `target` (an answering rule "forward
    /// always"); `None` removes the rule. The forwarded call carries a Diversion header naming
    /// `extension`.
    pub async fn set_forward(
        &self,
        domain: &str,
        extension: &str,
        target: Option<&str>,
    ) -> Result<(), RegistrarError> {
        let key = format!("{extension}@{domain}");
        match target {
            Some(t) => self.inner.rpc.call("htable.sets", &["fwd", &key, t]).await,
            None => self.inner.rpc.call("htable.delete", &["fwd", &key]).await,
        }
        .map(drop)
    }

    /// Every binding the registrar holds now.
    pub async fn bindings(&self) -> Result<Vec<Binding>, RegistrarError> {
        self.inner.rpc.bindings().await
    }

    /// Pushes passwords and mirrors bindings now (the background loop does it every second
    /// and whenever a device changes).
    pub async fn sync_now(&self) -> Result<(), RegistrarError> {
        self.inner.sync_once().await
    }
}

impl Drop for Registrar {
    fn drop(&mut self) {
        if let Some(sync) = self.sync.take() {
            sync.abort();
        }
        if let Ok(mut p) = self.inner.process.try_lock()
            && let Some(p) = p.take()
        {
            p.kill_now();
        }
    }
}

impl Inner {
    async fn start_process(&self) -> Result<(), RegistrarError> {
        let p = RegistrarProcess::spawn(&self.dir.join("registrar.cfg"), &self.dir)?;
        let ready = self.rpc.wait_ready(Duration::from_secs(20)).await;
        if !ready {
            p.kill().await;
            let log = std::fs::read_to_string(self.dir.join("registrar.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            return Err(RegistrarError::NotReady {
                log: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            });
        }
        *self.process.lock().await = Some(p);
        // A new registrar holds no passwords: push them all.
        self.pushed.lock().await.clear();
        self.pushed_devs.lock().await.clear();
        self.sync_once().await
    }

    async fn sync_once(&self) -> Result<(), RegistrarError> {
        if self.process.lock().await.is_none() {
            return Ok(());
        }
        self.push_credentials().await?;
        let bindings = self.rpc.bindings().await?;
        mirror_bindings(&self.sim, &bindings, self.sip);
        Ok(())
    }

    async fn push_credentials(&self) -> Result<(), RegistrarError> {
        self.push_table("creds", credentials(&self.sim), &self.pushed)
            .await?;
        self.push_table("devs", device_lists(&self.sim), &self.pushed_devs)
            .await
    }

    /// Makes the registrar's htable `table` hold `want`, given what was pushed before.
    async fn push_table(
        &self,
        table: &str,
        want: BTreeMap<String, String>,
        pushed: &Mutex<BTreeMap<String, String>>,
    ) -> Result<(), RegistrarError> {
        let mut pushed = pushed.lock().await;
        for (key, password) in &want {
            if pushed.get(key) != Some(password) {
                self.rpc
                    .call("htable.sets", &[table, key, password])
                    .await?;
                pushed.insert(key.clone(), password.clone());
            }
        }
        let gone: Vec<String> = pushed
            .keys()
            .filter(|k| !want.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            // Not found is fine: the registrar may have restarted since.
            let _ = self.rpc.call("htable.delete", &[table, &key]).await;
            pushed.remove(&key);
        }
        Ok(())
    }
}

async fn sync_loop(inner: Arc<Inner>) {
    let changed = inner.sim.device_changes();
    loop {
        tokio::select! {
            () = changed.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        if let Err(e) = inner.sync_once().await {
            tracing::debug!(error = %e, "simulated PBX registrar sync failed; retrying");
        }
    }
}

/// `<extension>@<domain>::<n>` => the extension's n-th device, for every extension: the
/// devices a call for the extension rings.
fn device_lists(sim: &NetSapiensSim) -> BTreeMap<String, String> {
    let st = sim.lock();
    let mut out = BTreeMap::new();
    for d in st.domains.values() {
        let mut by_user: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for dev in d.devices.values() {
            by_user.entry(&dev.user).or_default().push(&dev.device);
        }
        for (user, devices) in by_user {
            for (i, dev) in devices.into_iter().enumerate() {
                out.insert(format!("{user}@{}::{i}", d.name), dev.to_owned());
            }
        }
    }
    out
}

/// `device@domain` => password for every device of every domain.
fn credentials(sim: &NetSapiensSim) -> BTreeMap<String, String> {
    let st = sim.lock();
    st.domains
        .values()
        .flat_map(|d| {
            d.devices
                .values()
                .map(move |dev| (format!("{}@{}", dev.device, d.name), dev.password.clone()))
        })
        .collect()
}

/// Writes the registrar's bindings into the simulator's devices: a device with a binding is
/// registered as the registrar says; a device whose registration came from the registrar and
/// that has no binding any more is not. Registrations set by the seed or a test (desk phones
/// that are not real SIP clients) are left alone.
fn mirror_bindings(sim: &NetSapiensSim, bindings: &[Binding], core: SocketAddr) {
    let now = SystemTime::now();
    let mut by_aor: BTreeMap<&str, &Binding> = BTreeMap::new();
    for b in bindings {
        // Several contacts for one device: report the freshest.
        let keep = by_aor
            .get(b.aor.as_str())
            .is_none_or(|old| old.last_modified < b.last_modified);
        if keep {
            by_aor.insert(b.aor.as_str(), b);
        }
    }
    let mut st = sim.lock();
    for d in st.domains.values_mut() {
        for dev in d.devices.values_mut() {
            let aor = format!("{}@{}", dev.device, d.name);
            match by_aor.get(aor.as_str()) {
                Some(b) => {
                    let at = UNIX_EPOCH
                        + Duration::from_secs(u64::try_from(b.last_modified).unwrap_or(0));
                    dev.registration = Some(Registration {
                        user_agent: b.user_agent.clone(),
                        contact: b.contact.clone(),
                        ip_address: ip_of(if b.received.is_empty() {
                            &b.contact
                        } else {
                            &b.received
                        }),
                        core_server: core.to_string(),
                        keeps_registering: false,
                        registered_at: at,
                        expires_at: Some(now + Duration::from_secs(b.expires_in)),
                        from_registrar: true,
                    });
                }
                None => {
                    if dev.registration.as_ref().is_some_and(|r| r.from_registrar) {
                        dev.registration = None;
                    }
                }
            }
        }
    }
}

/// The host of a SIP URI (`sip:user@1.2.3.4:5060;transport=udp` → `1.2.3.4`).
fn ip_of(uri: &str) -> String {
    let rest = uri.strip_prefix("sip:").unwrap_or(uri);
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = host.split([';', '>']).next().unwrap_or(host);
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h.to_owned(),
        _ => host.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::ip_of;

    #[test]
    fn contact_hosts() {
        assert_eq!(ip_of("sip:1000tm-ab@127.0.0.1:5062"), "127.0.0.1");
        assert_eq!(ip_of("sip:10.0.0.1:5060;transport=udp"), "10.0.0.1");
        assert_eq!(ip_of("sip:gw.example.net"), "gw.example.net");
    }
}
