//! The SIP gateway's registrations: the device handles to register (PBX users joined with
//! their device's stored credentials, voice route and PBX location), their live states, and
//! named leases.

use crate::devices::SIP_PASSWORD;
use crate::error::DbResultExt;
use crate::{RESERVING, SqlStore};
use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use std::collections::BTreeMap;
use teamline_domain::device::{DeviceAuthId, SipPassword};
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::pbx_location::DnsLookup;
use teamline_domain::pbx_user::{CallerNamePolicy, ForwardedCallerId};
use teamline_domain::phone::PhoneNumber;
use teamline_domain::registration::RegistrationStatus;
use teamline_domain::sip::{ProxyHost, SipDomain};
use teamline_store::crypto::SecretSlot;
use teamline_store::{
    Lease, LeaseStore, RegistrationRecord, RegistrationStore, RegistrationTarget, StoreError,
    StoreResult,
};

/// Rows per multi-row upsert: well under both databases' limits on bound parameters.
const UPSERT_CHUNK: usize = 100;
const RECORD_COLUMNS: &str = "pbx_user_id, enterprise_id, device, registration, state, since_ms, \
     target, expires_ms, last_error, observed_ms";

#[derive(sqlx::FromRow)]
struct TargetRow {
    enterprise_id: i64,
    pbx_user_id: i64,
    phone_number: String,
    subdomain: String,
    device: String,
    sip_domain: String,
    password_enc: Vec<u8>,
    proxy: String,
    dns_lookup: String,
    caller_name_policy: String,
    caller_name: Option<String>,
    forwarded_caller_id: String,
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    pbx_user_id: i64,
    enterprise_id: i64,
    device: String,
    registration: String,
    state: String,
    since_ms: Option<i64>,
    target: Option<String>,
    expires_ms: Option<i64>,
    last_error: Option<String>,
    observed_ms: i64,
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(format!("{what}: {detail}"))
}

impl RecordRow {
    fn into_record(self) -> StoreResult<RegistrationRecord> {
        Ok(RegistrationRecord {
            enterprise_id: EnterpriseId(self.enterprise_id),
            pbx_user_id: PbxUserId(self.pbx_user_id),
            device: DeviceAuthId::parse(&self.device).map_err(|e| corrupt("device", e))?,
            registration: self.registration,
            state: RegistrationStatus::parse(&self.state)
                .ok_or_else(|| corrupt("registration state", &self.state))?,
            since_ms: self.since_ms,
            target: self.target,
            expires_ms: self.expires_ms,
            last_error: self.last_error,
            observed_ms: self.observed_ms,
        })
    }
}

impl SqlStore {
    fn target_of(&self, row: TargetRow) -> StoreResult<RegistrationTarget> {
        let e = EnterpriseId(row.enterprise_id);
        let plain = self
            .keyring
            .decrypt(&row.password_enc, &SecretSlot::enterprise(e, SIP_PASSWORD))?;
        Ok(RegistrationTarget {
            enterprise_id: e,
            pbx_user_id: PbxUserId(row.pbx_user_id),
            teams_number: PhoneNumber::parse(&row.phone_number)
                .map_err(|err| corrupt("phone number", err))?,
            sbc_fqdn: row.subdomain,
            device: DeviceAuthId::parse(&row.device).map_err(|err| corrupt("device", err))?,
            sip_domain: SipDomain::parse(&row.sip_domain)
                .map_err(|err| corrupt("SIP domain", err))?,
            password: SipPassword::parse(&plain).map_err(|err| corrupt("SIP password", err))?,
            proxy: ProxyHost::parse(&row.proxy).map_err(|err| corrupt("proxy", err))?,
            dns_lookup: DnsLookup::parse(&row.dns_lookup)
                .map_err(|err| corrupt("DNS lookup type", err))?,
            caller_name: match (row.caller_name_policy.as_str(), row.caller_name) {
                ("other", Some(name)) => CallerNamePolicy::Other(name),
                ("transparent", _) => CallerNamePolicy::Transparent,
                (other, _) => return Err(corrupt("caller name policy", other)),
            },
            forwarded_caller_id: ForwardedCallerId::parse(&row.forwarded_caller_id)
                .map_err(|err| corrupt("forwarded caller ID", err))?,
        })
    }
}

#[async_trait]
impl RegistrationStore for SqlStore {
    async fn registration_targets(
        &self,
        enterprise: Option<EnterpriseId>,
    ) -> StoreResult<Vec<RegistrationTarget>> {
        let filter = if enterprise.is_some() {
            "AND p.enterprise_id = $1"
        } else {
            ""
        };
        let sql = format!(
            "SELECT p.enterprise_id, p.id AS pbx_user_id, p.phone_number, v.subdomain, p.device, \
             l.sip_domain, d.password_enc, l.proxy, l.dns_lookup, \
             p.caller_name_policy, p.caller_name, p.forwarded_caller_id \
             FROM pbx_users p \
             JOIN voice_routes v ON v.id = p.voice_route_id \
             JOIN pbx_locations l ON l.id = p.pbx_location_id \
             JOIN device_handles d ON d.pbx_location_id = p.pbx_location_id \
               AND d.auth_id = p.device AND d.enterprise_id = p.enterprise_id \
             WHERE p.state = 'active' AND p.calling_enabled = 1 {filter} \
             ORDER BY p.enterprise_id, p.id"
        );
        let mut query = sqlx::query_as::<_, TargetRow>(AssertSqlSafe(sql.as_str()));
        if let Some(e) = enterprise {
            query = query.bind(e.0);
        }
        let rows = query.fetch_all(&self.pool).await.db()?;
        rows.into_iter().map(|r| self.target_of(r)).collect()
    }

