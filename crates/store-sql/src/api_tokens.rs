//! API tokens (only their SHA-256 is stored) and the responses kept for idempotency keys.

use crate::audit::{self, Subject};
use crate::error::DbResultExt;
use crate::{SqlStore, b};
use async_trait::async_trait;
use serde_json::json;
use sqlx::AnyConnection;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::ids::{ApiTokenId, EnterpriseId, ResellerId};
use teamline_store::{
    ApiToken, ApiTokenStore, NewApiToken, StoreError, StoreResult, StoredResponse,
};

const COLUMNS: &str = "id, reseller_id, enterprise_id, name, prefix, read_only, rate_per_minute, \
     created_ms, created_by, expires_ms, last_used_ms, revoked_ms";

/// How long the answer to an idempotent POST is kept.
const IDEMPOTENCY_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    reseller_id: i64,
    enterprise_id: Option<i64>,
    name: String,
    prefix: String,
    read_only: i64,
    rate_per_minute: i64,
    created_ms: i64,
    created_by: String,
    expires_ms: Option<i64>,
    last_used_ms: Option<i64>,
    revoked_ms: Option<i64>,
}

impl TokenRow {
    fn into_record(self) -> StoreResult<ApiToken> {
        Ok(ApiToken {
            id: ApiTokenId(self.id),
            reseller_id: ResellerId(self.reseller_id),
            enterprise_id: self.enterprise_id.map(EnterpriseId),
            name: self.name,
            prefix: self.prefix,
            read_only: self.read_only != 0,
            rate_per_minute: u32::try_from(self.rate_per_minute)
                .map_err(|_| StoreError::corrupt(format!("rate limit of API token {}", self.id)))?,
            created_ms: self.created_ms,
            created_by: Actor::decode(&self.created_by),
            expires_ms: self.expires_ms,
            last_used_ms: self.last_used_ms,
            revoked_ms: self.revoked_ms,
        })
    }
}

/// The token as the audit log shows it (no secret, not even its hash).
fn token_json(t: &ApiToken) -> String {
    json!({
        "name": t.name,
        "prefix": t.prefix,
        "enterprise_id": t.enterprise_id.map(|e| e.0),
        "read_only": t.read_only,
        "rate_per_minute": t.rate_per_minute,
        "expires_ms": t.expires_ms,
        "revoked_ms": t.revoked_ms,
    })
    .to_string()
}

async fn token_in_scope(
    conn: &mut AnyConnection,
    reseller: ResellerId,
    enterprise: Option<EnterpriseId>,
    id: ApiTokenId,
) -> StoreResult<ApiToken> {
    // `enterprise_id = $3` never matches NULL, so the scope is spelled out for each case.
    let row: Option<TokenRow> = sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM api_tokens WHERE id = $1 AND reseller_id = $2 \
         AND ((enterprise_id IS NULL AND $3 IS NULL) OR enterprise_id = $3)"
    ))
    .bind(id.0)
    .bind(reseller.0)
    .bind(enterprise.map(|e| e.0))
    .fetch_optional(&mut *conn)
    .await
    .db()?;
    row.ok_or_else(|| StoreError::not_found(format!("API token {id}")))?
        .into_record()
}

