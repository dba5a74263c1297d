//! Calls through the SIP gateway as an admin reads them: which way a call went, how it ended,
//! and what a final SIP code means.

/// `to_teams` / `to_pbx` (as call records store them) in words.
pub fn direction_label(direction: &str) -> &'static str {
    match direction {
        "to_teams" => "PBX → Teams",
        "to_pbx" => "Teams → PBX",
        _ => "Unknown",
    }
}

/// The results call records store, with their labels, in the order a filter offers them.
pub const RESULTS: [(&str, &str); 7] = [
    ("answered", "Answered"),
    ("in_progress", "In progress"),
    ("busy", "Busy"),
    ("no_answer", "No answer"),
    ("cancelled", "Cancelled"),
    ("rejected", "Rejected"),
    ("failed", "Failed"),
];

pub fn result_label(result: &str) -> &'static str {
    RESULTS
        .iter()
        .find(|(r, _)| *r == result)
        .map_or("Unknown", |(_, label)| label)
}

/// Whether a call with this result never connected for a reason worth looking into (busy,
/// unanswered and cancelled calls are the callers' doing).
pub fn is_failure(result: &str) -> bool {
    matches!(result, "failed" | "rejected")
}

/// What a final SIP response code means for a call, in a few words.
pub fn sip_code_meaning(code: u16) -> &'static str {
    match code {
        200 => "OK: the call was answered",
        401 | 407 => "Authentication required: the PBX did not accept the device's credentials",
        403 => "Forbidden: the other side refused the call",
        404 => "Not found: the number or user is not known to the other side",
        408 => "Request timeout: the other side did not answer in time",
        480 => {
            "Temporarily unavailable: the callee is not reachable (signed out or not registered)"
        }
        484 => "Address incomplete: the number dialled is not complete",
        486 => "Busy here",
        487 => "Request terminated: the caller hung up before the call was answered",
        488 => "Not acceptable here: no common codec or media (SRTP/RTP) setting",
        500 => "Server error on the other side",
        502 => "Bad gateway: a server further on failed",
        503 => "Service unavailable: the other side is overloaded or down",
        504 => "Server timeout: a server further on did not answer",
        600 => "Busy everywhere",
        603 => "Declined: the callee rejected the call",
        604 => "Does not exist anywhere",
        606 => "Not acceptable: the callee cannot take this kind of call",
        100..=199 => "Provisional answer (the call had not ended)",
        201..=299 => "Success",
        300..=399 => "Redirected",
        400..=499 => "The request was refused by the other side",
        500..=599 => "A server failed",
        600..=699 => "Refused everywhere",
        _ => "Not a SIP response code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_results_and_directions_read_as_words() {
        assert_eq!(sip_code_meaning(486), "Busy here");
        assert!(sip_code_meaning(488).contains("codec"));
        assert_eq!(
            sip_code_meaning(499),
            "The request was refused by the other side"
        );
        assert_eq!(result_label("no_answer"), "No answer");
        assert_eq!(direction_label("to_pbx"), "Teams → PBX");
        assert!(is_failure("failed") && !is_failure("busy"));
    }
}
