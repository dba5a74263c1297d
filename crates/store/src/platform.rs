use crate::{Account, LockoutPolicy, NewAccount, StoreResult};
use async_trait::async_trait;
use teamline_domain::audit::Audit;
use teamline_domain::ids::{AccountId, ResellerId};
use teamline_domain::reseller::{NewReseller, Reseller};
use teamline_domain::voice_route::{NewSbcRegion, SbcRegion};

/// What the platform operator sets up: resellers, local accounts and SBC regions.
#[async_trait]
pub trait PlatformStore: Send + Sync + 'static {
    async fn create_reseller(&self, new: &NewReseller, audit: &Audit) -> StoreResult<Reseller>;
    async fn get_reseller(&self, id: ResellerId) -> StoreResult<Reseller>;
    async fn reseller_by_name(&self, name: &str) -> StoreResult<Option<Reseller>>;
    async fn list_resellers(&self) -> StoreResult<Vec<Reseller>>;
    /// Suspends the reseller with `reason` (its admins cannot sign in), or reinstates it
    /// (`None`).
    async fn set_reseller_suspension(
        &self,
        id: ResellerId,
        reason: Option<&str>,
        audit: &Audit,
    ) -> StoreResult<Reseller>;

    async fn create_account(&self, new: &NewAccount, audit: &Audit) -> StoreResult<Account>;
    /// Case-insensitive.
    async fn account_by_email(&self, email: &str) -> StoreResult<Option<Account>>;
    /// A reseller's admin accounts, or the platform operators (`None`).
    async fn list_accounts(&self, reseller: Option<ResellerId>) -> StoreResult<Vec<Account>>;
    /// Counts a wrong password; the failure that reaches `policy.max_failures` locks the
    /// account for `policy.lock_ms` (and writes an audit event). Atomic, so parallel guesses
    /// each count. Returns the account as it is now.
    async fn record_failed_sign_in(
        &self,
        id: AccountId,
        policy: LockoutPolicy,
    ) -> StoreResult<Account>;
    /// A successful sign-in: the failure count starts again.
    async fn record_sign_in(&self, id: AccountId) -> StoreResult<()>;
    /// A new password (its Argon2id hash); also unlocks the account.
    async fn set_account_password(
        &self,
        id: AccountId,
        password_hash: &str,
        audit: &Audit,
    ) -> StoreResult<Account>;

    /// Switches TOTP two-factor on: the shared secret (stored encrypted) and the SHA-256
    /// hashes of the one-time recovery codes, replacing any earlier ones.
    async fn enable_two_factor(
        &self,
        id: AccountId,
        secret: &str,
        recovery_code_hashes: &[String],
        audit: &Audit,
    ) -> StoreResult<()>;
    /// Switches two-factor off and forgets the secret and recovery codes (a reset: the account
    /// enrols again at its next sign-in if its reseller requires two-factor).
    async fn disable_two_factor(&self, id: AccountId, audit: &Audit) -> StoreResult<()>;
    /// The account's TOTP secret, or `None` while two-factor is off.
    async fn two_factor_secret(&self, id: AccountId) -> StoreResult<Option<String>>;
    /// Records that a code of time step `step` was accepted. `false` if a code of this or a
    /// later step was accepted before: the code is a replay. Atomic.
    async fn record_totp_step(&self, id: AccountId, step: i64) -> StoreResult<bool>;
    /// Uses up the recovery code with this hash; `false` if the account has no such unused code.
    async fn use_recovery_code(&self, id: AccountId, code_hash: &str) -> StoreResult<bool>;
    /// Whether the reseller requires two-factor for all its admin accounts.
    async fn reseller_requires_two_factor(&self, id: ResellerId) -> StoreResult<bool>;
    async fn set_reseller_requires_two_factor(
        &self,
        id: ResellerId,
        required: bool,
        audit: &Audit,
    ) -> StoreResult<()>;

    async fn create_sbc_region(&self, new: &NewSbcRegion, audit: &Audit) -> StoreResult<SbcRegion>;
    async fn list_sbc_regions(&self) -> StoreResult<Vec<SbcRegion>>;
}
