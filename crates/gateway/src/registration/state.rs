//! A registration's live state, worked out from what Kamailio reports.
//!
//! uac_reg's flags only say "online", "a REGISTER is in flight", "disabled" — a record whose
//! password is wrong looks exactly like one whose PBX does not answer. The gateway's
//! configuration therefore keeps, per record, the last final answer to its REGISTERs (htable
//! `uacstate`) and whether a REGISTER is still waiting for one (htable `uacwait`); together
//! with the flags they tell the states apart.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::rpc::UacRecordState;

/// A SIP final answer: `401 Unauthorized`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipReply {
    pub code: u16,
    pub reason: String,
}

impl std::fmt::Display for SipReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.reason)
    }
}

/// Why the PBX could not be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// REGISTERs to `target` got no answer.
    NoAnswer { target: String },
    /// The PBX's SIP proxy could not be resolved.
    Dns { proxy: String, error: String },
    /// The PBX answered that it cannot serve (5xx, 408).
    Unavailable { target: String, reply: SipReply },
}

/// What a device handle's registration is, as an admin needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationState {
    /// Registered without a break since `since`, at `target` (the address that answered),
    /// until `expires_at` (refreshed before that).
    Registered {
        since: SystemTime,
        target: String,
        expires_at: SystemTime,
    },
    /// Given to Kamailio; the first REGISTER has not been answered yet.
    Registering,
    /// The PBX refused the credentials (401/407 to an authenticated REGISTER, or 403).
    AuthenticationFailed {
        reply: SipReply,
    },
    PbxUnreachable(Unreachable),
    /// The PBX refused for another reason (e.g. 404 Not Found, 423 Interval Too Brief).
    Rejected {
        reply: SipReply,
    },
    /// Kamailio holds the record disabled (someone ran `uac.reg_disable`); reconcile enables it.
    Disabled,
    /// Teamline does not want it registered (calling disabled, user disabled or deleted).
    NotRegistered,
    /// Kamailio's RPC does not answer: nothing is known about the registrations.
    GatewayDown {
        error: String,
    },
}

impl RegistrationState {
    /// A short word for lists, metrics and JSON (`registered`, `auth_failed`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            RegistrationState::Registered { .. } => "registered",
            RegistrationState::Registering => "registering",
            RegistrationState::AuthenticationFailed { .. } => "auth_failed",
            RegistrationState::PbxUnreachable(_) => "pbx_unreachable",
            RegistrationState::Rejected { .. } => "rejected",
            RegistrationState::Disabled => "disabled",
            RegistrationState::NotRegistered => "not_registered",
            RegistrationState::GatewayDown { .. } => "gateway_down",
        }
    }

    /// What went wrong, for an admin, or `None` when nothing did.
    pub fn last_error(&self) -> Option<String> {
        match self {
            RegistrationState::AuthenticationFailed { reply } if reply.code == 403 => {
                Some(format!(
                    "the PBX forbade the device's registration ({reply}): its password may be wrong, the device may be disabled on the PBX, or the PBX may not accept SIP from the gateway's address"
                ))
            }
            RegistrationState::AuthenticationFailed { reply } => Some(format!(
                "the PBX refused the device's SIP password ({reply}): re-read the device's password from the PBX"
            )),
            RegistrationState::PbxUnreachable(Unreachable::NoAnswer { target }) => Some(format!(
                "the PBX at {target} does not answer REGISTER: check the PBX location's SIP domain proxy and that the PBX accepts SIP from the gateway"
            )),
            RegistrationState::PbxUnreachable(Unreachable::Dns { proxy, error }) => Some(format!(
                "the PBX's SIP proxy {proxy} could not be resolved ({error}): check the PBX location's SIP domain proxy and DNS lookup type"
            )),
            RegistrationState::PbxUnreachable(Unreachable::Unavailable { target, reply }) => {
                Some(format!(
                    "the PBX at {target} answered {reply}: it cannot take registrations now (overloaded or in maintenance); the gateway retries and tries the next DNS target"
                ))
            }
            RegistrationState::Rejected { reply } if reply.code == 404 => Some(format!(
                "the PBX does not know the device ({reply}): it does not exist in the PBX location's SIP domain"
            )),
            RegistrationState::Rejected { reply } if reply.code == 423 => Some(format!(
                "the PBX wants a longer registration interval ({reply}): the gateway retries with the interval the PBX asks for"
            )),
            RegistrationState::Rejected { reply } => {
                Some(format!("the PBX refused the registration: {reply}"))
            }
            RegistrationState::GatewayDown { error } => Some(error.clone()),
            _ => None,
        }
    }
}

