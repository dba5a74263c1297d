use std::sync::Arc;
use teamline_store::crypto::Keyring;
use teamline_store::{DynStore, StoreError, SystemClock};
#[cfg(feature = "postgres")]
use teamline_store_postgres::testing::PgDatabase;

/// A fresh, empty database for one test (or benchmark), with the test encryption key.
pub enum TestDatabase {
    /// A SQLite file in a temporary directory, deleted on drop.
    Sqlite(tempfile::TempDir),
    /// A database of its own on the PostgreSQL server at `TEAMLINE_TEST_POSTGRES_URL`;
    /// [`TestDatabase::remove`] drops it. Feature `postgres`.
    #[cfg(feature = "postgres")]
    Postgres(PgDatabase),
}

impl TestDatabase {
    pub fn sqlite() -> Result<Self, std::io::Error> {
        Ok(Self::Sqlite(tempfile::tempdir()?))
    }

    #[cfg(feature = "postgres")]
    pub async fn postgres() -> Self {
        Self::Postgres(PgDatabase::create().await)
    }

    /// A store on it (migrated). Opening again gives another instance on the same data.
    pub async fn open(&self) -> Result<DynStore, StoreError> {
        let keyring = Arc::new(Keyring::for_testing());
        let clock = Arc::new(SystemClock);
        Ok(match self {
            Self::Sqlite(dir) => Arc::new(
                teamline_store_sqlite::open(&dir.path().join("teamline.db"), keyring, clock)
                    .await?,
            ),
            #[cfg(feature = "postgres")]
            Self::Postgres(db) => {
                Arc::new(teamline_store_postgres::open(&db.url, keyring, clock).await?)
            }
        })
    }

    /// Where it is: the SQLite file, or the PostgreSQL database's URL (for tests that read the
    /// database itself, e.g. to prove a request changed no row).
    pub fn location(&self) -> DatabaseLocation {
        match self {
            Self::Sqlite(dir) => DatabaseLocation::Sqlite(dir.path().join("teamline.db")),
            #[cfg(feature = "postgres")]
            Self::Postgres(db) => DatabaseLocation::Postgres(db.url.clone()),
        }
    }

    /// Deletes the database (every store on it must be dropped first).
    pub async fn remove(self) {
        match self {
            Self::Sqlite(dir) => drop(dir),
            #[cfg(feature = "postgres")]
            Self::Postgres(db) => db.drop_database().await,
        }
    }
}

/// Where a [`TestDatabase`] is.
#[derive(Debug, Clone)]
pub enum DatabaseLocation {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}
