//! Loopback peers, ports and a supervised gateway node: what the gateway's tests, the CLI's
//! tests and `teamline bench registrations|calls` run on.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::time::Duration;

use secrecy::SecretString;
use teamline_domain::device::DeviceAuthId;
use teamline_domain::ids::EnterpriseId;
use teamline_domain::pbx_location::DnsLookup;
use teamline_domain::phone::PhoneNumber;
use teamline_domain::sip::{ProxyHost, SipDomain};
use teamline_sim::netsapiens::NetSapiensSim;
use teamline_sim::netsapiens::registrar::Registrar;

use crate::config::{GatewaySettings, Listener, LogLevel, RpcListener};
use crate::dns::{DnsSettings, PbxResolver};
use crate::registration::DesiredRegistration;
use crate::rpc::RpcClient;
use crate::service::RegistrationService;
use crate::supervisor::{Supervisor, SupervisorSettings};

pub const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Fails (never skips) when a tool the tests drive is missing.
pub fn require_tool(bin: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(bin).is_file()))
        .unwrap_or(false)
        || Path::new(bin).is_file();
    assert!(
        found,
        "`{bin}` is not installed: these tests run the real thing. Run scripts/test.sh (it installs \
         the Debian package `{package}`), or `apt-get install {package}`"
    );
}

pub fn require_kamailio() {
    require_tool("kamailio", "kamailio");
    assert!(
        Path::new(crate::config::DEFAULT_MODULE_DIR)
            .join("db_text.so")
            .is_file(),
        "Kamailio's modules are missing: run scripts/test.sh, or apt-get install kamailio"
    );
}

/// The ports the tests hand out themselves (`free_port`, `free_media_ports`): below the
/// kernel's ephemeral range (32768 and up), so no outgoing connection or DNS query of any
/// process on the machine can take one between the moment it was found free and the moment
/// Kamailio or sipp binds it. rtpengine gets [`RTPENGINE_PORTS`], also apart (and apart from
/// the demo's rtpengine, 20000–39999).
const TEST_PORTS: std::ops::Range<u16> = 10_000..15_000;
/// Where the tests' rtpengines take their media port blocks (of 100, one lock file each).
pub const RTPENGINE_PORTS: std::ops::Range<u16> = 15_000..20_000;

/// A random number, different in every call and every process.
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.finish()
}

fn random_in(range: &std::ops::Range<u16>) -> u16 {
    let span = u64::from(range.end - range.start);
    range.start + u16::try_from(random_u64() % span).expect("below the span")
}

/// Claims `port` for this test process until it ends: a lock file per port (flock), so that
/// two tests running at once never hand out the same port before either has bound it.
fn claim(port: u16) -> bool {
    static HELD: std::sync::Mutex<Vec<std::fs::File>> = std::sync::Mutex::new(Vec::new());
    let dir = std::env::temp_dir().join("teamline-test-ports");
    if std::fs::create_dir_all(&dir).is_err() {
        return false;
    }
    let Ok(file) = std::fs::File::create(dir.join(format!("{port}.lock"))) else {
        return false;
    };
    if file.try_lock().is_err() {
        return false;
    }
    HELD.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(file);
    true
}

/// A port free on both UDP and TCP a moment ago, and claimed by no other test.
pub fn free_port() -> u16 {
    loop {
        let port = random_in(&TEST_PORTS);
        let tcp = TcpListener::bind((LOCALHOST, port));
        if tcp.is_ok() && UdpSocket::bind((LOCALHOST, port)).is_ok() && claim(port) {
            return port;
        }
    }
}

/// The first of four consecutive UDP ports (even) that were free a moment ago: sipp's media
/// port `-mp` takes it and the next three (audio RTP/RTCP, video RTP/RTCP), and fails the whole
/// scenario when any of them is taken.
pub fn free_media_ports() -> u16 {
    loop {
        let base = random_in(&TEST_PORTS) / 2 * 2;
        let socks: Vec<_> = (base..base + 4)
            .map(|p| UdpSocket::bind((LOCALHOST, p)))
            .collect();
        if socks.iter().all(Result::is_ok) && (base..base + 4).all(claim) {
            return base;
        }
    }
}

/// Gateway settings for a node on loopback with random ports, files under `dir`.
pub fn gateway_settings(dir: &Path) -> GatewaySettings {
    let mut s = GatewaySettings::new(
        "gw-test",
        Listener::udp(LOCALHOST, free_port()),
        RpcListener::loopback(free_port()),
        dir.join("config"),
    );
    s.logging.level = LogLevel::Info;
    s.registrations.timer_interval_secs = 1;
    s.registrations.retry_interval_secs = 3;
    s.registrations.register_timeout = Duration::from_secs(1);
    s.processes.udp_workers = 2;
    s
}

/// A running gateway node: Kamailio supervised, and an RPC client for it.
pub struct GatewayNode {
    pub settings: GatewaySettings,
    pub supervisor: Supervisor,
    pub rpc: RpcClient,
}

impl GatewayNode {
    pub async fn start(dir: &Path) -> GatewayNode {
        Self::start_with(gateway_settings(dir), dir).await
    }

