use teamline_domain::FieldErrors;
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
