//! Invitations sent to enterprises' Global Administrators: one row per link sent, by its nonce.
//! A resend supersedes the earlier links; registering uses a link once.

use crate::SqlStore;
use crate::audit::{self, Subject};
use crate::error::DbResultExt;
use serde_json::json;
use teamline_domain::audit::Audit;
use teamline_domain::ids::EnterpriseId;
use teamline_store::{InvitationRecord, InvitationUse, StoreResult};

const COLUMNS: &str =
    "enterprise_id, nonce, sent_ms, expires_ms, message_id, used_ms, superseded_ms";

#[derive(sqlx::FromRow)]
struct Row {
    enterprise_id: i64,
    nonce: String,
    sent_ms: i64,
    expires_ms: i64,
    message_id: Option<String>,
    used_ms: Option<i64>,
    superseded_ms: Option<i64>,
}

impl From<Row> for InvitationRecord {
    fn from(r: Row) -> Self {
        Self {
            enterprise_id: EnterpriseId(r.enterprise_id),
            nonce: r.nonce,
            sent_ms: r.sent_ms,
            expires_ms: r.expires_ms,
            message_id: r.message_id,
            used_ms: r.used_ms,
            superseded_ms: r.superseded_ms,
        }
    }
}

pub async fn record(store: &SqlStore, inv: &InvitationRecord, audit: &Audit) -> StoreResult<()> {
    let now = store.now();
    let mut tx = store.begin_write().await?;
    sqlx::query(
        "UPDATE invitations SET superseded_ms = $2 \
         WHERE enterprise_id = $1 AND used_ms IS NULL AND superseded_ms IS NULL",
    )
    .bind(inv.enterprise_id.0)
    .bind(now)
    .execute(&mut *tx)
    .await
    .db()?;
    sqlx::query(
        "INSERT INTO invitations (enterprise_id, nonce, sent_ms, expires_ms, message_id) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(inv.enterprise_id.0)
    .bind(&inv.nonce)
    .bind(inv.sent_ms)
    .bind(inv.expires_ms)
    .bind(inv.message_id.as_deref())
    .execute(&mut *tx)
    .await
    .db()?;
    // The nonce stays out of the log: it is half of a working link.
    let after = json!({"expires_ms": inv.expires_ms, "message_id": inv.message_id});
    audit::write(
        &mut tx,
        now,
        Some(inv.enterprise_id),
        audit,
        Subject::new("enterprise", inv.enterprise_id).after(after.to_string()),
    )
    .await?;
    tx.commit().await.db()?;
    Ok(())
}

pub async fn list(store: &SqlStore, id: EnterpriseId) -> StoreResult<Vec<InvitationRecord>> {
    let rows: Vec<Row> = sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM invitations WHERE enterprise_id = $1 ORDER BY id DESC"
    ))
    .bind(id.0)
    .fetch_all(&store.pool)
    .await
    .db()?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn use_nonce(
    store: &SqlStore,
    id: EnterpriseId,
    nonce: &str,
) -> StoreResult<InvitationUse> {
    let now = store.now();
    let mut tx = store.begin_write().await?;
    // The conditional update is the atomic step: only one caller changes the row.
    let used = sqlx::query(
        "UPDATE invitations SET used_ms = $3 WHERE enterprise_id = $1 AND nonce = $2 \
         AND used_ms IS NULL AND superseded_ms IS NULL",
    )
    .bind(id.0)
    .bind(nonce)
    .bind(now)
    .execute(&mut *tx)
    .await
    .db()?
    .rows_affected();
    let outcome = if used == 1 {
        InvitationUse::Fresh
    } else {
        let row: Option<Row> = sqlx::query_as(sql!(
            "SELECT {COLUMNS} FROM invitations WHERE enterprise_id = $1 AND nonce = $2"
        ))
        .bind(id.0)
        .bind(nonce)
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        match row {
            None => InvitationUse::Unknown,
            Some(r) if r.used_ms.is_some() => InvitationUse::AlreadyUsed,
            Some(_) => InvitationUse::Superseded,
        }
    };
    tx.commit().await.db()?;
    Ok(outcome)
}
