//! Enterprises: creation, registration with a tenant, state and consents. Every change is
//! audited with the enterprise before and after.

use crate::audit::{self, Subject};
use crate::error::DbResultExt;
use crate::rows::{ConsentRow, EnterpriseRow};
use crate::{SqlStore, b};
use async_trait::async_trait;
use serde_json::json;
use sqlx::{AnyConnection, AssertSqlSafe};
use std::collections::HashMap;
use teamline_domain::audit::Audit;
use teamline_domain::enterprise::{Enterprise, EnterpriseState, NewEnterprise, TenantId};
use teamline_domain::ids::{EnterpriseId, ResellerId};
use teamline_store::{
    ConsentChange, EnterpriseStore, InvitationRecord, InvitationUse, StoreError, StoreResult,
};

const ENTERPRISE_COLUMNS: &str = "id, reseller_id, name, slug, tenant_id, global_admin_email, \
    user_limit, pbx_music_on_hold, access_sip_data, request_management_consent, state, \
    billing_reference, version";

fn enterprise_json(e: &Enterprise) -> String {
    json!({
        "name": e.name.as_str(),
        "slug": e.slug.as_str(),
        "tenant_id": e.tenant_id.as_ref().map(|t| t.as_str()),
        "global_admin_email": e.global_admin_email.as_str(),
        "user_limit": e.user_limit,
        "pbx_music_on_hold": e.pbx_music_on_hold,
        "access_sip_data": e.access_sip_data,
        "request_management_consent": e.request_management_consent,
        "state": e.state.as_str(),
        "sbc_regions": e.sbc_regions.iter().map(|r| r.0).collect::<Vec<_>>(),
        "billing_reference": e.billing_reference,
        "consents": e.consents.iter().filter(|c| c.is_granted()).map(|c| c.kind.as_str()).collect::<Vec<_>>(),
    })
    .to_string()
}

/// A row of an enterprise's consents (kind, granted, by whom) or of its SBC regions.
type ConsentOrRegion = (Option<String>, Option<i64>, Option<String>, Option<i64>);

impl SqlStore {
    async fn load_enterprise(
        conn: &mut AnyConnection,
        row: EnterpriseRow,
    ) -> StoreResult<Enterprise> {
        // Consents and SBC regions in one read: every job of an enterprise loads it, so each
        // statement saved counts across a fleet.
        let parts: Vec<ConsentOrRegion> = sqlx::query_as(
            "SELECT kind, granted_ms, granted_by, NULL AS region_id FROM consents \
             WHERE enterprise_id = $1 \
             UNION ALL SELECT NULL, NULL, NULL, region_id FROM enterprise_sbc_regions \
             WHERE enterprise_id = $1",
        )
        .bind(row.id)
        .fetch_all(&mut *conn)
        .await
        .db()?;
        let mut consents = Vec::new();
        let mut regions = Vec::new();
        for (kind, granted_ms, granted_by, region) in parts {
            match (kind, region) {
                (Some(kind), _) => consents.push(ConsentRow {
                    kind,
                    granted_ms,
                    granted_by,
                }),
                (None, Some(region)) => regions.push(region),
                (None, None) => {}
            }
        }
        regions.sort_unstable();
        row.into_domain(consents, regions)
    }

    async fn enterprise_where(
        &self,
        clause: &str,
        bind: impl FnOnce(
            sqlx::query::QueryAs<'_, sqlx::Any, EnterpriseRow, sqlx::any::AnyArguments>,
        )
            -> sqlx::query::QueryAs<'_, sqlx::Any, EnterpriseRow, sqlx::any::AnyArguments>,
    ) -> StoreResult<Option<Enterprise>> {
        let mut conn = self.pool.acquire().await.db()?;
        let sql = format!("SELECT {ENTERPRISE_COLUMNS} FROM enterprises WHERE {clause}");
        let row: Option<EnterpriseRow> = bind(sqlx::query_as(AssertSqlSafe(sql.as_str())))
            .fetch_optional(&mut *conn)
            .await
            .db()?;
        match row {
            Some(row) => Ok(Some(Self::load_enterprise(&mut conn, row).await?)),
            None => Ok(None),
        }
    }

    /// Runs `change` on an enterprise inside a write transaction and audits before → after.
    async fn change_enterprise(
        &self,
        id: EnterpriseId,
        audit: &Audit,
        sql: &str,
        bind: impl FnOnce(
            sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
        ) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> StoreResult<Enterprise> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let select = format!("SELECT {ENTERPRISE_COLUMNS} FROM enterprises WHERE id = $1");
        let before_row: Option<EnterpriseRow> = sqlx::query_as(AssertSqlSafe(select.as_str()))
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .db()?;
        let before_row =
            before_row.ok_or_else(|| StoreError::not_found(format!("enterprise {id}")))?;
        let before = Self::load_enterprise(&mut tx, before_row).await?;
        bind(sqlx::query(AssertSqlSafe(sql)))
            .execute(&mut *tx)
            .await
            .db()?;
        sqlx::query("UPDATE enterprises SET updated_ms = $1, version = version + 1 WHERE id = $2")
            .bind(now)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .db()?;
        let after_row: EnterpriseRow = sqlx::query_as(AssertSqlSafe(select.as_str()))
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await
            .db()?;
        let after = Self::load_enterprise(&mut tx, after_row).await?;
        audit::write(
            &mut tx,
            now,
            Some(id),
            audit,
            Subject::new("enterprise", id)
                .before(enterprise_json(&before))
                .after(enterprise_json(&after)),
        )
        .await?;
        tx.commit().await.db()?;
        Ok(after)
    }
}

