use crate::{SessionRecord, StoreResult};
use async_trait::async_trait;

/// Server-side web sessions (opaque data under a key the web layer chooses).
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// `None` for an unknown or expired session.
    async fn load_session(&self, id: &str) -> StoreResult<Option<SessionRecord>>;
    async fn save_session(&self, session: &SessionRecord) -> StoreResult<()>;
    async fn delete_session(&self, id: &str) -> StoreResult<()>;
    /// Returns how many expired sessions were removed.
    async fn delete_expired_sessions(&self) -> StoreResult<u64>;

    /// Encrypts `value` for a browser to keep (e.g. a sign-in in progress, in a cookie) instead
    /// of storing a row: only Teamline can read or alter it, on any instance that shares the
    /// encryption key. `purpose` binds it: a value sealed for one purpose does not open for
    /// another. Expiry is the caller's, inside `value`.
    fn seal(&self, purpose: &'static str, value: &str) -> StoreResult<Vec<u8>>;

    /// Opens what [`Self::seal`] made for `purpose`; an error when it was altered, made for
    /// another purpose, or with a key Teamline no longer has.
    fn unseal(&self, purpose: &'static str, sealed: &[u8]) -> StoreResult<String>;
}
