use std::time::Duration;
use teamline_store::StoreError;

/// Why a job attempt did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth trying again: at the server's Retry-After if it gave one, else after back-off.
    #[error("{message}")]
    Retry {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Trying again will not help; the message tells the admin what to fix.
    #[error("{0}")]
    Permanent(String),
    /// Not a failure: the service throttles this tenant. The job runs again once the wait is
    /// over, without using up an attempt, and the tenant's other queued jobs of the same
    /// throttle group wait with it (so workers serve other tenants meanwhile).
    #[error("{message}")]
    Throttled {
        message: String,
        retry_after: Duration,
    },
}

impl JobError {
    pub fn retry(message: impl Into<String>) -> Self {
        Self::Retry {
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self::Permanent(message.into())
    }
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Database { .. } | StoreError::Stale { .. } => Self::retry(e.to_string()),
            other => Self::permanent(other.to_string()),
        }
    }
}

/// Why a job could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A job type whose payload does not serialise to JSON (a bug in that type).
    #[error("a {kind} job could not be written as JSON: {message}")]
    Payload { kind: &'static str, message: String },
}

impl From<EnqueueError> for JobError {
    fn from(e: EnqueueError) -> Self {
        match e {
            EnqueueError::Store(s) => s.into(),
            payload @ EnqueueError::Payload { .. } => Self::permanent(payload.to_string()),
        }
    }
}
