//! Call events from Kamailio (`evapi`: JSON objects in netstrings over TCP) and the call
//! records made of them.
//!
//! Kamailio emits, per call leg (one Call-ID through the gateway): `start` (the INVITE was
//! relayed), `ringing` (first 18x), `answer` (200 OK), `end` (BYE or session timeout), or
//! `failed` (the final SIP code: 486 busy, 487 cancelled, 408/480 no answer, 403, 488, …).
//! [`CallRecords`] folds them into one [`CallRecord`] per leg.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use tokio::io::{AsyncReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;

use crate::registration::RegistrationId;

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error(
        "cannot connect to the gateway's call events at {addr} ({source}): check that Kamailio runs with the Direct Routing settings and that the events listener matches"
    )]
    Connect {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the gateway's call event stream at {addr} closed")]
    Closed { addr: SocketAddr },
    #[error("the gateway's call event stream sent something that is not a netstring")]
    Framing,
}

/// Which way a call goes through the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The PBX called the device handle; the call rings in Teams.
    ToTeams,
    /// The Teams user called out; the call goes to the PBX as the device handle.
    ToPbx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Start,
    Ringing,
    Answer,
    End,
    Failed,
}

/// One event as Kamailio sends it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CallEvent {
    pub event: EventKind,
    pub call_id: String,
    pub direction: Option<Direction>,
    /// The registration's id (uac_reg l_uuid): which device handle and Teams user.
    #[serde(default)]
    pub registration: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub tenant_fqdn: String,
    /// Unix time with microseconds, as Kamailio writes it (`1700000000.123456`).
    #[serde(deserialize_with = "unix_time")]
    pub at: SystemTime,
    /// The final SIP code of a failed call.
    pub code: Option<u16>,
    /// Microsoft's SIP proxy the call went through: the FQDN the gateway sent it to, or the
    /// host that sent it (absent when none was reached).
    #[serde(default)]
    pub microsoft_proxy: Option<String>,
    /// Why the gateway itself failed the call, when it did (`media_relay_unavailable`:
    /// rtpengine did not take the call's media).
    #[serde(default)]
    pub reason: Option<String>,
}

/// The `reason` of a call the gateway refused because rtpengine did not take its media.
pub const MEDIA_RELAY_UNAVAILABLE: &str = "media_relay_unavailable";

fn unix_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
    let s = String::deserialize(d)?;
    let secs: f64 = s.parse().map_err(serde::de::Error::custom)?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(serde::de::Error::custom("time out of range"));
    }
    Ok(UNIX_EPOCH + Duration::from_secs_f64(secs))
}

impl CallEvent {
    pub fn registration_id(&self) -> RegistrationId {
        RegistrationId::from_kamailio(&self.registration)
    }

    /// The device handle (`1000tm`) of the registration id `<device>-<12 hex>`.
    pub fn device(&self) -> &str {
        self.registration
            .rsplit_once('-')
            .map_or(self.registration.as_str(), |(d, _)| d)
    }
}

/// A connection to Kamailio's event stream.
pub struct EventStream {
    addr: SocketAddr,
    reader: BufReader<OwnedReadHalf>,
    // Kept so the connection stays open; evapi only writes to us.
    _writer: tokio::net::tcp::OwnedWriteHalf,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("addr", &self.addr)
            .finish()
    }
}

impl EventStream {
    /// Connects to the node's events listener. Events of calls that happen while nobody is
    /// connected are not kept by Kamailio: connect before traffic, and reconnect at once.
    pub async fn connect(addr: SocketAddr) -> Result<EventStream, EventsError> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|source| EventsError::Connect { addr, source })?;
        let (r, w) = tcp.into_split();
        Ok(EventStream {
            addr,
            reader: BufReader::new(r),
            _writer: w,
        })
    }

    /// The next event; events Teamline does not understand are skipped (logged).
    pub async fn next(&mut self) -> Result<CallEvent, EventsError> {
        loop {
            let payload = self.next_netstring().await?;
            match serde_json::from_slice::<CallEvent>(&payload) {
                Ok(ev) => return Ok(ev),
                Err(e) => {
                    tracing::warn!(error = %e, "skipping a call event Teamline does not understand")
                }
            }
        }
    }

    async fn next_netstring(&mut self) -> Result<Vec<u8>, EventsError> {
        let closed = || EventsError::Closed { addr: self.addr };
        let mut len: usize = 0;
        let mut digits = 0;
        loop {
            let b = self.reader.read_u8().await.map_err(|_| closed())?;
            match b {
                b'0'..=b'9' if digits < 9 => {
                    len = len * 10 + usize::from(b - b'0');
                    digits += 1;
                }
                b':' if digits > 0 => break,
                // Whitespace between netstrings is tolerated.
                b'\n' | b'\r' | b' ' if digits == 0 => {}
                _ => return Err(EventsError::Framing),
            }
        }
        let mut buf = vec![0u8; len];
        self.reader
            .read_exact(&mut buf)
            .await
            .map_err(|_| closed())?;
        if self.reader.read_u8().await.map_err(|_| closed())? != b',' {
            return Err(EventsError::Framing);
        }
        Ok(buf)
    }
}

/// How a call leg ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Still ringing or talking.
    InProgress,
    Answered,
    Busy,
    NoAnswer,
    Cancelled,
    Rejected,
    Failed,
    /// The gateway refused or ended the call because its media relay (rtpengine) did not take
    /// the call's media: down, unreachable or out of ports.
    MediaUnavailable,
}

impl Outcome {
    /// What a final SIP code of an unanswered call means to a person.
    pub fn of_failure(code: u16) -> Outcome {
        match code {
            486 | 600 => Outcome::Busy,
            408 | 480 => Outcome::NoAnswer,
            487 => Outcome::Cancelled,
            603 | 403 => Outcome::Rejected,
            _ => Outcome::Failed,
        }
    }
}

