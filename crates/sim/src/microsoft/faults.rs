//! Fault injection and traffic accounting of one simulated tenant: the throttle budget,
//! injected errors, latency, slow or failing operations and propagation delays a test switches
//! on, and what the simulator saw of a client's requests.
//!
//! Plain data and rules, no HTTP: the tenant model keeps a [`Traffic`] per tenant, the Graph
//! and Teams admin surfaces ask it whether a request may pass ([`Traffic::admit`]) and turn a
//! refusal into their own error body; tests switch faults through `TenantControl` or the
//! control API under `/_sim/tenants/{tenant}/faults`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Errors injected instead of handling requests.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InjectedErrors {
    /// HTTP status (e.g. 503).
    pub status: u16,
    /// How many requests still get it.
    pub remaining: u32,
    /// `Retry-After` seconds to send, if any.
    pub retry_after: Option<u64>,
}

/// Fault injection settings of one tenant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Faults {
    /// Requests allowed per 10-second window (Graph and Teams admin REST); `None` = unlimited.
    /// Beyond it: 429 + `Retry-After` (whole seconds until the window frees).
    pub throttle_budget: Option<u32>,
    /// The throttling window in milliseconds (default 10 000, as Microsoft's identity service).
    /// Tests shorten it to see many windows quickly.
    pub throttle_window_ms: Option<u64>,
    /// New number operations answer `running` for this many polls before completing.
    pub operation_running_polls: u32,
    /// New number operations run this many milliseconds and then complete on their own,
    /// whether anyone polls them or not, as Microsoft's do (0: as `operation_running_polls`
    /// says).
    pub operation_duration_ms: u64,
    /// New number operations fail with this `statusDetail`.
    pub operation_failure: Option<String>,
    /// Policy assignments become visible in reads after this many milliseconds.
    pub propagation_delay_ms: u64,
    /// A policy created through the Teams admin REST surface is invisible to Graph
    /// (`getPolicyId`, `userAssignments`) for this many milliseconds (replication).
    pub policy_replication_ms: u64,
    /// Extra latency added to every Graph / Teams admin request, in milliseconds.
    pub latency_ms: u64,
    /// The next requests answer this error (5xx injection).
    pub inject_errors: Option<InjectedErrors>,
    /// `POST /domains/{id}/verify` fails until the TXT record was published via the control API.
    pub require_dns_for_domain_verification: bool,
    /// With a DNS nameserver configured: how long after Microsoft first finds a domain's TXT
    /// record in DNS verification still fails (its own propagation), in milliseconds.
    pub domain_verification_delay_ms: u64,
}

/// What the simulator saw of one tenant's traffic (Graph, each `$batch` item, and the Teams
/// admin REST surface), to check a client's manners.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestStats {
    /// Requests received.
    pub requests: u64,
    /// Requests answered 429 (throttle budget or injected).
    pub throttled: u64,
    /// Requests that arrived before the end of a wait that an earlier answer's `Retry-After`
    /// asked for (counted while the tenant is throttled; a polite client sends none).
    pub early: u64,
    /// The most requests of this tenant handled at the same time (meaningful with a latency
    /// fault, since the simulator answers instantly otherwise).
    pub max_in_flight: u64,
    /// Requests let through that read (`GET`, `HEAD`).
    pub accepted_reads: u64,
    /// Requests let through that change something (any other method).
    pub accepted_writes: u64,
    /// The throttling windows these stats saw, oldest first (only while a throttle budget is
    /// set), so a benchmark can measure the achieved rate over whole windows.
    pub windows: Vec<WindowStats>,
    /// The requests by kind ([`request_kind`]: the method and the path with its ids left
    /// out), so a benchmark can say which requests its budget went to.
    pub by_kind: BTreeMap<String, KindStats>,
}

/// The requests of one kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KindStats {
    /// Requests let through.
    pub accepted: u64,
    /// Requests answered 429 (throttle budget or injected).
    pub throttled: u64,
}

