//! The SQL behind Teamline's [`Store`](teamline_store::Store), written once for both backends.
//!
//! The schema stores only integers, text and bytes (booleans as 0/1, times as Unix
//! milliseconds), so the same statements run on SQLite and PostgreSQL through sqlx's `Any`
//! driver. What genuinely differs — connection set-up, migrations, how a write transaction
//! starts, how a job is claimed — is supplied by each backend crate through [`Backend`];
//! [`migrations::migrate`] runs a backend's migrations the same way for both.
//!
//! Each module implements one store trait for [`SqlStore`] (`enterprises` →
//! `EnterpriseStore`, `jobs` → `JobStore`, …); `holders` and `rows` are shared by them.

/// A statement assembled from constant fragments (column lists, placeholders). Never from
/// user input: values are always bound.
macro_rules! sql {
    ($($t:tt)*) => { sqlx::AssertSqlSafe(format!($($t)*)) };
}

mod api_tokens;
mod audit;
mod calls;
mod devices;
mod directory;
mod directory_sync;
mod enterprises;
mod error;
mod gateway_health;
mod holders;
mod imports;
mod invitations;
mod jobs;
mod key_rotation;
pub mod migrations;
mod pbx_locations;
mod pbx_users;
mod platform;
mod push;
mod registrations;
mod reseller_reports;
mod rows;
mod sessions;
mod voice_routes;

pub use error::DbResultExt;
pub use jobs::JOB_COLUMNS;
pub use rows::JobRow;

/// A pool on whichever database the backend opened.
pub type AnyPool = sqlx::Pool<sqlx::Any>;

use async_trait::async_trait;
use std::sync::Arc;
use teamline_store::crypto::Keyring;
use teamline_store::{Clock, StoreInfo, StoreResult};

/// What a database backend contributes besides the shared SQL.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn name(&self) -> &'static str;

    /// The statement that opens a transaction that will write. SQLite needs `BEGIN IMMEDIATE`
    /// so a read-then-write transaction waits for the lock instead of failing with BUSY.
    fn begin_write(&self) -> &'static str;

    /// Claims the most urgent due job whose lane is free, or whose lease expired, for `worker`
    /// until `now_ms + lease_ms`, and returns the claimed row as updated (`RETURNING
    /// {JOB_COLUMNS}`, so the runner needs no second read). The update must set
    /// `state = 'running'`, `locked_by`, `locked_until_ms`, `attempts = attempts + 1` and
    /// `updated_ms`.
    async fn claim_job(
        &self,
        pool: &AnyPool,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> StoreResult<Option<JobRow>>;

    /// The Users page's search: a condition on the PBX users `p` that keeps those whose
    /// `search_text` contains `term` (lowercased, not empty) through the backend's text index,
    /// and the value to bind to its one placeholder, `$3`. The default is a `LIKE` that a
    /// trigram index on `search_text` can answer.
    fn user_search(&self, term: &str) -> UserSearch {
        UserSearch::like(term)
    }
}

/// A search condition and the value bound to it (see [`Backend::user_search`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSearch {
    pub condition: &'static str,
    pub value: String,
}

impl UserSearch {
    /// `search_text` contains `term`, `%` and `_` taken literally.
    pub fn like(term: &str) -> Self {
        Self {
            condition: "p.search_text LIKE $3 ESCAPE '\\'",
            value: format!("%{}%", like_escape(term)),
        }
    }
}

/// A [`Store`](teamline_store::Store) on a database reached through sqlx's `Any` driver.
pub struct SqlStore {
    pool: AnyPool,
    backend: Arc<dyn Backend>,
    keyring: Arc<Keyring>,
    clock: Arc<dyn Clock>,
}

impl SqlStore {
    pub fn new(
        pool: AnyPool,
        backend: Arc<dyn Backend>,
        keyring: Arc<Keyring>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            pool,
            backend,
            keyring,
            clock,
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        self.pool.begin_with(self.backend.begin_write()).await.db()
    }
}

#[async_trait]
impl StoreInfo for SqlStore {
    fn backend(&self) -> &'static str {
        self.backend.name()
    }

    fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.db()?;
        Ok(())
    }
}

/// The SQL predicate for states that reserve an extension, number or Teams user.
pub(crate) const RESERVING: &str = "('active', 'disabled')";

pub(crate) fn b(v: bool) -> i64 {
    i64::from(v)
}

/// Escapes LIKE wildcards so a search for `50%` finds that text.
pub(crate) fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
