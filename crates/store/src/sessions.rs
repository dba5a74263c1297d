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
}
