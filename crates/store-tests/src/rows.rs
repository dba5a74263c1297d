//! Every row of every table, as text, read straight from the database (not through the store),
//! so a test can prove that a request changed nothing at all: take the rows before and after
//! and compare them table by table.

use std::collections::BTreeMap;
use std::path::Path;

/// Each table's rows (each row one line of its column values), sorted, by table name.
pub type Rows = BTreeMap<String, Vec<String>>;

/// The rows of the SQLite database at `path`, except `skip`'s tables.
pub async fn sqlite(path: &Path, skip: &[&str]) -> Result<Rows, sqlx::Error> {
    RowReader::sqlite(path, skip).await?.read().await
}

/// The rows of the PostgreSQL database at `url`, except `skip`'s tables.
pub async fn postgres(url: &str, skip: &[&str]) -> Result<Rows, sqlx::Error> {
    RowReader::postgres(url, skip).await?.read().await
}

/// Reads every row again and again on one connection, with each table's query written once:
/// for tests that take the rows after every one of hundreds of requests. The tables are those
/// of the schema when the reader was opened.
pub struct RowReader {
    connection: Connection,
    /// (table, the query that reads its rows as text), by table name.
    queries: Vec<(String, String)>,
}

enum Connection {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl RowReader {
    /// A reader of the SQLite database at `path` (read-only), except `skip`'s tables.
    pub async fn sqlite(path: &Path, skip: &[&str]) -> Result<Self, sqlx::Error> {
        use sqlx::{Connection as _, Row};
        let mut conn =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", path.display()))
                .await?;
        let tables: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .fetch_all(&mut conn)
        .await?;
        let mut queries = Vec::new();
        for (table,) in tables {
            if skip.contains(&table.as_str()) {
                continue;
            }
            let columns: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
            )))
            .fetch_all(&mut conn)
            .await?
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
            // quote() renders every SQLite value (NULL, integer, text, blob) as an SQL literal.
            let row_text = columns
                .iter()
                .map(|c| format!("quote(\"{c}\")"))
                .collect::<Vec<_>>()
                .join(" || ',' || ");
            let query = format!("SELECT {row_text} FROM \"{table}\"");
            queries.push((table, query));
        }
        Ok(Self {
            connection: Connection::Sqlite(conn),
            queries,
        })
    }

    /// A reader of the PostgreSQL database at `url`, except `skip`'s tables.
    pub async fn postgres(url: &str, skip: &[&str]) -> Result<Self, sqlx::Error> {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(url).await?;
        let tables: Vec<(String,)> = sqlx::query_as(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' \
             AND table_type = 'BASE TABLE' ORDER BY table_name",
        )
        .fetch_all(&mut conn)
        .await?;
        let queries = tables
            .into_iter()
            .filter(|(table,)| !skip.contains(&table.as_str()))
            .map(|(table,)| {
                let query = format!("SELECT t::text FROM \"{table}\" t");
                (table, query)
            })
            .collect();
        Ok(Self {
            connection: Connection::Postgres(conn),
            queries,
        })
    }

    /// Every row of the reader's tables, as they are now.
    pub async fn read(&mut self) -> Result<Rows, sqlx::Error> {
        let mut out = Rows::new();
        for (table, query) in &self.queries {
            let sql = || sqlx::AssertSqlSafe(query.as_str());
            let rows: Vec<(String,)> = match &mut self.connection {
                Connection::Sqlite(conn) => sqlx::query_as(sql()).fetch_all(conn).await?,
                Connection::Postgres(conn) => sqlx::query_as(sql()).fetch_all(conn).await?,
            };
            let mut rows: Vec<String> = rows.into_iter().map(|(r,)| r).collect();
            rows.sort();
            out.insert(table.clone(), rows);
        }
        Ok(out)
    }
}

/// What differs between two snapshots, one line per added or removed row (empty when equal).
pub fn differences(before: &Rows, after: &Rows) -> Vec<String> {
    let mut out = Vec::new();
    let empty = Vec::new();
    let tables: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for table in tables {
        let b = before.get(table).unwrap_or(&empty);
        let a = after.get(table).unwrap_or(&empty);
        // Both are sorted: equal tables (nearly every table, nearly always) compare in one pass
        // instead of looking each row up in the other snapshot.
        if a == b {
            continue;
        }
        out.extend(
            b.iter()
                .filter(|r| a.binary_search(r).is_err())
                .map(|r| format!("{table}: - {r}")),
        );
        out.extend(
            a.iter()
                .filter(|r| b.binary_search(r).is_err())
                .map(|r| format!("{table}: + {r}")),
        );
    }
    out
}
