use teamline_domain::FieldErrors;
use teamline_jobs::{EnqueueError, JobError};
use teamline_microsoft::MicrosoftError;
use teamline_pbx::PbxError;
use teamline_store::StoreError;

/// Why an engine operation failed, worded for the admin.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Microsoft(#[from] MicrosoftError),
    #[error(transparent)]
    Pbx(#[from] PbxError),
    /// The request cannot be carried out as asked (wrong state, missing configuration).
    #[error("{0}")]
    Refused(String),
    /// A job could not be queued for a reason other than the store's (a bug in its type).
    #[error(transparent)]
    Enqueue(EnqueueError),
}

impl From<EnqueueError> for EngineError {
    fn from(e: EnqueueError) -> Self {
        match e {
            EnqueueError::Store(s) => Self::Store(s),
            other => Self::Enqueue(other),
        }
    }
}

impl EngineError {
    pub fn refused(message: impl Into<String>) -> Self {
        Self::Refused(message.into())
    }

    /// Not found errors, for answering 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Store(StoreError::NotFound { .. }))
    }
}

/// Saving a PBX user: either the form needs fixing (every problem, by field) or something
/// else went wrong.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{0}")]
    Fields(FieldErrors),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for SaveError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { field, message } => {
                Self::Fields(teamline_domain::FieldError::new(field, message).into())
            }
            other => Self::Engine(other.into()),
        }
    }
}

/// A workflow's failure as a job outcome: what Microsoft or the PBX may accept later is
/// retried, the rest needs the admin.
impl From<EngineError> for JobError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Microsoft(m) => microsoft_job_error(&m),
            EngineError::Pbx(p) => pbx_job_error(&p),
            EngineError::Store(s) => s.into(),
            EngineError::Enqueue(q) => q.into(),
            EngineError::Refused(message) => JobError::permanent(message),
        }
    }
}

/// A Microsoft error as a job outcome: throttling is a deferral (at the server's Retry-After),
/// outages are retried, everything else needs the admin.
pub(crate) fn microsoft_job_error(e: &MicrosoftError) -> JobError {
    if let MicrosoftError::Throttled { retry_after, .. } = e {
        return JobError::Throttled {
            message: e.to_string(),
            retry_after: *retry_after,
        };
    }
    if e.is_retryable() {
        JobError::Retry {
            message: e.to_string(),
            retry_after: e.retry_after(),
        }
    } else {
        JobError::permanent(e.to_string())
    }
}

/// A PBX error as a job outcome: only what may pass (timeouts, outages) is retried.
pub(crate) fn pbx_job_error(e: &PbxError) -> JobError {
    if e.is_transient() {
        JobError::retry(e.to_string())
    } else {
        JobError::permanent(e.to_string())
    }
}
