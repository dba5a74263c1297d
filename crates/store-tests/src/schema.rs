//! A database's schema in dialect-neutral terms, read back from the database itself after the
//! migrations ran, so the SQLite and PostgreSQL migration sets can be compared column by column.
//!
//! One SQL implementation serves both databases only while both schemas agree: the same tables
//! and columns, the same nullability, types that decode into the same Rust types, the same
//! indexes (unique indexes are how a product promise reaches the database) and the same
//! foreign keys. [`differences`] lists every way they do not, naming the table and column.

use crate::Db;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// What a column holds, as the store reads it. The schema keeps to these three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A 64-bit integer (booleans as 0/1, times as Unix milliseconds): SQLite `INTEGER` or
    /// `BIGINT`, PostgreSQL `bigint`. PostgreSQL's `integer` is not one: the store reads every
    /// integer into an `i64`.
    Integer,
    /// SQLite `TEXT`, PostgreSQL `text`.
    Text,
    /// SQLite `BLOB`, PostgreSQL `bytea`.
    Bytes,
    /// Anything else is a mistake in a migration.
    Other,
}

impl Kind {
    fn sqlite(declared: &str) -> Self {
        match declared.to_ascii_uppercase().as_str() {
            "INTEGER" | "BIGINT" => Self::Integer,
            "TEXT" => Self::Text,
            "BLOB" => Self::Bytes,
            _ => Self::Other,
        }
    }

    fn postgres(data_type: &str) -> Self {
        match data_type {
            "bigint" => Self::Integer,
            "text" => Self::Text,
            "bytea" => Self::Bytes,
            _ => Self::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub kind: Kind,
    /// The type as the migration wrote it (for messages).
    pub declared: String,
    pub nullable: bool,
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let null = if self.nullable { "NULL" } else { "NOT NULL" };
        write!(f, "{} {null}", self.declared)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub table: String,
    pub columns: Vec<String>,
    pub unique: bool,
    /// Has a `WHERE` clause. The predicates themselves are not compared: PostgreSQL rewrites
    /// them (`state IN (…)` becomes `state = ANY (ARRAY[…])`).
    pub partial: bool,
}

impl fmt::Display for Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unique = if self.unique { "UNIQUE " } else { "" };
        let partial = if self.partial { " WHERE …" } else { "" };
        write!(
            f,
            "{unique}on {} ({}){partial}",
            self.table,
            self.columns.join(", ")
        )
    }
}

/// A foreign key column: `table.column` → `references.referenced_column`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKey {
    pub table: String,
    pub column: String,
    pub references: String,
    pub referenced_column: String,
}

impl fmt::Display for ForeignKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{} → {}.{}",
            self.table, self.column, self.references, self.referenced_column
        )
    }
}

/// The schema of one database, without sqlx's migration bookkeeping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// Table → column → column.
    pub tables: BTreeMap<String, BTreeMap<String, Column>>,
    /// Table → primary-key columns in key order.
    pub primary_keys: BTreeMap<String, Vec<String>>,
    /// Index name → index. Indexes that only implement a primary key are left out (SQLite has
    /// none for an `INTEGER PRIMARY KEY`).
    pub indexes: BTreeMap<String, Index>,
    pub foreign_keys: BTreeSet<ForeignKey>,
}

const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// Reads the schema of a test database.
pub async fn read(db: &Db) -> Schema {
    match db {
        Db::Sqlite { path, .. } => {
            use sqlx::Connection;
            let url = format!("sqlite://{}", path.display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlite(&mut conn).await
        }
        Db::Postgres(crate::PgDatabase { url, .. }) => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            postgres(&mut conn).await
        }
    }
}

