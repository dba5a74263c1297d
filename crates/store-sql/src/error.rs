use teamline_store::StoreError;

/// Turns a database error into a [`StoreError`]. Unique-index violations become conflicts that
/// say which promise was broken (the portal checks first and names the holder; this is the
/// backstop when two requests race).
pub fn map_sqlx(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::RowNotFound => StoreError::not_found("the requested record"),
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
            conflict_for(&text).unwrap_or_else(|| StoreError::Conflict {
                field: "Record",
                message: "already exists".to_owned(),
            })
        }
        _ => StoreError::Database(err.to_string()),
    }
}

/// Recognises a unique index by its name (PostgreSQL) or its columns (SQLite).
fn conflict_for(text: &str) -> Option<StoreError> {
    let rules: [(&[&str], &'static str, &str); 9] = [
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
