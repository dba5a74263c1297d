//! Who holds an extension, a number or a Teams user: the product's uniqueness promises,
//! checked inside the writing transaction so the conflict can name the holder.

use crate::RESERVING;
use crate::error::DbResultExt;
use crate::rows::HolderRow;
use sqlx::AnyConnection;
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::pbx_user::{Holder, PbxUserSpec};
use teamline_store::{StoreError, StoreResult};

const HOLDER_SELECT: &str = "SELECT p.id, COALESCE(t.display_name, p.teams_user_object_id) AS display_name, \
    COALESCE(t.upn, '') AS upn, p.state FROM pbx_users p LEFT JOIN teams_users t \
    ON t.enterprise_id = p.enterprise_id AND t.object_id = p.teams_user_object_id";

pub(crate) async fn holder(
    conn: &mut AnyConnection,
    clause: &str,
    a: i64,
    b_: String,
) -> StoreResult<Option<Holder>> {
    let row: Option<HolderRow> = sqlx::query_as(sql!(
        "{HOLDER_SELECT} WHERE {clause} AND p.state IN {RESERVING} ORDER BY p.id LIMIT 1"
    ))
    .bind(a)
    .bind(b_)
    .fetch_optional(&mut *conn)
    .await
    .db()?;
    row.map(HolderRow::into_domain).transpose()
}

/// Checks the three uniqueness promises inside the writing transaction, naming the holder.
/// The unique indexes are the backstop if two transactions race past this.
pub(crate) async fn check_free(
    conn: &mut AnyConnection,
    enterprise: EnterpriseId,
    spec: &PbxUserSpec,
    me: Option<PbxUserId>,
) -> StoreResult<()> {
    let not_me = |h: Option<Holder>| h.filter(|h| Some(h.id) != me);
    if let Some(h) = not_me(
        holder(
            conn,
            "p.pbx_location_id = $1 AND p.sip_user = $2",
            spec.pbx_location_id.0,
            spec.sip_user.to_string(),
        )
        .await?,
    ) {
        return Err(StoreError::Conflict {
            field: "SIP User",
            message: format!(
                "extension {} is already assigned to {} ({}, {})",
                spec.sip_user,
                h.display_name,
                h.upn,
                h.state.label()
            ),
        });
    }
    if let Some(h) = not_me(
        holder(
            conn,
            "p.enterprise_id = $1 AND p.phone_number = $2",
            enterprise.0,
            spec.phone_number.to_string(),
        )
        .await?,
    ) {
        return Err(StoreError::Conflict {
            field: "Phone Number",
            message: format!(
                "{} is already used by {} ({})",
                spec.phone_number, h.display_name, h.upn
            ),
        });
    }
    if let Some(h) = not_me(
        holder(
            conn,
            "p.enterprise_id = $1 AND p.teams_user_object_id = $2",
            enterprise.0,
            spec.teams_user_object_id.clone(),
        )
        .await?,
    ) {
        return Err(StoreError::Conflict {
            field: "Teams User",
            message: format!(
                "{} ({}) is already set up as a PBX user",
                h.display_name, h.upn
            ),
        });
    }
    Ok(())
}
