//! How fast the gateway registers many device handles: N handles of a generated PBX domain,
//! the stand-in registrar (a real Kamailio) as the PBX, the gateway's Kamailio supervised.
//! Prints one JSON object (its last line): time to push every record, time until all are
//! registered (as Teamline tracks it), the time of the periodic pass (quick pass + audit
//! slice, what every tick costs in steady state), of the full read Teamline does when it
//! starts against a running gateway, of the full pass after the gateway's Kamailio restarted
//! (it is killed, the supervisor starts it again, every record is pushed again) and how long
//! until all are registered again, of `status` (the tracked states), CPU seconds of both
//! Kamailios and of Teamline, and Teamline's peak RSS (this process's peak less what the
//! simulated PBX held before the gateway started), with the targets and whether they were
//! met. Fails when not every handle registered (before and after the restart), when the
//! tracked states disagree with what Kamailio holds, or when an audit found drift.
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

use super::proc_stats::{group_cpu_secs, own_cpu_secs, status_mb};

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

/// Targets on a 2-core machine.
const ALL_REGISTERED_SECS: f64 = 60.0;
/// The periodic pass (every tick) and `status`.
const RECONCILE_SECS: f64 = 1.0;
/// Periodic passes measured in steady state.
const AUDIT_PASSES: usize = 10;
const TEAMLINE_RSS_MB: f64 = 150.0;

#[derive(Args, Debug, Clone)]
pub struct BenchRegistrationsArgs {
    /// Device handles of the generated PBX domain to register.
    #[arg(long, default_value_t = 10_000)]
    pub handles: u32,
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
    let (registered, all_registered) = wait_registered(&svc, n, started).await;

    // Steady state: the passes every tick makes, each auditing a slice.
    let mut audit_passes = Vec::new();
    let mut problems = Vec::new();
    for _ in 0..AUDIT_PASSES {
        let pass = svc.reconcile().await?;
        if pass.full || pass.drift != 0 || !pass.applied.failures.is_empty() {
            problems.push(format!(
                "a steady-state pass was full ({}) or found drift ({}) or failed ({:?}): nothing changed behind Teamline's back",
                pass.full, pass.drift, pass.applied.failures
            ));
        }
        audit_passes.push((pass.took.as_secs_f64(), pass.audited));
    }
    let audit_max = audit_passes.iter().map(|p| p.0).fold(0.0, f64::max);
    let audit_mean = audit_passes.iter().map(|p| p.0).sum::<f64>() / audit_passes.len() as f64;
    let audited = audit_passes.first().map_or(0, |p| p.1);

    // What the portal and `gateway status` read: the tracked states, checked against
    // Kamailio's own records.
    let status_started = Instant::now();
    let tracked = svc.status();
    let status_took = status_started.elapsed();
    let tracked_registered = tracked
        .handles
        .iter()
        .filter(|h| h.state.kind() == "registered")
        .count();
    // Teamline starting against a running gateway: one full read.
    svc.force_full_pass();
    let start_read = svc.reconcile().await?;

