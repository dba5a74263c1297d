//! Resellers, local accounts, SBC regions, enterprises, voice routes and PBX locations.

use crate::audit::{self, Subject};
use crate::error::map_sqlx;
use crate::rows::*;
use crate::{SqlStore, b};
use serde_json::json;
use sqlx::AnyConnection;
use sqlx::AssertSqlSafe;
use teamline_domain::audit::Audit;
use teamline_domain::enterprise::{Enterprise, EnterpriseState, NewEnterprise, TenantId};
use teamline_domain::ids::*;
use teamline_domain::pbx_location::{
    PbxApiAuth, PbxLocation, PbxLocationCommand, PbxLocationSettings,
};
use teamline_domain::reseller::{NewReseller, Reseller};
use teamline_domain::voice_route::{
    NewSbcRegion, NewVoiceRoute, SbcRegion, VoiceRoute, VoiceRouteState,
};
use teamline_store::crypto::SecretSlot;
use teamline_store::{Account, ConsentChange, NewAccount, StoreError, StoreResult};

const RESELLER_COLUMNS: &str = "id, name, contact_email, services, billing_reference";
const ENTERPRISE_COLUMNS: &str = "id, reseller_id, name, slug, tenant_id, global_admin_email, \
    user_limit, pbx_music_on_hold, access_sip_data, request_management_consent, state";
const VOICE_ROUTE_COLUMNS: &str =
    "id, enterprise_id, region_id, name, subdomain, policy_name, state";
const PBX_LOCATION_COLUMNS: &str = "id, enterprise_id, name, pbx_type, dns_lookup, sip_domain, \
    proxy, voicemail_code, api_base_url, api_auth_kind, oauth_client_id, oauth_username";

pub(crate) const API_KEY: &str = "pbx_locations.api_key";
pub(crate) const OAUTH_CLIENT_SECRET: &str = "pbx_locations.oauth_client_secret";
pub(crate) const OAUTH_PASSWORD: &str = "pbx_locations.oauth_password";

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
        "consents": e.consents.iter().filter(|c| c.is_granted()).map(|c| c.kind.as_str()).collect::<Vec<_>>(),
    })
    .to_string()
}

fn location_json(s: &PbxLocationSettings) -> String {
    json!({
        "name": s.name.as_str(),
        "pbx_type": s.pbx_type.as_str(),
        "dns_lookup": s.dns_lookup.as_str(),
        "sip_domain": s.sip_domain.as_str(),
        "proxy": s.proxy.to_string(),
        "voicemail_code": s.voicemail_code.as_str(),
        "api_base_url": s.api_base_url.as_str(),
        "api_auth": s.api_auth_kind.as_str(),
        "oauth_client_id": s.oauth_client_id,
        "oauth_username": s.oauth_username,
    })
    .to_string()
}

fn voice_route_json(r: &VoiceRoute) -> String {
    json!({
        "name": r.name.as_str(),
        "subdomain": r.subdomain.as_str(),
        "policy_name": r.policy_name,
        "state": r.state.as_str(),
    })
    .to_string()
}

impl SqlStore {
    // --- resellers and accounts ---------------------------------------------------------------

