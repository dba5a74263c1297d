//! How fast the gateway registers many device handles: N handles of a generated PBX domain,
//! the stand-in registrar (a real Kamailio) as the PBX, the gateway's Kamailio supervised.
//! Prints one JSON object (its last line): time to push every record, time until all are registered, the
//! time of a reconcile pass with nothing to do, CPU seconds of both Kamailios (the gateway and
//! the stand-in registrar) and of Teamline, and Teamline's peak RSS (this process's peak less
//! what the simulated PBX held before the gateway started), with the targets and whether they
//! were met. Fails when not every handle registered.
//!
//! `teamline bench registrations --handles 10000` (build with `--release`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::time::{Duration, Instant};

use clap::Args;

use secrecy::SecretString;
use teamline_domain::device::DeviceAuthId;
use teamline_domain::ids::EnterpriseId;
use teamline_domain::pbx_location::DnsLookup;
use teamline_domain::phone::PhoneNumber;
use teamline_domain::sip::{ProxyHost, SipDomain};
use teamline_gateway::config::{GatewaySettings, Listener, RpcListener};
use teamline_gateway::dns::{DnsSettings, PbxResolver};
use teamline_gateway::registration::DesiredRegistration;
use teamline_gateway::rpc::RpcClient;
use teamline_gateway::service::RegistrationService;
use teamline_gateway::supervisor::{Supervisor, SupervisorSettings};
use teamline_sim::netsapiens::NetSapiensSim;
use teamline_sim::netsapiens::registrar::Registrar;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn free_port() -> u16 {
    loop {
        let Ok(tcp) = TcpListener::bind((LOCALHOST, 0)) else {
            continue;
        };
        let Ok(addr) = tcp.local_addr() else { continue };
        if UdpSocket::bind((LOCALHOST, addr.port())).is_ok() {
            return addr.port();
        }
    }
}

/// CPU seconds (user + system) of every process in the process group `pgid`.
fn group_cpu_secs(pgid: u32) -> f64 {
    let ticks = 100.0; // USER_HZ on Linux
    let mut total = 0u64;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        // After ")": state ppid pgrp … utime(12) stime(13), counted from state = 0.
        if f.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid) {
            total += f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            total += f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    total as f64 / ticks
}

/// A memory line of `/proc/self/status` (`VmHWM`: peak RSS, `VmRSS`: now) in MB.
fn status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Targets on a 2-core machine.
const ALL_REGISTERED_SECS: f64 = 60.0;
const RECONCILE_SECS: f64 = 1.0;
const TEAMLINE_RSS_MB: f64 = 150.0;

#[derive(Args, Debug, Clone)]
pub struct BenchRegistrationsArgs {
    /// Device handles of the generated PBX domain to register.
    #[arg(long, default_value_t = 10_000)]
    pub handles: u32,
}

/// CPU seconds (user + system) of this process.
fn own_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 / 100.0
}

