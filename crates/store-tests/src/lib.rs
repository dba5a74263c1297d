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

use std::path::PathBuf;
use std::sync::Arc;
use teamline_store::crypto::{EncryptionKey, Keyring};
use teamline_store::{Clock, ManualClock, Store};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Where a test's database lives, so stories can reopen it or read its raw bytes.
pub enum Db {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
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
        let PgDatabase {
            admin_url,
            name,
            url,
        } = PgDatabase::create().await;
        let clock = Arc::new(ManualClock::new(T0));
        let store =
            teamline_store_postgres::open(&url, Arc::new(Keyring::for_testing()), clock.clone())
                .await
                .unwrap();
        Self {
            store: Arc::new(store),
            clock,
            db: Db::Postgres {
                admin_url,
                name,
                url,
            },
        }
    }

    /// Another store on the same database (a second instance, or a restart with other keys).
    pub async fn reopen(&self, keyring: Keyring) -> Arc<dyn Store> {
        let clock: Arc<dyn Clock> = self.clock.clone();
        match &self.db {
            Db::Sqlite { path, .. } => Arc::new(
                teamline_store_sqlite::open(path, Arc::new(keyring), clock)
                    .await
                    .unwrap(),
            ),
            Db::Postgres { url, .. } => Arc::new(
                teamline_store_postgres::open(url, Arc::new(keyring), clock)
                    .await
                    .unwrap(),
            ),
        }
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
            Db::Postgres { url, .. } => {
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
                let mut c =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                        .await
                        .unwrap();
                sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&mut c)
                    .await
                    .map(|_| ())
            }
            Db::Postgres { url, .. } => {
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
        if let Db::Postgres {
            admin_url, name, ..
        } = &self.db
        {
            drop(self.store);
            let mut admin = connect_admin(admin_url).await;
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await;
        }
    }
}

/// A fresh, empty PostgreSQL database for one test (for tests outside the conformance suite
/// that open their own stores, e.g. several instances with the system clock).
pub struct PgDatabase {
    pub admin_url: String,
    pub name: String,
    /// Where the test's stores connect.
    pub url: String,
}

impl PgDatabase {
    /// Creates it on the server at `TEAMLINE_TEST_POSTGRES_URL` (or the default).
    pub async fn create() -> Self {
        let admin_url = std::env::var("TEAMLINE_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let name = format!("teamline_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = connect_admin(&admin_url).await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create a test database at {admin_url}: {e}"));
        let url = database_url(&admin_url, &name);
        Self {
            admin_url,
            name,
            url,
        }
    }

    /// Drops the database (every store on it must be dropped first, or is disconnected).
    pub async fn drop_database(self) {
        let mut admin = connect_admin(&self.admin_url).await;
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut admin)
        .await;
    }
}

async fn connect_admin(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {url} ({e}). Run scripts/test.sh, which installs and \
             starts it, or set TEAMLINE_TEST_POSTGRES_URL."
        )
    })
}

/// The URL of database `name` on the server of `admin_url`.
fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url
        .split_once('?')
        .map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_replaces_the_database() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            database_url("postgres://u:p@h/db?sslmode=disable", "t1"),
            "postgres://u:p@h/t1?sslmode=disable"
        );
        assert_eq!(database_url("postgres://h", "t1"), "postgres://h/t1");
    }
}
