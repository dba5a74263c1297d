//! What the platform operator sets up: resellers, local accounts and SBC regions.

use crate::SqlStore;
use crate::audit::{self, Subject};
use crate::error::DbResultExt;
use crate::rows::{AccountRow, ResellerRow, SbcRegionRow};
use async_trait::async_trait;
use serde_json::json;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::ids::{AccountId, ResellerId};
use teamline_domain::reseller::{NewReseller, Reseller};
use teamline_domain::voice_route::{NewSbcRegion, SbcRegion};
use teamline_store::crypto::SecretSlot;
use teamline_store::{Account, LockoutPolicy, NewAccount, PlatformStore, StoreError, StoreResult};

const RESELLER_COLUMNS: &str =
    "id, name, contact_email, services, billing_reference, suspended_reason";
const ACCOUNT_COLUMNS: &str = "id, email, role, reseller_id, password_hash, failed_sign_ins, locked_until_ms, \
     CAST(CASE WHEN totp_secret IS NULL THEN 0 ELSE 1 END AS BIGINT) AS two_factor";
/// The platform key's slot of the TOTP secrets.
pub(crate) const TOTP_SECRET: &str = "accounts.totp_secret";

#[async_trait]
impl PlatformStore for SqlStore {
    async fn create_reseller(&self, new: &NewReseller, audit: &Audit) -> StoreResult<Reseller> {
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
        .db()?;
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
        tx.commit().await.db()?;
        Ok(reseller)
    }

    async fn get_reseller(&self, id: ResellerId) -> StoreResult<Reseller> {
        let row: Option<ResellerRow> = sqlx::query_as(sql!(
            "SELECT {RESELLER_COLUMNS} FROM resellers WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.ok_or_else(|| StoreError::not_found(format!("reseller {id}")))?
            .into_domain()
    }

    async fn reseller_by_name(&self, name: &str) -> StoreResult<Option<Reseller>> {
        let row: Option<ResellerRow> = sqlx::query_as(sql!(
            "SELECT {RESELLER_COLUMNS} FROM resellers WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.map(ResellerRow::into_domain).transpose()
    }

    async fn list_resellers(&self) -> StoreResult<Vec<Reseller>> {
        let rows: Vec<ResellerRow> = sqlx::query_as(sql!(
            "SELECT {RESELLER_COLUMNS} FROM resellers ORDER BY name"
        ))
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.into_iter().map(ResellerRow::into_domain).collect()
    }

    async fn set_reseller_suspension(
        &self,
        id: ResellerId,
        reason: Option<&str>,
        audit: &Audit,
    ) -> StoreResult<Reseller> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let row: Option<ResellerRow> = sqlx::query_as(sql!(
            "UPDATE resellers SET suspended_reason = $2, suspended_ms = $3 WHERE id = $1 \
             RETURNING {RESELLER_COLUMNS}"
        ))
        .bind(id.0)
        .bind(reason)
        .bind(reason.map(|_| now))
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        let reseller = row
            .ok_or_else(|| StoreError::not_found(format!("reseller {id}")))?
            .into_domain()?;
        let after = json!({"suspended": reseller.suspended});
        audit::write(
            &mut tx,
            now,
            None,
            audit,
            Subject::new("reseller", reseller.id).after(after.to_string()),
        )
        .await?;
        tx.commit().await.db()?;
        Ok(reseller)
    }

    async fn create_account(&self, new: &NewAccount, audit: &Audit) -> StoreResult<Account> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let row: AccountRow = sqlx::query_as(sql!(
            "INSERT INTO accounts (email, role, reseller_id, password_hash, created_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {ACCOUNT_COLUMNS}"
        ))
        .bind(new.email.as_str().to_lowercase())
        .bind(new.role.as_str())
        .bind(new.reseller_id.map(|r| r.0))
        .bind(&new.password_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .db()?;
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
        tx.commit().await.db()?;
        Ok(account)
    }

    async fn account_by_email(&self, email: &str) -> StoreResult<Option<Account>> {
        let row: Option<AccountRow> = sqlx::query_as(sql!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = $1"
        ))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.map(AccountRow::into_domain).transpose()
    }

    async fn list_accounts(&self, reseller: Option<ResellerId>) -> StoreResult<Vec<Account>> {
        let rows: Vec<AccountRow> = match reseller {
            Some(r) => sqlx::query_as(sql!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE reseller_id = $1 ORDER BY email"
            ))
            .bind(r.0),
            None => sqlx::query_as(sql!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE reseller_id IS NULL ORDER BY email"
            )),
        }
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.into_iter().map(AccountRow::into_domain).collect()
    }

