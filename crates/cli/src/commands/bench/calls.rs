//! Calls with media through the gateway, both ways at once: sipp places half of the calls from
//! a desk phone of the PBX to the extension paired with Teams (PBX → Teams) and half from the
//! Teams user to a desk phone (Teams → PBX), at `--rate` new calls per second in all, each held
//! long enough that every call is up at the same time. Every piece is real and on loopback:
//! the stand-in PBX (a Kamailio registrar), the gateway's Kamailio and rtpengine (SRTP toward
//! Microsoft, RTP toward the PBX), Microsoft's stand-in (Kamailio over mutual TLS and its own
//! rtpengine), sipp with audio on every phone and Teams client.
//!
//! Prints one JSON object (its last line): calls attempted, answered and failed (sipp's
//! counts on the callers' side), the most calls up at once and how many of them had media both
//! ways through the gateway's rtpengine (and SRTP errors), the call records Teamline built from
//! Kamailio's events, the setup latency the gateway adds (from the INVITE entering Kamailio
//! to it leaving toward the other side, as Kamailio's `siptrace` stamps both; p50, p99, max),
//! the sustained rate of new calls, CPU seconds and peak memory of the gateway's Kamailio, its
//! rtpengine and this process (Teamline's call events and SIP trace listener, and the
//! in-process simulated PBX). Fails when a call failed, went without media, or left no answered
//! call record.
//!
//! `teamline bench calls --calls 200 --rate 20` (build with `--release`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use clap::Args;
use teamline_gateway::calls::{CallRecords, EventStream, Outcome};
use teamline_gateway::media::MediaClient;
use teamline_gateway::testing::calls::{PortBlock, Stack, StackOptions, scenarios};
use teamline_gateway::testing::node::{free_media_ports, free_port};
use teamline_gateway::trace::hep::HepPacket;
use teamline_gateway::trace::{Sides, capture};

use super::proc_stats::{group_cpu_secs, group_pss_mb, own_cpu_secs, pid_status_mb, status_mb};

/// Targets on a 2-core machine.
const CONCURRENT_CALLS: u32 = 200;
const ADDED_SETUP_P99_MS: f64 = 20.0;

#[derive(Args, Debug, Clone)]
pub struct BenchCallsArgs {
    /// Calls up at once, half each way (an even number).
    #[arg(long, default_value_t = CONCURRENT_CALLS)]
    pub calls: u32,
    /// New calls per second, both ways together.
    #[arg(long, default_value_t = 20)]
    pub rate: u32,
}