    // The gateway's Kamailio dies and its supervisor starts it again: one full pass pushes
    // every record back.
    let gw_cpu_before_crash = group_cpu_secs(gw_pid) - gw_cpu0;
    crash(gw_pid);
    let restarted_pid = supervisor
        .wait_running(2, Duration::from_secs(60))
        .await
        .unwrap_or(0);
    let restarted_at = Instant::now();
    let restart_pass = loop {
        match svc.reconcile().await {
            Ok(pass) => break pass,
            Err(_) if restarted_at.elapsed() < Duration::from_secs(60) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    let (registered_again, all_registered_again) = wait_registered(&svc, n, restarted_at).await;

    let peak_rss = status_mb("VmHWM");
    let teamline_rss = peak_rss - rss_before_gateway;
    // The bench's own reads of Kamailio's whole state (ground truth and Kamailio's timings)
    // come after the peak is read: they are not Teamline's memory.
    let t = Instant::now();
    let from_kamailio = svc.status_from_kamailio().await;
    let kamailio_status_took = t.elapsed();
    let kamailio_registered = from_kamailio
        .iter()
        .filter(|h| h.state.kind() == "registered")
        .count();
    // Compared at the same moment as Kamailio's records were read.
    let tracked_now = svc
        .status()
        .handles
        .iter()
        .filter(|h| h.state.kind() == "registered")
        .count();

    let rpc = RpcClient::new(&settings.rpc)?;
    let t = Instant::now();
    let dump = rpc.uac_reg_dump().await?;
    let dump_took = t.elapsed();
    let t = Instant::now();
    let states = rpc.htable_dump("uacstate").await?;
    let htable_took = t.elapsed();
    let all_registered_secs = all_registered.as_secs_f64();
    let targets_met = registered == n as usize
        && all_registered_secs <= ALL_REGISTERED_SECS
        && audit_max <= RECONCILE_SECS
        && status_took.as_secs_f64() <= RECONCILE_SECS
        && teamline_rss <= TEAMLINE_RSS_MB;
    let report = serde_json::json!({
        "handles": n,
        "pushed_records": first.applied.added,
        "push_seconds": push.as_secs_f64(),
        "registered": registered,
        "all_registered_seconds": all_registered_secs,
        // The periodic pass: what each tick costs once everything is registered.
        "audit_pass_seconds_max": audit_max,
        "audit_pass_seconds_mean": audit_mean,
        "audit_passes_measured": audit_passes.len(),
        "audit_records_per_pass": audited,
        "audit_lap_passes": svc.audit_lap_passes(),
        "audit_lap_seconds_at_2s_tick": svc.audit_lap_passes() * 2,
        "full_read_at_teamline_start_seconds": start_read.took.as_secs_f64(),
        "restart_full_pass_seconds": restart_pass.took.as_secs_f64(),
        "restart_pushed_records": restart_pass.applied.added,
        "restart_all_registered_seconds": all_registered_again.as_secs_f64(),
        "status_seconds": status_took.as_secs_f64(),
        "status_registered": tracked_registered,
        "status_from_kamailio_seconds": kamailio_status_took.as_secs_f64(),
        "kamailio_reg_dump_seconds": dump_took.as_secs_f64(),
        "kamailio_reg_dump_records": dump.len(),
        "kamailio_htable_dump_seconds": htable_took.as_secs_f64(),
        "kamailio_htable_dump_records": states.len(),
        // Each registration is refreshed interval + 3 s before it runs out.
        "steady_state_registers_per_second": f64::from(n) / f64::from(600 - 1 - 3),
        "gateway_kamailio_cpu_seconds": gw_cpu_before_crash + group_cpu_secs(restarted_pid),
        "registrar_kamailio_cpu_seconds": group_cpu_secs(registrar_pid) - registrar_cpu0,
        "teamline_cpu_seconds": own_cpu_secs() - teamline_cpu0,
        "process_peak_rss_mb": peak_rss,
        "simulators_rss_mb": rss_before_gateway,
        "teamline_peak_rss_mb": teamline_rss,
        "targets": {
            "all_registered_seconds": ALL_REGISTERED_SECS,
            "audit_pass_seconds": RECONCILE_SECS,
            "status_seconds": RECONCILE_SECS,
            "teamline_peak_rss_mb": TEAMLINE_RSS_MB,
        },
        "targets_met": targets_met,
    });
    supervisor.stop().await;
    registrar.stop().await;
    drop(registrar);
    let n = n as usize;
    if registered != n {
        problems.push(format!(
            "{registered} of {n} handles registered: every handle must register"
        ));
    }
    if first.applied.added != n || dump.len() != n {
        problems.push(format!(
            "the gateway got {} records and holds {}: it must hold all {n}",
            first.applied.added,
            dump.len()
        ));
    }
    if tracked_now != kamailio_registered || tracked.handles.len() != n {
        problems.push(format!(
            "Teamline tracks {tracked_now} of {} handles as registered, Kamailio's records say {kamailio_registered}: they must agree",
            tracked.handles.len()
        ));
    }
    if audited != n.min(svc.audit_per_pass()) {
        problems.push(format!(
            "a pass audited {audited} records, not {}",
            n.min(svc.audit_per_pass())
        ));
    }
    if !start_read.full || start_read.applied != Default::default() {
        problems.push(format!(
            "Teamline's start against the running gateway must be one full read with nothing to repair (full: {}, {:?})",
            start_read.full, start_read.applied
        ));
    }
    if !restart_pass.kamailio_restarted || !restart_pass.full || restart_pass.applied.added != n {
        problems.push(format!(
            "after the gateway's restart one full pass must push all {n} records again (restart seen: {}, full: {}, pushed {})",
            restart_pass.kamailio_restarted, restart_pass.full, restart_pass.applied.added
        ));
    }
    if registered_again != n {
        problems.push(format!(
            "{registered_again} of {n} handles registered again after the gateway's restart"
        ));
    }
    super::validated(&report, &problems)?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Reconciles as `serve`'s ticks do until every handle is registered as Teamline tracks it
/// (at most 300 s); how many were, and when.
async fn wait_registered(svc: &RegistrationService, n: u32, since: Instant) -> (usize, Duration) {
    let mut registered = 0;
    let deadline = since + Duration::from_secs(300);
    while Instant::now() < deadline {
        let _ = svc.reconcile().await;
        registered = svc
            .status()
            .handles
            .iter()
            .filter(|s| s.state.kind() == "registered")
            .count();
        if registered == n as usize {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    (registered, since.elapsed())
}

/// SIGKILL to the gateway's process group: what a crash looks like.
fn crash(pgid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status();
}
