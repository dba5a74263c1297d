use crate::crypto::CryptoError;

/// What can go wrong when reading or writing Teamline's data. Messages are for the admin or
/// operator reading them; they never contain secrets.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} was not found")]
    NotFound { what: String },
    /// A uniqueness rule of the product (SPEC.md §2) would be broken. `field` is the form label.
    #[error("{field}: {message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    /// Someone else changed the object since it was read; reload and try again.
    #[error("{what} was changed by someone else in the meantime: reload the page and try again")]
    Stale { what: String },
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// Stored data does not parse: the database was edited by hand or by a newer Teamline.
    #[error("stored data is invalid ({0}): was the database changed outside Teamline?")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(String),
}

impl StoreError {
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    pub fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt(what.into())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