pub async fn run(args: &BenchCallsArgs) -> anyhow::Result<()> {
    if args.calls < 2 || !args.calls.is_multiple_of(2) || args.rate < 2 {
        anyhow::bail!(
            "--calls must be an even number of at least 2 (half go each way) and --rate at least 2 (got {} and {})",
            args.calls,
            args.rate
        );
    }
    if args.calls > PortBlock::max_calls() {
        anyhow::bail!(
            "--calls {} is more than the {} calls at once whose media ports fit the range the tests' rtpengines share",
            args.calls,
            PortBlock::max_calls()
        );
    }
    let dir = std::env::temp_dir().join(format!("teamline-bench-calls-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = bench(args, &dir).await;
    // A failed run keeps sipp's logs: its error names their directory.
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

async fn bench(args: &BenchCallsArgs, dir: &Path) -> anyhow::Result<()> {
    let each_way = args.calls / 2;
    // Every call is still up when the last one is set up: the ramp, then all of them together
    // for 5 s or half the ramp (whichever is longer: a loaded machine sets calls up late), so
    // that media both ways is checked while every call is up.
    let ramp_ms = args.calls * 1000 / args.rate;
    let hold_ms = ramp_ms + (ramp_ms / 2).max(5000);
    let teamline_cpu0 = own_cpu_secs();
    // Media ports for every call at once on both rtpengines (too few: "Ran out of ports" and
    // calls refused with 503).
    let opts = StackOptions {
        media_calls: Some(args.calls),
        ..StackOptions::default()
    };
    let stack = Stack::start_with(dir, opts).await;
    let gw_pid = stack.node.supervisor.pid().unwrap_or(0);
    let rtpe_pid = stack.rtpengine_pid();
    let gw_cpu0 = group_cpu_secs(gw_pid);
    let rtpe_cpu0 = group_cpu_secs(rtpe_pid);
    let sides =
        stack.node.settings.trace_sides().ok_or_else(|| {
            anyhow::anyhow!("the gateway's Direct Routing side is not configured")
        })?;

    std::fs::write(dir.join("call.xml"), scenarios::CALL)?;
    std::fs::write(dir.join("answer.xml"), scenarios::ANSWER)?;
    let n = each_way.to_string();
    let teams = Sipp::start(
        dir,
        "teams",
        stack.microsoft.teams_uas.port(),
        None,
        &["-sf", "answer.xml", "-m", &n],
    )?;
    let desk_port = free_port();
    let desk = Sipp::start(
        dir,
        "desk-1001",
        desk_port,
        None,
        &["-sf", "answer.xml", "-m", &n],
    )?;
    if !stack.register_binding("1001", desk_port) {
        anyhow::bail!("the desk phone 1001 could not register at the stand-in PBX");
    }
    let half_rate = (f64::from(args.rate) / 2.0).to_string();
    let hold = hold_ms.to_string();
    let caller = |user: &str, domain: &str, service: &str| {
        let mut a: Vec<String> = [
            "-sf",
            "call.xml",
            "-key",
            "caller",
            user,
            "-key",
            "caller_domain",
            domain,
            "-key",
            "caller_name",
            user,
            "-s",
            service,
            "-d",
            &hold,
            "-m",
            &n,
            "-l",
            &n,
            "-r",
            &half_rate,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        a.push("-trace_stat".to_owned());
        a
    };
    let started = Instant::now();
    let mut pbx_args = caller("1001", "contoso", "1000");
    let pw = stack.pbx.password("1001");
    pbx_args.extend(["-au", "1001", "-ap", &pw].map(str::to_owned));
    let to_teams = Sipp::start(
        dir,
        "pbx-to-teams",
        free_port(),
        Some(stack.pbx.registrar.sip_addr().to_string()),
        &pbx_args.iter().map(String::as_str).collect::<Vec<_>>(),
    )?;
    let teams_args = caller(
        "+11000",
        teamline_gateway::testing::calls::TENANT_FQDN,
        "1001",
    );
    let to_pbx = Sipp::start(
        dir,
        "teams-to-pbx",
        free_port(),
        Some(stack.microsoft.udp.to_string()),
        &teams_args.iter().map(String::as_str).collect::<Vec<_>>(),
    )?;
    let mut callers = [to_teams, to_pbx];
    let mut callees = [teams, desk];

    // While the calls run: the SIP trace read here, the call events as Teamline reads them
    // (a connection of its own) and the gateway's media and memory in tasks of their own.
    let records = Arc::new(Mutex::new(Vec::new()));
    let events_addr = stack
        .node
        .settings
        .direct_routing
        .as_ref()
        .map(|d| d.events.listen);
    let events = events_addr.map(|addr| tokio::spawn(read_records(addr, Arc::clone(&records))));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn(sample_media(
        MediaClient::new(stack.media.addr()),
        args.calls as usize,
        gw_pid,
        Arc::clone(&stop),
    ));
    let mut invites = Invites::default();
    let deadline = started + Duration::from_millis(u64::from(hold_ms + ramp_ms) + 120_000);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut all_done_at: Option<Instant> = None;
    loop {
        tokio::select! {
            p = stack.trace.next() => {
                if let Ok(p) = p {
                    invites.trace(&p, &sides);
                }
            }
            _ = tick.tick() => {
                let done = callers.iter_mut().all(Sipp::exited);
                let recorded = records.lock().map_or(0, |r| r.len());
                // The last records come a moment after the last BYE; not forever.
                if (done && recorded >= args.calls as usize)
                    || Instant::now() > deadline
                    || all_done_at.is_some_and(|t| t.elapsed() > Duration::from_secs(20))
                {
                    break;
                }
                if done && all_done_at.is_none() {
                    all_done_at = Some(Instant::now());
                }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let seen = sampler.await?;
    if let Some(events) = events {
        events.abort();
    }
    let records: Vec<Outcome> = records.lock().map(|r| r.clone()).unwrap_or_default();
    let wall = started.elapsed();
    for c in callees.iter_mut().chain(callers.iter_mut()) {
        c.stop();
    }
    let counts: Vec<SippCounts> = callers.iter().map(Sipp::counts).collect();
    let attempted: u64 = counts.iter().map(|c| c.created).sum();
    let answered: u64 = counts.iter().map(|c| c.successful).sum();
    let failed: u64 = counts.iter().map(|c| c.failed).sum();
    let latency = invites.latencies_ms();
    let (p50, p99, max) = (
        percentile(&latency, 50),
        percentile(&latency, 99),
        latency.last().copied().unwrap_or(0.0),
    );
    let answered_records = records.iter().filter(|o| **o == Outcome::Answered).count();
    let rate = invites.setup_rate();
    let want = u64::from(args.calls);
    let targets_met = args.calls >= CONCURRENT_CALLS
        && failed == 0
        && answered == want
        && seen.peak_concurrent >= args.calls as usize
        && p99 <= ADDED_SETUP_P99_MS;
    let report = serde_json::json!({
        "calls": args.calls,
        "rate": args.rate,
        "hold_ms": hold_ms,
        "calls_attempted": attempted,
        "calls_answered": answered,
        "calls_failed": failed,
        "pbx_to_teams": counts[0].as_json(),
        "teams_to_pbx": counts[1].as_json(),
        "peak_concurrent_calls": seen.peak_concurrent,
        "calls_with_media_both_ways": seen.with_media,
        "srtp_errors": seen.media_errors,
        "call_records": records.len(),
        "call_records_answered": answered_records,
        "added_setup_latency_ms": {
            "measured_calls": latency.len(),
            "p50": p50,
            "p99": p99,
            "max": max,
        },
        "sustained_calls_per_second": rate,
        "wall_seconds": wall.as_secs_f64(),
        "gateway_kamailio_cpu_seconds": group_cpu_secs(gw_pid) - gw_cpu0,
        "gateway_kamailio_peak_pss_mb": seen.kamailio_pss_peak,
        "rtpengine_cpu_seconds": group_cpu_secs(rtpe_pid) - rtpe_cpu0,
        "rtpengine_peak_rss_mb": pid_status_mb(rtpe_pid, "VmHWM"),
        "teamline_cpu_seconds": own_cpu_secs() - teamline_cpu0,
        "teamline_peak_rss_mb": status_mb("VmHWM"),
        "targets": {
            "concurrent_calls": CONCURRENT_CALLS,
            "calls_failed": 0,
            "added_setup_latency_p99_ms": ADDED_SETUP_P99_MS,
        },
        "targets_met": targets_met,
    });
    let mut problems = Vec::new();
    if failed != 0 || answered != want || attempted != want {
        problems.push(format!(
            "{answered} of {want} calls answered and ended cleanly, {failed} failed, {attempted} attempted: every call must (sipp's logs: {})",
            dir.display()
        ));
    }
    if seen.with_media < args.calls as usize {
        problems.push(format!(
            "{} of {} calls had media both ways through the gateway's rtpengine while all were up",
            seen.with_media, args.calls
        ));
    }
    if seen.media_errors != 0 {
        problems.push(format!(
            "{} SRTP packets failed to decrypt at the gateway",
            seen.media_errors
        ));
    }
    if answered_records != args.calls as usize {
        problems.push(format!(
            "{answered_records} answered call records from Kamailio's events for {} calls",
            args.calls
        ));
    }
    if latency.len() != args.calls as usize {
        problems.push(format!(
            "the SIP trace showed {} calls' INVITE entering and leaving the gateway, not {}",
            latency.len(),
            args.calls
        ));
    }
    super::validated(&report, &problems)?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Per Call-ID: when its first INVITE entered the gateway (from Microsoft's proxy or the
/// PBX), and when the first left it toward the other side, as `siptrace` stamped them.
#[derive(Default)]
struct Invites(HashMap<String, (Option<SystemTime>, Option<SystemTime>)>);

impl Invites {
    fn trace(&mut self, p: &HepPacket, sides: &Sides) {
        let Some(m) = capture(p, sides) else { return };
        if m.summary.label != "INVITE" {
            return;
        }
        let seen = self.0.entry(m.summary.call_id).or_default();
        let slot = if m.from_gateway {
            &mut seen.1
        } else {
            &mut seen.0
        };
        if slot.is_none() {
            *slot = Some(m.at);
        }
    }

    /// The gateway's added setup latency of each call seen both ways, sorted, in ms.
    fn latencies_ms(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self
            .0
            .values()
            .filter_map(|(i, o)| o.as_ref()?.duration_since(*i.as_ref()?).ok())
            .map(|d| d.as_secs_f64() * 1000.0)
            .collect();
        v.sort_by(f64::total_cmp);
        v
    }

    /// New calls per second: INVITEs entering the gateway over the span from the first to the
    /// last.
    fn setup_rate(&self) -> f64 {
        let ins: Vec<SystemTime> = self.0.values().filter_map(|(i, _)| *i).collect();
        let (Some(first), Some(last)) = (ins.iter().min(), ins.iter().max()) else {
            return 0.0;
        };
        let span = last
            .duration_since(*first)
            .unwrap_or_default()
            .as_secs_f64();
        if span > 0.0 {
            (ins.len() - 1) as f64 / span
        } else {
            0.0
        }
    }
}

/// The call records Teamline builds from the gateway's call events: each finished call's
/// outcome, until the task is aborted.
async fn read_records(addr: SocketAddr, out: Arc<Mutex<Vec<Outcome>>>) {
    let Ok(mut events) = EventStream::connect(addr).await else {
        return;
    };
    let mut records = CallRecords::default();
    while let Ok(ev) = events.next().await {
        if let Some(r) = records.apply(&ev)
            && let Ok(mut out) = out.lock()
        {
            out.push(r.outcome);
        }
    }
}

/// What the gateway's rtpengine and Kamailio showed while the calls ran.
#[derive(Default)]
struct MediaSeen {
    peak_concurrent: usize,
    /// The most calls seen at once with packets both ways (SRTP with keys toward Microsoft,
    /// RTP toward the PBX).
    with_media: usize,
    /// SRTP and RTP packets rtpengine could not handle, over the calls checked.
    media_errors: u64,
    kamailio_pss_peak: f64,
}

/// Samples the gateway's memory and calls four times a second until `stop`; once every call is
/// up, checks each call's media (once a second, until all of them had media).
async fn sample_media(
    media: MediaClient,
    calls: usize,
    gw_pid: u32,
    stop: Arc<AtomicBool>,
) -> MediaSeen {
    let mut seen = MediaSeen::default();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        round += 1;
        seen.kamailio_pss_peak = seen.kamailio_pss_peak.max(group_pss_mb(gw_pid));
        let Ok(up) = media.list().await else { continue };
        seen.peak_concurrent = seen.peak_concurrent.max(up.len());
        if up.len() < calls || seen.with_media >= calls || !round.is_multiple_of(4) {
            continue;
        }
        let (mut flowing, mut errors) = (0, 0);
        for call in &up {
            let Ok(m) = media.query(call).await else {
                continue;
            };
            let (Some(srtp), Some(rtp)) = (m.leg("RTP/SAVP"), m.leg("RTP/AVP")) else {
                continue;
            };
            errors += srtp.errors + rtp.errors;
            if srtp.packets > 0 && rtp.packets > 0 && m.srtp() {
                flowing += 1;
            }
        }
        seen.with_media = seen.with_media.max(flowing);
        seen.media_errors = seen.media_errors.max(errors);
    }
    seen
}

/// The nearest-rank `pct` percentile of sorted values.
fn percentile(sorted: &[f64], pct: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// sipp playing one side's phones or Teams clients, its statistics in a CSV file.
struct Sipp {
    child: Child,
    dir: PathBuf,
    name: String,
    exited: bool,
}

impl Sipp {
    fn start(
        dir: &Path,
        name: &str,
        port: u16,
        target: Option<String>,
        args: &[&str],
    ) -> anyhow::Result<Sipp> {
        let media_port = free_media_ports();
        let log = std::fs::File::create(dir.join(format!("sipp-{name}.log")))?;
        let mut cmd = Command::new("sipp");
        if let Some(t) = target {
            cmd.arg(t);
        }
        let child = cmd
            .args(["-i", "127.0.0.1", "-mi", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .arg("-mp")
            .arg(media_port.to_string())
            .args(["-nostdin", "-trace_err", "-fd", "1", "-stf"])
            .arg(format!("{name}.csv"))
            .args(["-error_file"])
            .arg(format!("{name}-errors.log"))
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| anyhow::anyhow!("sipp (Debian package sip-tester) did not start: {e}"))?;
        Ok(Sipp {
            child,
            dir: dir.to_owned(),
            name: name.to_owned(),
            exited: false,
        })
    }

    fn exited(&mut self) -> bool {
        if !self.exited {
            self.exited = matches!(self.child.try_wait(), Ok(Some(_)));
        }
        self.exited
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The cumulative counts of sipp's last statistics line.
    fn counts(&self) -> SippCounts {
        let csv = std::fs::read_to_string(self.dir.join(format!("{}.csv", self.name)))
            .unwrap_or_default();
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split(';').collect();
        let last: Vec<&str> = lines.last().unwrap_or_default().split(';').collect();
        let col = |name: &str| {
            header
                .iter()
                .position(|h| *h == name)
                .and_then(|i| last.get(i)?.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        SippCounts {
            created: col("TotalCallCreated"),
            successful: col("SuccessfulCall(C)"),
            failed: col("FailedCall(C)"),
        }
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        self.stop();
    }
}

struct SippCounts {
    created: u64,
    successful: u64,
    failed: u64,
}

impl SippCounts {
    fn as_json(&self) -> serde_json::Value {
        serde_json::json!({
            "attempted": self.created,
            "answered": self.successful,
            "failed": self.failed,
        })
    }
}