/// The last final answer to a record's REGISTER, from the `uacstate` htable:
/// `<code>|<registered since>|<answered at>|<source ip:port>|<reason>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastReply {
    pub reply: SipReply,
    /// Unix time since when it is registered without a break (0 unless code 200).
    pub since: i64,
    /// Unix time of the answer.
    pub at: i64,
    /// Who answered (`ip:port`).
    pub source: String,
}

impl LastReply {
    pub fn parse(value: &str) -> Option<LastReply> {
        let mut parts = value.splitn(5, '|');
        let code = parts.next()?.parse().ok()?;
        let since = parts.next()?.parse().ok()?;
        let at = parts.next()?.parse().ok()?;
        let source = parts.next()?.to_owned();
        let reason = parts.next().unwrap_or("").to_owned();
        Some(LastReply {
            reply: SipReply { code, reason },
            since,
            at,
            source,
        })
    }
}

/// Everything read back about one record.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    pub record: &'a UacRecordState,
    pub last_reply: Option<&'a LastReply>,
    /// Unix time of the first REGISTER since the record's last final answer, while no final
    /// answer has come.
    pub awaiting_since: Option<i64>,
    /// That REGISTER has waited longer than the REGISTER timeout. uac_reg may send the next
    /// one at once (a send error) or after its retry interval, so the record's "in flight"
    /// flag alone does not tell that nobody answers.
    pub overdue: bool,
}

fn unix(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

/// Works out one record's state.
pub fn observe(o: &Observed<'_>) -> RegistrationState {
    let rec = o.record;
    let flags = rec.flags;
    if flags.disabled() {
        return RegistrationState::Disabled;
    }
    let target = |reply: Option<&LastReply>| {
        reply
            .map(|r| r.source.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| proxy_host(&rec.auth_proxy))
    };
    if flags.online() {
        let since = o
            .last_reply
            .filter(|r| r.reply.code == 200 && r.since > 0)
            .map_or(rec.timer_expires - i64::from(rec.expires), |r| r.since);
        return RegistrationState::Registered {
            since: unix(since),
            target: target(o.last_reply),
            expires_at: unix(rec.timer_expires),
        };
    }
    let from_reply = |last: &LastReply| from_reply(last, rec.expires, &target(Some(last)));
    if o.overdue {
        return RegistrationState::PbxUnreachable(Unreachable::NoAnswer {
            target: proxy_host(&rec.auth_proxy),
        });
    }
    if flags.ongoing() {
        // A refresh or a retry is in flight and not overdue: the last answer still says how
        // things stand.
        return match o.last_reply {
            Some(last) => from_reply(last),
            None => RegistrationState::Registering,
        };
    }
    // Not in flight, yet waiting: the transaction ended without a final answer.
    if o.awaiting_since.is_some() {
        return RegistrationState::PbxUnreachable(Unreachable::NoAnswer {
            target: proxy_host(&rec.auth_proxy),
        });
    }
    match o.last_reply {
        // Answered 200 but not online: an un-REGISTER, or a 200 without our binding.
        Some(last) if last.reply.code == 200 => RegistrationState::Registering,
        Some(last) => from_reply(last),
        None => RegistrationState::Registering,
    }
}

/// The state a final answer means, for a record asking for `expires` seconds; `target` is
/// who answered.
fn from_reply(last: &LastReply, expires: u32, target: &str) -> RegistrationState {
    match last.reply.code {
        200 => RegistrationState::Registered {
            since: unix(last.since),
            target: target.to_owned(),
            expires_at: unix(last.at + i64::from(expires)),
        },
        401 | 403 | 407 => RegistrationState::AuthenticationFailed {
            reply: last.reply.clone(),
        },
        408 | 500..=599 => RegistrationState::PbxUnreachable(Unreachable::Unavailable {
            target: target.to_owned(),
            reply: last.reply.clone(),
        }),
        _ => RegistrationState::Rejected {
            reply: last.reply.clone(),
        },
    }
}

/// A record's state from its last answer alone, without uac_reg's flags: what a quick pass
/// works out for the few records whose answer changed (reading every record's flags costs a
/// `uac.reg_dump`). `unanswered_since` is when a REGISTER left that has had no final answer
/// for longer than the REGISTER timeout; it wins over any earlier answer. The flags are read
/// again by the next full pass (after a start or restart).
pub fn observe_answer(
    last: Option<&LastReply>,
    unanswered_since: Option<i64>,
    expires: u32,
    auth_proxy: &str,
) -> RegistrationState {
    if unanswered_since.is_some() {
        return RegistrationState::PbxUnreachable(Unreachable::NoAnswer {
            target: proxy_host(auth_proxy),
        });
    }
    match last {
        None => RegistrationState::Registering,
        Some(last) => {
            let target = Some(last.source.clone())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| proxy_host(auth_proxy));
            from_reply(last, expires, &target)
        }
    }
}

