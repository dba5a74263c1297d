//! Crash safety: `teamline serve` (the real binary) is killed with SIGKILL at random moments
//! while it enables calling for 500 users against the Microsoft simulator (`teamline sim`,
//! another process), and restarted each time, on SQLite and on PostgreSQL. The simulator shows
//! policy grants only a while after it accepted them, as Microsoft does, so a change that was
//! sent and is still propagating looks missing to a fresh read. In the end every user is
//! configured, and the simulator saw each Microsoft-side change exactly once.
//!
//! Regressions it catches: a push journal stored only after all of a user's steps (a kill
//! between two steps re-sends the first one while it propagates), a step sent without being
//! written down first (a kill during its request re-sends it), a job lost with the killed
//! process, and a change repeated because a fresh read did not show it yet.

use std::path::Path;
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

const TENANT: &str = "crashco";
const USERS: usize = 500;
/// Enable Calling for a fresh user: the number and three policies.
const WRITES_PER_USER: u64 = 4;
/// How long the simulator takes to show a policy grant it accepted: longer than a restart
/// plus the job lease, so the job a kill interrupted runs again while its changes propagate
/// (and shorter than Teamline's first re-check).
const PROPAGATION_DELAY_MS: u64 = 10_000;

/// The database `serve` and the test share.
enum Database {
    Sqlite,
    Postgres(PgDatabase),
}

impl Database {
    async fn open(&self, data: &Path, key: &str) -> DynStore {
        let keyring = Arc::new(Keyring::new(EncryptionKey::from_hex(key).unwrap(), vec![]));
        match self {
            Self::Sqlite => Arc::new(
                teamline_store_sqlite::open(
                    &data.join("teamline.db"),
                    keyring,
                    Arc::new(SystemClock),
                )
                .await
                .unwrap(),
            ),
            Self::Postgres(db) => Arc::new(
                teamline_store_postgres::open(&db.url, keyring, Arc::new(SystemClock))
                    .await
                    .unwrap(),
            ),
        }
    }

    /// `teamline serve` on the data directory (and database), pointed at the simulator.
    fn serve(&self, data: &Path, key: &str, sim: &str) -> tokio::process::Child {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_teamline"));
        command
            .arg("serve")
            .arg("--data-dir")
            .arg(data)
            .args(["--listen", "127.0.0.1:0"])
            .args(["--microsoft-client-id", ms::TEAMLINE_APP_CLIENT_ID])
            .args(["--microsoft-login-url", sim])
            .args(["--microsoft-graph-url", sim])
            .args(["--microsoft-teams-admin-url", sim])
            .args(["--runner-concurrency", "32"])
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
            .env("TEAMLINE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        if let Self::Postgres(db) = self {
            command.args(["--database-url", &db.url]);
        }
        command.spawn().unwrap()
    }
}

async fn total_writes(sim: &SimProcess) -> u64 {
    sim.write_counts(TENANT).await.unwrap().values().sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_repeatedly_loses_no_job_and_repeats_no_change_on_sqlite() {
    kill_repeatedly(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_repeatedly_loses_no_job_and_repeats_no_change_on_postgres() {
    kill_repeatedly(Database::Postgres(PgDatabase::create().await)).await;
}

async fn kill_repeatedly(db: Database) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exe = Path::new(env!("CARGO_BIN_EXE_teamline"));
    let sim = SimProcess::start(exe, &format!("{TENANT}:{}:{}", USERS + 20, USERS + 20))
        .await
        .unwrap();
    sim.patch_faults(
        TENANT,
        // Some latency on every request, as Microsoft has, so kills land inside pushes,
        // between one user's steps and during their requests, not only between users.
        serde_json::json!({ "propagationDelayMs": PROPAGATION_DELAY_MS, "latencyMs": 20 }),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let key = EncryptionKey::generate_hex();

    // The admin's bulk enable: 500 users set up, Enable Calling queued for each.
    let (e, ids) = {
        let engine = engine_for(
            db.open(&data, &key).await,
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
    let store = db.open(&data, &key).await;
    assert_eq!(total_writes(&sim).await, 0, "nothing ran yet");

    // Kill -9 at random points of the work, several times.
    let total = USERS as u64 * WRITES_PER_USER;
    let mut kills = 0;
    let mut orphaned = 0;
    for round in 0..5u64 {
        let at = rand::random_range(round * total / 6 + 50..(round + 1) * total / 6);
        let mut server = db.serve(&data, &key, &sim.base_url);
        let mut reached = false;
        for _ in 0..3000 {
            if total_writes(&sim).await >= at {
                reached = true;
                break;
            }
            if let Ok(Some(status)) = server.try_wait() {
                panic!("teamline serve exited by itself: {status}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // A random extra moment, so the kill also lands between requests.
        tokio::time::sleep(Duration::from_millis(rand::random_range(0..150))).await;
        server.start_kill().unwrap(); // SIGKILL
        server.wait().await.unwrap();
        assert!(reached, "round {round}: the work did not reach {at} writes");
        kills += 1;
        // Jobs the dead server was running stay claimed until their lease runs out.
        orphaned += store
            .list_jobs(&JobQuery {
                enterprise_id: Some(e),
                unfinished_only: true,
                limit: 10_000,
                ..Default::default()
            })
            .await
            .unwrap()
            .iter()
            .filter(|j| j.state == JobState::Running)
            .count();
    }
    assert!(orphaned > 0, "the kills interrupted running jobs");

    // Restart and let it finish.
    let mut server = db.serve(&data, &key, &sim.base_url);
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
            break;
        }
        if let Ok(Some(status)) = server.try_wait() {
            panic!("teamline serve exited by itself: {status}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.start_kill().unwrap();
    server.wait().await.unwrap();
    assert_eq!(kills, 5);

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
    let writes = sim.write_counts(TENANT).await.unwrap();
    let mut wrong = Vec::new();
    for id in &ids {
        let item = store.get_pbx_user(e, *id).await.unwrap();
        assert_eq!(item.user.push_state, PushState::InSync, "{}", item.upn);
        let n = writes
            .get(&item.user.spec.teams_user_object_id)
            .copied()
            .unwrap_or(0);
        if n != WRITES_PER_USER {
            wrong.push((item.upn.clone(), n));
        }
    }
    assert!(
        wrong.is_empty(),
        "each user configured exactly once ({WRITES_PER_USER} writes): {wrong:?}"
    );
    assert_eq!(writes.values().sum::<u64>(), total);
    drop(store);
    sim.stop().await;
    if let Database::Postgres(pg) = db {
        pg.drop_database().await;
    }
}
