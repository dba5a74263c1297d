use crate::crypto::CryptoError;

/// The error a database driver reported, kept as the source of [`StoreError::Database`].
pub type DatabaseError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong when reading or writing Teamline's data. Messages are for the admin or
/// operator reading them; they never contain secrets.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} was not found")]
    NotFound { what: String },
    /// A uniqueness rule of the product would be broken (an extension, a number or a Teams
    /// user held twice, a name taken). `field` is the form label the admin must change.
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
    /// The database failed or could not be reached. The message repeats the driver's text
    /// because admins only see the message (a job's error, `/healthz`); `source()` keeps the
    /// driver's error itself for logs and for code that inspects it.
    #[error(
        "database error: {}{source}",
        .context.map(|c| format!("{c}: ")).unwrap_or_default()
    )]
    Database {
        /// What Teamline was doing, when it is more than running a statement.
        context: Option<&'static str>,
        #[source]
        source: DatabaseError,
    },
}

impl StoreError {
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    pub fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt(what.into())
    }

    /// A statement or connection failed.
    pub fn database(source: impl Into<DatabaseError>) -> Self {
        Self::Database {
            context: None,
            source: source.into(),
        }
    }

    /// Something failed while Teamline was doing `context` (e.g. "database migration failed").
    pub fn database_while(context: &'static str, source: impl Into<DatabaseError>) -> Self {
        Self::Database {
            context: Some(context),
            source: source.into(),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn database_errors_keep_their_source_and_say_what_failed() {
        let io = std::io::Error::other("connection refused");
        let e = StoreError::database_while("cannot connect to PostgreSQL", io);
        assert_eq!(
            e.to_string(),
            "database error: cannot connect to PostgreSQL: connection refused"
        );
        assert_eq!(
            e.source().map(ToString::to_string).as_deref(),
            Some("connection refused")
        );
        let plain = StoreError::database("disk I/O error");
        assert_eq!(plain.to_string(), "database error: disk I/O error");
    }
}
