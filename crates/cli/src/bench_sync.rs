//! `teamline bench sync` and `teamline bench enable`: the directory sync and Enable Calling
//! measured against the Microsoft simulator running as a separate process (`teamline sim`),
//! so the figures (wall time, peak memory) are Teamline's own. Each prints its figures and,
//! as the last line, one JSON object.

use anyhow::{Context, bail};
use clap::Args;
use futures::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use teamline_domain::enterprise::TenantId;
use teamline_domain::pbx_user::PushState;
use teamline_engine::{Engine, EngineSettings};
use teamline_sim::microsoft::{RequestStats, demo as ms};
use teamline_store::JobQuery;
use teamline_testkit::testbed::{self, Testbed};
use teamline_testkit::{TestDatabase, engine_for};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;

#[derive(Args, Debug, Clone)]
pub struct BenchSyncArgs {
    /// Users in the simulated tenant.
    #[arg(long, default_value_t = 100_000)]
    pub users: usize,
    /// Of those, members of the sync group.
    #[arg(long, default_value_t = 20_000)]
    pub members: usize,
    /// Share of the sync group changed before the delta round, in percent.
    #[arg(long, default_value_t = 1.0)]
    pub delta_percent: f64,
}

#[derive(Args, Debug, Clone)]
pub struct BenchEnableArgs {
    /// Users whose calling is enabled.
    #[arg(long, default_value_t = 2_000)]
    pub users: usize,
    /// Requests the simulated tenant accepts per 10-second window (N).
    #[arg(long, default_value_t = 2_000)]
    pub budget: u32,
    /// Jobs run at once.
    #[arg(long, default_value_t = 64)]
    pub runner_concurrency: usize,
    /// Requests at once per tenant.
    #[arg(long, default_value_t = 4)]
    pub tenant_concurrency: usize,
}

/// `teamline bench sync`'s figures.
#[derive(Debug, Clone, Serialize)]
pub struct SyncFigures {
    pub users: usize,
    pub members: usize,
    pub full_sync_ms: u128,
    pub full_sync_users: u64,
    pub full_sync_requests: u64,
    pub delta_changes: usize,
    pub delta_sync_ms: u128,
    pub delta_sync_seen: u64,
    pub delta_sync_requests: u64,
    pub peak_rss_mb: f64,
}

/// `teamline bench enable`'s figures.
#[derive(Debug, Clone, Serialize)]
pub struct EnableFigures {
    pub users: usize,
    pub budget_per_10s: u32,
    pub elapsed_ms: u128,
    /// Requests Microsoft accepted (not answered 429).
    pub requests_accepted: u64,
    pub requests_throttled: u64,
    pub early_requests: u64,
    /// Accepted requests per 10 s, as a fraction of the budget.
    pub rate_fraction: f64,
    pub users_in_sync: usize,
    pub failed_users: usize,
    pub writes_per_user: f64,
}

/// The Microsoft simulator as a child process (`teamline sim`), with its control API.
pub struct SimProcess {
    child: tokio::process::Child,
    pub base_url: String,
    http: reqwest::Client,
}