    pub async fn start_with(settings: GatewaySettings, dir: &Path) -> GatewayNode {
        require_kamailio();
        let mut sup = SupervisorSettings::new(dir.join("run"));
        sup.backoff_initial = Duration::from_millis(100);
        let supervisor = Supervisor::start(&settings, sup)
            .await
            .expect("the gateway's Kamailio starts");
        let rpc = RpcClient::new(&settings.rpc).expect("RPC client");
        GatewayNode {
            settings,
            supervisor,
            rpc,
        }
    }
}

/// SIGKILL to a process group: what a crash looks like.
pub fn crash(pgid: u32) {
    let pid = rustix::process::Pid::from_raw(pgid as i32).expect("a pid");
    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
}

pub const CONTOSO: &str = "contoso";
pub const SBC_FQDN: &str = "contoso.sbc.example.net";

/// The simulated NetSapiens PBX (Contoso) with its SIP registrar on random loopback ports.
pub struct Pbx {
    pub sim: NetSapiensSim,
    pub registrar: Registrar,
}

impl Pbx {
    pub async fn start(dir: &Path) -> Pbx {
        require_kamailio();
        let sim = NetSapiensSim::new().seed_contoso();
        let sip = SocketAddr::new(LOCALHOST, free_port());
        let registrar = Registrar::start(sim.clone(), sip, free_port(), &dir.join("registrar"))
            .await
            .expect("the stand-in PBX registrar starts");
        Pbx { sim, registrar }
    }

    pub fn password(&self, device: &str) -> String {
        self.password_in(CONTOSO, device)
    }

    pub fn password_in(&self, domain: &str, device: &str) -> String {
        self.sim
            .device_password(domain, device)
            .expect("the device exists on the simulated PBX")
    }

    /// A handle for each of Contoso's desk devices 1000–1019.
    pub fn contoso_desk_handles(&self) -> Vec<DesiredRegistration> {
        (1000..1020)
            .map(|ext| {
                let dev = ext.to_string();
                desired(
                    &dev,
                    &format!("+1{ext}"),
                    &self.password(&dev),
                    self.proxy(),
                    DnsLookup::A,
                )
            })
            .collect()
    }

    /// The PBX location's proxy as an A-record proxy with an explicit port (no DNS needed).
    pub fn proxy(&self) -> ProxyHost {
        ProxyHost::parse(&self.registrar.sip_addr().to_string()).unwrap()
    }
}

/// What Teamline would want for Contoso's `device` paired with `number`.
pub fn desired(
    device: &str,
    number: &str,
    password: &str,
    proxy: ProxyHost,
    lookup: DnsLookup,
) -> DesiredRegistration {
    desired_in(CONTOSO, device, number, password, proxy, lookup)
}

/// [`desired`] for a device of another PBX domain.
pub fn desired_in(
    domain: &str,
    device: &str,
    number: &str,
    password: &str,
    proxy: ProxyHost,
    lookup: DnsLookup,
) -> DesiredRegistration {
    DesiredRegistration::new(
        EnterpriseId(1),
        PhoneNumber::parse(number).unwrap(),
        SBC_FQDN,
        DeviceAuthId::parse(device).unwrap(),
        SipDomain::parse(domain).unwrap(),
        SecretString::from(password.to_owned()),
        proxy,
        lookup,
    )
}

pub fn service(node: &GatewayNode, dns: DnsSettings) -> RegistrationService {
    let mut svc = RegistrationService::new(
        RpcClient::new(&node.settings.rpc).unwrap(),
        PbxResolver::new(&dns).unwrap(),
    );
    svc.set_register_timeout(node.settings.registrations.register_timeout);
    svc
}

/// Waits (reconciling between looks) until `check` holds; fails with the last value seen.
pub async fn eventually<T, E, F, Fut>(svc: &RegistrationService, what: &str, mut check: F) -> T
where
    E: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let _ = svc.reconcile().await;
        match check().await {
            Ok(v) => return v,
            Err(last) if std::time::Instant::now() > deadline => {
                panic!("{what} did not happen within 60 s; last seen: {last:?}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// The state `kind` of one handle.
pub async fn kind_of(
    svc: &RegistrationService,
    id: &crate::registration::RegistrationId,
) -> String {
    svc.status_from_kamailio()
        .await
        .into_iter()
        .find(|s| &s.id == id)
        .map(|s| s.state.kind().to_owned())
        .unwrap_or_default()
}

/// Waits until the handle's state is `kind` (reconciling meanwhile).
pub async fn wait_kind(
    svc: &RegistrationService,
    id: &crate::registration::RegistrationId,
    kind: &str,
) {
    eventually(svc, kind, || async {
        let k = kind_of(svc, id).await;
        if k == kind { Ok(()) } else { Err(k) }
    })
    .await
}

/// Every wanted handle's state, by kind, e.g. `{"registered": 20}`.
pub async fn kinds(svc: &RegistrationService) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for s in svc.status_from_kamailio().await {
        *out.entry(s.state.kind().to_owned()).or_insert(0) += 1;
    }
    out
}

/// Waits until every wanted handle is registered.
pub async fn wait_all_registered(svc: &RegistrationService) {
    let want = svc.desired_ids().len();
    eventually(svc, "every handle registered", || async {
        let k = kinds(svc).await;
        if k.get("registered") == Some(&want) {
            Ok(())
        } else {
            Err(k)
        }
    })
    .await
}