#[async_trait]
impl EnterpriseStore for SqlStore {
    async fn create_enterprise(
        &self,
        reseller: ResellerId,
        new: &NewEnterprise,
        audit: &Audit,
    ) -> StoreResult<Enterprise> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let row: EnterpriseRow = sqlx::query_as(sql!(
            "INSERT INTO enterprises (reseller_id, name, slug, tenant_id, global_admin_email, user_limit, \
             pbx_music_on_hold, access_sip_data, request_management_consent, state, created_ms, updated_ms, \
             billing_reference) \
             VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, $8, 'invited', $9, $9, $10) RETURNING {ENTERPRISE_COLUMNS}"
        ))
        .bind(reseller.0)
        .bind(new.name.as_str())
        .bind(new.slug.as_str())
        .bind(new.global_admin_email.as_str())
        .bind(new.user_limit.map(i64::from))
        .bind(b(new.pbx_music_on_hold))
        .bind(b(new.access_sip_data))
        .bind(b(new.request_management_consent))
        .bind(now)
        .bind(new.billing_reference.clone())
        .fetch_one(&mut *tx)
        .await
        .db()?;
        for region in &new.sbc_regions {
            sqlx::query(
                "INSERT INTO enterprise_sbc_regions (enterprise_id, region_id) VALUES ($1, $2)",
            )
            .bind(row.id)
            .bind(region.0)
            .execute(&mut *tx)
            .await
            .db()?;
        }
        let enterprise = Self::load_enterprise(&mut tx, row).await?;
        audit::write(
            &mut tx,
            now,
            Some(enterprise.id),
            audit,
            Subject::new("enterprise", enterprise.id).after(enterprise_json(&enterprise)),
        )
        .await?;
        tx.commit().await.db()?;
        Ok(enterprise)
    }

    async fn get_enterprise(&self, id: EnterpriseId) -> StoreResult<Enterprise> {
        self.enterprise_where("id = $1", |q| q.bind(id.0))
            .await?
            .ok_or_else(|| StoreError::not_found(format!("enterprise {id}")))
    }

    async fn enterprise_by_slug(&self, slug: &str) -> StoreResult<Option<Enterprise>> {
        self.enterprise_where("slug = $1", |q| q.bind(slug.to_owned()))
            .await
    }

    async fn enterprise_by_tenant(&self, tenant: &TenantId) -> StoreResult<Option<Enterprise>> {
        self.enterprise_where("tenant_id = $1", |q| q.bind(tenant.as_str().to_owned()))
            .await
    }

    async fn list_enterprises(&self, reseller: Option<ResellerId>) -> StoreResult<Vec<Enterprise>> {
        let mut conn = self.pool.acquire().await.db()?;
        let rows: Vec<EnterpriseRow> = sqlx::query_as(sql!(
            "SELECT {ENTERPRISE_COLUMNS} FROM enterprises WHERE ($1 IS NULL OR reseller_id = $1) ORDER BY name"
        ))
        .bind(reseller.map(|r| r.0))
        .fetch_all(&mut *conn)
        .await
        .db()?;
        // Consents and SBC regions of all of them in two reads, not two per enterprise (the
        // scheduler lists the whole fleet every tick).
        let consent_rows: Vec<(i64, String, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT c.enterprise_id, c.kind, c.granted_ms, c.granted_by FROM consents c \
             JOIN enterprises e ON e.id = c.enterprise_id WHERE ($1 IS NULL OR e.reseller_id = $1)",
        )
        .bind(reseller.map(|r| r.0))
        .fetch_all(&mut *conn)
        .await
        .db()?;
        let region_rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT r.enterprise_id, r.region_id FROM enterprise_sbc_regions r \
             JOIN enterprises e ON e.id = r.enterprise_id WHERE ($1 IS NULL OR e.reseller_id = $1) \
             ORDER BY r.enterprise_id, r.region_id",
        )
        .bind(reseller.map(|r| r.0))
        .fetch_all(&mut *conn)
        .await
        .db()?;
        let mut consents: HashMap<i64, Vec<ConsentRow>> = HashMap::new();
        for (e, kind, granted_ms, granted_by) in consent_rows {
            consents.entry(e).or_default().push(ConsentRow {
                kind,
                granted_ms,
                granted_by,
            });
        }
        let mut regions: HashMap<i64, Vec<i64>> = HashMap::new();
        for (e, region) in region_rows {
            regions.entry(e).or_default().push(region);
        }
        rows.into_iter()
            .map(|row| {
                let id = row.id;
                row.into_domain(
                    consents.remove(&id).unwrap_or_default(),
                    regions.remove(&id).unwrap_or_default(),
                )
            })
            .collect()
    }

    async fn register_enterprise(
        &self,
        id: EnterpriseId,
        tenant: &TenantId,
        audit: &Audit,
    ) -> StoreResult<Enterprise> {
        self.change_enterprise(id, audit,
            "UPDATE enterprises SET tenant_id = $1, state = CASE WHEN state = 'invited' THEN 'registered' ELSE state END WHERE id = $2",
            |q| q.bind(tenant.as_str().to_owned()).bind(id.0)).await
    }

    async fn set_enterprise_state(
        &self,
        id: EnterpriseId,
        state: EnterpriseState,
        audit: &Audit,
    ) -> StoreResult<Enterprise> {
        self.change_enterprise(
            id,
            audit,
            "UPDATE enterprises SET state = $1 WHERE id = $2",
            |q| q.bind(state.as_str()).bind(id.0),
        )
        .await
    }

    async fn set_consent(
        &self,
        id: EnterpriseId,
        change: &ConsentChange,
        audit: &Audit,
    ) -> StoreResult<Enterprise> {
        let granted_ms = change.granted.then(|| self.now());
        let by = if change.granted {
            change.by.clone()
        } else {
            None
        };
        self.change_enterprise(id, audit,
            "INSERT INTO consents (enterprise_id, kind, granted_ms, granted_by) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (enterprise_id, kind) DO UPDATE SET granted_ms = excluded.granted_ms, granted_by = excluded.granted_by",
            |q| q.bind(id.0).bind(change.kind.as_str()).bind(granted_ms).bind(by)).await
    }

    async fn update_enterprise(
        &self,
        id: EnterpriseId,
        expected_version: i64,
        edit: &NewEnterprise,
        audit: &Audit,
    ) -> StoreResult<Enterprise> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let before_row: Option<EnterpriseRow> = sqlx::query_as(sql!(
            "SELECT {ENTERPRISE_COLUMNS} FROM enterprises WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        let before_row =
            before_row.ok_or_else(|| StoreError::not_found(format!("enterprise {id}")))?;
        if before_row.version != expected_version {
            return Err(StoreError::Stale {
                what: format!("enterprise {}", before_row.name),
            });
        }
        let before = Self::load_enterprise(&mut tx, before_row).await?;
        let row: EnterpriseRow = sqlx::query_as(sql!(
            "UPDATE enterprises SET name = $1, global_admin_email = $2, user_limit = $3, \
             pbx_music_on_hold = $4, access_sip_data = $5, request_management_consent = $6, \
             billing_reference = $7, updated_ms = $8, version = version + 1 \
             WHERE id = $9 RETURNING {ENTERPRISE_COLUMNS}"
        ))
        .bind(edit.name.as_str())
        .bind(edit.global_admin_email.as_str())
        .bind(edit.user_limit.map(i64::from))
        .bind(b(edit.pbx_music_on_hold))
        .bind(b(edit.access_sip_data))
        .bind(b(edit.request_management_consent))
        .bind(edit.billing_reference.clone())
        .bind(now)
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await
        .db()?;
        if before.sbc_regions != edit.sbc_regions {
            sqlx::query("DELETE FROM enterprise_sbc_regions WHERE enterprise_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .db()?;
            for region in &edit.sbc_regions {
                sqlx::query(
                    "INSERT INTO enterprise_sbc_regions (enterprise_id, region_id) VALUES ($1, $2)",
                )
                .bind(id.0)
                .bind(region.0)
                .execute(&mut *tx)
                .await
                .db()?;
            }
        }
        let after = Self::load_enterprise(&mut tx, row).await?;
        audit::write(
            &mut tx,
            now,
            Some(id),
            audit,
            Subject::new("enterprise", id)
                .before(enterprise_json(&before))
                .after(enterprise_json(&after)),
        )
        .await?;
        tx.commit().await.db()?;
        Ok(after)
    }

    async fn record_invitation(
        &self,
        invitation: &InvitationRecord,
        audit: &Audit,
    ) -> StoreResult<()> {
        crate::invitations::record(self, invitation, audit).await
    }

    async fn list_invitations(&self, id: EnterpriseId) -> StoreResult<Vec<InvitationRecord>> {
        crate::invitations::list(self, id).await
    }

    async fn use_invitation(&self, id: EnterpriseId, nonce: &str) -> StoreResult<InvitationUse> {
        crate::invitations::use_nonce(self, id, nonce).await
    }
}