/// One call leg through the gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub call_id: String,
    pub direction: Option<Direction>,
    pub registration: String,
    pub device: String,
    pub from: String,
    pub to: String,
    pub tenant_fqdn: String,
    pub started_at: SystemTime,
    pub ringing_at: Option<SystemTime>,
    pub answered_at: Option<SystemTime>,
    pub ended_at: Option<SystemTime>,
    /// 200 for an answered call, else the final SIP code.
    pub final_code: Option<u16>,
    pub outcome: Outcome,
    /// Microsoft's SIP proxy of the call, as last reported (a failover changes it).
    pub microsoft_proxy: Option<String>,
}

impl CallRecord {
    /// Talk time of an answered, ended call.
    pub fn duration(&self) -> Option<Duration> {
        self.ended_at?.duration_since(self.answered_at?).ok()
    }

    pub fn is_finished(&self) -> bool {
        self.outcome != Outcome::InProgress
    }
}

/// Folds events into records, one per Call-ID.
#[derive(Debug, Default)]
pub struct CallRecords {
    calls: HashMap<String, CallRecord>,
}

impl CallRecords {
    /// Applies one event; returns the record when this event finished it.
    pub fn apply(&mut self, ev: &CallEvent) -> Option<CallRecord> {
        let rec = self
            .calls
            .entry(ev.call_id.clone())
            .or_insert_with(|| CallRecord {
                call_id: ev.call_id.clone(),
                direction: ev.direction,
                registration: ev.registration.clone(),
                device: ev.device().to_owned(),
                from: ev.from.clone(),
                to: ev.to.clone(),
                tenant_fqdn: ev.tenant_fqdn.clone(),
                started_at: ev.at,
                ringing_at: None,
                answered_at: None,
                ended_at: None,
                final_code: None,
                outcome: Outcome::InProgress,
                microsoft_proxy: None,
            });
        if ev.microsoft_proxy.is_some() {
            rec.microsoft_proxy.clone_from(&ev.microsoft_proxy);
        }
        match ev.event {
            EventKind::Start => {}
            EventKind::Ringing => {
                rec.ringing_at.get_or_insert(ev.at);
            }
            EventKind::Answer => {
                rec.answered_at.get_or_insert(ev.at);
                rec.final_code = Some(200);
                rec.outcome = Outcome::Answered;
                return None;
            }
            EventKind::End => {
                rec.ended_at = Some(ev.at);
                if rec.answered_at.is_none() {
                    rec.outcome = Outcome::Failed;
                }
            }
            EventKind::Failed => {
                rec.ended_at = Some(ev.at);
                rec.final_code = ev.code;
                rec.outcome = if ev.reason.as_deref() == Some(MEDIA_RELAY_UNAVAILABLE) {
                    Outcome::MediaUnavailable
                } else {
                    Outcome::of_failure(ev.code.unwrap_or(500))
                };
            }
        }
        if matches!(ev.event, EventKind::End | EventKind::Failed) {
            return self.calls.remove(&ev.call_id);
        }
        None
    }

    /// Records still in progress (ringing or talking).
    pub fn in_progress(&self) -> impl Iterator<Item = &CallRecord> {
        self.calls.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(json: &str) -> CallEvent {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn an_answered_call_becomes_one_record_with_its_duration() {
        let mut r = CallRecords::default();
        let base = r#""call_id":"c1","direction":"to_teams","registration":"1000tm-0123456789ab","from":"+12125550100","to":"+11000","tenant_fqdn":"contoso.use2.sbc.example.net""#;
        assert!(
            r.apply(&ev(&format!(r#"{{"event":"start",{base},"at":"100.5"}}"#)))
                .is_none()
        );
        assert!(
            r.apply(&ev(&format!(
                r#"{{"event":"ringing",{base},"at":"101.0"}}"#
            )))
            .is_none()
        );
        assert!(
            r.apply(&ev(&format!(r#"{{"event":"answer",{base},"at":"103.0"}}"#)))
                .is_none()
        );
        let done = r
            .apply(&ev(&format!(r#"{{"event":"end",{base},"at":"133.0"}}"#)))
            .unwrap();
        assert_eq!(done.outcome, Outcome::Answered);
        assert_eq!(done.device, "1000tm");
        assert_eq!(done.duration(), Some(Duration::from_secs(30)));
        assert_eq!(done.final_code, Some(200));
        assert_eq!(r.in_progress().count(), 0);
    }

    #[test]
    fn failures_say_what_happened() {
        for (code, outcome) in [
            (486, Outcome::Busy),
            (480, Outcome::NoAnswer),
            (487, Outcome::Cancelled),
            (603, Outcome::Rejected),
            (488, Outcome::Failed),
        ] {
            let mut r = CallRecords::default();
            let done = r
                .apply(&ev(&format!(
                    r#"{{"event":"failed","call_id":"x","direction":"to_pbx","at":"1.0","code":{code}}}"#
                )))
                .unwrap();
            assert_eq!((done.final_code, done.outcome), (Some(code), outcome));
        }
    }

    #[test]
    fn a_call_the_gateway_refused_for_want_of_media_says_so() {
        let mut r = CallRecords::default();
        let done = r
            .apply(&ev(
                r#"{"event":"failed","call_id":"x","direction":"to_teams","at":"1.0","code":503,"reason":"media_relay_unavailable"}"#,
            ))
            .unwrap();
        assert_eq!(
            (done.final_code, done.outcome),
            (Some(503), Outcome::MediaUnavailable)
        );
    }
}
