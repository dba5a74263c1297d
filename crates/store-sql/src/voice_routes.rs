//! An enterprise's voice routes. Every change is audited with the route before and after.

use crate::SqlStore;
use crate::audit::{self, Subject};
use crate::error::DbResultExt;
use crate::rows::VoiceRouteRow;
use async_trait::async_trait;
use serde_json::json;
use sqlx::AssertSqlSafe;
use teamline_domain::audit::Audit;
use teamline_domain::direct_routing::DirectRoutingSetup;
use teamline_domain::ids::{EnterpriseId, SbcRegionId, VoiceRouteId};
use teamline_domain::voice_route::{NewVoiceRoute, VoiceRoute, VoiceRouteState};
use teamline_store::{StoreError, StoreResult, VoiceRouteStore};

const VOICE_ROUTE_COLUMNS: &str =
    "id, enterprise_id, region_id, name, subdomain, policy_name, state";

fn voice_route_json(r: &VoiceRoute) -> String {
    json!({
        "name": r.name.as_str(),
        "subdomain": r.subdomain.as_str(),
        "policy_name": r.policy_name,
        "state": r.state.as_str(),
    })
    .to_string()
}

#[async_trait]
impl VoiceRouteStore for SqlStore {
    async fn create_voice_route(
        &self,
        enterprise: EnterpriseId,
        new: &NewVoiceRoute,
        audit: &Audit,
    ) -> StoreResult<VoiceRoute> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let row: VoiceRouteRow = sqlx::query_as(sql!(
            "INSERT INTO voice_routes (enterprise_id, region_id, name, subdomain, policy_name, state, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {VOICE_ROUTE_COLUMNS}"
        ))
        .bind(enterprise.0)
        .bind(new.region_id.0)
        .bind(new.name.as_str())
        .bind(new.subdomain.as_str())
        .bind(&new.policy_name)
        .bind(new.state.as_str())
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .db()?;
        let route = row.into_domain()?;
        audit::write(
            &mut tx,
            now,
            Some(enterprise),
            audit,
            Subject::new("voice_route", route.id).after(voice_route_json(&route)),
        )
        .await?;
        tx.commit().await.db()?;
        Ok(route)
    }

    async fn set_voice_route_state(
        &self,
        enterprise: EnterpriseId,
        id: VoiceRouteId,
        state: VoiceRouteState,
        audit: &Audit,
    ) -> StoreResult<VoiceRoute> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let select = format!(
            "SELECT {VOICE_ROUTE_COLUMNS} FROM voice_routes WHERE id = $1 AND enterprise_id = $2"
        );
        let before: Option<VoiceRouteRow> = sqlx::query_as(AssertSqlSafe(select.as_str()))
            .bind(id.0)
            .bind(enterprise.0)
            .fetch_optional(&mut *tx)
            .await
            .db()?;
        let before = before
            .ok_or_else(|| StoreError::not_found(format!("voice route {id}")))?
            .into_domain()?;
        sqlx::query("UPDATE voice_routes SET state = $1, updated_ms = $2 WHERE id = $3")
            .bind(state.as_str())
            .bind(now)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .db()?;
        let after: VoiceRouteRow = sqlx::query_as(AssertSqlSafe(select.as_str()))
            .bind(id.0)
            .bind(enterprise.0)
            .fetch_one(&mut *tx)
            .await
            .db()?;
        let after = after.into_domain()?;
        audit::write(
            &mut tx,
            now,
            Some(enterprise),
            audit,
            Subject::new("voice_route", id)
                .before(voice_route_json(&before))
                .after(voice_route_json(&after)),
        )
        .await?;
        tx.commit().await.db()?;
        Ok(after)
    }

    async fn list_voice_routes(&self, enterprise: EnterpriseId) -> StoreResult<Vec<VoiceRoute>> {
        let rows: Vec<VoiceRouteRow> = sqlx::query_as(sql!(
            "SELECT {VOICE_ROUTE_COLUMNS} FROM voice_routes WHERE enterprise_id = $1 ORDER BY name"
        ))
        .bind(enterprise.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.into_iter().map(VoiceRouteRow::into_domain).collect()
    }

    async fn put_direct_routing_setup(
        &self,
        enterprise: EnterpriseId,
        setup: &DirectRoutingSetup,
    ) -> StoreResult<()> {
        let steps = serde_json::to_string(&setup.steps)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode set-up steps: {e}")))?;
        sqlx::query(
            "INSERT INTO direct_routing_setups (enterprise_id, region_id, steps, updated_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (enterprise_id, region_id) \
             DO UPDATE SET steps = excluded.steps, updated_ms = excluded.updated_ms",
        )
        .bind(enterprise.0)
        .bind(setup.region_id.0)
        .bind(steps)
        .bind(setup.updated_ms)
        .execute(&self.pool)
        .await
        .db()?;
        Ok(())
    }

    async fn list_direct_routing_setups(
        &self,
        enterprise: EnterpriseId,
    ) -> StoreResult<Vec<DirectRoutingSetup>> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT region_id, steps, updated_ms FROM direct_routing_setups \
             WHERE enterprise_id = $1 ORDER BY region_id",
        )
        .bind(enterprise.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.into_iter()
            .map(|(region, steps, updated_ms)| {
                Ok(DirectRoutingSetup {
                    region_id: SbcRegionId(region),
                    steps: serde_json::from_str(&steps).map_err(|e| {
                        StoreError::Corrupt(format!("set-up steps of region {region}: {e}"))
                    })?,
                    updated_ms,
                })
            })
            .collect()
    }
}