/// A request's kind: its method and its path with every id (a user, a number, an operation,
/// a function's arguments) left out, e.g. `GET /admin/teams/userConfigurations/{id}` or
/// `GET /admin/teams/policy/getPolicyId(…)`.
pub fn request_kind<S: AsRef<str>>(method: &str, segments: &[S]) -> String {
    let mut kind = String::from(method);
    kind.push(' ');
    if segments.is_empty() {
        kind.push('/');
    }
    for segment in segments {
        let segment = segment.as_ref();
        kind.push('/');
        match segment.split_once('(') {
            Some((function, _)) => {
                kind.push_str(function);
                kind.push_str("(…)");
            }
            // Names of Microsoft's collections and actions hold no digit, '@' or '+';
            // ids (GUIDs, UPNs, phone numbers, operation ids) do.
            None if segment.contains(|c: char| c.is_ascii_digit() || c == '@' || c == '+') => {
                kind.push_str("{id}");
            }
            None => kind.push_str(segment),
        }
    }
    kind
}

/// One throttling window: it starts at the first request after the previous one ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowStats {
    /// When the window started, in milliseconds after the first window of these stats.
    pub start_ms: u64,
    /// The window's length in milliseconds.
    pub length_ms: u64,
    /// Requests let through that read.
    pub reads: u64,
    /// Requests let through that change something.
    pub writes: u64,
    /// Requests answered 429 in this window.
    pub throttled: u64,
    /// Whether the window had ended when the stats were read.
    pub ended: bool,
}

/// Why a request is answered with an error instead of being handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The throttle budget of the current window is spent: 429 with this `Retry-After`.
    Throttled { retry_after_secs: u64 },
    /// An injected error (see [`InjectedErrors`]).
    Injected {
        status: u16,
        retry_after_secs: Option<u64>,
    },
}

/// The throttling window: when it started and how many requests it let through.
#[derive(Clone, Debug, Default)]
struct ThrottleWindow {
    start: Option<Instant>,
    count: u32,
}

/// What a request does, for the traffic counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

impl Access {
    pub(crate) fn of(method: &axum::http::Method) -> Self {
        if matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD) {
            Self::Read
        } else {
            Self::Write
        }
    }
}

/// A tenant's faults together with the traffic state they act on.
#[derive(Clone, Debug, Default)]
pub(crate) struct Traffic {
    pub faults: Faults,
    pub stats: RequestStats,
    window: ThrottleWindow,
    /// Requests being handled now.
    in_flight: u64,
    /// The end of the latest wait a `Retry-After` asked for.
    retry_not_before: Option<Instant>,
    /// When the first window of the current stats started.
    windows_origin: Option<Instant>,
}

