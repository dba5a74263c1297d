//! Device handles (whose SIP passwords are secrets) and re-encryption after a key rotation.

use crate::audit::{self, Subject};
use crate::enterprises::{API_KEY, OAUTH_CLIENT_SECRET, OAUTH_PASSWORD};
use crate::error::map_sqlx;
use crate::rows::DeviceHandleRow;
use crate::{SqlStore, b};
use serde_json::json;
use teamline_domain::audit::Audit;
use teamline_domain::device::{DeviceAuthId, SipPassword};
use teamline_domain::ids::*;
use teamline_store::crypto::SecretSlot;
use teamline_store::{NewDeviceHandle, StoreError, StoreResult, StoredDeviceHandle};

pub(crate) const SIP_PASSWORD: &str = "device_handles.sip_password";
const DEVICE_COLUMNS: &str =
    "id, enterprise_id, pbx_location_id, extension, auth_id, created_by_teamline";

impl SqlStore {
    pub(crate) async fn upsert_device_handle_impl(
        &self,
        new: &NewDeviceHandle,
        audit: &Audit,
    ) -> StoreResult<StoredDeviceHandle> {
        let now = self.now();
        let password = self.keyring.encrypt(
            new.password.expose(),
            &SecretSlot::enterprise(new.enterprise_id, SIP_PASSWORD),
        )?;
        let mut tx = self.begin_write().await?;
        // A handle is found on the PBX once; whether Teamline created it never changes later.
        let row: DeviceHandleRow = sqlx::query_as(sql!(
            "INSERT INTO device_handles (enterprise_id, pbx_location_id, extension, auth_id, password_enc, \
             created_by_teamline, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (pbx_location_id, auth_id) DO UPDATE SET password_enc = excluded.password_enc, \
             updated_ms = excluded.updated_ms RETURNING {DEVICE_COLUMNS}"
        ))
        .bind(new.enterprise_id.0)
        .bind(new.pbx_location_id.0)
        .bind(new.extension.to_string())
        .bind(new.auth_id.to_string())
        .bind(password)
        .bind(b(new.created_by_teamline))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        let handle = row.into_domain()?;
        if handle.enterprise_id != new.enterprise_id {
            return Err(StoreError::Conflict {
                field: "SIP Authentication ID",
                message: "this device belongs to another enterprise".to_owned(),
            });
        }
        let after = json!({"auth_id": handle.auth_id.as_str(), "extension": handle.extension.as_str(), "created_by_teamline": handle.created_by_teamline});
        audit::write(
            &mut tx,
            now,
            Some(new.enterprise_id),
            audit,
            Subject::new("device_handle", handle.id).after(after.to_string()),
        )
        .await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(handle)
    }

    pub(crate) async fn device_handle_impl(
        &self,
        enterprise: EnterpriseId,
        location: PbxLocationId,
        auth_id: &DeviceAuthId,
    ) -> StoreResult<Option<StoredDeviceHandle>> {
        let row: Option<DeviceHandleRow> = sqlx::query_as(sql!(
            "SELECT {DEVICE_COLUMNS} FROM device_handles WHERE enterprise_id = $1 AND pbx_location_id = $2 AND auth_id = $3"
        ))
        .bind(enterprise.0)
        .bind(location.0)
        .bind(auth_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx)?;
        row.map(DeviceHandleRow::into_domain).transpose()
    }

    pub(crate) async fn device_handle_password_impl(
        &self,
        enterprise: EnterpriseId,
        id: DeviceHandleId,
    ) -> StoreResult<SipPassword> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as(
            "SELECT password_enc FROM device_handles WHERE id = $1 AND enterprise_id = $2",
        )
        .bind(id.0)
        .bind(enterprise.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx)?;
        let (blob,) = row.ok_or_else(|| StoreError::not_found(format!("device handle {id}")))?;
        let plain = self
            .keyring
            .decrypt(&blob, &SecretSlot::enterprise(enterprise, SIP_PASSWORD))?;
        SipPassword::parse(&plain).map_err(|e| StoreError::corrupt(e.to_string()))
    }

    pub(crate) async fn delete_device_handle_impl(
        &self,
        enterprise: EnterpriseId,
        id: DeviceHandleId,
        audit: &Audit,
    ) -> StoreResult<()> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let row: Option<DeviceHandleRow> = sqlx::query_as(sql!(
            "SELECT {DEVICE_COLUMNS} FROM device_handles WHERE id = $1 AND enterprise_id = $2"
        ))
        .bind(id.0)
        .bind(enterprise.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        let handle = row
            .ok_or_else(|| StoreError::not_found(format!("device handle {id}")))?
            .into_domain()?;
        sqlx::query("DELETE FROM device_handles WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        let before =
            json!({"auth_id": handle.auth_id.as_str(), "extension": handle.extension.as_str()});
        audit::write(
            &mut tx,
            now,
            Some(enterprise),
            audit,
            Subject::new("device_handle", id).before(before.to_string()),
        )
        .await?;
        tx.commit().await.map_err(map_sqlx)
    }

    pub(crate) async fn reencrypt_secrets_impl(&self) -> StoreResult<u64> {
        let mut rewritten = 0;
        let mut tx = self.begin_write().await?;
        let columns = [
            ("pbx_locations", "api_key_enc", API_KEY),
            (
                "pbx_locations",
                "oauth_client_secret_enc",
                OAUTH_CLIENT_SECRET,
            ),
            ("pbx_locations", "oauth_password_enc", OAUTH_PASSWORD),
            ("device_handles", "password_enc", SIP_PASSWORD),
        ];
        for (table, column, slot_column) in columns {
            let rows: Vec<(i64, i64, Option<Vec<u8>>)> =
                sqlx::query_as(sql!("SELECT id, enterprise_id, {column} FROM {table}"))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_sqlx)?;
            for (id, enterprise, blob) in rows {
                let Some(blob) = blob.filter(|b| self.keyring.is_stale(b)) else {
                    continue;
                };
                let slot = SecretSlot::enterprise(enterprise, slot_column);
                let fresh = self
                    .keyring
                    .encrypt(&self.keyring.decrypt(&blob, &slot)?, &slot)?;
                sqlx::query(sql!("UPDATE {table} SET {column} = $1 WHERE id = $2"))
                    .bind(fresh)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_sqlx)?;
                rewritten += 1;
            }
        }
        tx.commit().await.map_err(map_sqlx)?;
        Ok(rewritten)
    }
}
