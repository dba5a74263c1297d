//! The SQLite and PostgreSQL migration sets define the same schema, column by column.

use teamline_store_tests::Harness;
use teamline_store_tests::schema::{self, differences};

/// Both databases, migrated; their schemas read back; the PostgreSQL database dropped.
async fn both(drift_sqlite: &[&str], drift_postgres: &[&str]) -> (schema::Schema, schema::Schema) {
    let lite = Harness::sqlite().await;
    let pg = Harness::postgres().await;
    for sql in drift_sqlite {
        lite.raw_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql} on SQLite: {e}"));
    }
    for sql in drift_postgres {
        pg.raw_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql} on PostgreSQL: {e}"));
    }
    let schemas = (schema::read(&lite.db).await, schema::read(&pg.db).await);
    pg.cleanup().await;
    schemas
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_migrations_define_the_same_schema() {
    let (lite, pg) = both(&[], &[]).await;
    assert!(
        lite.tables.len() >= 17 && lite.tables.contains_key("pbx_users"),
        "the SQLite schema was read: {:?}",
        lite.tables.keys()
    );
    assert!(
        lite.indexes.contains_key("pbx_users_sip_user_uq"),
        "indexes were read: {:?}",
        lite.indexes.keys()
    );
    assert!(!lite.foreign_keys.is_empty(), "foreign keys were read");
    let diff = differences(&lite, &pg);
    assert!(
        diff.is_empty(),
        "the SQLite and PostgreSQL migrations disagree:\n  {}",
        diff.join("\n  ")
    );
}

/// What a migration written for one database only looks like: the check names each change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_on_one_database_only_is_named() {
    let (lite, pg) = both(
        &[
            "ALTER TABLE sessions ADD COLUMN user_agent TEXT",
            "CREATE TABLE webhooks (id INTEGER PRIMARY KEY, expires NUMERIC NOT NULL)",
        ],
        &[
            "ALTER TABLE jobs ALTER COLUMN last_error SET NOT NULL",
            "ALTER TABLE audit_events ALTER COLUMN object_id TYPE varchar(64)",
            "ALTER TABLE pbx_users ALTER COLUMN version TYPE integer",
            "DROP INDEX jobs_lane",
            "DROP INDEX pbx_users_number_uq",
            "CREATE UNIQUE INDEX pbx_users_number_uq ON pbx_users (enterprise_id, phone_number)",
        ],
    )
    .await;
    let diff = differences(&lite, &pg);
    let expected = [
        "column sessions.user_agent (TEXT NULL): only in the SQLite migrations",
        "table webhooks: only in the SQLite migrations",
        "column jobs.last_error: TEXT NULL on SQLite but text NOT NULL on PostgreSQL",
        "column audit_events.object_id: type character varying on PostgreSQL is not an integer",
        "column pbx_users.version: type integer on PostgreSQL is not an integer, text or bytes",
        "index jobs_lane (on jobs (lane, state)): only in the SQLite migrations",
        "index pbx_users_number_uq: UNIQUE on pbx_users (enterprise_id, phone_number) WHERE … \
         on SQLite but UNIQUE on pbx_users (enterprise_id, phone_number) on PostgreSQL",
    ];
    for line in expected {
        assert!(
            diff.iter().any(|d| d.starts_with(line)),
            "missing {line:?} in:\n  {}",
            diff.join("\n  ")
        );
    }
    assert_eq!(diff.len(), expected.len(), "{}", diff.join("\n"));
}
