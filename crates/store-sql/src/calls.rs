//! Call records: one row per call leg through the SIP gateway, per enterprise.

use crate::error::DbResultExt;
use crate::{SqlStore, like_escape};
use async_trait::async_trait;
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_store::{CallFilter, CallStore, StoreResult, StoredCall, StoredSipMessage};

const COLUMNS: &str = "call_id, enterprise_id, pbx_user_id, direction, device, from_number, \
     to_number, tenant_fqdn, microsoft_proxy, started_ms, ringing_ms, answered_ms, ended_ms, \
     result, sip_code, codec, srtp, observed_ms";

#[derive(sqlx::FromRow)]
struct CallRow {
    call_id: String,
    enterprise_id: i64,
    pbx_user_id: Option<i64>,
    direction: String,
    device: String,
    from_number: String,
    to_number: String,
    tenant_fqdn: String,
    microsoft_proxy: Option<String>,
    started_ms: i64,
    ringing_ms: Option<i64>,
    answered_ms: Option<i64>,
    ended_ms: Option<i64>,
    result: String,
    sip_code: Option<i64>,
    codec: Option<String>,
    srtp: Option<i64>,
    observed_ms: i64,
}

impl From<CallRow> for StoredCall {
    fn from(r: CallRow) -> Self {
        StoredCall {
            call_id: r.call_id,
            enterprise_id: EnterpriseId(r.enterprise_id),
            pbx_user_id: r.pbx_user_id.map(PbxUserId),
            direction: r.direction,
            device: r.device,
            from_number: r.from_number,
            to_number: r.to_number,
            tenant_fqdn: r.tenant_fqdn,
            microsoft_proxy: r.microsoft_proxy,
            started_ms: r.started_ms,
            ringing_ms: r.ringing_ms,
            answered_ms: r.answered_ms,
            ended_ms: r.ended_ms,
            result: r.result,
            sip_code: r.sip_code.and_then(|c| u16::try_from(c).ok()),
            codec: r.codec,
            srtp: r.srtp.map(|v| v != 0),
            observed_ms: r.observed_ms,
        }
    }
}

const SIP_COLUMNS: &str =
    "call_id, captured_us, peer, from_gateway, src, dst, transport, label, cseq, message";

#[derive(sqlx::FromRow)]
struct SipMessageRow {
    call_id: String,
    captured_us: i64,
    peer: String,
    from_gateway: i64,
    src: String,
    dst: String,
    transport: String,
    label: String,
    cseq: String,
    message: String,
}

impl From<SipMessageRow> for StoredSipMessage {
    fn from(r: SipMessageRow) -> Self {
        StoredSipMessage {
            call_id: r.call_id,
            captured_us: r.captured_us,
            peer: r.peer,
            from_gateway: r.from_gateway != 0,
            src: r.src,
            dst: r.dst,
            transport: r.transport,
            label: r.label,
            cseq: r.cseq,
            message: r.message,
        }
    }
}