async fn sqlite(conn: &mut sqlx::SqliteConnection) -> Schema {
    let mut schema = Schema::default();
    let tables: Vec<(String,)> = sqlx::query_as(
        // Ordinary tables only: a full-text index (FTS5's virtual table and its shadow
        // tables) is SQLite's own way to search and has no PostgreSQL twin.
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> $1 ORDER BY name",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for (table,) in tables {
        let columns: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info($1) ORDER BY cid",
        )
        .bind(&table)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let mut primary_key: Vec<(i64, String)> = Vec::new();
        let mut cols = BTreeMap::new();
        for (name, declared, not_null, pk) in columns {
            if pk > 0 {
                primary_key.push((pk, name.clone()));
            }
            // A primary key is never NULL on PostgreSQL. SQLite lets a non-integer one hold
            // NULL for backwards compatibility; Teamline never writes one, so both count as
            // NOT NULL here.
            let nullable = not_null == 0 && pk == 0;
            let kind = Kind::sqlite(&declared);
            cols.insert(
                name,
                Column {
                    kind,
                    declared,
                    nullable,
                },
            );
        }
        primary_key.sort();
        schema.primary_keys.insert(
            table.clone(),
            primary_key.into_iter().map(|(_, c)| c).collect(),
        );
        schema.tables.insert(table.clone(), cols);

        // Only indexes made by CREATE INDEX (origin 'c'), not those behind a PRIMARY KEY.
        let indexes: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT name, \"unique\", partial FROM pragma_index_list($1) WHERE origin = 'c'",
        )
        .bind(&table)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        for (name, unique, partial) in indexes {
            // An expression (e.g. `LENGTH(sip_user)`) has no column name on either backend:
            // both readers name it "(expression)", so its position still has to agree.
            let columns: Vec<(String,)> = sqlx::query_as(
                "SELECT COALESCE(name, '(expression)') FROM pragma_index_info($1) ORDER BY seqno",
            )
            .bind(&name)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
            schema.indexes.insert(
                name,
                Index {
                    table: table.clone(),
                    columns: columns.into_iter().map(|(c,)| c).collect(),
                    unique: unique != 0,
                    partial: partial != 0,
                },
            );
        }

        let keys: Vec<(String, String, Option<String>)> =
            sqlx::query_as("SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list($1)")
                .bind(&table)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        for (column, references, to) in keys {
            schema.foreign_keys.insert(ForeignKey {
                table: table.clone(),
                column,
                references,
                // `REFERENCES t` without a column means t's primary key, `id` in our schema.
                referenced_column: to.unwrap_or_else(|| "id".to_owned()),
            });
        }
    }
    schema
}

async fn postgres(conn: &mut sqlx::PgConnection) -> Schema {
    let mut schema = Schema::default();
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> $1",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for (table,) in tables {
        schema.tables.insert(table.clone(), BTreeMap::new());
        schema.primary_keys.insert(table, Vec::new());
    }

    let columns: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> $1",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for (table, name, data_type, nullable) in columns {
        if let Some(cols) = schema.tables.get_mut(&table) {
            cols.insert(
                name,
                Column {
                    kind: Kind::postgres(&data_type),
                    declared: data_type,
                    nullable: nullable == "YES",
                },
            );
        }
    }

    let keys: Vec<(String, String)> = sqlx::query_as(
        "SELECT tc.table_name::text, k.column_name::text \
         FROM information_schema.table_constraints tc \
         JOIN information_schema.key_column_usage k \
           ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema \
         WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = 'public' \
         ORDER BY tc.table_name, k.ordinal_position",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for (table, column) in keys {
        if let Some(pk) = schema.primary_keys.get_mut(&table) {
            pk.push(column);
        }
    }

    // B-tree indexes only: a trigram (GIN) index is PostgreSQL's own way to search, as
    // FTS5 is SQLite's; each backend's search hook uses its own.
    let index_columns: Vec<(String, String, bool, bool, String)> = sqlx::query_as(
        "SELECT i.relname::text, t.relname::text, x.indisunique, x.indpred IS NOT NULL, \
                COALESCE(a.attname::text, '(expression)') \
         FROM pg_index x \
         JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         JOIN pg_am am ON am.oid = i.relam \
         CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
         LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
         WHERE n.nspname = 'public' AND NOT x.indisprimary AND am.amname = 'btree' \
           AND t.relname <> $1 \
         ORDER BY i.relname, k.ord",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for (name, table, unique, partial, column) in index_columns {
        schema
            .indexes
            .entry(name)
            .or_insert_with(|| Index {
                table,
                columns: Vec::new(),
                unique,
                partial,
            })
            .columns
            .push(column);
    }

    let keys: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT t.relname::text, a.attname::text, r.relname::text, ra.attname::text \
         FROM pg_constraint c \
         JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_class r ON r.oid = c.confrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         CROSS JOIN LATERAL unnest(c.conkey, c.confkey) AS k(col, ref) \
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col \
         JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.ref \
         WHERE c.contype = 'f' AND n.nspname = 'public'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for (table, column, references, referenced_column) in keys {
        schema.foreign_keys.insert(ForeignKey {
            table,
            column,
            references,
            referenced_column,
        });
    }
    schema
}

