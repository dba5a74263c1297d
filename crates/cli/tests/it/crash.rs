//! Crash safety: `teamline serve` (the real binary) is killed with SIGKILL at random moments
//! while it enables calling for 500 users against the Microsoft simulator (`teamline sim`,
//! another process), and restarted each time, on SQLite and on PostgreSQL. The simulator runs
//! with Microsoft's timing: it shows policy grants only a while after it accepted them, so a
//! change that was sent and is still propagating looks missing to a fresh read; and it carries
//! out number assignments slowly, answering 202 with an operation that runs for seconds (and
//! completes whether polled or not), so many kills land while Teamline waits for one. In the end every user is configured,
//! and the simulator saw each Microsoft-side change exactly once: four writes per user, one of
//! them the number assignment.
//!
//! Regressions it catches: a push journal stored only after all of a user's steps (a kill
//! between two steps re-sends the first one while it propagates), a step sent without being
//! written down first (a kill during its request re-sends it), an accepted number operation not
//! written down before the wait (a kill while polling re-sends the assignment), a job lost with
//! the killed process, and a change repeated because a fresh read did not show it yet.

use crate::fleet::{self, Database, WRITES_PER_USER};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use teamline::sim_process::SimProcess;
use teamline_domain::job::JobState;
use teamline_store::crypto::EncryptionKey;
use teamline_store_postgres::testing::PgDatabase;

const TENANT: &str = "crashco";
const USERS: usize = 500;
/// How long the simulator takes to show a policy grant it accepted: longer than a restart
/// plus the job lease, so the job a kill interrupted runs again while its changes propagate
/// (and shorter than Teamline's first re-check).
const PROPAGATION_DELAY_MS: u64 = 10_000;
/// How long a number operation runs before it completes on its own (Teamline polls after 1 s,
/// then 2 s more: about three seconds per assignment).
const OPERATION_DURATION_MS: u64 = 2_500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_repeatedly_loses_no_job_and_repeats_no_change_on_sqlite() {
    kill_repeatedly(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_repeatedly_loses_no_job_and_repeats_no_change_on_postgres() {
    kill_repeatedly(Database::Postgres(PgDatabase::create().await)).await;
}

fn serve(db: &Database, data: &Path, key: &str, sim: &str) -> tokio::process::Child {
    db.serve(data, key, sim, 32)
        .env("TEAMLINE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn kill_repeatedly(db: Database) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exe = Path::new(env!("CARGO_BIN_EXE_teamline"));
    let sim = SimProcess::start(exe, &format!("{TENANT}:{}:{}", USERS + 20, USERS + 20))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let key = EncryptionKey::generate_hex();

    let (e, ids) =
        fleet::enable_calling_for_many(db.open(&data, &key).await, &sim, TENANT, USERS).await;
    sim.patch_faults(
        TENANT,
        // Some latency on every request, as Microsoft has, so kills land inside pushes,
        // between one user's steps and during their requests, not only between users.
        serde_json::json!({
            "propagationDelayMs": PROPAGATION_DELAY_MS,
            "operationDurationMs": OPERATION_DURATION_MS,
            "latencyMs": 20,
        }),
    )
    .await
    .unwrap();
    let store = db.open(&data, &key).await;
    assert_eq!(
        fleet::total_writes(&sim, TENANT).await,
        0,
        "nothing ran yet"
    );

    // Kill -9 at random points of the work, several times.
    let total = USERS as u64 * WRITES_PER_USER;
    let mut orphaned = 0;
    for round in 0..5u64 {
        let at = rand::random_range(round * total / 6 + 50..(round + 1) * total / 6);
        let mut server = serve(&db, &data, &key, &sim.base_url);
        let reached = fleet::wait_for_writes(&sim, TENANT, at, &mut [("", &mut server)]).await;
        // A random extra moment, so the kill also lands between requests.
        tokio::time::sleep(Duration::from_millis(rand::random_range(0..150))).await;
        server.start_kill().unwrap(); // SIGKILL
        server.wait().await.unwrap();
        assert!(reached, "round {round}: the work did not reach {at} writes");
        // Jobs the dead server was running stay claimed until their lease runs out.
        orphaned += fleet::jobs(&store, e, true)
            .await
            .iter()
            .filter(|j| j.state == JobState::Running)
            .count();
    }
    assert!(orphaned > 0, "the kills interrupted running jobs");

    // Restart and let it finish.
    let mut server = serve(&db, &data, &key, &sim.base_url);
    let finished = fleet::wait_until_done(&store, e, &mut [("", &mut server)]).await;
    server.start_kill().unwrap();
    server.wait().await.unwrap();
    assert!(finished, "the restarted server finished the work");

    fleet::assert_every_job_succeeded(&store, e).await;
    fleet::assert_each_user_configured_once(&store, &sim, TENANT, e, &ids).await;
    drop(store);
    sim.stop().await;
    db.drop_database().await;
}
