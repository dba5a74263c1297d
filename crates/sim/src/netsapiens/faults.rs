//! Fault injection: what the next requests to `/ns-api/...` should suffer.
//!
//! Faults are switched per simulator instance (each test starts its own), either in-process
//! through `NetSapiensSim` or over HTTP under `/_sim/netsapiens/faults`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The faults currently armed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Added before every answer (a slow or overloaded PBX).
    pub latency: Option<Duration>,
    /// The next `count` requests fail with `status` (a 5xx).
    pub fail_next: u32,
    pub fail_status: u16,
    /// The next `count` requests are answered 429 with `Retry-After: retry_after_secs`.
    pub rate_limit_next: u32,
    pub retry_after_secs: u64,
    /// Send `Retry-After` as an HTTP date instead of seconds (RFC 9110 allows both).
    pub retry_after_as_date: bool,
    /// The next `count` device creations answer `202 Accepted` even when the client asked for
    /// `synchronous: "yes"` (the geo-replicated write path).
    pub accept_async_next: u32,
}

/// The forced answer for one request, decided (and consumed) before the handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forced {
    Status(u16),
    RateLimited {
        retry_after_secs: u64,
        as_date: bool,
    },
}

impl Faults {
    /// Takes the fault that applies to the next request, if any. Rate limiting goes first: a
    /// real front end throttles before the application can fail.
    pub fn take_forced(&mut self) -> Option<Forced> {
        if self.rate_limit_next > 0 {
            self.rate_limit_next -= 1;
            return Some(Forced::RateLimited {
                retry_after_secs: self.retry_after_secs,
                as_date: self.retry_after_as_date,
            });
        }
        if self.fail_next > 0 {
            self.fail_next -= 1;
            return Some(Forced::Status(self.fail_status));
        }
        None
    }

    pub fn take_accept_async(&mut self) -> bool {
        if self.accept_async_next > 0 {
            self.accept_async_next -= 1;
            true
        } else {
            false
        }
    }

    pub fn apply(&mut self, config: &FaultConfig) {
        if let Some(ms) = config.latency_ms {
            self.latency = (ms > 0).then(|| Duration::from_millis(ms));
        }
        if let Some(n) = config.fail_next {
            self.fail_next = n;
            self.fail_status = config.fail_status.unwrap_or(503);
        }
        if let Some(n) = config.rate_limit_next {
            self.rate_limit_next = n;
            self.retry_after_secs = config.retry_after_secs.unwrap_or(1);
        }
        if let Some(n) = config.accept_async_next {
            self.accept_async_next = n;
        }
        if let Some(d) = config.retry_after_as_date {
            self.retry_after_as_date = d;
        }
    }
}

/// Fault settings as JSON (`PUT /_sim/netsapiens/faults`). Absent fields leave the current
/// setting alone; `DELETE /_sim/netsapiens/faults` clears everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// Latency added to every answer, in milliseconds; 0 turns it off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Number of upcoming requests to fail with `fail_status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_next: Option<u32>,
    /// Status for `fail_next` (default 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_status: Option<u16>,
    /// Number of upcoming requests to answer 429.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_next: Option<u32>,
    /// `Retry-After` seconds for the 429s (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// Number of upcoming device creations to answer 202 instead of 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_async_next: Option<u32>,
    /// Send the 429s' `Retry-After` as an HTTP date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_as_date: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_consumed_in_order_rate_limit_first() {
        let mut f = Faults::default();
        f.apply(&FaultConfig {
            fail_next: Some(1),
            fail_status: Some(502),
            rate_limit_next: Some(1),
            retry_after_secs: Some(3),
            ..FaultConfig::default()
        });
        assert_eq!(
            f.take_forced(),
            Some(Forced::RateLimited {
                retry_after_secs: 3,
                as_date: false,
            })
        );
        assert_eq!(f.take_forced(), Some(Forced::Status(502)));
        assert_eq!(f.take_forced(), None);
    }

    #[test]
    fn zero_latency_turns_latency_off() {
        let mut f = Faults::default();
        f.apply(&FaultConfig {
            latency_ms: Some(250),
            ..FaultConfig::default()
        });
        assert_eq!(f.latency, Some(Duration::from_millis(250)));
        f.apply(&FaultConfig {
            latency_ms: Some(0),
            ..FaultConfig::default()
        });
        assert_eq!(f.latency, None);
    }
}
