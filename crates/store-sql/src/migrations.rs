//! Bringing a database's schema up to date at startup, for both backends.
//!
//! sqlx records each applied migration's checksum (SHA-384 of the file) and refuses to run
//! against a database whose recorded checksum differs from the file's: an applied migration
//! must never change. When one was edited anyway without changing what it does (a comment),
//! its backend lists it as an [`EditedMigration`] with the checksum of the file as it was
//! released, and [`migrate`] replaces exactly that old checksum with the current one before
//! running the migrations. Any other mismatch is still refused.

use crate::AnyPool;
use sqlx::migrate::{Migrate, Migrator};
use teamline_store::{StoreError, StoreResult};

/// The table in which sqlx records applied migrations (its default).
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// An applied migration whose file was later edited without changing the schema.
#[derive(Debug, Clone, Copy)]
pub struct EditedMigration {
    pub version: i64,
    /// SHA-384 of the file as it was released, as 96 hexadecimal characters.
    pub released_checksum: &'static str,
}

/// Accepts databases migrated with the released versions of `edited`, then runs `migrator`.
pub async fn migrate(
    pool: &AnyPool,
    migrator: &Migrator,
    edited: &[EditedMigration],
) -> StoreResult<()> {
    repair_checksums(pool, migrator, edited)
        .await
        .map_err(|e| StoreError::database_while("database migration failed", e))?;
    migrator
        .run(pool)
        .await
        .map_err(|e| StoreError::database_while("database migration failed", e))
}

/// Records the current checksum of each edited migration where the released one is recorded.
/// Holds sqlx's migration lock meanwhile, so instances starting together do not interleave.
async fn repair_checksums(
    pool: &AnyPool,
    migrator: &Migrator,
    edited: &[EditedMigration],
) -> Result<(), sqlx::migrate::MigrateError> {
    if edited.is_empty() {
        return Ok(());
    }
    let mut conn = pool.acquire().await?;
    conn.lock().await?;
    let repaired = async {
        conn.ensure_migrations_table(MIGRATIONS_TABLE).await?;
        for e in edited {
            let Some(current) = migrator
                .iter()
                .find(|m| m.version == e.version && !m.migration_type.is_down_migration())
            else {
                continue;
            };
            let released = decode_hex(e.released_checksum).ok_or_else(|| {
                sqlx::migrate::MigrateError::Source(
                    format!(
                        "the released checksum of migration {} is not 96 hexadecimal characters",
                        e.version
                    )
                    .into(),
                )
            })?;
            let updated = sqlx::query(
                "UPDATE _sqlx_migrations SET checksum = $1 WHERE version = $2 AND checksum = $3",
            )
            .bind(current.checksum.to_vec())
            .bind(e.version)
            .bind(released)
            .execute(&mut *conn)
            .await?;
            if updated.rows_affected() > 0 {
                tracing::info!(
                    version = e.version,
                    "recorded the current checksum of a migration whose comments were edited"
                );
            }
        }
        Ok(())
    }
    .await;
    conn.unlock().await?;
    repaired
}

/// A SHA-384 checksum written as hexadecimal.
fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 96 || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::decode_hex;

    #[test]
    fn a_released_checksum_is_read_from_hexadecimal() {
        let hex = "00ff10".repeat(16);
        let bytes = decode_hex(&hex).unwrap_or_default();
        assert_eq!(bytes.len(), 48);
        assert_eq!(&bytes[..3], &[0x00, 0xff, 0x10]);
        assert_eq!(decode_hex("00ff"), None, "too short");
        assert_eq!(decode_hex(&"zz".repeat(48)), None, "not hexadecimal");
    }
}
