//! Database errors as [`StoreError`]s, for `?`.
//!
//! `StoreError` belongs to the backend-neutral `store` crate, so the orphan rule forbids
//! `impl From<sqlx::Error> for StoreError` here, and putting it in `store` (behind a `sqlx`
//! feature) would move the table below — which unique index stands for which promise, by
//! index and column name — out of the crate that owns the schema. Instead, [`DbResultExt::db`]
//! converts a sqlx result where it is produced: `query.fetch_one(&mut *tx).await.db()?`.

use teamline_store::{StoreError, StoreResult};

/// Converts a sqlx result into a [`StoreResult`] (see [`from_sqlx`]).
pub trait DbResultExt<T> {
    fn db(self) -> StoreResult<T>;
}

impl<T> DbResultExt<T> for Result<T, sqlx::Error> {
    fn db(self) -> StoreResult<T> {
        self.map_err(from_sqlx)
    }
}

/// Turns a database error into a [`StoreError`]. Unique-index violations become conflicts that
/// say which promise was broken (the portal checks first and names the holder; this is the
/// backstop when two requests race). Anything else keeps the driver's error as its source.
pub fn from_sqlx(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::RowNotFound => StoreError::not_found("the requested record"),
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
            conflict_for(&text).unwrap_or_else(|| StoreError::Conflict {
                field: "Record",
                message: "already exists".to_owned(),
            })
        }
        _ => StoreError::database(err),
    }
}

/// Recognises a unique index by its name (PostgreSQL) or its columns (SQLite).
fn conflict_for(text: &str) -> Option<StoreError> {
    let rules: [(&[&str], &'static str, &str); 10] = [
        (
            &["pbx_users_sip_user_uq", "pbx_users.sip_user"],
            "SIP User",
            "this extension is already assigned to another PBX user",
        ),
        (
            &["pbx_users_number_uq", "pbx_users.phone_number"],
            "Phone Number",
            "this number is already used by another PBX user in the tenant",
        ),
        (
            &["pbx_users_teams_user_uq", "pbx_users.teams_user_object_id"],
            "Teams User",
            "this Teams user is already set up as a PBX user",
        ),
        (
            &["enterprises_slug_uq", "enterprises.slug"],
            "Enterprise Name",
            "an enterprise with this name already exists",
        ),
        (
            &["enterprises_tenant_uq", "enterprises.tenant_id"],
            "Microsoft Tenant",
            "this Microsoft 365 tenant is already registered to another enterprise",
        ),
        (
            &["resellers_name_uq", "resellers.name"],
            "Reseller Name",
            "a reseller with this name already exists",
        ),
        (
            &["accounts_email_uq", "accounts.email"],
            "E-mail",
            "an account with this e-mail already exists",
        ),
        (
            &["pbx_locations_sip_domain_uq", "pbx_locations.sip_domain"],
            "SIP Domain",
            "this SIP domain is already used by another PBX location on this platform",
        ),
        (
            &["pbx_locations_name_uq", "pbx_locations.name"],
            "Location Name",
            "a PBX location with this name already exists",
        ),
        (
            &["sbc_regions_name_uq", "sbc_regions.name"],
            "Region Name",
            "a region with this name already exists",
        ),
    ];
    rules
        .iter()
        .find(|(keys, _, _)| keys.iter().any(|k| text.contains(k)))
        .map(|(_, field, message)| StoreError::Conflict {
            field,
            message: (*message).to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(text: &str) -> Option<&'static str> {
        match conflict_for(text)? {
            StoreError::Conflict { field, .. } => Some(field),
            _ => None,
        }
    }

    #[test]
    fn unique_violations_name_the_form_field_on_both_databases() {
        // PostgreSQL names the index; SQLite names the columns.
        assert_eq!(
            field("pbx_users_sip_user_uq duplicate key value violates unique constraint"),
            Some("SIP User")
        );
        assert_eq!(
            field(" UNIQUE constraint failed: pbx_users.pbx_location_id, pbx_users.sip_user"),
            Some("SIP User")
        );
        assert_eq!(
            field(" UNIQUE constraint failed: enterprises.tenant_id"),
            Some("Microsoft Tenant")
        );
        assert_eq!(
            field(" UNIQUE constraint failed: jobs.idempotency_key"),
            None
        );
    }
}
