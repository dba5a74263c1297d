//! Teamline's store on PostgreSQL, for running several instances against one database.
//!
//! Jobs are claimed with `FOR UPDATE SKIP LOCKED`, so instances never wait on, or claim, the
//! same job; a transaction-scoped advisory lock per lane keeps two instances from starting two
//! jobs of one lane (e.g. two syncs of one tenant) at the same moment.

use async_trait::async_trait;
use sqlx::any::AnyPoolOptions;
use std::sync::Arc;
use teamline_store::crypto::Keyring;
use teamline_store::{Clock, StoreError, StoreResult};
use teamline_store_sql::migrations::{EditedMigration, migrate};
use teamline_store_sql::{AnyPool, Backend, DbResultExt, JOB_COLUMNS, JobRow, SqlStore};

#[cfg(feature = "testing")]
pub mod testing;

/// Schema migrations, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applied migrations edited since their release without changing the schema: databases
/// migrated with the released file still open (see [`teamline_store_sql::migrations`]).
pub const EDITED_MIGRATIONS: &[EditedMigration] = &[EditedMigration {
    version: 1,
    // `0001_initial.sql` as it was until a comment about the unique indexes was reworded (as of
    // commit 821eca4): the SHA-384 sqlx recorded in every database migrated with that file,
    // i.e. `git show 821eca4:crates/store-postgres/migrations/0001_initial.sql | sha384sum`.
    released_checksum: "4633a702d0b6a619c48ab722718f0c8d7d785218990d3c3d0ba96f8774cc0fa966e7095c5608f7efdefe20335824e5d0",
}];

/// How many due jobs one claim looks at before giving up (their lanes may all be busy).
const CLAIM_CANDIDATES: i64 = 16;

pub struct PostgresBackend;

#[async_trait]
impl Backend for PostgresBackend {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn begin_write(&self) -> &'static str {
        "BEGIN"
    }

    async fn claim_job(
        &self,
        pool: &AnyPool,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> StoreResult<Option<JobRow>> {
        let mut tx = pool.begin().await.db()?;
        let candidates: Vec<(i64, String)> = sqlx::query_as(
            "SELECT j.id, j.lane FROM jobs j \
             WHERE ((j.state = 'queued' AND j.run_after_ms <= $1) \
                    OR (j.state = 'running' AND j.locked_until_ms < $1)) \
               AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.lane = j.lane AND r.id <> j.id \
                               AND r.state = 'running' AND r.locked_until_ms >= $1) \
             ORDER BY j.priority DESC, j.id LIMIT $2 FOR UPDATE OF j SKIP LOCKED",
        )
        .bind(now_ms)
        .bind(CLAIM_CANDIDATES)
        .fetch_all(&mut *tx)
        .await
        .db()?;
        for (id, lane) in candidates {
            // Another instance may be claiming a different job of this lane right now: the
            // advisory lock serialises the two, and the re-check below (a new statement, so a
            // fresh snapshot) sees whatever the other one committed.
            let (locked,): (bool,) =
                sqlx::query_as("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 7))")
                    .bind(lane.clone())
                    .fetch_one(&mut *tx)
                    .await
                    .db()?;
            if !locked {
                continue;
            }
            let claimed: Option<JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE jobs SET state = 'running', locked_by = $1, locked_until_ms = $2, \
                 attempts = attempts + 1, updated_ms = $3 \
                 WHERE id = $4 AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.lane = $5 AND r.id <> $4 \
                                               AND r.state = 'running' AND r.locked_until_ms >= $3) \
                 RETURNING {JOB_COLUMNS}"
            )))
            .bind(worker)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .bind(id)
            .bind(lane)
            .fetch_optional(&mut *tx)
            .await
            .db()?;
            if claimed.is_some() {
                tx.commit().await.db()?;
                return Ok(claimed);
            }
        }
        tx.commit().await.db()?;
        Ok(None)
    }
}

/// Connects to `postgres://…` and brings the schema up to date.
pub async fn open(
    url: &str,
    keyring: Arc<Keyring>,
    clock: Arc<dyn Clock>,
) -> StoreResult<SqlStore> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(16)
        .connect(url)
        .await
        .map_err(|e| StoreError::database_while("cannot connect to PostgreSQL", e))?;
    migrate(&pool, &MIGRATOR, EDITED_MIGRATIONS).await?;
    Ok(SqlStore::new(
        pool,
        Arc::new(PostgresBackend),
        keyring,
        clock,
    ))
}
