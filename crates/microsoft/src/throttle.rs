//! How long a call may wait when Microsoft throttles a tenant.
//!
//! By default a call waits out `Retry-After` within [`crate::RetryPolicy::max_total_wait`].
//! Work that can be rescheduled (a durable job) is better off stepping aside: run it inside
//! [`with_max_wait`] and any wait longer than the limit fails at once with
//! [`crate::MicrosoftError::Throttled`] carrying the time to come back, without sending
//! anything. Other tenants are never held up by one tenant's throttling.

use std::future::Future;
use std::time::Duration;

tokio::task_local! {
    static MAX_WAIT: Duration;
}

/// Runs `f` with every Microsoft call in it waiting at most `limit` in total for throttling
/// (or the retry policy's budget, whichever is smaller).
pub async fn with_max_wait<F: Future>(limit: Duration, f: F) -> F::Output {
    MAX_WAIT.scope(limit, f).await
}

/// The limit set by [`with_max_wait`] for the current task, if any.
pub(crate) fn max_wait() -> Option<Duration> {
    MAX_WAIT.try_with(|d| *d).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_limit_applies_inside_the_scope_only() {
        assert_eq!(max_wait(), None);
        let inside = with_max_wait(Duration::from_secs(2), async { max_wait() }).await;
        assert_eq!(inside, Some(Duration::from_secs(2)));
        assert_eq!(max_wait(), None);
    }
}
