use crate::{ConsentChange, InvitationRecord, InvitationUse, StoreResult};
use async_trait::async_trait;
use teamline_domain::audit::Audit;
use teamline_domain::direct_routing::DirectRoutingSetup;
use teamline_domain::enterprise::{Enterprise, EnterpriseState, NewEnterprise, TenantId};
use teamline_domain::ids::{EnterpriseId, PbxLocationId, ResellerId, VoiceRouteId};
use teamline_domain::pbx_location::{BoundPbxAuth, PbxLocation, PbxLocationCommand};
use teamline_domain::sip::SipDomain;
use teamline_domain::voice_route::{NewVoiceRoute, VoiceRoute, VoiceRouteState};

/// Enterprises: their registration with a Microsoft 365 tenant, state and consents.
#[async_trait]
pub trait EnterpriseStore: Send + Sync + 'static {
    async fn create_enterprise(
        &self,
        reseller: ResellerId,
        new: &NewEnterprise,
        audit: &Audit,
    ) -> StoreResult<Enterprise>;
    async fn get_enterprise(&self, id: EnterpriseId) -> StoreResult<Enterprise>;
    async fn enterprise_by_slug(&self, slug: &str) -> StoreResult<Option<Enterprise>>;
    async fn enterprise_by_tenant(&self, tenant: &TenantId) -> StoreResult<Option<Enterprise>>;
    /// All enterprises, or one reseller's.
    async fn list_enterprises(&self, reseller: Option<ResellerId>) -> StoreResult<Vec<Enterprise>>;
    /// Records the tenant the Global Administrator signed in from (state → registered).
    async fn register_enterprise(
        &self,
        id: EnterpriseId,
        tenant: &TenantId,
        audit: &Audit,
    ) -> StoreResult<Enterprise>;
    async fn set_enterprise_state(
        &self,
        id: EnterpriseId,
        state: EnterpriseState,
        audit: &Audit,
    ) -> StoreResult<Enterprise>;
    async fn set_consent(
        &self,
        id: EnterpriseId,
        change: &ConsentChange,
        audit: &Audit,
    ) -> StoreResult<Enterprise>;
    /// Edit Enterprise: every field of the form (the slug stays); the SBC regions are replaced.
    /// `Stale` when the enterprise is no longer at `expected_version`.
    async fn update_enterprise(
        &self,
        id: EnterpriseId,
        expected_version: i64,
        edit: &NewEnterprise,
        audit: &Audit,
    ) -> StoreResult<Enterprise>;
    /// Records an invitation that was sent; earlier unused ones of the enterprise are
    /// superseded (their links stop working).
    async fn record_invitation(
        &self,
        invitation: &InvitationRecord,
        audit: &Audit,
    ) -> StoreResult<()>;
    /// The enterprise's invitations, newest first.
    async fn list_invitations(&self, id: EnterpriseId) -> StoreResult<Vec<InvitationRecord>>;
    /// Records the invitation with `nonce` as used, atomically: of two calls with one nonce,
    /// one sees `Fresh`.
    async fn use_invitation(&self, id: EnterpriseId, nonce: &str) -> StoreResult<InvitationUse>;
}

/// An enterprise's voice routes (its Direct Routing domains in one SBC region each).
#[async_trait]
pub trait VoiceRouteStore: Send + Sync + 'static {
    async fn create_voice_route(
        &self,
        enterprise: EnterpriseId,
        new: &NewVoiceRoute,
        audit: &Audit,
    ) -> StoreResult<VoiceRoute>;
    async fn set_voice_route_state(
        &self,
        enterprise: EnterpriseId,
        id: VoiceRouteId,
        state: VoiceRouteState,
        audit: &Audit,
    ) -> StoreResult<VoiceRoute>;
    async fn list_voice_routes(&self, enterprise: EnterpriseId) -> StoreResult<Vec<VoiceRoute>>;
    /// Records the steps of the Direct Routing set-up of one of the enterprise's regions (the
    /// job's progress, replaced as it goes).
    async fn put_direct_routing_setup(
        &self,
        enterprise: EnterpriseId,
        setup: &DirectRoutingSetup,
    ) -> StoreResult<()>;
    /// The Direct Routing set-ups of the enterprise's regions, by region.
    async fn list_direct_routing_setups(
        &self,
        enterprise: EnterpriseId,
    ) -> StoreResult<Vec<DirectRoutingSetup>>;
}

/// An enterprise's PBX locations and their API credentials (encrypted, write-only except for
/// the PBX client).
#[async_trait]
pub trait PbxLocationStore: Send + Sync + 'static {
    /// `cmd.auth` must be set for a new location.
    async fn create_pbx_location(
        &self,
        enterprise: EnterpriseId,
        cmd: &PbxLocationCommand,
        audit: &Audit,
    ) -> StoreResult<PbxLocation>;
    /// `cmd.auth = None` keeps the stored secrets, which is refused (a conflict naming the
    /// secret field) when the API base URL, SIP domain or authentication method changed: the
    /// secrets are bound to what they were saved for. A SIP domain another PBX location uses
    /// is refused too (a conflict naming "SIP Domain"), as it is by `create_pbx_location`.
    async fn update_pbx_location(
        &self,
        enterprise: EnterpriseId,
        id: PbxLocationId,
        cmd: &PbxLocationCommand,
        audit: &Audit,
    ) -> StoreResult<PbxLocation>;
    async fn get_pbx_location(
        &self,
        enterprise: EnterpriseId,
        id: PbxLocationId,
    ) -> StoreResult<PbxLocation>;
    async fn list_pbx_locations(&self, enterprise: EnterpriseId) -> StoreResult<Vec<PbxLocation>>;
    /// Refuses (a conflict naming "SIP Domain") a SIP domain that another PBX location of the
    /// platform uses: another enterprise's, or another of this enterprise's than `except`.
    async fn check_sip_domain_free(
        &self,
        enterprise: EnterpriseId,
        domain: &SipDomain,
        except: Option<PbxLocationId>,
    ) -> StoreResult<()>;
    /// Decrypts the location's API credentials (for the PBX client only), with what they were
    /// saved for: the client must not send them anywhere else.
    async fn pbx_location_auth(
        &self,
        enterprise: EnterpriseId,
        id: PbxLocationId,
    ) -> StoreResult<BoundPbxAuth>;
}
