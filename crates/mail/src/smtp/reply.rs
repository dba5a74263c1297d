//! Reading lettre's errors: what the server replied, and whether TLS is to blame.

use std::error::Error as _;

use lettre::transport::smtp::Error;

/// The server's reply as it sent it, `535 5.7.8 Authentication credentials invalid`, or what
/// went wrong when there was no reply.
pub(crate) fn reply(error: &Error) -> String {
    match (error.status(), error.source()) {
        (Some(code), Some(text)) => format!("{code} {text}"),
        (Some(code), None) => code.to_string(),
        (None, _) => detail(error),
    }
}

/// The innermost cause, e.g. `Connection refused (os error 111)` or `invalid peer
/// certificate: UnknownIssuer`.
pub(crate) fn detail(error: &Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Whether rustls failed somewhere in the error's chain (a handshake or certificate problem).
pub(crate) fn is_tls_failure(error: &Error) -> bool {
    if error.is_tls() {
        return true;
    }
    let mut cause = error.source();
    while let Some(e) = cause {
        if e.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
        {
            return true;
        }
        cause = e.source();
    }
    false
}
