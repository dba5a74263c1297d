//! What the tests share: tool checks, free ports, a gateway node in a temp dir.

use std::net::{IpAddr, Ipv4Addr, TcpListener, UdpSocket};
use std::path::Path;
use std::time::Duration;

use teamline_gateway::config::{GatewaySettings, Listener, LogLevel, RpcListener};
use teamline_gateway::rpc::RpcClient;
use teamline_gateway::supervisor::{Supervisor, SupervisorSettings};

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
        Path::new(teamline_gateway::config::DEFAULT_MODULE_DIR)
            .join("db_text.so")
            .is_file(),
        "Kamailio's modules are missing: run scripts/test.sh, or apt-get install kamailio"
    );
}

/// A port that was free a moment ago on both UDP and TCP.
pub fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind((LOCALHOST, 0)).expect("bind a TCP port");
        let port = tcp.local_addr().expect("local addr").port();
        if UdpSocket::bind((LOCALHOST, port)).is_ok() {
            return port;
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
    s.registrations.retry_interval_secs = 2;
    s.registrations.register_timeout = Duration::from_secs(2);
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