/// `sip:192.0.2.7:5060;transport=udp` → `192.0.2.7:5060`.
fn proxy_host(auth_proxy: &str) -> String {
    let s = auth_proxy.strip_prefix("sip:").unwrap_or(auth_proxy);
    s.split(';').next().unwrap_or(s).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::UacFlags;

    fn record(flags: u32, timer_expires: i64) -> UacRecordState {
        serde_json::from_value(serde_json::json!({
            "l_uuid": "1000tm-abc", "l_username": "+11000", "l_domain": "contoso.sbc.example.net",
            "r_username": "1000tm", "r_domain": "contoso", "realm": "", "auth_username": "1000tm",
            "auth_password": "pw", "auth_ha1": "none", "auth_proxy": "sip:192.0.2.7:5060",
            "expires": 600, "flags": flags, "diff_expires": 0, "timer_expires": timer_expires,
            "reg_init": 1_000, "reg_delay": 0, "contact_addr": "gw:5060", "socket": ""
        }))
        .unwrap()
    }

    fn reply(v: &str) -> LastReply {
        LastReply::parse(v).unwrap()
    }

    fn state(flags: u32, last: Option<&LastReply>, awaiting: bool) -> RegistrationState {
        observe(&Observed {
            record: &record(flags, 5_000),
            last_reply: last,
            awaiting_since: awaiting.then_some(4_500),
            overdue: false,
        })
    }

    const INIT: u32 = UacFlags::INIT;

    #[test]
    fn online_is_registered_since_the_first_200_at_who_answered() {
        let last = reply("200|4000|4400|192.0.2.7:5060|OK");
        let s = state(INIT | UacFlags::ONLINE, Some(&last), false);
        assert_eq!(
            s,
            RegistrationState::Registered {
                since: unix(4000),
                target: "192.0.2.7:5060".into(),
                expires_at: unix(5000)
            }
        );
        // During a refresh uac_reg clears "online": still registered.
        let refreshing = state(INIT | UacFlags::ONGOING, Some(&last), true);
        assert_eq!(refreshing.kind(), "registered");
        // REGISTERs unanswered for longer than the timeout, one in flight again: unreachable.
        let retry = observe(&Observed {
            record: &record(INIT | UacFlags::ONGOING, 9_000),
            last_reply: Some(&last),
            awaiting_since: Some(4_400 + 600),
            overdue: true,
        });
        assert_eq!(retry.kind(), "pbx_unreachable");
    }

    #[test]
    fn a_second_401_is_an_authentication_failure_with_the_pbx_answer() {
        let last = reply("401|0|4400|192.0.2.7:5060|Unauthorized");
        let s = state(INIT, Some(&last), false);
        assert_eq!(s.kind(), "auth_failed");
        let msg = s.last_error().unwrap();
        assert!(
            msg.contains("401 Unauthorized") && msg.contains("password"),
            "{msg}"
        );
        let forbidden = state(INIT, Some(&reply("403|0|1|x:1|Forbidden")), false);
        assert_eq!(forbidden.kind(), "auth_failed");
        let msg = forbidden.last_error().unwrap();
        assert!(
            msg.contains("403 Forbidden") && msg.contains("disabled on the PBX"),
            "{msg}"
        );
        let unknown = state(INIT, Some(&reply("404|0|1|x:1|Not Found")), false);
        assert_eq!(unknown.kind(), "rejected");
        assert!(unknown.last_error().unwrap().contains("does not exist"));
    }

    #[test]
    fn no_answer_and_5xx_are_pbx_unreachable() {
        let s = state(INIT, None, true);
        assert_eq!(
            s,
            RegistrationState::PbxUnreachable(Unreachable::NoAnswer {
                target: "192.0.2.7:5060".into()
            })
        );
        // Even after an earlier success, an unanswered REGISTER wins.
        let s = state(INIT, Some(&reply("200|4000|4400|192.0.2.7:5060|OK")), true);
        assert_eq!(s.kind(), "pbx_unreachable");
        let s = state(
            INIT,
            Some(&reply("503|0|4400|192.0.2.7:5060|Service Unavailable")),
            false,
        );
        assert!(s.last_error().unwrap().contains("503 Service Unavailable"));
        assert_eq!(s.kind(), "pbx_unreachable");
    }

    #[test]
    fn other_refusals_keep_their_answer_and_new_records_are_registering() {
        let s = state(
            INIT,
            Some(&reply("423|0|4400|192.0.2.7:5060|Interval Too Brief")),
            false,
        );
        assert_eq!(s.kind(), "rejected");
        assert!(s.last_error().unwrap().contains("423 Interval Too Brief"));
        assert_eq!(state(0, None, false), RegistrationState::Registering);
        assert_eq!(
            state(INIT | UacFlags::ONGOING, None, true),
            RegistrationState::Registering
        );
        assert_eq!(
            state(INIT | UacFlags::DISABLED, None, false),
            RegistrationState::Disabled
        );
    }

    #[test]
    fn an_answer_alone_tells_the_state_and_silence_wins() {
        let ok = reply("200|4000|4400|192.0.2.7:5060|OK");
        let s = observe_answer(Some(&ok), None, 600, "sip:192.0.2.7:5060");
        assert_eq!(
            s,
            RegistrationState::Registered {
                since: unix(4000),
                target: "192.0.2.7:5060".into(),
                expires_at: unix(5000)
            }
        );
        let bad = reply("401|0|4400|192.0.2.7:5060|Unauthorized");
        assert_eq!(
            observe_answer(Some(&bad), None, 600, "sip:x:1").kind(),
            "auth_failed"
        );
        assert_eq!(
            observe_answer(Some(&ok), Some(4500), 600, "sip:192.0.2.9:5060"),
            RegistrationState::PbxUnreachable(Unreachable::NoAnswer {
                target: "192.0.2.9:5060".into()
            })
        );
        assert_eq!(
            observe_answer(None, None, 600, "sip:x:1"),
            RegistrationState::Registering
        );
    }

    #[test]
    fn reasons_may_hold_the_separator() {
        let r = reply("480|0|7|1.2.3.4:5060|Busy | try later");
        assert_eq!(r.reply.reason, "Busy | try later");
        assert!(LastReply::parse("garbage").is_none());
    }
}