impl Traffic {
    /// Replaces the faults; the throttling window starts afresh.
    pub(crate) fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
        self.restart_throttling();
    }

    /// Forgets the current throttling window and any `Retry-After` wait.
    pub(crate) fn restart_throttling(&mut self) {
        self.window = ThrottleWindow::default();
        self.retry_not_before = None;
    }

    /// Starts counting traffic afresh.
    pub(crate) fn reset_stats(&mut self) {
        self.stats = RequestStats::default();
        self.retry_not_before = None;
        self.windows_origin = None;
    }

    /// The stats as of `now` (which windows have ended).
    pub(crate) fn stats_at(&self, now: Instant) -> RequestStats {
        let mut stats = self.stats.clone();
        if let Some(origin) = self.windows_origin {
            let elapsed = u64::try_from(now.duration_since(origin).as_millis()).unwrap_or(u64::MAX);
            for w in &mut stats.windows {
                w.ended = w.start_ms.saturating_add(w.length_ms) <= elapsed;
            }
        }
        stats
    }

    /// Counts an arriving request and decides whether it is throttled or gets an injected
    /// error. The request is in flight until [`Traffic::finish`].
    /// `kind` is the request's [`request_kind`].
    pub(crate) fn admit(&mut self, now: Instant, access: Access, kind: &str) -> Option<Refusal> {
        let refusal = self.check(now);
        if refusal.is_none() {
            match access {
                Access::Read => self.stats.accepted_reads += 1,
                Access::Write => self.stats.accepted_writes += 1,
            }
        }
        let of_kind = match self.stats.by_kind.get_mut(kind) {
            Some(k) => k,
            None => self.stats.by_kind.entry(kind.to_owned()).or_default(),
        };
        match refusal {
            None => of_kind.accepted += 1,
            Some(Refusal::Throttled { .. }) | Some(Refusal::Injected { status: 429, .. }) => {
                of_kind.throttled += 1
            }
            Some(Refusal::Injected { .. }) => {}
        }
        if self.faults.throttle_budget.is_some()
            && let Some(w) = self.stats.windows.last_mut()
        {
            match (refusal, access) {
                (Some(Refusal::Throttled { .. }), _) => w.throttled += 1,
                (Some(_), _) => {}
                (None, Access::Read) => w.reads += 1,
                (None, Access::Write) => w.writes += 1,
            }
        }
        self.in_flight += 1;
        self.stats.max_in_flight = self.stats.max_in_flight.max(self.in_flight);
        refusal
    }

    /// A request admitted with [`Traffic::admit`] was answered.
    pub(crate) fn finish(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    fn check(&mut self, now: Instant) -> Option<Refusal> {
        self.count_request(now);
        if let Some(budget) = self.faults.throttle_budget {
            let window =
                Duration::from_millis(self.faults.throttle_window_ms.unwrap_or(10_000).max(1));
            let start = match self.window.start {
                Some(s) if now.duration_since(s) < window => s,
                _ => {
                    self.window.start = Some(now);
                    self.window.count = 0;
                    let origin = *self.windows_origin.get_or_insert(now);
                    self.stats.windows.push(WindowStats {
                        start_ms: u64::try_from(now.duration_since(origin).as_millis())
                            .unwrap_or(u64::MAX),
                        length_ms: u64::try_from(window.as_millis()).unwrap_or(u64::MAX),
                        ..WindowStats::default()
                    });
                    now
                }
            };
            if self.window.count >= budget {
                let left = window.saturating_sub(now.duration_since(start));
                let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                let secs = secs.max(1);
                self.count_retry_after(now, secs);
                return Some(Refusal::Throttled {
                    retry_after_secs: secs,
                });
            }
            self.window.count += 1;
        }
        if let Some(inj) = self.faults.inject_errors.as_mut()
            && inj.remaining > 0
        {
            inj.remaining -= 1;
            let refusal = Refusal::Injected {
                status: inj.status,
                retry_after_secs: inj.retry_after,
            };
            if inj.remaining == 0 {
                self.faults.inject_errors = None;
            }
            match refusal {
                Refusal::Injected {
                    retry_after_secs: Some(secs),
                    ..
                } => self.count_retry_after(Instant::now(), secs),
                Refusal::Injected { status: 429, .. } => self.stats.throttled += 1,
                _ => {}
            }
            return Some(refusal);
        }
        None
    }

    /// Records a request's arrival (and whether it came before a wait Microsoft asked for ended).
    fn count_request(&mut self, now: Instant) {
        self.stats.requests += 1;
        if self.retry_not_before.is_some_and(|nb| now < nb) {
            self.stats.early += 1;
        }
    }

    /// Records a `Retry-After` answer.
    fn count_retry_after(&mut self, now: Instant, secs: u64) {
        self.stats.throttled += 1;
        let until = now + Duration::from_secs(secs);
        if self.retry_not_before.is_none_or(|nb| nb < until) {
            self.retry_not_before = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_budget_throttles_and_counts_early_requests() {
        let mut traffic = Traffic::default();
        traffic.set_faults(Faults {
            throttle_budget: Some(2),
            ..Faults::default()
        });
        let now = Instant::now();
        assert_eq!(traffic.admit(now, Access::Read, "GET /users"), None);
        assert_eq!(traffic.admit(now, Access::Read, "GET /users"), None);
        assert_eq!(
            traffic.admit(now, Access::Read, "GET /users"),
            Some(Refusal::Throttled {
                retry_after_secs: 10
            })
        );
        // Sent while the Retry-After still runs: counted as early.
        assert!(traffic.admit(now, Access::Read, "GET /users").is_some());
        assert_eq!(traffic.stats.requests, 4);
        assert_eq!(traffic.stats.throttled, 2);
        assert_eq!(traffic.stats.early, 1);
        assert_eq!(traffic.stats.max_in_flight, 4);
    }

    #[test]
    fn windows_count_reads_and_writes_from_the_first_request() {
        let mut traffic = Traffic::default();
        traffic.set_faults(Faults {
            throttle_budget: Some(2),
            throttle_window_ms: Some(1_000),
            ..Faults::default()
        });
        let t0 = Instant::now();
        assert_eq!(traffic.admit(t0, Access::Read, "GET /users"), None);
        assert_eq!(traffic.admit(t0, Access::Write, "POST /users"), None);
        assert!(traffic.admit(t0, Access::Write, "POST /users").is_some());
        // The next window starts at the first request after the first one ended.
        let t1 = t0 + Duration::from_millis(1_500);
        assert_eq!(traffic.admit(t1, Access::Write, "POST /users"), None);
        let stats = traffic.stats_at(t1 + Duration::from_millis(100));
        assert_eq!((stats.accepted_reads, stats.accepted_writes), (1, 2));
        let w = &stats.windows;
        assert_eq!(w.len(), 2);
        assert_eq!(
            (w[0].start_ms, w[0].reads, w[0].writes, w[0].throttled),
            (0, 1, 1, 1)
        );
        assert!(w[0].ended);
        assert_eq!((w[1].start_ms, w[1].writes), (1_500, 1));
        assert!(!w[1].ended);
    }

    #[test]
    fn requests_are_counted_by_kind_without_their_ids() {
        assert_eq!(
            request_kind(
                "GET",
                &["admin", "teams", "userConfigurations", "5f1c0d2e-4a7b"]
            ),
            "GET /admin/teams/userConfigurations/{id}"
        );
        assert_eq!(
            request_kind(
                "GET",
                &["admin", "teams", "policy", "getPolicyId(type='x',name='y')"]
            ),
            "GET /admin/teams/policy/getPolicyId(…)"
        );
        assert_eq!(
            request_kind("PUT", &["Skype.Policy", "users", "adele@contoso.com"]),
            "PUT /Skype.Policy/users/{id}"
        );
        let mut traffic = Traffic::default();
        traffic.set_faults(Faults {
            throttle_budget: Some(2),
            ..Faults::default()
        });
        let now = Instant::now();
        for _ in 0..3 {
            traffic.admit(now, Access::Write, "POST /a");
        }
        traffic.admit(now, Access::Read, "GET /b");
        let kinds = &traffic.stats.by_kind;
        assert_eq!(
            (kinds["POST /a"].accepted, kinds["POST /a"].throttled),
            (2, 1)
        );
        assert_eq!(
            (kinds["GET /b"].accepted, kinds["GET /b"].throttled),
            (0, 1)
        );
    }

    #[test]
    fn injected_errors_run_out() {
        let mut traffic = Traffic::default();
        traffic.faults.inject_errors = Some(InjectedErrors {
            status: 503,
            remaining: 1,
            retry_after: None,
        });
        let now = Instant::now();
        assert_eq!(
            traffic.admit(now, Access::Read, "GET /users"),
            Some(Refusal::Injected {
                status: 503,
                retry_after_secs: None
            })
        );
        traffic.finish();
        assert_eq!(traffic.admit(now, Access::Read, "GET /users"), None);
        assert_eq!(traffic.faults.inject_errors, None);
        assert_eq!(traffic.stats.throttled, 0);
        assert_eq!(traffic.stats.max_in_flight, 1);
    }
}