pub async fn run(args: &BenchRegistrationsArgs) -> anyhow::Result<()> {
    let n = args.handles;
    let dir = std::env::temp_dir().join(format!(
        "teamline-bench-registrations-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir)?;
    let result = bench(n, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn bench(n: u32, dir: &std::path::Path) -> anyhow::Result<()> {
    let teamline_cpu0 = own_cpu_secs();
    let sim = NetSapiensSim::new().seed_generated("bench", n);
    let registrar = Registrar::start(
        sim.clone(),
        SocketAddr::new(LOCALHOST, free_port()),
        free_port(),
        &dir.join("registrar"),
    )
    .await?;
    let registrar_pid = registrar.pid().await.unwrap_or(0);
    let registrar_cpu0 = group_cpu_secs(registrar_pid);
    // The simulated PBX and its registrar's bookkeeping share this process: what they hold
    // is not Teamline's.
    let rss_before_gateway = status_mb("VmRSS");
    let mut settings = GatewaySettings::new(
        "gw-bench",
        Listener::udp(LOCALHOST, free_port()),
        RpcListener::loopback(free_port()),
        dir.join("config"),
    );
    settings.registrations.expected_records = n;
    settings.registrations.timer_interval_secs = 1;
    let supervisor = Supervisor::start(&settings, SupervisorSettings::new(dir.join("run"))).await?;
    let gw_pid = supervisor.pid().unwrap_or(0);
    let svc = RegistrationService::new(
        RpcClient::new(&settings.rpc)?,
        PbxResolver::new(&DnsSettings::default())?,
    );
    let proxy = ProxyHost::parse(&registrar.sip_addr().to_string())?;
    let mut desired = Vec::new();
    for i in 0..n {
        let dev = (1000 + i).to_string();
        let pw = sim.device_password("bench", &dev).unwrap_or_default();
        desired.push(DesiredRegistration::new(
            EnterpriseId(1),
            PhoneNumber::parse(&format!("+1{dev}"))?,
            "bench.sbc.example.net",
            DeviceAuthId::parse(&dev)?,
            SipDomain::parse("bench")?,
            SecretString::from(pw),
            proxy.clone(),
            DnsLookup::A,
        ));
    }
    svc.set_desired(desired);
    let gw_cpu0 = group_cpu_secs(gw_pid);

    let started = Instant::now();
    let first = svc.reconcile().await?;
    let push = started.elapsed();
    let mut registered = 0;
    let deadline = started + Duration::from_secs(300);
    while Instant::now() < deadline {
        registered = svc
            .status()
            .await
            .iter()
            .filter(|s| s.state.kind() == "registered")
            .count();
        if registered == n as usize {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let all_registered = started.elapsed();
    let rpc = RpcClient::new(&settings.rpc)?;
    let t = Instant::now();
    let dump = rpc.uac_reg_dump().await?;
    let dump_took = t.elapsed();
    let t = Instant::now();
    let states = rpc.htable_dump("uacstate").await?;
    let htable_took = t.elapsed();
    let idle = svc.reconcile().await?;
    svc.force_full_pass();
    let full = svc.reconcile().await?;
    let status_started = Instant::now();
    let _ = svc.status().await;
    let status_took = status_started.elapsed();
    let peak_rss = status_mb("VmHWM");
    let teamline_rss = peak_rss - rss_before_gateway;
    let reconcile = idle.took.as_secs_f64().max(full.took.as_secs_f64());
    let all_registered_secs = all_registered.as_secs_f64();
    let targets_met = registered == n as usize
        && all_registered_secs <= ALL_REGISTERED_SECS
        && reconcile <= RECONCILE_SECS
        && teamline_rss <= TEAMLINE_RSS_MB;
    let report = serde_json::json!({
        "handles": n,
        "pushed_records": first.applied.added,
        "push_seconds": push.as_secs_f64(),
        "registered": registered,
        "all_registered_seconds": all_registered_secs,
        "reconcile_in_sync_seconds": idle.took.as_secs_f64(),
        "reconcile_full_in_sync_seconds": full.took.as_secs_f64(),
        "kamailio_reg_dump_seconds": dump_took.as_secs_f64(),
        "kamailio_reg_dump_records": dump.len(),
        "kamailio_htable_dump_seconds": htable_took.as_secs_f64(),
        "kamailio_htable_dump_records": states.len(),
        // Each registration is refreshed interval + 3 s before it runs out.
        "steady_state_registers_per_second": f64::from(n) / f64::from(600 - 1 - 3),
        "status_seconds": status_took.as_secs_f64(),
        "gateway_kamailio_cpu_seconds": group_cpu_secs(gw_pid) - gw_cpu0,
        "registrar_kamailio_cpu_seconds": group_cpu_secs(registrar_pid) - registrar_cpu0,
        "teamline_cpu_seconds": own_cpu_secs() - teamline_cpu0,
        "process_peak_rss_mb": peak_rss,
        "simulators_rss_mb": rss_before_gateway,
        "teamline_peak_rss_mb": teamline_rss,
        "targets": {
            "all_registered_seconds": ALL_REGISTERED_SECS,
            "reconcile_seconds": RECONCILE_SECS,
            "teamline_peak_rss_mb": TEAMLINE_RSS_MB,
        },
        "targets_met": targets_met,
    });
    supervisor.stop().await;
    registrar.stop().await;
    drop(registrar);
    let mut problems = Vec::new();
    if registered != n as usize {
        problems.push(format!(
            "{registered} of {n} handles registered: every handle must register"
        ));
    }
    if first.applied.added != n as usize || dump.len() != n as usize {
        problems.push(format!(
            "the gateway got {} records and holds {}: it must hold all {n}",
            first.applied.added,
            dump.len()
        ));
    }
    super::validated(&report, &problems)?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