impl SimProcess {
    /// Starts `exe sim --tenants <tenants>` on a random port and waits until it listens.
    pub async fn start(exe: &Path, tenants: &str) -> anyhow::Result<Self> {
        let mut child = tokio::process::Command::new(exe)
            .args([
                "sim",
                "--tenants",
                tenants,
                "--http-port",
                "0",
                "--bind",
                "127.0.0.1",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {} sim", exe.display()))?;
        let stdout = child
            .stdout
            .take()
            .context("the simulator's output is not readable")?;
        let mut lines = BufReader::new(stdout).lines();
        let base_url = tokio::time::timeout(Duration::from_secs(300), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.trim().strip_prefix("control API:") {
                    return Ok(rest.trim().trim_end_matches("/_sim/tenants").to_owned());
                }
            }
            bail!("the simulator stopped before it listened")
        })
        .await
        .context("the simulator did not start within 5 minutes")??;
        // Keep reading so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            child,
            base_url,
            http: reqwest::Client::new(),
        })
    }

    fn url(&self, tenant: &str, path: &str) -> String {
        format!("{}/_sim/tenants/{}{path}", self.base_url, percent(tenant))
    }

    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
        let resp = req
            .send()
            .await
            .with_context(|| format!("simulator: {what}"))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("simulator: {what}: HTTP {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Merges these fault settings (camelCase JSON, e.g. `{"throttleBudget": 100}`).
    pub async fn patch_faults(&self, tenant: &str, faults: Value) -> anyhow::Result<()> {
        self.send(
            self.http.patch(self.url(tenant, "/faults")).json(&faults),
            "set faults",
        )
        .await
        .map(drop)
    }

    pub async fn stats(&self, tenant: &str) -> anyhow::Result<RequestStats> {
        let v = self
            .send(self.http.get(self.url(tenant, "/stats")), "read stats")
            .await?;
        Ok(serde_json::from_value(v)?)
    }

    pub async fn reset_stats(&self, tenant: &str) -> anyhow::Result<()> {
        self.send(
            self.http.post(self.url(tenant, "/stats/reset")),
            "reset stats",
        )
        .await
        .map(drop)
    }

    /// Write requests per user object id.
    pub async fn write_counts(&self, tenant: &str) -> anyhow::Result<BTreeMap<String, u64>> {
        let v = self
            .send(
                self.http.get(self.url(tenant, "/counters")),
                "read counters",
            )
            .await?;
        Ok(serde_json::from_value(v)?)
    }

    pub async fn patch_user(&self, tenant: &str, user: &str, patch: Value) -> anyhow::Result<()> {
        let url = self.url(tenant, &format!("/users/{}", percent(user)));
        self.send(self.http.patch(url).json(&patch), "change a user")
            .await
            .map(drop)
    }

    pub async fn add_member(&self, tenant: &str, group: &str, member: &str) -> anyhow::Result<()> {
        let url = self.url(tenant, &format!("/groups/{}/members", percent(group)));
        self.send(
            self.http.post(url).json(&json!({ "id": member })),
            "add a group member",
        )
        .await
        .map(drop)
    }

    pub async fn remove_member(
        &self,
        tenant: &str,
        group: &str,
        member: &str,
    ) -> anyhow::Result<()> {
        let url = self.url(
            tenant,
            &format!("/groups/{}/members/{}", percent(group), percent(member)),
        );
        self.send(self.http.delete(url), "remove a group member")
            .await
            .map(drop)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// This process's peak resident memory in MiB (Linux `VmHWM`).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// An engine on a fresh SQLite database, talking to the simulator.
async fn engine(
    sim: &SimProcess,
    settings: EngineSettings,
    tenant_concurrency: usize,
) -> anyhow::Result<(Engine, TestDatabase)> {
    let db = TestDatabase::sqlite()?;
    let engine = engine_for(
        db.open().await?,
        &sim.base_url,
        settings,
        tenant_concurrency,
    )?;
    Ok((engine, db))
}

async fn testbed_for(engine: &Engine, name: &str) -> anyhow::Result<Testbed> {
    Ok(testbed::seed_enterprise(
        engine,
        name,
        &TenantId::parse(&ms::generated_tenant_id(name))?,
        ms::SYNC_GROUP,
        "http://127.0.0.1:9/ns-api/v2",
    )
    .await?)
}

fn quiet() -> EngineSettings {
    EngineSettings {
        directory_sync_every: None,
        reconcile_every: None,
        ..EngineSettings::default()
    }
}

/// Full sync of `members` of `users`, then a delta round after `delta_percent` of the
/// members changed (renamed, lost Teams Phone, left the group, or non-members joined).
pub async fn bench_sync(args: &BenchSyncArgs) -> anyhow::Result<SyncFigures> {
    const TENANT: &str = "benchsync";
    let members = args.members.min(args.users);
    let exe = std::env::current_exe()?;
    println!(
        "Starting the Microsoft simulator with {} users ({members} in \"{}\") ...",
        args.users,
        ms::SYNC_GROUP
    );
    let sim = SimProcess::start(&exe, &format!("{TENANT}:{}:{members}", args.users)).await?;
    let (engine, _db) = engine(&sim, quiet(), 4).await?;
    let tb = testbed_for(&engine, TENANT).await?;
    let e = tb.enterprise.id;

    sim.reset_stats(TENANT).await?;
    let started = Instant::now();
    let full = engine.sync_directory(e, true).await?;
    let full_ms = started.elapsed().as_millis();
    let full_requests = sim.stats(TENANT).await?.requests;
    println!(
        "full sync: {} users in {full_ms} ms ({full_requests} requests): {}",
        full.seen,
        full.summary()
    );

    let changes = ((members as f64) * args.delta_percent / 100.0).round() as usize;
    apply_changes(&sim, TENANT, args.users, members, changes).await?;
    sim.reset_stats(TENANT).await?;
    let started = Instant::now();
    let delta = engine.sync_directory(e, false).await?;
    let delta_ms = started.elapsed().as_millis();
    let delta_requests = sim.stats(TENANT).await?.requests;
    if delta.full {
        bail!("the second sync was not a delta round: {delta:?}");
    }
    println!(
        "delta round after {changes} changes: {delta_ms} ms ({delta_requests} requests): {}",
        delta.summary()
    );
    let figures = SyncFigures {
        users: args.users,
        members,
        full_sync_ms: full_ms,
        full_sync_users: full.seen,
        full_sync_requests: full_requests,
        delta_changes: changes,
        delta_sync_ms: delta_ms,
        delta_sync_seen: delta.seen,
        delta_sync_requests: delta_requests,
        peak_rss_mb: (peak_rss_mb() * 10.0).round() / 10.0,
    };
    println!("peak RSS of Teamline: {:.1} MiB", figures.peak_rss_mb);
    sim.stop().await;
    println!("{}", serde_json::to_string(&figures)?);
    Ok(figures)
}

/// Changes `n` members: half renamed, a quarter lose Teams Phone, an eighth leave the sync
/// group, and an eighth of non-members join it.
async fn apply_changes(
    sim: &SimProcess,
    tenant: &str,
    users: usize,
    members: usize,
    n: usize,
) -> anyhow::Result<()> {
    let renamed = n / 2;
    let unlicensed = n / 4;
    let leaving = n / 8;
    let joining = (n - renamed - unlicensed - leaving).min(users - members);
    let upn = |i: usize| ms::generated_user_upn(tenant, i);
    let mut work: Vec<(usize, u8)> = Vec::new();
    work.extend((0..renamed).map(|i| (i, 0)));
    work.extend((renamed..renamed + unlicensed).map(|i| (i, 1)));
    work.extend((renamed + unlicensed..renamed + unlicensed + leaving).map(|i| (i, 2)));
    work.extend((members..members + joining).map(|i| (i, 3)));
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(work)
        .map(|(i, what)| {
            let upn = upn(i);
            async move {
                match what {
                    0 => {
                        sim.patch_user(tenant, &upn, json!({"displayName": format!("Renamed {i}")}))
                            .await
                    }
                    1 => {
                        let plans = json!([{"servicePlanId": ms::PLAN_TEAMS1, "capabilityStatus": "Enabled"}]);
                        sim.patch_user(tenant, &upn, json!({ "plans": plans })).await
                    }
                    2 => sim.remove_member(tenant, ms::SYNC_GROUP, &upn).await,
                    _ => sim.add_member(tenant, ms::SYNC_GROUP, &upn).await,
                }
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Enables calling for `users` users while the tenant accepts `budget` requests per 10 s.
pub async fn bench_enable(args: &BenchEnableArgs) -> anyhow::Result<EnableFigures> {
    const TENANT: &str = "benchenable";
    let exe = std::env::current_exe()?;
    println!(
        "Starting the Microsoft simulator with {} users, {} requests per 10 s ...",
        args.users, args.budget
    );
    let sim = SimProcess::start(&exe, &format!("{TENANT}:{}:{}", args.users, args.users)).await?;
    let settings = EngineSettings {
        runner_concurrency: args.runner_concurrency.max(1),
        ..quiet()
    };
    let (engine, _db) = engine(&sim, settings, args.tenant_concurrency).await?;
    let tb = testbed_for(&engine, TENANT).await?;
    let e = tb.enterprise.id;
    engine.sync_directory(e, false).await?;
    let ids = testbed::seed_pbx_users(&engine, &tb, args.users, 100_000).await?;
    sim.patch_faults(TENANT, json!({ "throttleBudget": args.budget }))
        .await?;
    sim.reset_stats(TENANT).await?;

    let started = Instant::now();
    testbed::enable_calling(&engine, e, &ids).await?;
    let cancel = CancellationToken::new();
    let runner = Arc::new(engine.runner("bench"));
    let task = tokio::spawn(runner.run(cancel.clone()));
    let store = engine.store().clone();
    let mut last_report = Instant::now();
    let (in_sync, failed) = loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let unfinished = |limit| JobQuery {
            enterprise_id: Some(e),
            unfinished_only: true,
            limit,
            ..Default::default()
        };
        if store.list_jobs(&unfinished(1)).await?.is_empty() {
            break (
                count_state(&engine, e, &ids, PushState::InSync).await?,
                count_state(&engine, e, &ids, PushState::Failed).await?,
            );
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            last_report = Instant::now();
            let left = store.list_jobs(&unfinished(100_000)).await?.len();
            println!(
                "  {:>5.1} s: {left} jobs left, {} users failed",
                started.elapsed().as_secs_f64(),
                store.user_counts(e).await?.failed
            );
        }
    };
    let elapsed = started.elapsed();
    cancel.cancel();
    let _ = task.await;
    let stats = sim.stats(TENANT).await?;
    let writes = sim.write_counts(TENANT).await?;
    let accepted = stats.requests - stats.throttled;
    let per_window = accepted as f64 / elapsed.as_secs_f64() * 10.0;
    let figures = EnableFigures {
        users: args.users,
        budget_per_10s: args.budget,
        elapsed_ms: elapsed.as_millis(),
        requests_accepted: accepted,
        requests_throttled: stats.throttled,
        early_requests: stats.early,
        rate_fraction: (per_window / f64::from(args.budget.max(1)) * 1000.0).round() / 1000.0,
        users_in_sync: in_sync,
        failed_users: failed,
        writes_per_user: writes.values().sum::<u64>() as f64 / args.users.max(1) as f64,
    };
    println!(
        "enabled calling for {in_sync} of {} users in {:.1} s: {accepted} requests accepted ({per_window:.0} per 10 s = {:.3} of the budget), {} answered 429, {failed} failed",
        args.users,
        elapsed.as_secs_f64(),
        figures.rate_fraction,
        stats.throttled
    );
    sim.stop().await;
    println!("{}", serde_json::to_string(&figures)?);
    Ok(figures)
}

async fn count_state(
    engine: &Engine,
    e: teamline_domain::ids::EnterpriseId,
    ids: &[teamline_domain::ids::PbxUserId],
    state: PushState,
) -> anyhow::Result<usize> {
    let mut n = 0;
    for id in ids {
        if engine.store().get_pbx_user(e, *id).await?.user.push_state == state {
            n += 1;
        }
    }
    Ok(n)
}
