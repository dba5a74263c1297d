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
pub const RESULTS: [(&str, &str); 8] = [
    ("answered", "Answered"),
    ("in_progress", "In progress"),
    ("busy", "Busy"),
    ("no_answer", "No answer"),
    ("cancelled", "Cancelled"),
    ("rejected", "Rejected"),
    ("failed", "Failed"),
    ("media_unavailable", "Failed: media relay unavailable"),
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
    matches!(result, "failed" | "rejected" | "media_unavailable")
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
        _ => code_class_meaning(code),
    }
}

/// What a code of a class means when the code itself has no words of its own.
fn code_class_meaning(code: u16) -> &'static str {
    match code {
        100..=199 => "Provisional answer (the call had not ended)",
        201..=299 => "Success",
        300..=399 => "Redirected",
        400..=499 => "The request was refused by the other side",
        500..=599 => "A server failed",
        600..=699 => "Refused everywhere",
        _ => "Not a SIP response code",
    }
}

/// Why a call did not connect, as far as its record tells, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// The call connected or ended by someone's choice: nothing to fix.
    pub fine: bool,
    pub cause: String,
    pub fix: Option<String>,
}

impl Diagnosis {
    fn fine(cause: &str) -> Self {
        Self {
            fine: true,
            cause: cause.to_owned(),
            fix: None,
        }
    }

    fn problem(cause: &str, fix: &str) -> Self {
        Self {
            fine: false,
            cause: cause.to_owned(),
            fix: Some(fix.to_owned()),
        }
    }
}

/// The likely cause of a call's outcome from its direction, result and final SIP code.
pub fn diagnose(direction: &str, result: &str, sip_code: Option<u16>) -> Diagnosis {
    let to_teams = direction == "to_teams";
    match result {
        "answered" => return Diagnosis::fine("The call was answered."),
        "busy" => return Diagnosis::fine("The callee was busy."),
        "no_answer" => {
            return Diagnosis::fine(
                "Nobody answered before the caller gave up or the ring time ran out.",
            );
        }
        "cancelled" => return Diagnosis::fine("The caller hung up before the call was answered."),
        "in_progress" => {
            return Diagnosis::problem(
                "The gateway reported the call's start but not its end: it is still going, or the \
                 gateway's events for it were lost (e.g. while Teamline restarted).",
                "If the call is long over, place a new test call; repeated gaps mean Teamline \
                 lost its connection to the gateway's event stream (see Teamline's log).",
            );
        }
        "media_unavailable" => {
            return Diagnosis::problem(
                "The gateway's media relay (rtpengine) was unavailable — not running, not \
                 answering on its control port, or out of media ports — so the gateway refused \
                 the call (503) rather than send it on without encrypted media through the \
                 gateway.",
                "Ask your service provider to check the gateway's rtpengine: that it runs, that \
                 Kamailio reaches its control socket, and that its media port range is large \
                 enough for the calls at once (rtpengine's log says \"Ran out of ports\").",
            );
        }
        _ => {}
    }
    match (to_teams, sip_code) {
        (_, Some(486 | 600)) => Diagnosis::fine("The callee was busy."),
        (_, Some(487)) => Diagnosis::fine("The caller hung up before the call was answered."),
        (_, Some(603)) => Diagnosis::fine("The callee declined the call."),
        (true, Some(404 | 604)) => Diagnosis::problem(
            "Microsoft Teams does not know the number: it is not assigned to the Teams user, or \
             not as a Direct Routing number.",
            "Open the user's page: Microsoft Teams must show the number and be In sync; if not, \
             use Repair.",
        ),
        (true, Some(403)) => Diagnosis::problem(
            "Microsoft refused the call from the gateway: the tenant's SBC (its FQDN) is not set \
             up or not enabled in Teams, or the gateway's certificate does not cover it.",
            "Run the Readiness check; ask your service provider to check the gateway's \
             certificate and the tenant's Direct Routing domain.",
        ),
        (true, Some(480)) => Diagnosis::problem(
            "The Teams user could not be reached: signed out of every Teams client, or Teams \
             Phone not enabled for them.",
            "Ask the user to sign in to Teams; check the user's licences with the user check \
             above.",
        ),
        (true, Some(408 | 503 | 504) | None) => Diagnosis::problem(
            "Microsoft's SIP proxies did not take the call: none of them answered the gateway \
             in time (down, unreachable, or the TLS connection failed).",
            "Ask your service provider to check the gateway's health (Microsoft's proxies up, \
             certificate valid).",
        ),
        (false, Some(401 | 407 | 403)) => Diagnosis::problem(
            "The PBX refused the device's credentials or the call: the `tm` device's SIP \
             password changed, or the device may not call out.",
            "Open the user's page and check the PBX registration; Repair reads the device's \
             password from the PBX again.",
        ),
        (false, Some(404 | 484 | 604)) => Diagnosis::problem(
            "The PBX does not know the number dialled from Teams (or it is incomplete).",
            "Check the number and the PBX's dial plan for this extension.",
        ),
        (false, Some(480)) => Diagnosis::problem(
            "The PBX could not reach the callee (not registered or unavailable).",
            "Check the callee's devices and answering rules on the PBX.",
        ),
        (false, Some(408 | 500..=599) | None) => Diagnosis::problem(
            "The PBX did not take the call: its SIP proxy did not answer the gateway or failed.",
            "Check the PBX location's SIP proxy on the PBX page and that the PBX is up.",
        ),
        (_, Some(488 | 606)) => Diagnosis::problem(
            "The two sides have no codec or media setting in common.",
            "Make sure the PBX offers G.711 (PCMU or PCMA) for this extension.",
        ),
        (_, Some(code)) => Diagnosis::problem(
            sip_code_meaning(code),
            "Open the call's page for the details, and the user's page for the state of the \
             user's Teams configuration and PBX registration.",
        ),
    }
}

/// What it means that no call record matches: the call never reached the gateway.
pub fn never_reached_gateway() -> Diagnosis {
    Diagnosis::problem(
        "No call matching this reached Teamline's gateway. A call from the PBX did not ring the \
         `tm` device (not registered, or the extension's answering rules do not ring it); a call \
         from Teams was not routed to the gateway (the user's voice routing policy, or the SBC is \
         down in Teams).",
        "Open the user's page: the PBX registration must be Registered and Microsoft Teams In \
         sync. Then place the call again.",
    )
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

    #[test]
    fn a_failed_call_is_explained_by_its_direction_and_code() {
        let teams_404 = diagnose("to_teams", "failed", Some(404));
        assert!(!teams_404.fine && teams_404.cause.contains("Teams does not know the number"));
        let pbx_auth = diagnose("to_pbx", "rejected", Some(407));
        assert!(pbx_auth.fix.unwrap().contains("Repair"));
        assert!(
            diagnose("to_teams", "failed", None)
                .cause
                .contains("proxies")
        );
        assert!(
            diagnose("to_pbx", "failed", Some(503))
                .cause
                .contains("PBX did not take")
        );
        assert!(diagnose("to_pbx", "busy", Some(486)).fine);
        assert!(diagnose("to_teams", "rejected", Some(603)).fine);
        assert!(!diagnose("to_teams", "in_progress", None).fine);
        let media = diagnose("to_pbx", "media_unavailable", Some(503));
        assert!(!media.fine && media.cause.contains("media relay"));
        assert_eq!(
            result_label("media_unavailable"),
            "Failed: media relay unavailable"
        );
        assert!(is_failure("media_unavailable"));
    }
}