/// Every way the two schemas differ, one line each, naming the table, column or index; also
/// every column of a type outside integers, text and bytes. Empty when they agree.
pub fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    for (table, side) in one_sided(&sqlite.tables, &postgres.tables) {
        out.push(format!("table {table}: only in the {side} migrations"));
    }
    for (table, lite_cols) in &sqlite.tables {
        let Some(pg_cols) = postgres.tables.get(table) else {
            continue;
        };
        for (column, side) in one_sided(lite_cols, pg_cols) {
            let col = lite_cols.get(column).or_else(|| pg_cols.get(column));
            let what = col.map(ToString::to_string).unwrap_or_default();
            out.push(format!(
                "column {table}.{column} ({what}): only in the {side} migrations"
            ));
        }
        for (column, lite) in lite_cols {
            let Some(pg) = pg_cols.get(column) else {
                continue;
            };
            for (col, side) in [(lite, "SQLite"), (pg, "PostgreSQL")] {
                if col.kind == Kind::Other {
                    out.push(format!(
                        "column {table}.{column}: type {} on {side} is not an integer, text or \
                         bytes type (SQLite INTEGER/BIGINT/TEXT/BLOB, PostgreSQL \
                         bigint/text/bytea)",
                        col.declared
                    ));
                }
            }
            if lite.kind != pg.kind && lite.kind != Kind::Other && pg.kind != Kind::Other {
                out.push(format!(
                    "column {table}.{column}: {} on SQLite but {} on PostgreSQL",
                    lite.declared, pg.declared
                ));
            }
            if lite.nullable != pg.nullable {
                out.push(format!(
                    "column {table}.{column}: {lite} on SQLite but {pg} on PostgreSQL"
                ));
            }
        }
        let (lite_pk, pg_pk) = (
            sqlite.primary_keys.get(table),
            postgres.primary_keys.get(table),
        );
        if lite_pk != pg_pk {
            out.push(format!(
                "primary key of {table}: ({}) on SQLite but ({}) on PostgreSQL",
                lite_pk.map(|c| c.join(", ")).unwrap_or_default(),
                pg_pk.map(|c| c.join(", ")).unwrap_or_default()
            ));
        }
    }
    for (index, side) in one_sided(&sqlite.indexes, &postgres.indexes) {
        let def = sqlite
            .indexes
            .get(index)
            .or_else(|| postgres.indexes.get(index));
        let what = def.map(ToString::to_string).unwrap_or_default();
        out.push(format!(
            "index {index} ({what}): only in the {side} migrations"
        ));
    }
    for (index, lite) in &sqlite.indexes {
        if let Some(pg) = postgres.indexes.get(index)
            && lite != pg
        {
            out.push(format!(
                "index {index}: {lite} on SQLite but {pg} on PostgreSQL"
            ));
        }
    }
    for key in sqlite.foreign_keys.difference(&postgres.foreign_keys) {
        out.push(format!("foreign key {key}: only in the SQLite migrations"));
    }
    for key in postgres.foreign_keys.difference(&sqlite.foreign_keys) {
        out.push(format!(
            "foreign key {key}: only in the PostgreSQL migrations"
        ));
    }
    out
}

/// Keys present on one side only, with the side's name.
fn one_sided<'a, V>(
    sqlite: &'a BTreeMap<String, V>,
    postgres: &'a BTreeMap<String, V>,
) -> Vec<(&'a str, &'static str)> {
    let only_sqlite = sqlite
        .keys()
        .filter(|k| !postgres.contains_key(*k))
        .map(|k| (k.as_str(), "SQLite"));
    let only_postgres = postgres
        .keys()
        .filter(|k| !sqlite.contains_key(*k))
        .map(|k| (k.as_str(), "PostgreSQL"));
    only_sqlite.chain(only_postgres).collect()
}