    pub(crate) async fn create_reseller_impl(
        &self,
        new: &NewReseller,
        audit: &Audit,
    ) -> StoreResult<Reseller> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let row: ResellerRow = sqlx::query_as(sql!(
            "INSERT INTO resellers (name, contact_email, services, billing_reference, created_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {RESELLER_COLUMNS}"
        ))
        .bind(new.name.as_str())
        .bind(new.contact_email.as_str())
        .bind(new.services.as_deref())
        .bind(new.billing_reference.as_deref())
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        let reseller = row.into_domain()?;
        let after = json!({"name": reseller.name.as_str(), "contact_email": reseller.contact_email.as_str()});
        audit::write(
            &mut tx,
            now,
            None,
            audit,
            Subject::new("reseller", reseller.id).after(after.to_string()),
        )
        .await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(reseller)
    }

    pub(crate) async fn get_reseller_impl(&self, id: ResellerId) -> StoreResult<Reseller> {
        let row: Option<ResellerRow> = sqlx::query_as(sql!(
            "SELECT {RESELLER_COLUMNS} FROM resellers WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx)?;
        row.ok_or_else(|| StoreError::not_found(format!("reseller {id}")))?
            .into_domain()
    }

    pub(crate) async fn reseller_by_name_impl(&self, name: &str) -> StoreResult<Option<Reseller>> {
        let row: Option<ResellerRow> = sqlx::query_as(sql!(
            "SELECT {RESELLER_COLUMNS} FROM resellers WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx)?;
        row.map(ResellerRow::into_domain).transpose()
    }

    pub(crate) async fn list_resellers_impl(&self) -> StoreResult<Vec<Reseller>> {
        let rows: Vec<ResellerRow> = sqlx::query_as(sql!(
            "SELECT {RESELLER_COLUMNS} FROM resellers ORDER BY name"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx)?;
        rows.into_iter().map(ResellerRow::into_domain).collect()
    }

    pub(crate) async fn create_account_impl(
        &self,
        new: &NewAccount,
        audit: &Audit,
    ) -> StoreResult<Account> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let row: AccountRow = sqlx::query_as(
            "INSERT INTO accounts (email, role, reseller_id, password_hash, created_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id, email, role, reseller_id, password_hash",
        )
        .bind(new.email.as_str().to_lowercase())
        .bind(new.role.as_str())
        .bind(new.reseller_id.map(|r| r.0))
        .bind(&new.password_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        let account = row.into_domain()?;
        let after = json!({"email": account.email.as_str(), "role": account.role.as_str()});
        audit::write(
            &mut tx,
            now,
            None,
            audit,
            Subject::new("account", account.id).after(after.to_string()),
        )
        .await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(account)
    }

    pub(crate) async fn account_by_email_impl(&self, email: &str) -> StoreResult<Option<Account>> {
        let row: Option<AccountRow> = sqlx::query_as(
            "SELECT id, email, role, reseller_id, password_hash FROM accounts WHERE email = $1",
        )
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx)?;
        row.map(AccountRow::into_domain).transpose()
    }

    // --- SBC regions --------------------------------------------------------------------------

    pub(crate) async fn create_sbc_region_impl(
        &self,
        new: &NewSbcRegion,
        audit: &Audit,
    ) -> StoreResult<SbcRegion> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let row: SbcRegionRow = sqlx::query_as(
            "INSERT INTO sbc_regions (name, gateway_fqdn, created_ms) VALUES ($1, $2, $3) \
             RETURNING id, name, gateway_fqdn",
        )
        .bind(new.name.as_str())
        .bind(new.gateway_fqdn.as_str())
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        let region = row.into_domain()?;
        let after =
            json!({"name": region.name.as_str(), "gateway_fqdn": region.gateway_fqdn.as_str()});
        audit::write(
            &mut tx,
            now,
            None,
            audit,
            Subject::new("sbc_region", region.id).after(after.to_string()),
        )
        .await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(region)
    }

    pub(crate) async fn list_sbc_regions_impl(&self) -> StoreResult<Vec<SbcRegion>> {
        let rows: Vec<SbcRegionRow> =
            sqlx::query_as("SELECT id, name, gateway_fqdn FROM sbc_regions ORDER BY name")
                .fetch_all(&self.pool)
                .await
                .map_err(map_sqlx)?;
        rows.into_iter().map(SbcRegionRow::into_domain).collect()
    }

    // --- enterprises --------------------------------------------------------------------------

    async fn load_enterprise(
        conn: &mut AnyConnection,
        row: EnterpriseRow,
    ) -> StoreResult<Enterprise> {
        let consents: Vec<ConsentRow> = sqlx::query_as(
            "SELECT kind, granted_ms, granted_by FROM consents WHERE enterprise_id = $1",
        )
        .bind(row.id)
        .fetch_all(&mut *conn)
        .await
        .map_err(map_sqlx)?;
        let regions: Vec<(i64,)> = sqlx::query_as(
            "SELECT region_id FROM enterprise_sbc_regions WHERE enterprise_id = $1 ORDER BY region_id",
        )
        .bind(row.id)
        .fetch_all(&mut *conn)
        .await
        .map_err(map_sqlx)?;
        row.into_domain(consents, regions.into_iter().map(|r| r.0).collect())
    }

    async fn enterprise_where(
        &self,
        clause: &str,
        bind: impl FnOnce(
            sqlx::query::QueryAs<'_, sqlx::Any, EnterpriseRow, sqlx::any::AnyArguments>,
        )
            -> sqlx::query::QueryAs<'_, sqlx::Any, EnterpriseRow, sqlx::any::AnyArguments>,
    ) -> StoreResult<Option<Enterprise>> {
        let mut conn = self.pool.acquire().await.map_err(map_sqlx)?;
        let sql = format!("SELECT {ENTERPRISE_COLUMNS} FROM enterprises WHERE {clause}");
        let row: Option<EnterpriseRow> = bind(sqlx::query_as(AssertSqlSafe(sql.as_str())))
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_sqlx)?;
        match row {
            Some(row) => Ok(Some(Self::load_enterprise(&mut conn, row).await?)),
            None => Ok(None),
        }
    }

    pub(crate) async fn create_enterprise_impl(
        &self,
        reseller: ResellerId,
        new: &NewEnterprise,
        audit: &Audit,
    ) -> StoreResult<Enterprise> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let row: EnterpriseRow = sqlx::query_as(sql!(
            "INSERT INTO enterprises (reseller_id, name, slug, tenant_id, global_admin_email, user_limit, \
             pbx_music_on_hold, access_sip_data, request_management_consent, state, created_ms, updated_ms) \
             VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, $8, 'invited', $9, $9) RETURNING {ENTERPRISE_COLUMNS}"
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
        .fetch_one(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        for region in &new.sbc_regions {
            sqlx::query(
                "INSERT INTO enterprise_sbc_regions (enterprise_id, region_id) VALUES ($1, $2)",
            )
            .bind(row.id)
            .bind(region.0)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
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
        tx.commit().await.map_err(map_sqlx)?;
        Ok(enterprise)
    }

    pub(crate) async fn get_enterprise_impl(&self, id: EnterpriseId) -> StoreResult<Enterprise> {
        self.enterprise_where("id = $1", |q| q.bind(id.0))
            .await?
            .ok_or_else(|| StoreError::not_found(format!("enterprise {id}")))
    }

    pub(crate) async fn enterprise_by_slug_impl(
        &self,
        slug: &str,
    ) -> StoreResult<Option<Enterprise>> {
        self.enterprise_where("slug = $1", |q| q.bind(slug.to_owned()))
            .await
    }

    pub(crate) async fn enterprise_by_tenant_impl(
        &self,
        tenant: &TenantId,
    ) -> StoreResult<Option<Enterprise>> {
        self.enterprise_where("tenant_id = $1", |q| q.bind(tenant.as_str().to_owned()))
            .await
    }

    pub(crate) async fn list_enterprises_impl(
        &self,
        reseller: Option<ResellerId>,
    ) -> StoreResult<Vec<Enterprise>> {
        let mut conn = self.pool.acquire().await.map_err(map_sqlx)?;
        let rows: Vec<EnterpriseRow> = sqlx::query_as(sql!(
            "SELECT {ENTERPRISE_COLUMNS} FROM enterprises WHERE ($1 IS NULL OR reseller_id = $1) ORDER BY name"
        ))
        .bind(reseller.map(|r| r.0))
        .fetch_all(&mut *conn)
        .await
        .map_err(map_sqlx)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(Self::load_enterprise(&mut conn, row).await?);
        }
        Ok(out)
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
            .map_err(map_sqlx)?;
        let before_row =
            before_row.ok_or_else(|| StoreError::not_found(format!("enterprise {id}")))?;
        let before = Self::load_enterprise(&mut tx, before_row).await?;
        bind(sqlx::query(AssertSqlSafe(sql)))
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        sqlx::query("UPDATE enterprises SET updated_ms = $1 WHERE id = $2")
            .bind(now)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        let after_row: EnterpriseRow = sqlx::query_as(AssertSqlSafe(select.as_str()))
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_sqlx)?;
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
        tx.commit().await.map_err(map_sqlx)?;
        Ok(after)
    }

    pub(crate) async fn register_enterprise_impl(
        &self,
        id: EnterpriseId,
        tenant: &TenantId,
        audit: &Audit,
    ) -> StoreResult<Enterprise> {
        self.change_enterprise(id, audit,
            "UPDATE enterprises SET tenant_id = $1, state = CASE WHEN state = 'invited' THEN 'registered' ELSE state END WHERE id = $2",
            |q| q.bind(tenant.as_str().to_owned()).bind(id.0)).await
    }

    pub(crate) async fn set_enterprise_state_impl(
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

    pub(crate) async fn set_consent_impl(
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

    // --- voice routes -------------------------------------------------------------------------

    pub(crate) async fn create_voice_route_impl(
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
        .map_err(map_sqlx)?;
        let route = row.into_domain()?;
        audit::write(
            &mut tx,
            now,
            Some(enterprise),
            audit,
            Subject::new("voice_route", route.id).after(voice_route_json(&route)),
        )
        .await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(route)
    }

    pub(crate) async fn set_voice_route_state_impl(
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
            .map_err(map_sqlx)?;
        let before = before
            .ok_or_else(|| StoreError::not_found(format!("voice route {id}")))?
            .into_domain()?;
        sqlx::query("UPDATE voice_routes SET state = $1, updated_ms = $2 WHERE id = $3")
            .bind(state.as_str())
            .bind(now)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        let after: VoiceRouteRow = sqlx::query_as(AssertSqlSafe(select.as_str()))
            .bind(id.0)
            .bind(enterprise.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_sqlx)?;
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
        tx.commit().await.map_err(map_sqlx)?;
        Ok(after)
    }

    pub(crate) async fn list_voice_routes_impl(
        &self,
        enterprise: EnterpriseId,
    ) -> StoreResult<Vec<VoiceRoute>> {
        let rows: Vec<VoiceRouteRow> = sqlx::query_as(sql!(
            "SELECT {VOICE_ROUTE_COLUMNS} FROM voice_routes WHERE enterprise_id = $1 ORDER BY name"
        ))
        .bind(enterprise.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx)?;
        rows.into_iter().map(VoiceRouteRow::into_domain).collect()
    }

    // --- PBX locations ------------------------------------------------------------------------

    fn encrypt_auth(
        &self,
        enterprise: EnterpriseId,
        auth: &PbxApiAuth,
    ) -> StoreResult<[Option<Vec<u8>>; 3]> {
        use teamline_domain::pbx_location::expose;
        let enc = |secret: &secrecy::SecretString, column| {
            self.keyring
                .encrypt(expose(secret), &SecretSlot::enterprise(enterprise, column))
                .map(Some)
        };
        Ok(match auth {
            PbxApiAuth::ApiKey { api_key } => [enc(api_key, API_KEY)?, None, None],
            PbxApiAuth::OAuth {
                client_secret,
                password,
                ..
            } => [
                None,
                enc(client_secret, OAUTH_CLIENT_SECRET)?,
                enc(password, OAUTH_PASSWORD)?,
            ],
        })
    }

    pub(crate) async fn create_pbx_location_impl(
        &self,
        enterprise: EnterpriseId,
        cmd: &PbxLocationCommand,
        audit: &Audit,
    ) -> StoreResult<PbxLocation> {
        let auth = cmd.auth.as_ref().ok_or_else(|| StoreError::Conflict {
            field: "API Key",
            message: "is required for a new PBX location".to_owned(),
        })?;
        let [api_key, client_secret, password] = self.encrypt_auth(enterprise, auth)?;
        let s = &cmd.settings;
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let row: PbxLocationRow = sqlx::query_as(sql!(
            "INSERT INTO pbx_locations (enterprise_id, name, pbx_type, dns_lookup, sip_domain, proxy, \
             voicemail_code, api_base_url, api_auth_kind, oauth_client_id, oauth_username, api_key_enc, \
             oauth_client_secret_enc, oauth_password_enc, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) \
             RETURNING {PBX_LOCATION_COLUMNS}"
        ))
        .bind(enterprise.0)
        .bind(s.name.as_str())
        .bind(s.pbx_type.as_str())
        .bind(s.dns_lookup.as_str())
        .bind(s.sip_domain.as_str())
        .bind(s.proxy.to_string())
        .bind(s.voicemail_code.as_str())
        .bind(s.api_base_url.as_str())
        .bind(s.api_auth_kind.as_str())
        .bind(s.oauth_client_id.as_deref())
        .bind(s.oauth_username.as_deref())
        .bind(api_key)
        .bind(client_secret)
        .bind(password)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        let location = row.into_domain()?;
        audit::write(
            &mut tx,
            now,
            Some(enterprise),
            audit,
            Subject::new("pbx_location", location.id).after(location_json(&location.settings)),
        )
        .await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(location)
    }

    pub(crate) async fn update_pbx_location_impl(
        &self,
        enterprise: EnterpriseId,
        id: PbxLocationId,
        cmd: &PbxLocationCommand,
        audit: &Audit,
    ) -> StoreResult<PbxLocation> {
        let now = self.now();
        let before = self.get_pbx_location_impl(enterprise, id).await?;
        if cmd.auth.is_none() && before.settings.api_auth_kind != cmd.settings.api_auth_kind {
            return Err(StoreError::Conflict {
                field: "API Authentication",
                message: "changing the authentication method needs the new credentials: fill in the secret fields".to_owned(),
            });
        }
        let s = &cmd.settings;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE pbx_locations SET name = $1, pbx_type = $2, dns_lookup = $3, sip_domain = $4, proxy = $5, \
             voicemail_code = $6, api_base_url = $7, api_auth_kind = $8, oauth_client_id = $9, oauth_username = $10, \
             updated_ms = $11 WHERE id = $12 AND enterprise_id = $13",
        )
        .bind(s.name.as_str())
        .bind(s.pbx_type.as_str())
        .bind(s.dns_lookup.as_str())
        .bind(s.sip_domain.as_str())
        .bind(s.proxy.to_string())
        .bind(s.voicemail_code.as_str())
        .bind(s.api_base_url.as_str())
        .bind(s.api_auth_kind.as_str())
        .bind(s.oauth_client_id.as_deref())
        .bind(s.oauth_username.as_deref())
        .bind(now)
        .bind(id.0)
        .bind(enterprise.0)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        if let Some(auth) = &cmd.auth {
            let [api_key, client_secret, password] = self.encrypt_auth(enterprise, auth)?;
            sqlx::query("UPDATE pbx_locations SET api_key_enc = $1, oauth_client_secret_enc = $2, oauth_password_enc = $3 WHERE id = $4")
                .bind(api_key).bind(client_secret).bind(password).bind(id.0)
                .execute(&mut *tx).await.map_err(map_sqlx)?;
        }
        let row: PbxLocationRow = sqlx::query_as(sql!(
            "SELECT {PBX_LOCATION_COLUMNS} FROM pbx_locations WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        let after = row.into_domain()?;
        let mut after_json = location_json(&after.settings);
        if cmd.auth.is_some() {
            // Say that credentials changed without recording them.
            after_json = after_json.replacen('{', "{\"credentials\":\"changed\",", 1);
        }
        audit::write(
            &mut tx,
            now,
            Some(enterprise),
            audit,
            Subject::new("pbx_location", id)
                .before(location_json(&before.settings))
                .after(after_json),
        )
        .await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(after)
    }

    pub(crate) async fn get_pbx_location_impl(
        &self,
        enterprise: EnterpriseId,
        id: PbxLocationId,
    ) -> StoreResult<PbxLocation> {
        let row: Option<PbxLocationRow> = sqlx::query_as(sql!(
            "SELECT {PBX_LOCATION_COLUMNS} FROM pbx_locations WHERE id = $1 AND enterprise_id = $2"
        ))
        .bind(id.0)
        .bind(enterprise.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx)?;
        row.ok_or_else(|| StoreError::not_found(format!("PBX location {id}")))?
            .into_domain()
    }

    pub(crate) async fn list_pbx_locations_impl(
        &self,
        enterprise: EnterpriseId,
    ) -> StoreResult<Vec<PbxLocation>> {
        let rows: Vec<PbxLocationRow> = sqlx::query_as(sql!(
            "SELECT {PBX_LOCATION_COLUMNS} FROM pbx_locations WHERE enterprise_id = $1 ORDER BY name"
        ))
        .bind(enterprise.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx)?;
        rows.into_iter().map(PbxLocationRow::into_domain).collect()
    }

    pub(crate) async fn pbx_location_auth_impl(
        &self,
        enterprise: EnterpriseId,
        id: PbxLocationId,
    ) -> StoreResult<PbxApiAuth> {
        let location = self.get_pbx_location_impl(enterprise, id).await?;
        let row: LocationSecretsRow = sqlx::query_as(
            "SELECT api_key_enc, oauth_client_secret_enc, oauth_password_enc FROM pbx_locations WHERE id = $1",
        )
        .bind(id.0)
        .fetch_one(&self.pool)
        .await
        .map_err(map_sqlx)?;
        let decrypt =
            |blob: Option<Vec<u8>>, column: &'static str| -> StoreResult<secrecy::SecretString> {
                let blob = blob.ok_or_else(|| {
                    StoreError::not_found(format!("the stored {column} of PBX location {id}"))
                })?;
                Ok(self
                    .keyring
                    .decrypt(&blob, &SecretSlot::enterprise(enterprise, column))?
                    .into())
            };
        use teamline_domain::pbx_location::ApiAuthKind;
        Ok(match location.settings.api_auth_kind {
            ApiAuthKind::ApiKey => PbxApiAuth::ApiKey {
                api_key: decrypt(row.api_key_enc, API_KEY)?,
            },
            ApiAuthKind::OAuth => PbxApiAuth::OAuth {
                client_id: location.settings.oauth_client_id.unwrap_or_default(),
                client_secret: decrypt(row.oauth_client_secret_enc, OAUTH_CLIENT_SECRET)?,
                username: location.settings.oauth_username.unwrap_or_default(),
                password: decrypt(row.oauth_password_enc, OAUTH_PASSWORD)?,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
struct LocationSecretsRow {
    api_key_enc: Option<Vec<u8>>,
    oauth_client_secret_enc: Option<Vec<u8>>,
    oauth_password_enc: Option<Vec<u8>>,
}
