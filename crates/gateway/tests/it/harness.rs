//! What the tests share: tool checks, free ports, a gateway node in a temp dir and the
//! stand-in PBX (in `teamline_gateway::testing`, which the CLI's tests and benches share too),
//! sipp as a misbehaving registrar.

use std::net::SocketAddr;
use std::path::Path;

use teamline_domain::sip::ProxyHost;
use teamline_gateway::service::RegistrationService;

pub use teamline_gateway::testing::node::{
    GatewayNode, LOCALHOST, Pbx, crash, desired, desired_in, eventually, free_media_ports,
    free_port, gateway_settings, kinds, require_kamailio, require_tool, service,
    wait_all_registered, wait_kind,
};

// ----- sipp as a registrar -----

/// sipp running a registrar (UAS) scenario from `tests/it/sipp/`; killed on drop.
pub struct Sipp {
    child: std::process::Child,
    pub addr: SocketAddr,
}

impl Sipp {
    pub fn registrar(scenario: &str, dir: &Path) -> Sipp {
        require_tool("sipp", "sip-tester");
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/sipp")
            .join(scenario);
        let port = free_port();
        let log = std::fs::File::create(dir.join(format!("sipp-{port}.log"))).unwrap();
        let child = std::process::Command::new("sipp")
            .arg("-sf")
            .arg(&file)
            .args([
                "-i",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-nostdin",
                "-trace_err",
            ])
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("sipp starts");
        Sipp {
            child,
            addr: SocketAddr::new(LOCALHOST, port),
        }
    }

    pub fn proxy(&self) -> ProxyHost {
        ProxyHost::parse(&self.addr.to_string()).unwrap()
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the only wanted handle's state satisfies `pick`.
pub async fn wait_state<T>(
    svc: &RegistrationService,
    what: &str,
    pick: impl Fn(&teamline_gateway::registration::RegistrationState) -> Option<T>,
) -> T {
    eventually(svc, what, || async {
        let s = svc.status_from_kamailio().await.remove(0).state;
        pick(&s).ok_or(s)
    })
    .await
}

/// A temporary directory for one test's processes, configs and logs. With
/// `TEAMLINE_TEST_KEEP_DIRS=1` it is kept (and named on stderr) to read the logs afterwards.
pub fn test_dir() -> tempfile::TempDir {
    let mut dir = tempfile::tempdir().expect("a temporary directory");
    if std::env::var_os("TEAMLINE_TEST_KEEP_DIRS").is_some() {
        dir.disable_cleanup(true);
        eprintln!("test directory kept: {}", dir.path().display());
    }
    dir
}
