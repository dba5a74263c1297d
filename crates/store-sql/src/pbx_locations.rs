//! An enterprise's PBX locations. Their API credentials are encrypted with a key bound to the
//! enterprise and the column, never audited, and decrypted only for the PBX client.
//!
//! Each encrypted secret also carries what it was saved for (API base URL, SIP domain,
//! authentication method; [`CredentialBinding`]), inside the ciphertext, so it is
//! authenticated with it: the PBX client gets the binding with the secret and refuses to send
//! it anywhere else, whatever the row says now. An edit that changes one of those settings
//! must bring new secrets.
//!
//! A SIP domain belongs to one PBX location of the platform: an enterprise cannot point its
//! location at a domain another enterprise uses (a reseller's key reaches every domain of the
//! reseller, so the domain is what keeps customers apart on the PBX).

use crate::SqlStore;
use crate::audit::{self, Subject};
use crate::error::DbResultExt;
use crate::rows::PbxLocationRow;
use async_trait::async_trait;
use serde_json::json;
use teamline_domain::audit::Audit;
use teamline_domain::ids::{EnterpriseId, PbxLocationId};
use teamline_domain::pbx_location::{
    BoundPbxAuth, CredentialBinding, PbxApiAuth, PbxLocation, PbxLocationCommand,
    secrets_needed_again,
};
use teamline_domain::sip::SipDomain;
use teamline_store::crypto::SecretSlot;
use teamline_store::{PbxLocationStore, StoreError, StoreResult};

const PBX_LOCATION_COLUMNS: &str = "id, enterprise_id, name, pbx_type, dns_lookup, sip_domain, \
    proxy, voicemail_code, api_base_url, api_auth_kind, oauth_client_id, oauth_username, locked_fields";

pub(crate) const API_KEY: &str = "pbx_locations.api_key";
pub(crate) const OAUTH_CLIENT_SECRET: &str = "pbx_locations.oauth_client_secret";
pub(crate) const OAUTH_PASSWORD: &str = "pbx_locations.oauth_password";

fn location_json(l: &PbxLocation) -> String {
    let s = &l.settings;
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
        "locked": l.locked.iter().map(|f| f.key()).collect::<Vec<_>>(),
    })
    .to_string()
}

/// What is encrypted for each secret: the secret and what it was saved for.
#[derive(serde::Serialize, serde::Deserialize)]
struct SealedSecret {
    secret: String,
    bound_to: CredentialBinding,
}

