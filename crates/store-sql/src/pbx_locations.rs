//! An enterprise's PBX locations. Their API credentials are encrypted with a key bound to the
//! enterprise and the column, never audited, and decrypted only for the PBX client.

use crate::SqlStore;
use crate::audit::{self, Subject};
use crate::error::DbResultExt;
use crate::rows::PbxLocationRow;
use async_trait::async_trait;
use serde_json::json;
use teamline_domain::audit::Audit;
use teamline_domain::ids::{EnterpriseId, PbxLocationId};
use teamline_domain::pbx_location::{
    PbxApiAuth, PbxLocation, PbxLocationCommand, PbxLocationSettings,
};
use teamline_store::crypto::SecretSlot;
use teamline_store::{PbxLocationStore, StoreError, StoreResult};

const PBX_LOCATION_COLUMNS: &str = "id, enterprise_id, name, pbx_type, dns_lookup, sip_domain, \
    proxy, voicemail_code, api_base_url, api_auth_kind, oauth_client_id, oauth_username";

pub(crate) const API_KEY: &str = "pbx_locations.api_key";
pub(crate) const OAUTH_CLIENT_SECRET: &str = "pbx_locations.oauth_client_secret";
pub(crate) const OAUTH_PASSWORD: &str = "pbx_locations.oauth_password";

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

impl SqlStore {
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
}

#[async_trait]
impl PbxLocationStore for SqlStore {
    async fn create_pbx_location(
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
        .db()?;
        let location = row.into_domain()?;
        audit::write(
            &mut tx,
            now,
            Some(enterprise),
            audit,
            Subject::new("pbx_location", location.id).after(location_json(&location.settings)),
        )
        .await?;
        tx.commit().await.db()?;
        Ok(location)
    }

    async fn update_pbx_location(
        &self,
        enterprise: EnterpriseId,
        id: PbxLocationId,
        cmd: &PbxLocationCommand,
        audit: &Audit,
    ) -> StoreResult<PbxLocation> {
        let now = self.now();
        let before = self.get_pbx_location(enterprise, id).await?;
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
        .db()?;
        if let Some(auth) = &cmd.auth {
            let [api_key, client_secret, password] = self.encrypt_auth(enterprise, auth)?;
            sqlx::query("UPDATE pbx_locations SET api_key_enc = $1, oauth_client_secret_enc = $2, oauth_password_enc = $3 WHERE id = $4")
                .bind(api_key).bind(client_secret).bind(password).bind(id.0)
                .execute(&mut *tx).await.db()?;
        }
        let row: PbxLocationRow = sqlx::query_as(sql!(
            "SELECT {PBX_LOCATION_COLUMNS} FROM pbx_locations WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await
        .db()?;
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
        tx.commit().await.db()?;
        Ok(after)
    }

    async fn get_pbx_location(
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
        .db()?;
        row.ok_or_else(|| StoreError::not_found(format!("PBX location {id}")))?
            .into_domain()
    }

    async fn list_pbx_locations(&self, enterprise: EnterpriseId) -> StoreResult<Vec<PbxLocation>> {
        let rows: Vec<PbxLocationRow> = sqlx::query_as(sql!(
            "SELECT {PBX_LOCATION_COLUMNS} FROM pbx_locations WHERE enterprise_id = $1 ORDER BY name"
        ))
        .bind(enterprise.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.into_iter().map(PbxLocationRow::into_domain).collect()
    }

    async fn pbx_location_auth(
        &self,
        enterprise: EnterpriseId,
        id: PbxLocationId,
    ) -> StoreResult<PbxApiAuth> {
        let location = self.get_pbx_location(enterprise, id).await?;
        let row: LocationSecretsRow = sqlx::query_as(
            "SELECT api_key_enc, oauth_client_secret_enc, oauth_password_enc FROM pbx_locations WHERE id = $1",
        )
        .bind(id.0)
        .fetch_one(&self.pool)
        .await
        .db()?;
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