    async fn registration_targets_version(&self) -> StoreResult<String> {
        // Every write that can change a target bumps a PBX user's version or a device's,
        // location's or route's updated_ms; counts catch rows added or removed.
        let row: (i64, i64, i64, i64, i64, i64) = sqlx::query_as(sql!(
            "SELECT \
             (SELECT COUNT(*) FROM pbx_users WHERE state IN {RESERVING}), \
             (SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) FROM pbx_users), \
             (SELECT COUNT(*) FROM device_handles), \
             (SELECT CAST(COALESCE(SUM(updated_ms), 0) AS BIGINT) FROM device_handles), \
             (SELECT CAST(COALESCE(SUM(updated_ms), 0) AS BIGINT) FROM pbx_locations), \
             (SELECT CAST(COALESCE(SUM(updated_ms), 0) AS BIGINT) FROM voice_routes)"
        ))
        .fetch_one(&self.pool)
        .await
        .db()?;
        Ok(format!(
            "{}:{}:{}:{}:{}:{}",
            row.0, row.1, row.2, row.3, row.4, row.5
        ))
    }

    async fn record_registrations(&self, records: &[RegistrationRecord]) -> StoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        // PostgreSQL refuses one statement that updates a row twice: keep each user's last.
        let mut last: BTreeMap<i64, &RegistrationRecord> = BTreeMap::new();
        for r in records {
            last.insert(r.pbx_user_id.0, r);
        }
        let records: Vec<&RegistrationRecord> = last.into_values().collect();
        let mut tx = self.begin_write().await?;
        for chunk in records.chunks(UPSERT_CHUNK) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let p: Vec<String> = (1..=10).map(|c| format!("${}", i * 10 + c)).collect();
                    format!("({})", p.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO registrations ({RECORD_COLUMNS}) VALUES {} \
                 ON CONFLICT (pbx_user_id) DO UPDATE SET enterprise_id = excluded.enterprise_id, \
                 device = excluded.device, registration = excluded.registration, \
                 state = excluded.state, since_ms = excluded.since_ms, target = excluded.target, \
                 expires_ms = excluded.expires_ms, last_error = excluded.last_error, \
                 observed_ms = excluded.observed_ms",
                values.join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql.as_str()));
            for r in chunk {
                query = query
                    .bind(r.pbx_user_id.0)
                    .bind(r.enterprise_id.0)
                    .bind(r.device.to_string())
                    .bind(r.registration.clone())
                    .bind(r.state.as_str())
                    .bind(r.since_ms)
                    .bind(r.target.clone())
                    .bind(r.expires_ms)
                    .bind(r.last_error.clone())
                    .bind(r.observed_ms);
            }
            query.execute(&mut *tx).await.db()?;
        }
        tx.commit().await.db()
    }

    async fn list_registrations(
        &self,
        enterprise: Option<EnterpriseId>,
        users: Option<&[PbxUserId]>,
    ) -> StoreResult<Vec<RegistrationRecord>> {
        if users.is_some_and(<[PbxUserId]>::is_empty) {
            return Ok(Vec::new());
        }
        let mut conditions = Vec::new();
        let mut next = 1;
        if enterprise.is_some() {
            conditions.push("enterprise_id = $1".to_owned());
            next = 2;
        }
        if let Some(users) = users {
            let p: Vec<String> = (0..users.len()).map(|i| format!("${}", next + i)).collect();
            conditions.push(format!("pbx_user_id IN ({})", p.join(", ")));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM registrations {filter} ORDER BY enterprise_id, pbx_user_id"
        );
        let mut query = sqlx::query_as::<_, RecordRow>(AssertSqlSafe(sql.as_str()));
        if let Some(e) = enterprise {
            query = query.bind(e.0);
        }
        for u in users.unwrap_or_default() {
            query = query.bind(u.0);
        }
        let rows = query.fetch_all(&self.pool).await.db()?;
        rows.into_iter().map(RecordRow::into_record).collect()
    }

    async fn registration_counts(
        &self,
        enterprise: Option<EnterpriseId>,
    ) -> StoreResult<BTreeMap<RegistrationStatus, u64>> {
        let filter = if enterprise.is_some() {
            "WHERE enterprise_id = $1"
        } else {
            ""
        };
        let sql = format!("SELECT state, COUNT(*) FROM registrations {filter} GROUP BY state");
        let mut query = sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(sql.as_str()));
        if let Some(e) = enterprise {
            query = query.bind(e.0);
        }
        let rows = query.fetch_all(&self.pool).await.db()?;
        rows.into_iter()
            .map(|(state, n)| {
                let state = RegistrationStatus::parse(&state)
                    .ok_or_else(|| corrupt("registration state", &state))?;
                Ok((state, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    }
}

#[async_trait]
impl LeaseStore for SqlStore {
    async fn claim_lease(&self, name: &str, holder: &str, ttl_ms: i64) -> StoreResult<bool> {
        let now = self.now();
        // The update happens only when the holder renews or the lease ran out; otherwise no
        // row comes back.
        let row: Option<(String,)> = sqlx::query_as(
            "INSERT INTO leases (name, holder, until_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms \
             WHERE leases.holder = excluded.holder OR leases.until_ms < $4 \
             RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(now.saturating_add(ttl_ms))
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        Ok(row.is_some())
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(())
    }

    async fn lease(&self, name: &str) -> StoreResult<Option<Lease>> {
        let row: Option<(String, String, i64)> =
            sqlx::query_as("SELECT name, holder, until_ms FROM leases WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await
                .db()?;
        Ok(row.map(|(name, holder, until_ms)| Lease {
            name,
            holder,
            until_ms,
        }))
    }
}