#[async_trait]
impl CallStore for SqlStore {
    async fn record_call(&self, c: &StoredCall) -> StoreResult<()> {
        // A Call-ID is chosen by the caller's side: a row is only ever replaced by a record of
        // the same enterprise.
        let sql = format!(
            "INSERT INTO call_records ({COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
             ON CONFLICT (call_id) DO UPDATE SET pbx_user_id = excluded.pbx_user_id, \
             direction = excluded.direction, device = excluded.device, \
             from_number = excluded.from_number, to_number = excluded.to_number, \
             tenant_fqdn = excluded.tenant_fqdn, microsoft_proxy = excluded.microsoft_proxy, \
             started_ms = excluded.started_ms, ringing_ms = excluded.ringing_ms, \
             answered_ms = excluded.answered_ms, ended_ms = excluded.ended_ms, \
             result = excluded.result, sip_code = excluded.sip_code, codec = excluded.codec, \
             srtp = excluded.srtp, observed_ms = excluded.observed_ms \
             WHERE call_records.enterprise_id = excluded.enterprise_id"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(c.call_id.clone())
            .bind(c.enterprise_id.0)
            .bind(c.pbx_user_id.map(|p| p.0))
            .bind(c.direction.clone())
            .bind(c.device.clone())
            .bind(c.from_number.clone())
            .bind(c.to_number.clone())
            .bind(c.tenant_fqdn.clone())
            .bind(c.microsoft_proxy.clone())
            .bind(c.started_ms)
            .bind(c.ringing_ms)
            .bind(c.answered_ms)
            .bind(c.ended_ms)
            .bind(c.result.clone())
            .bind(c.sip_code.map(i64::from))
            .bind(c.codec.clone())
            .bind(c.srtp.map(i64::from))
            .bind(c.observed_ms)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(())
    }

    async fn list_calls(
        &self,
        enterprise: EnterpriseId,
        filter: &CallFilter,
    ) -> StoreResult<Vec<StoredCall>> {
        let search = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| format!("%{}%", like_escape(&s.to_lowercase())));
        // A user is found by the search text the Users page keeps (name, UPN, …, lowercased).
        let sql = format!(
            "SELECT {COLUMNS} FROM call_records WHERE enterprise_id = $1 \
             AND ($2 IS NULL OR direction = $2) AND ($3 IS NULL OR result = $3) \
             AND ($4 IS NULL OR LOWER(from_number) LIKE $4 ESCAPE '\\' \
                  OR LOWER(to_number) LIKE $4 ESCAPE '\\' OR LOWER(device) LIKE $4 ESCAPE '\\' \
                  OR pbx_user_id IN (SELECT u.id FROM pbx_users u WHERE u.enterprise_id = $1 \
                                     AND u.search_text LIKE $4 ESCAPE '\\')) \
             AND started_ms >= $5 AND started_ms < $6 \
             AND (started_ms < $7 OR (started_ms = $7 AND call_id > $8)) \
             ORDER BY started_ms DESC, call_id LIMIT $9"
        );
        let (after_ms, after_id) = match &filter.after {
            Some(c) => (c.started_ms, c.call_id.clone()),
            None => (i64::MAX, String::new()),
        };
        let rows: Vec<CallRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(enterprise.0)
            .bind(filter.direction.clone())
            .bind(filter.result.clone())
            .bind(search)
            .bind(filter.since_ms.unwrap_or(i64::MIN))
            .bind(filter.until_ms.unwrap_or(i64::MAX))
            .bind(after_ms)
            .bind(after_id)
            .bind(i64::from(filter.limit.clamp(1, 1000)))
            .fetch_all(&self.pool)
            .await
            .db()?;
        Ok(rows.into_iter().map(StoredCall::from).collect())
    }

    async fn get_call(
        &self,
        enterprise: EnterpriseId,
        call_id: &str,
    ) -> StoreResult<Option<StoredCall>> {
        let sql =
            format!("SELECT {COLUMNS} FROM call_records WHERE enterprise_id = $1 AND call_id = $2");
        let row: Option<CallRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(enterprise.0)
            .bind(call_id)
            .fetch_optional(&self.pool)
            .await
            .db()?;
        Ok(row.map(StoredCall::from))
    }

    async fn delete_calls_before(&self, before_ms: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM call_records WHERE started_ms < $1")
            .bind(before_ms)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(done.rows_affected())
    }

    async fn record_sip_messages(&self, messages: &[StoredSipMessage]) -> StoreResult<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO sip_messages ({SIP_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        let mut tx = self.begin_write().await?;
        for m in messages {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(m.call_id.clone())
                .bind(m.captured_us)
                .bind(m.peer.clone())
                .bind(i64::from(m.from_gateway))
                .bind(m.src.clone())
                .bind(m.dst.clone())
                .bind(m.transport.clone())
                .bind(m.label.clone())
                .bind(m.cseq.clone())
                .bind(m.message.clone())
                .execute(&mut *tx)
                .await
                .db()?;
        }
        tx.commit().await.db()?;
        Ok(())
    }

    async fn sip_messages(
        &self,
        enterprise: EnterpriseId,
        call_id: &str,
    ) -> StoreResult<Vec<StoredSipMessage>> {
        // Scoped through the call's record: a Call-ID of another enterprise finds nothing.
        let sql = format!(
            "SELECT {SIP_COLUMNS} FROM sip_messages WHERE call_id = $2 AND EXISTS \
             (SELECT 1 FROM call_records c WHERE c.call_id = $2 AND c.enterprise_id = $1) \
             ORDER BY captured_us, id"
        );
        let rows: Vec<SipMessageRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(enterprise.0)
            .bind(call_id)
            .fetch_all(&self.pool)
            .await
            .db()?;
        Ok(rows.into_iter().map(StoredSipMessage::from).collect())
    }

    async fn delete_sip_messages_before(&self, before_us: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sip_messages WHERE captured_us < $1")
            .bind(before_us)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(done.rows_affected())
    }
}
