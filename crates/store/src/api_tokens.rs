use crate::StoreResult;
use async_trait::async_trait;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::ids::{ApiTokenId, EnterpriseId, ResellerId};

/// A token to create. The store never sees the token itself, only its SHA-256: a token is a
/// long random value, so a fast hash is as safe as a slow one and lets a request find its
/// token by an index lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    pub reseller_id: ResellerId,
    /// `None`: reseller-wide (every enterprise of the reseller).
    pub enterprise_id: Option<EnterpriseId>,
    /// Unique among the scope's tokens that are not revoked; the audit log's actor.
    pub name: String,
    /// The token's first characters, shown in lists so an admin can tell tokens apart.
    pub prefix: String,
    /// SHA-256 of the whole token, as 64 hexadecimal characters.
    pub secret_sha256: String,
    pub read_only: bool,
    /// Requests per minute before the API answers 429.
    pub rate_per_minute: u32,
    pub expires_ms: Option<i64>,
}

/// A stored API token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub reseller_id: ResellerId,
    pub enterprise_id: Option<EnterpriseId>,
    pub name: String,
    pub prefix: String,
    pub read_only: bool,
    pub rate_per_minute: u32,
    pub created_ms: i64,
    pub created_by: Actor,
    pub expires_ms: Option<i64>,
    pub last_used_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
}

impl ApiToken {
    /// Not revoked and not expired at `now_ms`.
    pub fn is_usable(&self, now_ms: i64) -> bool {
        self.revoked_ms.is_none() && self.expires_ms.is_none_or(|e| now_ms < e)
    }

    /// Whether the token may act for `enterprise` of `reseller`.
    pub fn reaches(&self, reseller: ResellerId, enterprise: EnterpriseId) -> bool {
        self.reseller_id == reseller && self.enterprise_id.is_none_or(|e| e == enterprise)
    }
}

/// The answer to a POST that carried an `Idempotency-Key`, kept so a repeat gets the same
/// answer without doing the work twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// SHA-256 of the request (method, path, body): the same key with another request is
    /// refused rather than answered with the wrong response.
    pub request_sha256: String,
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// API tokens and the responses kept for idempotency keys.
#[async_trait]
pub trait ApiTokenStore: Send + Sync + 'static {
    /// A name already used by an unrevoked token of the same scope is a conflict on `name`.
    async fn create_api_token(&self, new: &NewApiToken, audit: &Audit) -> StoreResult<ApiToken>;
    /// The token with this SHA-256, revoked or expired ones included (the caller decides).
    async fn api_token_by_hash(&self, secret_sha256: &str) -> StoreResult<Option<ApiToken>>;
    /// An enterprise's tokens (`Some`) or the reseller-wide ones (`None`), newest first,
    /// revoked ones included.
    async fn list_api_tokens(
        &self,
        reseller: ResellerId,
        enterprise: Option<EnterpriseId>,
    ) -> StoreResult<Vec<ApiToken>>;
    /// Revokes a token of this scope (another scope's token is "not found"). Revoking twice
    /// keeps the first time.
    async fn revoke_api_token(
        &self,
        reseller: ResellerId,
        enterprise: Option<EnterpriseId>,
        id: ApiTokenId,
        audit: &Audit,
    ) -> StoreResult<ApiToken>;
    /// Records that the token was just used (not audited: it is not a change).
    async fn touch_api_token(&self, id: ApiTokenId) -> StoreResult<()>;
    /// The response kept for this token's key, if it is younger than a day.
    async fn stored_response(
        &self,
        token: ApiTokenId,
        key: &str,
    ) -> StoreResult<Option<StoredResponse>>;
    /// Keeps a response for a day. When the key is already taken, the first response stays.
    async fn store_response(
        &self,
        token: ApiTokenId,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()>;
}
