use crate::{Account, NewAccount, StoreResult};
use async_trait::async_trait;
use teamline_domain::audit::Audit;
use teamline_domain::ids::ResellerId;
use teamline_domain::reseller::{NewReseller, Reseller};
use teamline_domain::voice_route::{NewSbcRegion, SbcRegion};

/// What the platform operator sets up: resellers, local accounts and SBC regions.
#[async_trait]
pub trait PlatformStore: Send + Sync + 'static {
    async fn create_reseller(&self, new: &NewReseller, audit: &Audit) -> StoreResult<Reseller>;
    async fn get_reseller(&self, id: ResellerId) -> StoreResult<Reseller>;
    async fn reseller_by_name(&self, name: &str) -> StoreResult<Option<Reseller>>;
    async fn list_resellers(&self) -> StoreResult<Vec<Reseller>>;

    async fn create_account(&self, new: &NewAccount, audit: &Audit) -> StoreResult<Account>;
    /// Case-insensitive.
    async fn account_by_email(&self, email: &str) -> StoreResult<Option<Account>>;

    async fn create_sbc_region(&self, new: &NewSbcRegion, audit: &Audit) -> StoreResult<SbcRegion>;
    async fn list_sbc_regions(&self) -> StoreResult<Vec<SbcRegion>>;
}
