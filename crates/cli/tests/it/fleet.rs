//! What the tests that kill `teamline serve` processes share: the database they and the
//! servers use, a server pointed at the Microsoft simulator, the admin's bulk Enable Calling,
//! waiting for the simulator's writes or for the work to end while watching the servers, and
//! the end checks (every job succeeded, every user configured exactly once).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use teamline::sim_process::SimProcess;
use teamline_domain::enterprise::TenantId;
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::job::{Job, JobState};
use teamline_domain::pbx_user::PushState;
use teamline_engine::EngineSettings;
use teamline_sim::microsoft::demo as ms;
use teamline_store::crypto::{EncryptionKey, Keyring};
use teamline_store::{DynStore, JobQuery, SystemClock};
use teamline_store_postgres::testing::PgDatabase;
use teamline_testkit::{engine_for, testbed};

/// Enable Calling for a fresh user: the number and three policies.
pub const WRITES_PER_USER: u64 = 4;

/// The database the servers and the test share.
pub enum Database {
    Sqlite,
    Postgres(PgDatabase),
}

impl Database {
    pub async fn open(&self, data: &Path, key: &str) -> DynStore {
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

    /// `teamline serve` on the data directory (and database), pointed at the simulator, with
    /// a short job lease and no periodic syncs; the caller adds logging and spawns it.
    pub fn serve(
        &self,
        data: &Path,
        key: &str,
        sim: &str,
        concurrency: usize,
    ) -> tokio::process::Command {
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
            .args(["--runner-concurrency", &concurrency.to_string()])
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
            .kill_on_drop(true);
        if let Self::Postgres(db) = self {
            command.args(["--database-url", &db.url]);
        }
        command
    }

    pub async fn drop_database(self) {
        if let Self::Postgres(db) = self {
            db.drop_database().await;
        }
    }
}

/// The admin's bulk enable: `users` users of the simulated tenant set up, Enable Calling
/// queued for each (nothing runs yet).
pub async fn enable_calling_for_many(
    store: DynStore,
    sim: &SimProcess,
    tenant: &str,
    users: usize,
) -> (EnterpriseId, Vec<PbxUserId>) {
    let engine = engine_for(store, &sim.base_url, EngineSettings::default(), 4).unwrap();
    let tb = testbed::seed_enterprise(
        &engine,
        tenant,
        &TenantId::parse(&ms::generated_tenant_id(tenant)).unwrap(),
        ms::SYNC_GROUP,
        "http://127.0.0.1:9/ns-api/v2",
    )
    .await
    .unwrap();
    let e = tb.enterprise.id;
    engine.sync_directory(e, false).await.unwrap();
    let ids = testbed::seed_pbx_users(&engine, &tb, users, 50_000)
        .await
        .unwrap();
    testbed::enable_calling(&engine, e, &ids).await.unwrap();
    (e, ids)
}

pub async fn total_writes(sim: &SimProcess, tenant: &str) -> u64 {
    sim.write_counts(tenant).await.unwrap().values().sum()
}

/// Panics when a server exited by itself.
fn still_running(servers: &mut [(&str, &mut tokio::process::Child)]) {
    for (name, child) in servers.iter_mut() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("teamline serve {name} exited by itself: {status}");
        }
    }
}

/// Waits (up to a minute) until the simulator counted `at` writes; whether it did.
pub async fn wait_for_writes(
    sim: &SimProcess,
    tenant: &str,
    at: u64,
    servers: &mut [(&str, &mut tokio::process::Child)],
) -> bool {
    // Each look reads every user's counter from the simulator: often enough to stop near
    // `at`, seldom enough to leave the cores to the servers and the simulator.
    for _ in 0..2400 {
        if total_writes(sim, tenant).await >= at {
            return true;
        }
        still_running(servers);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

/// The enterprise's jobs, `unfinished_only` or all.
pub async fn jobs(store: &DynStore, e: EnterpriseId, unfinished_only: bool) -> Vec<Job> {
    store
        .list_jobs(&JobQuery {
            enterprise_id: Some(e),
            unfinished_only,
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
}

/// Waits (up to three minutes) until no job of the enterprise is left; whether none is.
pub async fn wait_until_done(
    store: &DynStore,
    e: EnterpriseId,
    servers: &mut [(&str, &mut tokio::process::Child)],
) -> bool {
    // One unfinished job is enough to know the work goes on: listing them all ten times a
    // second would take the cores the servers need to finish.
    let any_unfinished = JobQuery {
        enterprise_id: Some(e),
        unfinished_only: true,
        limit: 1,
        ..Default::default()
    };
    for _ in 0..1800 {
        if store.list_jobs(&any_unfinished).await.unwrap().is_empty() {
            return true;
        }
        still_running(servers);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Every job of the enterprise succeeded; returns them.
pub async fn assert_every_job_succeeded(store: &DynStore, e: EnterpriseId) -> Vec<Job> {
    let jobs = jobs(store, e, false).await;
    let not_done: Vec<_> = jobs
        .iter()
        .filter(|j| j.state != JobState::Succeeded)
        .map(|j| (j.id, j.kind.clone(), j.state, j.last_error.clone()))
        .collect();
    assert!(not_done.is_empty(), "every job succeeded: {not_done:?}");
    jobs
}

/// Every user is in sync, and the simulator saw each user's changes exactly once: the four
/// writes of Enable Calling, of which one number assignment.
pub async fn assert_each_user_configured_once(
    store: &DynStore,
    sim: &SimProcess,
    tenant: &str,
    e: EnterpriseId,
    ids: &[PbxUserId],
) {
    let writes = sim.write_counts(tenant).await.unwrap();
    let assignments = sim.number_assignment_counts(tenant).await.unwrap();
    let mut wrong = Vec::new();
    for id in ids {
        let item = store.get_pbx_user(e, *id).await.unwrap();
        assert_eq!(item.user.push_state, PushState::InSync, "{}", item.upn);
        let user = &item.user.spec.teams_user_object_id;
        let n = writes.get(user).copied().unwrap_or(0);
        let assigned = assignments.get(user).copied().unwrap_or(0);
        if n != WRITES_PER_USER || assigned != 1 {
            wrong.push(format!(
                "{}: {n} writes, {assigned} number assignments",
                item.upn
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "each user configured exactly once ({WRITES_PER_USER} writes, one number assignment):\n{}",
        wrong.join("\n")
    );
    assert_eq!(
        writes.values().sum::<u64>(),
        ids.len() as u64 * WRITES_PER_USER
    );
}
