//! The simulated PBX's SIP core: a real Kamailio registrar that knows the simulator's device
//! passwords, driven by sipp as a phone.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use teamline_sim::netsapiens::registrar::Registrar;
use teamline_sim::netsapiens::{
    CONTOSO_DOMAIN, CONTOSO_HQ_ADDRESS_ID, DEMO_API_KEY, NetSapiensSim,
};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind((LOCALHOST, 0)).unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind((LOCALHOST, port)).is_ok() {
            return port;
        }
    }
}

fn require(bin: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {bin}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{bin}` is not installed: run scripts/test.sh (it installs `{package}`) or apt-get install {package}"
    );
}

/// sipp registers `device` with `password`; true when the registrar answered 200.
fn sipp_register(registrar: SocketAddr, device: &str, password: &str, dir: &Path) -> bool {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/sipp/register.xml");
    Command::new("sipp")
        .arg(registrar.to_string())
        .arg("-sf")
        .arg(scenario)
        .args(["-s", device, "-au", device, "-ap", password])
        .args(["-i", "127.0.0.1", "-p", &free_port().to_string()])
        .args(["-m", "1", "-timeout", "10s", "-nostdin"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("sipp runs")
        .success()
}

async fn device_json(base: &str, user: &str, device: &str) -> Value {
    reqwest::Client::new()
        .get(format!(
            "{base}/ns-api/v2/domains/{CONTOSO_DOMAIN}/users/{user}/devices/{device}"
        ))
        .bearer_auth(DEMO_API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_phone_registers_with_the_simulators_password_and_the_api_shows_it() {
    require("kamailio", "kamailio");
    require("sipp", "sip-tester");
    let dir = tempfile::tempdir().unwrap();
    let sim = NetSapiensSim::new().seed_contoso();
    let registrar = Registrar::start(
        sim.clone(),
        SocketAddr::new(LOCALHOST, free_port()),
        free_port(),
        &dir.path().join("registrar"),
    )
    .await
    .unwrap();
    let api = sim
        .clone()
        .spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let sip = registrar.sip_addr();

    let password = sim.device_password(CONTOSO_DOMAIN, "1000tm").unwrap();
    assert!(!sipp_register(sip, "1000tm", "wrong-password", dir.path()));
    assert!(registrar.bindings().await.unwrap().is_empty());
    assert!(sipp_register(sip, "1000tm", &password, dir.path()));
    registrar.sync_now().await.unwrap();
    let dev = device_json(&api.base_url, "1000", "1000tm").await;
    assert_eq!(dev["device-sip-registration-state"], "registered");
    assert_eq!(dev["device-sip-registration-user-agent"], "sipp phone");

    // A device created over the API can register at once (its password was pushed).
    let created: Value = reqwest::Client::new()
        .post(format!(
            "{}/ns-api/v2/domains/{CONTOSO_DOMAIN}/users/1002/devices",
            api.base_url
        ))
        .bearer_auth(DEMO_API_KEY)
        .json(&json!({
            "device": "1002tm",
            "device-sip-registration-password": "Fresh1234pw",
            "emergency-address-id": CONTOSO_HQ_ADDRESS_ID,
            "synchronous": "yes"
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["device"], "1002tm", "{created}");
    let mut registered = false;
    for _ in 0..50 {
        if sipp_register(sip, "1002tm", "Fresh1234pw", dir.path()) {
            registered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(registered, "1002tm could not register after being created");

    // The registrar restarted holds no bindings, and the API says so.
    registrar.restart().await.unwrap();
    registrar.sync_now().await.unwrap();
    let dev = device_json(&api.base_url, "1000", "1000tm").await;
    assert_eq!(dev["device-sip-registration-state"], "unregistered");
    assert!(sipp_register(sip, "1000tm", &password, dir.path()));
}
