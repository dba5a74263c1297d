//! Teamline's default store: an embedded SQLite database in the data directory.
//!
//! SQLite allows one writer at a time, so every writing transaction starts with
//! `BEGIN IMMEDIATE` (it waits up to the busy timeout for the lock instead of failing
//! half-way), the journal is WAL so readers never block the writer, and one Teamline process
//! owns the file (the CLI holds a lock file). Several instances need PostgreSQL.

use async_trait::async_trait;
use sqlx::any::AnyPoolOptions;
use sqlx::{AssertSqlSafe, Executor};
use std::path::Path;
use std::sync::Arc;
use teamline_store::crypto::Keyring;
use teamline_store::{Clock, StoreError, StoreResult};
use teamline_store_sql::migrations::{EditedMigration, migrate};
use teamline_store_sql::{AnyPool, Backend, DbResultExt, SqlStore};

/// Schema migrations, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applied migrations edited since their release without changing the schema: databases
/// migrated with the released file still open (see [`teamline_store_sql::migrations`]).
pub const EDITED_MIGRATIONS: &[EditedMigration] = &[EditedMigration {
    version: 1,
    // `0001_initial.sql` as it was until a comment about the unique indexes was reworded (as of
    // commit 821eca4): the SHA-384 sqlx recorded in every database migrated with that file,
    // i.e. `git show 821eca4:crates/store-sqlite/migrations/0001_initial.sql | sha384sum`.
    released_checksum: "224cb77a7a362bd9f2a415a0e9fe40ca36ff40d2181f6361fed8323c662d8608d590c8058833d6f7041fedc32a05c7cf",
}];

const PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
    PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";

pub struct SqliteBackend;

#[async_trait]
impl Backend for SqliteBackend {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn begin_write(&self) -> &'static str {
        "BEGIN IMMEDIATE"
    }

    async fn claim_job(
        &self,
        pool: &AnyPool,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> StoreResult<Option<i64>> {
        // BEGIN IMMEDIATE makes the claim exclusive: no other connection can claim between
        // the lane check and the update.
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.db()?;
        let claimed: Option<(i64,)> = sqlx::query_as(
            "UPDATE jobs SET state = 'running', locked_by = $1, locked_until_ms = $2, \
             attempts = attempts + 1, updated_ms = $3 \
             WHERE id = (SELECT j.id FROM jobs j \
               WHERE ((j.state = 'queued' AND j.run_after_ms <= $3) \
                      OR (j.state = 'running' AND j.locked_until_ms < $3)) \
                 AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.lane = j.lane AND r.id <> j.id \
                                 AND r.state = 'running' AND r.locked_until_ms >= $3) \
               ORDER BY j.priority DESC, j.id LIMIT 1) \
             RETURNING id",
        )
        .bind(worker)
        .bind(now_ms + lease_ms)
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(claimed.map(|(id,)| id))
    }
}

/// Opens (creating if needed) the database file and brings its schema up to date.
pub async fn open(
    path: &Path,
    keyring: Arc<Keyring>,
    clock: Arc<dyn Clock>,
) -> StoreResult<SqlStore> {
    let path = path.to_str().ok_or_else(|| {
        StoreError::database(format!(
            "the database path {} is not valid UTF-8",
            path.display()
        ))
    })?;
    open_url(&format!("sqlite://{path}?mode=rwc"), keyring, clock).await
}

/// Opens a `sqlite:` URL and runs the migrations.
pub async fn open_url(
    url: &str,
    keyring: Arc<Keyring>,
    clock: Arc<dyn Clock>,
) -> StoreResult<SqlStore> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(8)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute(AssertSqlSafe(PRAGMAS)).await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(|e| StoreError::database_while("cannot open the SQLite database", e))?;
    migrate(&pool, &MIGRATOR, EDITED_MIGRATIONS).await?;
    Ok(SqlStore::new(pool, Arc::new(SqliteBackend), keyring, clock))
}
