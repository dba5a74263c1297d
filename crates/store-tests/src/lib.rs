//! The Store conformance suite: the same stories run against SQLite (always) and PostgreSQL
//! (at `TEAMLINE_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`,
//! in a database created for the test and dropped after it).
//!
//! Each story is a function taking a [`Harness`], in one [`suite`] module per part of the store;
//! `tests/it` runs every story on both backends. [`schema`] reads what the migrations built on
//! each database, for the test that keeps the two migration sets alike column by column.

// The suite is test code: it asserts by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod fixtures;
pub mod rows;
pub mod schema;
pub mod suite;

use sqlx::migrate::Migrator;
use std::path::PathBuf;
use std::sync::Arc;
use teamline_store::crypto::{EncryptionKey, Keyring};
use teamline_store::{Clock, ManualClock, Store, StoreResult};
use teamline_store_postgres::testing::PgDatabase;
use teamline_store_sql::migrations::EditedMigration;

/// Where a test's database lives, so stories can reopen it or read its raw bytes.
pub enum Db {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres(PgDatabase),
}

/// A fresh store on a fresh database, with a manual clock.
pub struct Harness {
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    pub db: Db,
}

/// The start of every test's manual clock: 2026-01-01T00:00:00Z.
pub const T0: i64 = 1_767_225_600_000;

impl Harness {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("teamline.db");
        let clock = Arc::new(ManualClock::new(T0));
        let store =
            teamline_store_sqlite::open(&path, Arc::new(Keyring::for_testing()), clock.clone())
                .await
                .unwrap();
        Self {
            store: Arc::new(store),
            clock,
            db: Db::Sqlite { _dir: dir, path },
        }
    }

    pub async fn postgres() -> Self {
        let db = PgDatabase::create().await;
        let clock = Arc::new(ManualClock::new(T0));
        let store =
            teamline_store_postgres::open(&db.url, Arc::new(Keyring::for_testing()), clock.clone())
                .await
                .unwrap();
        Self {
            store: Arc::new(store),
            clock,
            db: Db::Postgres(db),
        }
    }

    /// Another store on the same database (a second instance, or a restart with other keys).
    pub async fn reopen(&self, keyring: Keyring) -> Arc<dyn Store> {
        self.try_reopen(keyring).await.unwrap()
    }

    /// Opens the database again as Teamline starts up (migrations included), or says why not.
    pub async fn try_reopen(&self, keyring: Keyring) -> StoreResult<Arc<dyn Store>> {
        let clock: Arc<dyn Clock> = self.clock.clone();
        Ok(match &self.db {
            Db::Sqlite { path, .. } => {
                Arc::new(teamline_store_sqlite::open(path, Arc::new(keyring), clock).await?)
            }
            Db::Postgres(PgDatabase { url, .. }) => {
                Arc::new(teamline_store_postgres::open(url, Arc::new(keyring), clock).await?)
            }
        })
    }

    /// This backend's migrations and the applied ones edited since (see
    /// `teamline_store_sql::migrations`).
    pub fn migrations(&self) -> (&'static Migrator, &'static [EditedMigration]) {
        match &self.db {
            Db::Sqlite { .. } => (
                &teamline_store_sqlite::MIGRATOR,
                teamline_store_sqlite::EDITED_MIGRATIONS,
            ),
            Db::Postgres(_) => (
                &teamline_store_postgres::MIGRATOR,
                teamline_store_postgres::EDITED_MIGRATIONS,
            ),
        }
    }

    /// The checksum sqlx recorded for an applied migration.
    pub async fn recorded_checksum(&self, version: i64) -> Vec<u8> {
        use sqlx::Connection;
        let sql = "SELECT checksum FROM _sqlx_migrations WHERE version = $1";
        let (checksum,): (Vec<u8>,) = match &self.db {
            Db::Sqlite { path, .. } => {
                let mut c = sqlite_connection(path).await;
                sqlx::query_as(sql).bind(version).fetch_one(&mut c).await
            }
            Db::Postgres(PgDatabase { url, .. }) => {
                let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query_as(sql).bind(version).fetch_one(&mut c).await
            }
        }
        .unwrap();
        checksum
    }

    /// Records another checksum for an applied migration, as a database migrated with another
    /// version of the file has it.
    pub async fn record_checksum(&self, version: i64, checksum: &[u8]) {
        use sqlx::Connection;
        let sql = "UPDATE _sqlx_migrations SET checksum = $1 WHERE version = $2";
        let updated = match &self.db {
            Db::Sqlite { path, .. } => {
                let mut c = sqlite_connection(path).await;
                let q = sqlx::query(sql).bind(checksum).bind(version);
                q.execute(&mut c).await.map(|r| r.rows_affected())
            }
            Db::Postgres(PgDatabase { url, .. }) => {
                let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                let q = sqlx::query(sql).bind(checksum).bind(version);
                q.execute(&mut c).await.map(|r| r.rows_affected())
            }
        };
        assert_eq!(updated.unwrap(), 1, "migration {version} is applied");
    }

    /// Everything the database holds, as text, to prove secrets are not stored in clear.
    pub async fn raw_dump(&self) -> Vec<u8> {
        match &self.db {
            Db::Sqlite { path, .. } => {
                let mut bytes = Vec::new();
                for suffix in ["", "-wal", "-shm"] {
                    let file = PathBuf::from(format!("{}{suffix}", path.display()));
                    if let Ok(b) = std::fs::read(&file) {
                        bytes.extend(b);
                    }
                }
                bytes
            }
            Db::Postgres(PgDatabase { url, .. }) => {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                let tables: Vec<(String,)> = sqlx::query_as(
                    "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap();
                let mut out = Vec::new();
                for (table,) in tables {
                    let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT t::text FROM \"{table}\" t"
                    )))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                    for (r,) in rows {
                        out.extend(r.into_bytes());
                        out.push(b'\n');
                    }
                }
                out
            }
        }
    }

    /// Runs a raw statement, bypassing the Store's checks (to prove the database itself
    /// enforces a rule).
    pub async fn raw_execute(&self, sql: &str) -> Result<(), String> {
        use sqlx::Connection;
        let result = match &self.db {
            Db::Sqlite { path, .. } => {
                let mut c = sqlite_connection(path).await;
                sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&mut c)
                    .await
                    .map(|_| ())
            }
            Db::Postgres(PgDatabase { url, .. }) => {
                let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&mut c)
                    .await
                    .map(|_| ())
            }
        };
        result.map_err(|e| e.to_string())
    }

    /// Drops a PostgreSQL test database (SQLite's temp dir removes itself).
    pub async fn cleanup(self) {
        if let Db::Postgres(db) = self.db {
            drop(self.store);
            db.drop_database().await;
        }
    }
}

async fn sqlite_connection(path: &std::path::Path) -> sqlx::SqliteConnection {
    use sqlx::Connection;
    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap()
}

/// A keyring with a given key byte, for rotation stories.
pub fn keyring(current: u8, previous: &[u8]) -> Keyring {
    Keyring::new(
        EncryptionKey::from_bytes([current; 32]),
        previous
            .iter()
            .map(|b| EncryptionKey::from_bytes([*b; 32]))
            .collect(),
    )
}

/// Runs a story on a harness, always cleaning up (even when the story panics).
pub async fn run<F, Fut>(harness: Harness, story: F)
where
    F: FnOnce(Arc<Harness>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let harness = Arc::new(harness);
    let outcome = tokio::spawn(story(harness.clone())).await;
    if let Ok(h) = Arc::try_unwrap(harness) {
        h.cleanup().await;
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
