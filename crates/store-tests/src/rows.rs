//! Every row of every table, as text, read straight from the database (not through the store),
//! so a test can prove that a request changed nothing at all: take the rows before and after
//! and compare them table by table.

use std::collections::BTreeMap;
use std::path::Path;

/// Each table's rows (each row one line of its column values), sorted, by table name.
pub type Rows = BTreeMap<String, Vec<String>>;

/// The rows of the SQLite database at `path`, except `skip`'s tables.
pub async fn sqlite(path: &Path, skip: &[&str]) -> Result<Rows, sqlx::Error> {
    use sqlx::{Connection, Row};
    let mut conn =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", path.display())).await?;
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await?;
    let mut out = Rows::new();
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
        let mut rows: Vec<String> = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(format!(
            "SELECT {row_text} FROM \"{table}\""
        )))
        .fetch_all(&mut conn)
        .await?
        .into_iter()
        .map(|(r,)| r)
        .collect();
        rows.sort();
        out.insert(table, rows);
    }
    Ok(out)
}

/// The rows of the PostgreSQL database at `url`, except `skip`'s tables.
pub async fn postgres(url: &str, skip: &[&str]) -> Result<Rows, sqlx::Error> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' \
         AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .fetch_all(&mut conn)
    .await?;
    let mut out = Rows::new();
    for (table,) in tables {
        if skip.contains(&table.as_str()) {
            continue;
        }
        let mut rows: Vec<String> = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(format!(
            "SELECT t::text FROM \"{table}\" t"
        )))
        .fetch_all(&mut conn)
        .await?
        .into_iter()
        .map(|(r,)| r)
        .collect();
        rows.sort();
        out.insert(table, rows);
    }
    Ok(out)
}

/// What differs between two snapshots, one line per added or removed row (empty when equal).
pub fn differences(before: &Rows, after: &Rows) -> Vec<String> {
    let mut out = Vec::new();
    let empty = Vec::new();
    let tables: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for table in tables {
        let b = before.get(table).unwrap_or(&empty);
        let a = after.get(table).unwrap_or(&empty);
        out.extend(
            b.iter()
                .filter(|r| !a.contains(r))
                .map(|r| format!("{table}: - {r}")),
        );
        out.extend(
            a.iter()
                .filter(|r| !b.contains(r))
                .map(|r| format!("{table}: + {r}")),
        );
    }
    out
}
