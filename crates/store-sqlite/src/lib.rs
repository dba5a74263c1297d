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
use teamline_store_sql::{
    AnyPool, Backend, DbResultExt, JOB_COLUMNS, JobRow, SqlStore, UserSearch,
};

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
    ) -> StoreResult<Option<JobRow>> {
        // One statement outside a transaction: a writing statement takes SQLite's write lock
        // before it reads (waiting up to the busy timeout), so no other connection can claim
        // between the lane check and the update, without BEGIN/COMMIT round trips.
        //
        // The most urgent queued job and the most urgent job whose lease ran out are each
        // found by walking `jobs_claim` in claiming order and stopping at the first whose lane
        // is free; the more urgent of the two is claimed. (One search over both states would
        // check the lane of every due job, then sort them: with a fleet's 2 000 syncs queued
        // at once, milliseconds per claim.)
        let pick = |state: &str, due: &str| {
            format!(
                "SELECT * FROM (SELECT j.id, j.priority FROM jobs j INDEXED BY jobs_claim \
                 WHERE j.state = '{state}' AND {due} \
                   AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.lane = j.lane AND r.id <> j.id \
                                   AND r.state = 'running' AND r.locked_until_ms >= $3) \
                 ORDER BY j.priority DESC, j.id LIMIT 1)"
            )
        };
        let queued = pick("queued", "j.run_after_ms <= $3");
        let expired = pick("running", "j.locked_until_ms < $3");
        sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE jobs SET state = 'running', locked_by = $1, locked_until_ms = $2, \
             attempts = attempts + 1, updated_ms = $3 \
             WHERE id = (SELECT id FROM ({queued} UNION ALL {expired}) \
               ORDER BY priority DESC, id LIMIT 1) \
             RETURNING {JOB_COLUMNS}"
        )))
        .bind(worker)
        .bind(now_ms + lease_ms)
        .bind(now_ms)
        .fetch_optional(pool)
        .await
        .db()
    }

    /// FTS5's trigram index answers a quoted phrase of 3 characters or more as a
    /// case-insensitive substring; a shorter term has no trigram, so it is looked for in
    /// the users' `search_text` directly.
    fn user_search(&self, term: &str) -> UserSearch {
        if term.chars().count() < 3 {
            return UserSearch::like(term);
        }
        UserSearch {
            condition: "p.id IN (SELECT rowid FROM pbx_user_search WHERE pbx_user_search MATCH $3)",
            value: format!("\"{}\"", term.replace('"', "\"\"")),
        }
    }
}

/// Opens (creating if needed) the database file and brings its schema up to date. The file
/// and its `-wal`/`-shm` companions are readable by their owner only (mode 0600).
pub async fn open(
    path: &Path,
    keyring: Arc<Keyring>,
    clock: Arc<dyn Clock>,
) -> StoreResult<SqlStore> {
    owner_only(path)?;
    let path = path.to_str().ok_or_else(|| {
        StoreError::database(format!(
            "the database path {} is not valid UTF-8",
            path.display()
        ))
    })?;
    open_url(&format!("sqlite://{path}?mode=rwc"), keyring, clock).await
}

/// The database holds every enterprise's data (and the encrypted secrets): only the user
/// Teamline runs as may read it, like the key file. SQLite creates the `-wal`, `-shm` and
/// `-journal` files with the database file's permissions, so creating the file 0600 before
/// SQLite does covers them; files an older version left readable are tightened.
#[cfg(unix)]
fn owner_only(path: &Path) -> StoreResult<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let failed = |e: std::io::Error| {
        StoreError::database(format!(
            "cannot restrict the permissions of {}: {e}",
            path.display()
        ))
    };
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(failed(e)),
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let file = std::path::PathBuf::from(file);
        match std::fs::metadata(&file) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .map_err(failed)?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(failed(e)),
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn owner_only(_path: &Path) -> StoreResult<()> {
    Ok(())
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
        // A connection to a local file does not go stale, and the ping before each use is a
        // round trip to the connection's worker thread: with a dozen statements per job, a
        // measurable share of an idle fleet's CPU.
        .test_before_acquire(false)
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

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use teamline_store::SystemClock;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn the_database_and_its_wal_and_shm_files_are_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("teamline.db");
        // Opening runs the migrations: the write-ahead log and shared memory files exist
        // while the store is open.
        let store = open(&db, Arc::new(Keyring::for_testing()), Arc::new(SystemClock))
            .await
            .unwrap();
        for file in ["teamline.db", "teamline.db-wal", "teamline.db-shm"] {
            assert_eq!(mode(&dir.path().join(file)), 0o600, "{file}");
        }
        drop(store);
    }

    #[tokio::test]
    async fn files_left_readable_by_others_are_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("teamline.db");
        std::fs::write(&db, b"").unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        let store = open(&db, Arc::new(Keyring::for_testing()), Arc::new(SystemClock))
            .await
            .unwrap();
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&dir.path().join("teamline.db-wal")), 0o600);
        drop(store);
    }
}
