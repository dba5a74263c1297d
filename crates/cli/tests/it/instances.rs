//! Several instances, really: two `teamline serve` processes (the real binary) share one
//! PostgreSQL database with a short job lease while they enable calling for many users against
//! the Microsoft simulator (another process), with policy propagation delays switched on so each
//! user also gets verify jobs in its own lane. One instance is killed with SIGKILL mid-work;
//! the other takes its jobs over once their lease runs out.
//!
//! Each instance logs (JSON, debug for the job runner) when it starts and finishes a job, so the
//! test counts runs per job, not only the end state. Regressions it catches: a job lost with the
//! killed instance (never succeeds), a job completed twice or run again after it succeeded (two
//! "succeeded" lines, or a start after the success), a change sent to Microsoft twice (write
//! counts), one instance doing all the work (both must have completed jobs), and two runs of one
//! job at the same time while both instances live.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use teamline::sim_process::SimProcess;
use teamline_domain::enterprise::TenantId;
use teamline_domain::job::JobState;
use teamline_domain::pbx_user::PushState;
use teamline_engine::EngineSettings;
use teamline_sim::microsoft::demo as ms;
use teamline_store::crypto::{EncryptionKey, Keyring};
use teamline_store::{DynStore, JobQuery, SystemClock};
use teamline_store_postgres::testing::PgDatabase;
use teamline_testkit::{engine_for, testbed};

const TENANT: &str = "twoco";
const USERS: usize = 150;
/// Enable Calling for a fresh user: the number and three policies.
const WRITES_PER_USER: u64 = 4;

async fn open(url: &str, key: &str) -> DynStore {
    Arc::new(
        teamline_store_postgres::open(
            url,
            Arc::new(Keyring::new(EncryptionKey::from_hex(key).unwrap(), vec![])),
            Arc::new(SystemClock),
        )
        .await
        .unwrap(),
    )
}

/// `teamline serve` on the shared database, logging its job runs as JSON to `log`.
fn serve(url: &str, data: &Path, key: &str, sim: &str, log: &Path) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_teamline"))
        .arg("serve")
        .arg("--data-dir")
        .arg(data)
        .args(["--database-url", url])
        .args(["--listen", "127.0.0.1:0"])
        .args(["--microsoft-client-id", ms::TEAMLINE_APP_CLIENT_ID])
        .args(["--microsoft-login-url", sim])
        .args(["--microsoft-graph-url", sim])
        .args(["--microsoft-teams-admin-url", sim])
        .args(["--runner-concurrency", "8"])
        .args(["--job-lease-secs", "2"])
        .args([
            "--sync-interval-secs",
            "0",
            "--reconcile-interval-secs",
            "0",
        ])
        .env(
            "TEAMLINE_MICROSOFT_CLIENT_SECRET",
            ms::TEAMLINE_APP_CLIENT_SECRET,
        )
        .env("TEAMLINE_ENCRYPTION_KEY", key)
        .env("TEAMLINE_LOG", "warn,teamline_jobs=debug")
        .env("TEAMLINE_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn total_writes(sim: &SimProcess) -> u64 {
    sim.write_counts(TENANT).await.unwrap().values().sum()
}

/// One job run as an instance logged it.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    Started,
    Succeeded,
}

