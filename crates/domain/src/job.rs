//! Durable jobs: their states and the retry schedule.

use crate::ids::{EnterpriseId, JobId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for `run_after`, or for its lane to be free.
    Queued,
    /// Claimed by a runner holding a lease.
    Running,
    Succeeded,
    /// Gave up after its last attempt; `last_error` says why.
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(Self::Queued),
            "running" => Some(Self::Running),
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// A job as stored. `payload` is the job kind's own JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub enterprise_id: Option<EnterpriseId>,
    pub kind: String,
    pub payload: String,
    /// Jobs of one lane never run at the same time (e.g. one tenant's directory syncs).
    pub lane: String,
    pub idempotency_key: Option<String>,
    pub state: JobState,
    pub priority: i32,
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_after_ms: i64,
    pub locked_by: Option<String>,
    pub locked_until_ms: Option<i64>,
    pub progress_done: u64,
    pub progress_total: Option<u64>,
    pub progress_message: Option<String>,
    pub last_error: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub finished_ms: Option<i64>,
}

/// Retry schedule: 10 s, 20 s, 40 s, … capped at one hour.
pub const BACKOFF_BASE_MS: i64 = 10_000;
pub const BACKOFF_CAP_MS: i64 = 3_600_000;

/// The delay before retry number `attempt` (1 = the first retry). `jitter` in `[0, 1)` spreads
/// retries of many jobs that failed together; up to a quarter of the delay is added.
pub fn backoff_ms(attempt: u32, jitter: f64) -> i64 {
    let exp = attempt.saturating_sub(1).min(20);
    let base = BACKOFF_BASE_MS
        .saturating_mul(1_i64 << exp)
        .min(BACKOFF_CAP_MS);
    let jitter = jitter.clamp(0.0, 1.0);
    // Truncation is intended: a jitter of a fraction of a millisecond is meaningless.
    base + (base as f64 * 0.25 * jitter) as i64
}

/// When a failed attempt runs again. A server's Retry-After replaces the back-off: the server
/// knows when it will accept the request, and waiting longer only slows the sync down.
pub fn next_run_after_ms(
    now_ms: i64,
    attempt: u32,
    retry_after_ms: Option<i64>,
    jitter: f64,
) -> i64 {
    let delay = match retry_after_ms {
        Some(server) => server.max(0),
        None => backoff_ms(attempt, jitter),
    };
    now_ms + delay
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn schedule() {
        assert_eq!(backoff_ms(1, 0.0), 10_000);
        assert_eq!(backoff_ms(2, 0.0), 20_000);
        assert_eq!(backoff_ms(3, 0.0), 40_000);
        assert_eq!(backoff_ms(50, 0.0), BACKOFF_CAP_MS);
    }

    #[test]
    fn retry_after_is_honoured() {
        assert_eq!(next_run_after_ms(1_000, 1, Some(3_000), 0.5), 4_000);
        assert_eq!(next_run_after_ms(1_000, 1, None, 0.0), 11_000);
    }

    proptest! {
        #[test]
        fn backoff_is_monotonic_and_bounded(a in 1u32..40, j in 0.0f64..1.0) {
            prop_assert!(backoff_ms(a, 0.0) <= backoff_ms(a + 1, 0.0));
            prop_assert!(backoff_ms(a, j) <= BACKOFF_CAP_MS + BACKOFF_CAP_MS / 4);
            prop_assert!(backoff_ms(a, j) >= BACKOFF_BASE_MS);
        }
    }
}
