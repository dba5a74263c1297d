//! The SIP gateway's Microsoft side per region: replaced as a whole at each reading, keeping
//! when each proxy's state began.

use crate::SqlStore;
use crate::error::DbResultExt;
use async_trait::async_trait;
use std::collections::HashMap;
use teamline_store::{GatewayHealthStore, ProxyHealthRecord, RegionHealthRecord, StoreResult};

#[derive(sqlx::FromRow)]
struct RegionRow {
    region: String,
    base_fqdn: String,
    certificate_expires_ms: Option<i64>,
    certificate_problem: Option<String>,
    observed_ms: i64,
}

#[derive(sqlx::FromRow)]
struct ProxyRow {
    region: String,
    fqdn: String,
    uri: String,
    state: String,
    since_ms: i64,
}

#[async_trait]
impl GatewayHealthStore for SqlStore {
    async fn record_gateway_health(&self, regions: &[RegionHealthRecord]) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let before: Vec<ProxyRow> =
            sqlx::query_as("SELECT region, fqdn, uri, state, since_ms FROM gateway_proxies")
                .fetch_all(&mut *tx)
                .await
                .db()?;
        let since: HashMap<(String, String), (String, i64)> = before
            .into_iter()
            .map(|p| ((p.region, p.fqdn), (p.state, p.since_ms)))
            .collect();
        sqlx::query("DELETE FROM gateway_proxies")
            .execute(&mut *tx)
            .await
            .db()?;
        sqlx::query("DELETE FROM gateway_regions")
            .execute(&mut *tx)
            .await
            .db()?;
        for r in regions {
            sqlx::query(
                "INSERT INTO gateway_regions (region, base_fqdn, certificate_expires_ms, \
                 certificate_problem, observed_ms) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(r.region.clone())
            .bind(r.base_fqdn.clone())
            .bind(r.certificate_expires_ms)
            .bind(r.certificate_problem.clone())
            .bind(r.observed_ms)
            .execute(&mut *tx)
            .await
            .db()?;
            for p in &r.proxies {
                let kept = since
                    .get(&(r.region.clone(), p.fqdn.clone()))
                    .filter(|(state, _)| *state == p.state)
                    .map_or(p.since_ms, |(_, at)| *at);
                sqlx::query(
                    "INSERT INTO gateway_proxies (region, fqdn, uri, state, since_ms) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (region, fqdn) DO NOTHING",
                )
                .bind(r.region.clone())
                .bind(p.fqdn.clone())
                .bind(p.uri.clone())
                .bind(p.state.clone())
                .bind(kept)
                .execute(&mut *tx)
                .await
                .db()?;
            }
        }
        tx.commit().await.db()
    }

    async fn gateway_health(&self) -> StoreResult<Vec<RegionHealthRecord>> {
        let regions: Vec<RegionRow> = sqlx::query_as(
            "SELECT region, base_fqdn, certificate_expires_ms, certificate_problem, observed_ms \
             FROM gateway_regions ORDER BY region",
        )
        .fetch_all(&self.pool)
        .await
        .db()?;
        let proxies: Vec<ProxyRow> = sqlx::query_as(
            "SELECT region, fqdn, uri, state, since_ms FROM gateway_proxies ORDER BY region, fqdn",
        )
        .fetch_all(&self.pool)
        .await
        .db()?;
        Ok(regions
            .into_iter()
            .map(|r| RegionHealthRecord {
                proxies: proxies
                    .iter()
                    .filter(|p| p.region == r.region)
                    .map(|p| ProxyHealthRecord {
                        fqdn: p.fqdn.clone(),
                        uri: p.uri.clone(),
                        state: p.state.clone(),
                        since_ms: p.since_ms,
                    })
                    .collect(),
                region: r.region,
                base_fqdn: r.base_fqdn,
                certificate_expires_ms: r.certificate_expires_ms,
                certificate_problem: r.certificate_problem,
                observed_ms: r.observed_ms,
            })
            .collect())
    }
}