/// The job events of one instance's log, in order: (job id, event).
fn events(log: &Path) -> Vec<(String, Event)> {
    let text = std::fs::read_to_string(log).unwrap();
    text.lines()
        // The last line of a killed process may be cut short.
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|v| {
            let event = match v["fields"]["message"].as_str()? {
                "job started" => Event::Started,
                "job succeeded" => Event::Succeeded,
                _ => return None,
            };
            let id = v["span"]["id"].as_str()?.to_owned();
            Some((id, event))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_work_and_one_takes_over_from_the_other() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exe = Path::new(env!("CARGO_BIN_EXE_teamline"));
    let sim = SimProcess::start(exe, &format!("{TENANT}:{}:{}", USERS + 20, USERS + 20))
        .await
        .unwrap();
    // Policies show up in reads a while after they were granted: the pushes end
    // "propagating" and verify jobs follow in each user's lane.
    sim.patch_faults(TENANT, serde_json::json!({ "propagationDelayMs": 1500 }))
        .await
        .unwrap();
    let db = PgDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let key = EncryptionKey::generate_hex();

    let (e, ids) = {
        let engine = engine_for(
            open(&db.url, &key).await,
            &sim.base_url,
            EngineSettings::default(),
            4,
        )
        .unwrap();
        let tb = testbed::seed_enterprise(
            &engine,
            TENANT,
            &TenantId::parse(&ms::generated_tenant_id(TENANT)).unwrap(),
            ms::SYNC_GROUP,
            "http://127.0.0.1:9/ns-api/v2",
        )
        .await
        .unwrap();
        let e = tb.enterprise.id;
        engine.sync_directory(e, false).await.unwrap();
        let ids = testbed::seed_pbx_users(&engine, &tb, USERS, 50_000)
            .await
            .unwrap();
        testbed::enable_calling(&engine, e, &ids).await.unwrap();
        (e, ids)
    };
    let store = open(&db.url, &key).await;

    let instance = |n: usize| -> (PathBuf, PathBuf) {
        let data = dir.path().join(format!("instance-{n}"));
        std::fs::create_dir_all(&data).unwrap();
        (data, dir.path().join(format!("instance-{n}.log")))
    };
    let (data_a, log_a) = instance(1);
    let (data_b, log_b) = instance(2);
    let mut a = serve(&db.url, &data_a, &key, &sim.base_url, &log_a);
    let mut b = serve(&db.url, &data_b, &key, &sim.base_url, &log_b);

    // Kill A once a third of the work is done, while it holds jobs.
    let total = USERS as u64 * WRITES_PER_USER;
    let mut reached = false;
    for _ in 0..6000 {
        if total_writes(&sim).await >= total / 3 {
            reached = true;
            break;
        }
        for (name, child) in [("A", &mut a), ("B", &mut b)] {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("instance {name} exited by itself: {status}");
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(reached, "the work did not reach {} writes", total / 3);
    // A claim's holder is `host:pid#n`.
    let a_worker = format!(":{}#", a.id().unwrap());
    a.start_kill().unwrap(); // SIGKILL
    a.wait().await.unwrap();
    let held_by_a: Vec<String> = store
        .list_jobs(&JobQuery {
            enterprise_id: Some(e),
            unfinished_only: true,
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|j| {
            j.state == JobState::Running
                && j.locked_by
                    .as_deref()
                    .is_some_and(|w| w.contains(&a_worker))
        })
        .map(|j| j.id.to_string())
        .collect();

    // B finishes everything, including what A held once A's lease ran out.
    let mut finished = false;
    for _ in 0..1800 {
        let unfinished = store
            .list_jobs(&JobQuery {
                enterprise_id: Some(e),
                unfinished_only: true,
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap();
        if unfinished.is_empty() {
            finished = true;
            break;
        }
        if let Ok(Some(status)) = b.try_wait() {
            panic!("instance B exited by itself: {status}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.start_kill().unwrap();
    b.wait().await.unwrap();
    assert!(finished, "instance B did not finish the work A left");

    let jobs = store
        .list_jobs(&JobQuery {
            enterprise_id: Some(e),
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    let not_done: Vec<_> = jobs
        .iter()
        .filter(|j| j.state != JobState::Succeeded)
        .map(|j| (j.id, j.kind.clone(), j.state, j.last_error.clone()))
        .collect();
    assert!(not_done.is_empty(), "every job succeeded: {not_done:?}");
    assert!(
        jobs.iter().any(|j| j.kind == "verify_user"),
        "propagation delays made verify jobs contend with the pushes in the users' lanes"
    );

    // Runs per job, from both instances' logs.
    let (events_a, events_b) = (events(&log_a), events(&log_b));
    let mut runs: BTreeMap<String, (usize, usize)> = BTreeMap::new(); // (starts, successes)
    let mut completed_by = (0, 0);
    for (instance, events) in [(0, &events_a), (1, &events_b)] {
        for (id, event) in events {
            let entry = runs.entry(id.clone()).or_default();
            match event {
                Event::Started => entry.0 += 1,
                Event::Succeeded => {
                    entry.1 += 1;
                    if instance == 0 {
                        completed_by.0 += 1;
                    } else {
                        completed_by.1 += 1;
                    }
                }
            }
        }
    }
    assert!(
        completed_by.0 > 0 && completed_by.1 > 0,
        "both instances completed jobs (A {}, B {})",
        completed_by.0,
        completed_by.1
    );
    let mut wrong = Vec::new();
    for job in &jobs {
        let id = job.id.to_string();
        let (starts, successes) = runs.get(&id).copied().unwrap_or_default();
        // A job A was running when it died starts once more on B; any other job runs once.
        let allowed_starts = if held_by_a.contains(&id) { 2 } else { 1 };
        if successes != 1 || starts == 0 || starts > allowed_starts {
            wrong.push(format!(
                "job {id} ({}): started {starts} times, succeeded {successes} times",
                job.kind
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "every job runs to completion exactly once ({} jobs A held when it died):\n{}",
        held_by_a.len(),
        wrong.join("\n")
    );
    assert!(
        !held_by_a.is_empty(),
        "the kill interrupted jobs A was running"
    );

    // Every change reached Microsoft exactly once.
    let writes = sim.write_counts(TENANT).await.unwrap();
    let mut repeated = Vec::new();
    for id in &ids {
        let item = store.get_pbx_user(e, *id).await.unwrap();
        assert_eq!(item.user.push_state, PushState::InSync, "{}", item.upn);
        let n = writes
            .get(&item.user.spec.teams_user_object_id)
            .copied()
            .unwrap_or(0);
        if n != WRITES_PER_USER {
            repeated.push((item.upn.clone(), n));
        }
    }
    assert!(
        repeated.is_empty(),
        "each user configured exactly once ({WRITES_PER_USER} writes): {repeated:?}"
    );
    drop(store);
    sim.stop().await;
    db.drop_database().await;
}