#[async_trait]
impl ApiTokenStore for SqlStore {
    async fn create_api_token(&self, new: &NewApiToken, audit: &Audit) -> StoreResult<ApiToken> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let taken: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM api_tokens WHERE reseller_id = $1 \
             AND ((enterprise_id IS NULL AND $2 IS NULL) OR enterprise_id = $2) \
             AND name = $3 AND revoked_ms IS NULL",
        )
        .bind(new.reseller_id.0)
        .bind(new.enterprise_id.map(|e| e.0))
        .bind(&new.name)
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        if taken.is_some() {
            return Err(StoreError::Conflict {
                field: "name",
                message: format!(
                    "a token named \"{}\" already exists: choose another name or revoke that token first",
                    new.name
                ),
            });
        }
        let row: TokenRow = sqlx::query_as(sql!(
            "INSERT INTO api_tokens (reseller_id, enterprise_id, name, prefix, secret_sha256, \
             read_only, rate_per_minute, created_ms, created_by, expires_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
        ))
        .bind(new.reseller_id.0)
        .bind(new.enterprise_id.map(|e| e.0))
        .bind(&new.name)
        .bind(&new.prefix)
        .bind(&new.secret_sha256)
        .bind(b(new.read_only))
        .bind(i64::from(new.rate_per_minute))
        .bind(now)
        .bind(audit.actor.encode())
        .bind(new.expires_ms)
        .fetch_one(&mut *tx)
        .await
        .db()?;
        let token = row.into_record()?;
        audit::write(
            &mut tx,
            now,
            token.enterprise_id,
            audit,
            Subject::new("api_token", token.id).after(token_json(&token)),
        )
        .await?;
        tx.commit().await.db()?;
        Ok(token)
    }

    async fn api_token_by_hash(&self, secret_sha256: &str) -> StoreResult<Option<ApiToken>> {
        let row: Option<TokenRow> = sqlx::query_as(sql!(
            "SELECT {COLUMNS} FROM api_tokens WHERE secret_sha256 = $1"
        ))
        .bind(secret_sha256)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.map(TokenRow::into_record).transpose()
    }

    async fn list_api_tokens(
        &self,
        reseller: ResellerId,
        enterprise: Option<EnterpriseId>,
    ) -> StoreResult<Vec<ApiToken>> {
        let rows: Vec<TokenRow> = sqlx::query_as(sql!(
            "SELECT {COLUMNS} FROM api_tokens WHERE reseller_id = $1 \
             AND ((enterprise_id IS NULL AND $2 IS NULL) OR enterprise_id = $2) \
             ORDER BY id DESC"
        ))
        .bind(reseller.0)
        .bind(enterprise.map(|e| e.0))
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.into_iter().map(TokenRow::into_record).collect()
    }

    async fn revoke_api_token(
        &self,
        reseller: ResellerId,
        enterprise: Option<EnterpriseId>,
        id: ApiTokenId,
        audit: &Audit,
    ) -> StoreResult<ApiToken> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let before = token_in_scope(&mut tx, reseller, enterprise, id).await?;
        if before.revoked_ms.is_some() {
            return Ok(before);
        }
        sqlx::query("UPDATE api_tokens SET revoked_ms = $1 WHERE id = $2")
            .bind(now)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .db()?;
        let after = token_in_scope(&mut tx, reseller, enterprise, id).await?;
        audit::write(
            &mut tx,
            now,
            after.enterprise_id,
            audit,
            Subject::new("api_token", id)
                .before(token_json(&before))
                .after(token_json(&after)),
        )
        .await?;
        tx.commit().await.db()?;
        Ok(after)
    }

    async fn touch_api_token(&self, id: ApiTokenId) -> StoreResult<()> {
        sqlx::query("UPDATE api_tokens SET last_used_ms = $1 WHERE id = $2")
            .bind(self.now())
            .bind(id.0)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(())
    }

    async fn stored_response(
        &self,
        token: ApiTokenId,
        key: &str,
    ) -> StoreResult<Option<StoredResponse>> {
        let row: Option<(String, i64, Option<String>, String)> = sqlx::query_as(
            "SELECT request_sha256, status, location, body FROM api_idempotency \
             WHERE token_id = $1 AND idempotency_key = $2 AND created_ms > $3",
        )
        .bind(token.0)
        .bind(key)
        .bind(self.now() - IDEMPOTENCY_MS)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.map(|(request_sha256, status, location, body)| {
            Ok(StoredResponse {
                request_sha256,
                status: u16::try_from(status)
                    .map_err(|_| StoreError::corrupt("status of a kept API response"))?,
                location,
                body,
            })
        })
        .transpose()
    }

    async fn store_response(
        &self,
        token: ApiTokenId,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        // Expired answers go first, so an old key can be used again.
        sqlx::query("DELETE FROM api_idempotency WHERE created_ms <= $1")
            .bind(now - IDEMPOTENCY_MS)
            .execute(&mut *tx)
            .await
            .db()?;
        sqlx::query(
            "INSERT INTO api_idempotency (token_id, idempotency_key, request_sha256, status, \
             location, body, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (token_id, idempotency_key) DO NOTHING",
        )
        .bind(token.0)
        .bind(key)
        .bind(&response.request_sha256)
        .bind(i64::from(response.status))
        .bind(&response.location)
        .bind(&response.body)
        .bind(now)
        .execute(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()
    }
}
