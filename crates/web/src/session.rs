//! Server-side sessions kept in the Store, and who a session belongs to.
//!
//! The cookie holds only a random id; the data lives in the `sessions` table so a session can be
//! revoked. The table is keyed by a SHA-256 of the id, so reading the database does not hand out
//! working session cookies.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use teamline_domain::audit::Actor;
use teamline_domain::ids::{AccountId, EnterpriseId, ResellerId};
use teamline_store::SessionRecord;
use time::OffsetDateTime;
use tower_sessions::cookie::SameSite;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::{Expiry, Session, SessionManagerLayer};

/// The session cookie's name.
pub const COOKIE_NAME: &str = "teamline_session";

/// Session keys.
pub(crate) mod keys {
    pub const PRINCIPAL: &str = "principal";
    pub const CSRF: &str = "csrf";
    pub const PENDING_CONSENT: &str = "pending_consent";
    pub const RENEWED_AT: &str = "renewed_at";
    /// A one-time message for the next page ("Debra Berger was deleted").
    pub const FLASH: &str = "flash";
    /// The enterprise a reseller admin acts for through its management consent.
    pub const ACTING_FOR: &str = "acting_for";
}

/// Who is signed in. Kept general: enterprise admins sign in with Microsoft, reseller admins
/// with a local account (reseller portal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Principal {
    EnterpriseAdmin(EnterpriseAdmin),
    ResellerAdmin {
        account_id: AccountId,
        reseller_id: ResellerId,
        email: String,
    },
    /// A platform operator's local account: the operator area only.
    PlatformOperator {
        account_id: AccountId,
        email: String,
    },
}

/// An enterprise admin signed in with Microsoft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterpriseAdmin {
    pub enterprise_id: EnterpriseId,
    pub tenant_id: String,
    pub object_id: String,
    /// The sign-in name (UPN), used in the audit log.
    pub username: String,
    pub display_name: String,
    /// "Global Administrator" or "Teams Administrator".
    pub role: String,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        match self {
            Self::EnterpriseAdmin(a) => Actor::EnterpriseAdmin(a.username.clone()),
            Self::ResellerAdmin { email, .. } => Actor::ResellerAdmin(email.clone()),
            Self::PlatformOperator { email, .. } => Actor::PlatformOperator(email.clone()),
        }
    }
}

/// Starts a signed-in session for `principal`: a new session id (an id planted before sign-in,
/// session fixation, is then worthless) and a new form token.
pub async fn begin(session: &Session, principal: Principal) -> Result<(), crate::error::PageError> {
    use crate::error::PageError;
    session.cycle_id().await.map_err(PageError::session)?;
    session
        .insert(keys::PRINCIPAL, principal)
        .await
        .map_err(PageError::session)?;
    session
        .insert(keys::CSRF, crate::csrf::new_token())
        .await
        .map_err(PageError::session)
}

/// `tower_sessions` store over Teamline's [`SessionStore`](teamline_store::SessionStore).
#[derive(Clone)]
pub struct StoreSessions {
    store: Arc<dyn teamline_store::SessionStore>,
}

impl std::fmt::Debug for StoreSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSessions").finish_non_exhaustive()
    }
}

impl StoreSessions {
    pub fn new(store: Arc<dyn teamline_store::SessionStore>) -> Self {
        Self { store }
    }
}

/// The database key of a session id.
fn storage_key(id: &Id) -> String {
    hex::encode(Sha256::digest(id.to_string().as_bytes()))
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for StoreSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A 128-bit random id practically never collides; checking keeps it a guarantee.
        while self
            .store
            .load_session(&storage_key(&record.id))
            .await
            .map_err(backend)?
            .is_some()
        {
            record.id = Id::default();
        }
        self.save(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let expiry_ms = i64::try_from(record.expiry_date.unix_timestamp_nanos() / 1_000_000)
            .unwrap_or(i64::MAX);
        self.store
            .save_session(&SessionRecord {
                id: storage_key(&record.id),
                data,
                expiry_ms,
            })
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(row) = self
            .store
            .load_session(&storage_key(id))
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data: HashMap<String, serde_json::Value> = serde_json::from_str(&row.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(row.expiry_ms) * 1_000_000)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store
            .delete_session(&storage_key(id))
            .await
            .map_err(backend)
    }
}

/// How long a session lives without being renewed; it is renewed while in use.
pub const SESSION_TTL: time::Duration = time::Duration::hours(8);

/// The session layer: HttpOnly, SameSite=Lax, Secure when Teamline is served over https.
pub fn layer(
    store: Arc<dyn teamline_store::SessionStore>,
    secure: bool,
) -> SessionManagerLayer<StoreSessions> {
    SessionManagerLayer::new(StoreSessions::new(store))
        .with_name(COOKIE_NAME)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(SESSION_TTL))
}

/// Marks the session modified when half its lifetime has passed, so an admin who keeps working
/// stays signed in while an idle session expires (one write per four hours, not per request).
pub async fn renew_if_due(session: &Session, now: OffsetDateTime) {
    let renewed_at: Option<i64> = session.get(keys::RENEWED_AT).await.ok().flatten();
    let due =
        renewed_at.is_none_or(|at| now.unix_timestamp() - at > SESSION_TTL.whole_seconds() / 2);
    if due {
        let _ = session.insert(keys::RENEWED_AT, now.unix_timestamp()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use teamline_store::crypto::Keyring;
    use teamline_store::{DynStore, SystemClock};

    #[tokio::test]
    async fn records_round_trip_under_a_hashed_key() {
        let dir = tempfile::tempdir().unwrap();
        let store: DynStore = Arc::new(
            teamline_store_sqlite::open(
                &dir.path().join("s.db"),
                Arc::new(Keyring::for_testing()),
                Arc::new(SystemClock),
            )
            .await
            .unwrap(),
        );
        let sessions = StoreSessions::new(store.clone());
        let mut record = Record {
            id: Id::default(),
            data: HashMap::from([("csrf".to_owned(), serde_json::json!("tok"))]),
            expiry_date: OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        sessions.create(&mut record).await.unwrap();
        let loaded = sessions.load(&record.id).await.unwrap().unwrap();
        assert_eq!(loaded.data, record.data);
        // The raw id is not what the database holds.
        assert!(
            store
                .load_session(&record.id.to_string())
                .await
                .unwrap()
                .is_none()
        );
        sessions.delete(&record.id).await.unwrap();
        assert!(sessions.load(&record.id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn expired_sessions_do_not_load() {
        let dir = tempfile::tempdir().unwrap();
        let store: DynStore = Arc::new(
            teamline_store_sqlite::open(
                &dir.path().join("s.db"),
                Arc::new(Keyring::for_testing()),
                Arc::new(SystemClock),
            )
            .await
            .unwrap(),
        );
        let sessions = StoreSessions::new(store);
        let mut record = Record {
            id: Id::default(),
            data: HashMap::new(),
            expiry_date: OffsetDateTime::now_utc() - time::Duration::minutes(1),
        };
        sessions.create(&mut record).await.unwrap();
        assert!(sessions.load(&record.id).await.unwrap().is_none());
    }
}