    async fn record_failed_sign_in(
        &self,
        id: AccountId,
        policy: LockoutPolicy,
    ) -> StoreResult<Account> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        // One statement counts the failure, so parallel wrong guesses each count.
        let row: Option<AccountRow> = sqlx::query_as(sql!(
            "UPDATE accounts SET failed_sign_ins = failed_sign_ins + 1 WHERE id = $1 \
             RETURNING {ACCOUNT_COLUMNS}"
        ))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        let mut account = row
            .ok_or_else(|| StoreError::not_found(format!("account {id}")))?
            .into_domain()?;
        if account.failed_sign_ins >= policy.max_failures {
            let until = now + policy.lock_ms;
            sqlx::query(
                "UPDATE accounts SET failed_sign_ins = 0, locked_until_ms = $2 WHERE id = $1",
            )
            .bind(id.0)
            .bind(until)
            .execute(&mut *tx)
            .await
            .db()?;
            let audit = Audit::new(
                Actor::System("sign-in".into()),
                "account.locked",
                format!(
                    "Locked {} after {} wrong passwords",
                    account.email.as_str(),
                    account.failed_sign_ins
                ),
            );
            audit::write(&mut tx, now, None, &audit, Subject::new("account", id)).await?;
            account.failed_sign_ins = 0;
            account.locked_until_ms = Some(until);
        }
        tx.commit().await.db()?;
        Ok(account)
    }

    async fn record_sign_in(&self, id: AccountId) -> StoreResult<()> {
        sqlx::query(
            "UPDATE accounts SET failed_sign_ins = 0, locked_until_ms = NULL \
             WHERE id = $1 AND (failed_sign_ins <> 0 OR locked_until_ms IS NOT NULL)",
        )
        .bind(id.0)
        .execute(&self.pool)
        .await
        .db()?;
        Ok(())
    }

    async fn set_account_password(
        &self,
        id: AccountId,
        password_hash: &str,
        audit: &Audit,
    ) -> StoreResult<Account> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let row: Option<AccountRow> = sqlx::query_as(sql!(
            "UPDATE accounts SET password_hash = $2, failed_sign_ins = 0, locked_until_ms = NULL \
             WHERE id = $1 RETURNING {ACCOUNT_COLUMNS}"
        ))
        .bind(id.0)
        .bind(password_hash)
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        let account = row
            .ok_or_else(|| StoreError::not_found(format!("account {id}")))?
            .into_domain()?;
        audit::write(&mut tx, now, None, audit, Subject::new("account", id)).await?;
        tx.commit().await.db()?;
        Ok(account)
    }

    async fn enable_two_factor(
        &self,
        id: AccountId,
        secret: &str,
        recovery_code_hashes: &[String],
        audit: &Audit,
    ) -> StoreResult<()> {
        let sealed = self
            .keyring
            .encrypt(secret, &SecretSlot::platform(TOTP_SECRET))?;
        self.replace_two_factor(id, Some(sealed), recovery_code_hashes, audit)
            .await
    }

    async fn disable_two_factor(&self, id: AccountId, audit: &Audit) -> StoreResult<()> {
        self.replace_two_factor(id, None, &[], audit).await
    }

    async fn two_factor_secret(&self, id: AccountId) -> StoreResult<Option<String>> {
        let sealed: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT totp_secret FROM accounts WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await
                .db()?;
        match sealed.flatten() {
            Some(blob) => Ok(Some(
                self.keyring
                    .decrypt(&blob, &SecretSlot::platform(TOTP_SECRET))?,
            )),
            None => Ok(None),
        }
    }

    async fn record_totp_step(&self, id: AccountId, step: i64) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        // One conditional statement, so two requests racing with the same code cannot both win.
        let r = sqlx::query(
            "UPDATE accounts SET totp_last_step = $2 \
             WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
        )
        .bind(id.0)
        .bind(step)
        .execute(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(r.rows_affected() == 1)
    }

    async fn use_recovery_code(&self, id: AccountId, code_hash: &str) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(
            "DELETE FROM account_recovery_codes WHERE account_id = $1 AND code_hash = $2",
        )
        .bind(id.0)
        .bind(code_hash)
        .execute(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(r.rows_affected() == 1)
    }

    async fn reseller_requires_two_factor(&self, id: ResellerId) -> StoreResult<bool> {
        let required: Option<i64> =
            sqlx::query_scalar("SELECT require_two_factor FROM resellers WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await
                .db()?;
        required
            .map(|r| r == 1)
            .ok_or_else(|| StoreError::not_found(format!("reseller {id}")))
    }

    async fn set_reseller_requires_two_factor(
        &self,
        id: ResellerId,
        required: bool,
        audit: &Audit,
    ) -> StoreResult<()> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let r = sqlx::query("UPDATE resellers SET require_two_factor = $2 WHERE id = $1")
            .bind(id.0)
            .bind(i64::from(required))
            .execute(&mut *tx)
            .await
            .db()?;
        if r.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("reseller {id}")));
        }
        audit::write(
            &mut tx,
            now,
            None,
            audit,
            Subject::new("reseller", id).after(json!({"require_two_factor": required}).to_string()),
        )
        .await?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn create_sbc_region(&self, new: &NewSbcRegion, audit: &Audit) -> StoreResult<SbcRegion> {
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
        .db()?;
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
        tx.commit().await.db()?;
        Ok(region)
    }

    async fn list_sbc_regions(&self) -> StoreResult<Vec<SbcRegion>> {
        let rows: Vec<SbcRegionRow> =
            sqlx::query_as("SELECT id, name, gateway_fqdn FROM sbc_regions ORDER BY name")
                .fetch_all(&self.pool)
                .await
                .db()?;
        rows.into_iter().map(SbcRegionRow::into_domain).collect()
    }
}

impl SqlStore {
    /// Sets (or with `None` clears) an account's sealed TOTP secret and replaces its recovery
    /// codes, with the audit event, in one transaction.
    async fn replace_two_factor(
        &self,
        id: AccountId,
        sealed: Option<Vec<u8>>,
        recovery_code_hashes: &[String],
        audit: &Audit,
    ) -> StoreResult<()> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(
            "UPDATE accounts SET totp_secret = $2, totp_last_step = NULL WHERE id = $1",
        )
        .bind(id.0)
        .bind(sealed)
        .execute(&mut *tx)
        .await
        .db()?;
        if r.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("account {id}")));
        }
        sqlx::query("DELETE FROM account_recovery_codes WHERE account_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .db()?;
        for hash in recovery_code_hashes {
            sqlx::query(
                "INSERT INTO account_recovery_codes (account_id, code_hash) VALUES ($1, $2)",
            )
            .bind(id.0)
            .bind(hash)
            .execute(&mut *tx)
            .await
            .db()?;
        }
        audit::write(&mut tx, now, None, audit, Subject::new("account", id)).await?;
        tx.commit().await.db()?;
        Ok(())
    }
}
