//! Test databases (feature `testing`): a fresh, empty PostgreSQL database per test on the
//! server at `TEAMLINE_TEST_POSTGRES_URL` (default [`DEFAULT_POSTGRES_URL`]), dropped after it.
//! The conformance suite and the test kit both use it; production code never does.

// Test code: a server that is not there or refuses is a broken test setup, reported by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sqlx::Connection;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database of its own for one test.
pub struct PgDatabase {
    /// The server's maintenance database, where test databases are created and dropped.
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
