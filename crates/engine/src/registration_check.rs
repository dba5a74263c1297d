//! "Why does this device handle not register?": the SIP gateway's last word on a handle (stored
//! by `GatewaySync`) turned into a check with the PBX's own answer and what to do, for the
//! Troubleshoot checklist of one user and the Readiness check of the whole enterprise.

use crate::troubleshoot::{Check, CheckStatus};
use teamline_domain::diagnosis::{self, Outcome};
use teamline_domain::pbx_user::{PbxUser, PbxUserState};
use teamline_domain::registration::RegistrationStatus;
use teamline_store::RegistrationRecord;

/// The Troubleshoot line's label.
pub const LABEL: &str = "Device registered to the PBX";

/// How many failing handles the Readiness check names.
const NAMED: usize = 5;

/// What to do when no state is stored for a handle Teamline wants registered.
const NO_GATEWAY: &str = "Teamline's SIP gateway registers it within seconds once it runs: start `teamline serve` with --gateway-rpc pointing at the gateway's Kamailio (the demo starts one)";

/// "2026-11-27 14:05 UTC".
pub(crate) fn utc(ms: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// One PBX user's handle: `record` is what the gateway last reported (if anything).
pub fn troubleshoot_check(user: &PbxUser, record: Option<&RegistrationRecord>) -> Check {
    let device = user.spec.device.as_str();
    let wanted = user.state == PbxUserState::Active && user.calling_enabled;
    let (status, detail, fix) = match record {
        _ if !wanted => (
            CheckStatus::Pass,
            format!("{device} is not registered because calling is disabled for this user"),
            None,
        ),
        None => (
            CheckStatus::Warn,
            format!("the SIP gateway has not reported on {device} yet"),
            Some(NO_GATEWAY.to_owned()),
        ),
        Some(r) => match r.state {
            RegistrationStatus::Registered => (
                CheckStatus::Pass,
                registered_detail(r),
                None,
            ),
            RegistrationStatus::Registering => (
                CheckStatus::Warn,
                format!(
                    "{device} was handed to the SIP gateway {}; the PBX has not answered yet",
                    r.since_ms.map(utc).map_or_else(String::new, |s| format!("at {s}"))
                ),
                Some("wait a few seconds and check again; if it stays Registering, the PBX does not answer (see PBX unreachable)".to_owned()),
            ),
            state => (
                if state.is_failing() {
                    CheckStatus::Fail
                } else {
                    CheckStatus::Warn
                },
                failing_detail(r),
                state.fix().map(str::to_owned),
            ),
        },
    };
    Check {
        label: LABEL,
        status,
        detail,
        fix,
        pbx_user: Some(user.id),
    }
}

fn registered_detail(r: &RegistrationRecord) -> String {
    let mut s = format!("{} is registered", r.device);
    if let Some(t) = &r.target {
        s.push_str(&format!(" at {t}"));
    }
    if let Some(since) = r.since_ms {
        s.push_str(&format!(" since {}", utc(since)));
    }
    if let Some(until) = r.expires_ms {
        s.push_str(&format!(", refreshed before {}", utc(until)));
    }
    s
}

/// "1000tm: Authentication failed since … — the PBX refused …".
fn failing_detail(r: &RegistrationRecord) -> String {
    let mut s = format!("{}: {}", r.device, r.state.label());
    if let Some(since) = r.since_ms {
        s.push_str(&format!(" since {}", utc(since)));
    }
    if let Some(t) = r.target.as_ref().filter(|_| r.last_error.is_none()) {
        s.push_str(&format!(" ({t})"));
    }
    if let Some(e) = &r.last_error {
        s.push_str(&format!(" — {e}"));
    }
    s
}

/// The Readiness check's line for the enterprise's registrations (`None` when no handle is
/// registered or wanted: there is nothing to say).
pub fn readiness_check(records: &[RegistrationRecord]) -> Option<diagnosis::Check> {
    let wanted: Vec<&RegistrationRecord> = records
        .iter()
        .filter(|r| r.state != RegistrationStatus::NotRegistered)
        .collect();
    if wanted.is_empty() {
        return None;
    }
    let failing: Vec<&RegistrationRecord> = wanted
        .iter()
        .copied()
        .filter(|r| r.state.is_failing())
        .collect();
    let registered = wanted
        .iter()
        .filter(|r| r.state == RegistrationStatus::Registered)
        .count();
    let id = "sip.registrations";
    let title = "SIP gateway: device handles registered to the PBX";
    if failing.is_empty() {
        let outcome = if registered == wanted.len() {
            Outcome::Pass
        } else {
            Outcome::Warn
        };
        return Some(diagnosis::Check::new(
            id,
            title,
            outcome,
            format!("{registered} of {} handles registered", wanted.len()),
        ));
    }
    let named: Vec<String> = failing
        .iter()
        .take(NAMED)
        .map(|r| failing_detail(r))
        .collect();
    let more = failing.len().saturating_sub(NAMED);
    let mut found = format!(
        "{registered} of {} handles registered, {} failing: {}",
        wanted.len(),
        failing.len(),
        named.join("; ")
    );
    if more > 0 {
        found.push_str(&format!(" (and {more} more: see the Users page)"));
    }
    // One fix per failing state, in the order the states are declared.
    let mut states: Vec<RegistrationStatus> = failing.iter().map(|r| r.state).collect();
    states.sort();
    states.dedup();
    let fixes: Vec<String> = states
        .iter()
        .filter_map(|s| s.fix().map(|f| format!("{}: {f}", s.label())))
        .collect();
    Some(
        diagnosis::Check::new(id, title, Outcome::Fail, found).with_fix(format!(
            "{}. Troubleshoot with the user's name explains one handle",
            fixes.join(". ")
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use teamline_domain::device::DeviceAuthId;
    use teamline_domain::ids::{EnterpriseId, PbxUserId};

    fn record(device: &str, state: RegistrationStatus, error: Option<&str>) -> RegistrationRecord {
        RegistrationRecord {
            enterprise_id: EnterpriseId(1),
            pbx_user_id: PbxUserId(1),
            device: DeviceAuthId::parse(device).unwrap(),
            registration: format!("{device}-0123456789ab"),
            state,
            since_ms: Some(1_796_000_000_000),
            target: Some("192.0.2.7:5060".into()),
            expires_ms: None,
            last_error: error.map(str::to_owned),
            observed_ms: 1_796_000_000_000,
        }
    }

    #[test]
    fn readiness_names_the_failing_handles_with_the_pbx_answer_and_a_fix_per_state() {
        assert_eq!(readiness_check(&[]), None);
        assert_eq!(
            readiness_check(&[record("1000tm", RegistrationStatus::NotRegistered, None)]),
            None
        );
        let ok =
            readiness_check(&[record("1000tm", RegistrationStatus::Registered, None)]).unwrap();
        assert_eq!(ok.outcome, Outcome::Pass);
        assert_eq!(ok.found, "1 of 1 handles registered");

        let records = [
            record("1000tm", RegistrationStatus::Registered, None),
            record(
                "1001tm",
                RegistrationStatus::AuthFailed,
                Some("the PBX refused the device's SIP password (401 Unauthorized)"),
            ),
            record(
                "1002tm",
                RegistrationStatus::PbxUnreachable,
                Some("the PBX at 192.0.2.7:5060 does not answer REGISTER"),
            ),
        ];
        let check = readiness_check(&records).unwrap();
        assert_eq!(check.outcome, Outcome::Fail);
        assert!(
            check
                .found
                .starts_with("1 of 3 handles registered, 2 failing"),
            "{}",
            check.found
        );
        assert!(
            check.found.contains("1001tm: Authentication failed"),
            "{}",
            check.found
        );
        assert!(check.found.contains("401 Unauthorized"), "{}", check.found);
        assert!(
            check.found.contains("does not answer REGISTER"),
            "{}",
            check.found
        );
        let fix = check.fix.unwrap();
        assert!(
            fix.contains("Authentication failed: ") && fix.contains("PBX unreachable: "),
            "{fix}"
        );
    }
}
