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

use crate::fleet::{self, Database, WRITES_PER_USER};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use teamline::sim_process::SimProcess;
use teamline_domain::job::JobState;
use teamline_store::crypto::EncryptionKey;
use teamline_store_postgres::testing::PgDatabase;

const TENANT: &str = "twoco";
const USERS: usize = 150;

/// `teamline serve` on the shared database, logging its job runs as JSON to `log`.
fn serve(db: &Database, data: &Path, key: &str, sim: &str, log: &Path) -> tokio::process::Child {
    db.serve(data, key, sim, 8)
        .env("TEAMLINE_LOG", "warn,teamline_jobs=debug")
        .env("TEAMLINE_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
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
    let db = Database::Postgres(PgDatabase::create().await);
    let dir = tempfile::tempdir().unwrap();
    let key = EncryptionKey::generate_hex();
    let (e, ids) =
        fleet::enable_calling_for_many(db.open(dir.path(), &key).await, &sim, TENANT, USERS).await;
    let store = db.open(dir.path(), &key).await;

    let instance = |n: usize| -> (PathBuf, PathBuf) {
        let data = dir.path().join(format!("instance-{n}"));
        std::fs::create_dir_all(&data).unwrap();
        (data, dir.path().join(format!("instance-{n}.log")))
    };
    let (data_a, log_a) = instance(1);
    let (data_b, log_b) = instance(2);
    let mut a = serve(&db, &data_a, &key, &sim.base_url, &log_a);
    let mut b = serve(&db, &data_b, &key, &sim.base_url, &log_b);

    // Kill A once a third of the work is done, while it holds jobs.
    let total = USERS as u64 * WRITES_PER_USER;
    let reached =
        fleet::wait_for_writes(&sim, TENANT, total / 3, &mut [("A", &mut a), ("B", &mut b)]).await;
    assert!(reached, "the work did not reach {} writes", total / 3);
    // A claim's holder is `host:pid#n`.
    let a_worker = format!(":{}#", a.id().unwrap());
    a.start_kill().unwrap(); // SIGKILL
    a.wait().await.unwrap();
    let held_by_a: Vec<String> = fleet::jobs(&store, e, true)
        .await
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
    let finished = fleet::wait_until_done(&store, e, &mut [("B", &mut b)]).await;
    b.start_kill().unwrap();
    b.wait().await.unwrap();
    assert!(finished, "instance B did not finish the work A left");

    let jobs = fleet::assert_every_job_succeeded(&store, e).await;
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
    // A job A finished in the instant before the kill is succeeded in the database while its
    // log line died with A (the lines are written after the commit): at most the jobs A was
    // running then, never one that B also started.
    let started_on_b: std::collections::BTreeSet<&String> = events_b
        .iter()
        .filter(|(_, e)| matches!(e, Event::Started))
        .map(|(id, _)| id)
        .collect();
    let mut finished_as_a_died = 0;
    let mut wrong = Vec::new();
    for job in &jobs {
        let id = job.id.to_string();
        let (starts, successes) = runs.get(&id).copied().unwrap_or_default();
        if successes == 0 && starts <= 1 && !started_on_b.contains(&id) {
            finished_as_a_died += 1;
            continue;
        }
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
        finished_as_a_died <= 8,
        "{finished_as_a_died} jobs succeeded with no log line: more than A runs at once"
    );
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
    fleet::assert_each_user_configured_once(&store, &sim, TENANT, e, &ids).await;
    drop(store);
    sim.stop().await;
    db.drop_database().await;
}