impl SqlStore {
    fn encrypt_auth(
        &self,
        enterprise: EnterpriseId,
        auth: &PbxApiAuth,
        bound_to: &CredentialBinding,
    ) -> StoreResult<[Option<Vec<u8>>; 3]> {
        use teamline_domain::pbx_location::expose;
        let enc = |secret: &secrecy::SecretString, column| {
            let sealed = serde_json::to_string(&SealedSecret {
                secret: expose(secret).to_owned(),
                bound_to: bound_to.clone(),
            })
            .map_err(|e| StoreError::database(format!("cannot encode a {column}: {e}")))?;
            self.keyring
                .encrypt(&sealed, &SecretSlot::enterprise(enterprise, column))
                .map(Some)
                .map_err(StoreError::from)
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

    /// Refuses a SIP domain another PBX location of the platform already uses: another
    /// enterprise's (without saying whose) or another location of this enterprise.
    async fn sip_domain_free_on(
        &self,
        conn: &mut sqlx::AnyConnection,
        enterprise: EnterpriseId,
        domain: &SipDomain,
        except: Option<PbxLocationId>,
    ) -> StoreResult<()> {
        let holder: Option<(i64, i64, String)> = sqlx::query_as(
            "SELECT id, enterprise_id, name FROM pbx_locations WHERE sip_domain = $1 AND id <> $2",
        )
        .bind(domain.as_str())
        .bind(except.map_or(-1, |id| id.0))
        .fetch_optional(&mut *conn)
        .await
        .db()?;
        match holder {
            None => Ok(()),
            Some((_, owner, name)) if owner == enterprise.0 => Err(StoreError::Conflict {
                field: "SIP Domain",
                message: format!(
                    "'{domain}' is already the SIP domain of your PBX location {name}: edit that location instead"
                ),
            }),
            Some(_) => Err(StoreError::Conflict {
                field: "SIP Domain",
                message: format!(
                    "'{domain}' is used by another enterprise on this platform: enter your own SIP domain on the PBX (your service provider can tell you which it is)"
                ),
            }),
        }
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
        let s = &cmd.settings;
        let [api_key, client_secret, password] =
            self.encrypt_auth(enterprise, auth, &s.credential_binding())?;
        let now = self.now();
        let mut tx = self.begin_write().await?;
        self.sip_domain_free_on(&mut tx, enterprise, &s.sip_domain, None)
            .await?;
        let row: PbxLocationRow = sqlx::query_as(sql!(
            "INSERT INTO pbx_locations (enterprise_id, name, pbx_type, dns_lookup, sip_domain, proxy, \
             voicemail_code, api_base_url, api_auth_kind, oauth_client_id, oauth_username, api_key_enc, \
             oauth_client_secret_enc, oauth_password_enc, created_ms, updated_ms, locked_fields) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16) \
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
        .bind(cmd.locked.as_ref().map(|l| l.encode()).unwrap_or_default())
        .fetch_one(&mut *tx)
        .await
        .db()?;
        let location = row.into_domain()?;
        audit::write(
            &mut tx,
            now,
            Some(enterprise),
            audit,
            Subject::new("pbx_location", location.id).after(location_json(&location)),
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
        let s = &cmd.settings;
        let mut tx = self.begin_write().await?;
        let before: PbxLocationRow = sqlx::query_as(sql!(
            "SELECT {PBX_LOCATION_COLUMNS} FROM pbx_locations WHERE id = $1 AND enterprise_id = $2"
        ))
        .bind(id.0)
        .bind(enterprise.0)
        .fetch_optional(&mut *tx)
        .await
        .db()?
        .ok_or_else(|| StoreError::not_found(format!("PBX location {id}")))?;
        let before = before.into_domain()?;
        // Stored secrets stay with what they were saved for: a change of the API base URL, SIP
        // domain or authentication method must bring new ones.
        if cmd.auth.is_none()
            && let Some(changed) = before
                .settings
                .credential_binding()
                .changed_field(&s.credential_binding())
        {
            let field = s.api_auth_kind.secret_fields()[0];
            return Err(StoreError::Conflict {
                field,
                message: secrets_needed_again(changed, field),
            });
        }
        self.sip_domain_free_on(&mut tx, enterprise, &s.sip_domain, Some(id))
            .await?;
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
            let [api_key, client_secret, password] =
                self.encrypt_auth(enterprise, auth, &s.credential_binding())?;
            sqlx::query("UPDATE pbx_locations SET api_key_enc = $1, oauth_client_secret_enc = $2, oauth_password_enc = $3 WHERE id = $4")
                .bind(api_key).bind(client_secret).bind(password).bind(id.0)
                .execute(&mut *tx).await.db()?;
        }
        if let Some(locked) = &cmd.locked {
            sqlx::query("UPDATE pbx_locations SET locked_fields = $1 WHERE id = $2")
                .bind(locked.encode())
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .db()?;
        }
        let row: PbxLocationRow = sqlx::query_as(sql!(
            "SELECT {PBX_LOCATION_COLUMNS} FROM pbx_locations WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await
        .db()?;
        let after = row.into_domain()?;
        let mut after_json = location_json(&after);
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
                .before(location_json(&before))
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

    async fn check_sip_domain_free(
        &self,
        enterprise: EnterpriseId,
        domain: &SipDomain,
        except: Option<PbxLocationId>,
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.db()?;
        self.sip_domain_free_on(&mut conn, enterprise, domain, except)
            .await
    }

    async fn pbx_location_auth(
        &self,
        enterprise: EnterpriseId,
        id: PbxLocationId,
    ) -> StoreResult<BoundPbxAuth> {
        let location = self.get_pbx_location(enterprise, id).await?;
        let row: LocationSecretsRow = sqlx::query_as(
            "SELECT api_key_enc, oauth_client_secret_enc, oauth_password_enc FROM pbx_locations WHERE id = $1",
        )
        .bind(id.0)
        .fetch_one(&self.pool)
        .await
        .db()?;
        // Secrets stored before they carried their binding were saved for the settings the row
        // still has: since then, a change of those settings has always replaced them.
        let row_binding = location.settings.credential_binding();
        let decrypt = |blob: Option<Vec<u8>>,
                       column: &'static str|
         -> StoreResult<(secrecy::SecretString, CredentialBinding)> {
            let blob = blob.ok_or_else(|| {
                StoreError::not_found(format!("the stored {column} of PBX location {id}"))
            })?;
            let plain = self
                .keyring
                .decrypt(&blob, &SecretSlot::enterprise(enterprise, column))?;
            Ok(match serde_json::from_str::<SealedSecret>(&plain) {
                Ok(sealed) => (sealed.secret.into(), sealed.bound_to),
                Err(_) => (plain.into(), row_binding.clone()),
            })
        };
        use teamline_domain::pbx_location::ApiAuthKind;
        Ok(match location.settings.api_auth_kind {
            ApiAuthKind::ApiKey => {
                let (api_key, bound_to) = decrypt(row.api_key_enc, API_KEY)?;
                BoundPbxAuth {
                    auth: PbxApiAuth::ApiKey { api_key },
                    bound_to,
                }
            }
            ApiAuthKind::OAuth => {
                let (client_secret, bound_to) =
                    decrypt(row.oauth_client_secret_enc, OAUTH_CLIENT_SECRET)?;
                let (password, password_bound_to) =
                    decrypt(row.oauth_password_enc, OAUTH_PASSWORD)?;
                if password_bound_to != bound_to {
                    return Err(StoreError::Conflict {
                        field: "Masquerade Password",
                        message: "was saved for other settings than the OAuth client secret: enter both again".to_owned(),
                    });
                }
                BoundPbxAuth {
                    auth: PbxApiAuth::OAuth {
                        client_id: location.settings.oauth_client_id.unwrap_or_default(),
                        client_secret,
                        username: location.settings.oauth_username.unwrap_or_default(),
                        password,
                    },
                    bound_to,
                }
            }
        })
    }
}

#[derive(sqlx::FromRow)]
struct LocationSecretsRow {
    api_key_enc: Option<Vec<u8>>,
    oauth_client_secret_enc: Option<Vec<u8>>,
    oauth_password_enc: Option<Vec<u8>>,
}
