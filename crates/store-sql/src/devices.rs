//! PBX device handles. Their SIP passwords are encrypted with a key bound to the enterprise
//! and the column, and never audited.

use crate::audit::{self, Subject};
use crate::error::DbResultExt;
use crate::rows::DeviceHandleRow;
use crate::{SqlStore, b};
use async_trait::async_trait;
use serde_json::json;
use teamline_domain::audit::Audit;
use teamline_domain::device::{DeviceAuthId, SipPassword};
use teamline_domain::ids::*;
use teamline_store::crypto::SecretSlot;
use teamline_store::{DeviceStore, NewDeviceHandle, StoreError, StoreResult, StoredDeviceHandle};

pub(crate) const SIP_PASSWORD: &str = "device_handles.sip_password";
const DEVICE_COLUMNS: &str =
    "id, enterprise_id, pbx_location_id, extension, auth_id, created_by_teamline";

#[async_trait]
impl DeviceStore for SqlStore {
    async fn upsert_device_handle(
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
        .db()?;
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
        tx.commit().await.db()?;
        Ok(handle)
    }

    async fn device_handle(
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
        .db()?;
        row.map(DeviceHandleRow::into_domain).transpose()
    }

    async fn device_handle_password(
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
        .db()?;
        let (blob,) = row.ok_or_else(|| StoreError::not_found(format!("device handle {id}")))?;
        let plain = self
            .keyring
            .decrypt(&blob, &SecretSlot::enterprise(enterprise, SIP_PASSWORD))?;
        SipPassword::parse(&plain).map_err(|e| StoreError::corrupt(e.to_string()))
    }

    async fn delete_device_handle(
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
        .db()?;
        let handle = row
            .ok_or_else(|| StoreError::not_found(format!("device handle {id}")))?
            .into_domain()?;
        sqlx::query("DELETE FROM device_handles WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .db()?;
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
        tx.commit().await.db()
    }
}
