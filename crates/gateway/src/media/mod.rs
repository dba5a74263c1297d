//! Media: rtpengine, which bridges SRTP toward Microsoft with RTP toward the PBX. Kamailio
//! drives it call by call; Teamline reads it back over the same control protocol (ng: bencode
//! over UDP) — per-call media statistics for call records, and a health check.
//!
//! rtpengine keeps a call for `--delete-delay` seconds after Kamailio deleted it, so a call's
//! final statistics can be read right after its end event.

mod bencode;
pub mod process;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::UdpSocket;

/// Why talking to rtpengine failed.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error(
        "rtpengine does not answer on its control socket {addr} ({detail}): check that it runs with --listen-ng={addr}"
    )]
    Unreachable { addr: SocketAddr, detail: String },
    #[error("rtpengine refused {command}: {reason}")]
    Refused {
        command: &'static str,
        reason: String,
    },
    #[error("rtpengine answered {command} with something Teamline does not understand")]
    Decode { command: &'static str },
}

/// A client for one rtpengine's ng control socket.
#[derive(Debug)]
pub struct MediaClient {
    addr: SocketAddr,
    /// rtpengine caches answers by cookie and replays the cached answer to a repeated cookie
    /// (retransmissions): every client starts from a random cookie so that two clients never
    /// share one.
    cookie: AtomicU64,
    timeout: Duration,
}

/// One leg of a call as rtpengine saw it: one side's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLeg {
    /// The SIP tag of that side (From- or To-tag).
    pub tag: String,
    /// `RTP/AVP` (plain RTP) or `RTP/SAVP` (SRTP), as negotiated on that side.
    pub protocol: String,
    /// RTP and RTCP packets received from that side.
    pub packets: u64,
    pub bytes: u64,
    /// Packets rtpengine could not use (e.g. failed SRTP authentication).
    pub errors: u64,
    /// The codec negotiated on that side (`PCMU/8000`).
    pub codec: Option<String>,
    /// The SRTP crypto suite on that side (`AES_CM_128_HMAC_SHA1_80`); none for plain RTP.
    pub crypto_suite: Option<String>,
}

/// A call's media (`query`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallMedia {
    pub legs: Vec<MediaLeg>,
}

impl CallMedia {
    /// The leg on `protocol` (`RTP/SAVP` for Microsoft's side, `RTP/AVP` for the PBX's).
    pub fn leg(&self, protocol: &str) -> Option<&MediaLeg> {
        self.legs.iter().find(|l| l.protocol == protocol)
    }

    /// The call's codec: Microsoft's side's, else the first one negotiated (codecs pass
    /// through, so both sides normally agree).
    pub fn codec(&self) -> Option<&str> {
        self.leg("RTP/SAVP")
            .and_then(|l| l.codec.as_deref())
            .or_else(|| self.legs.iter().find_map(|l| l.codec.as_deref()))
    }

    /// Whether Microsoft's side of the call is SRTP with keys agreed (SDES).
    pub fn srtp(&self) -> bool {
        self.leg("RTP/SAVP")
            .is_some_and(|l| l.crypto_suite.is_some())
    }
}

impl MediaClient {
    pub fn new(addr: SocketAddr) -> Self {
        MediaClient {
            addr,
            cookie: AtomicU64::new(rand::random::<u64>() >> 1),
            timeout: Duration::from_secs(2),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends one command and returns rtpengine's answer dictionary.
    pub async fn command(
        &self,
        command: &'static str,
        mut args: Value,
    ) -> Result<Value, MediaError> {
        let unreachable = |detail: String| MediaError::Unreachable {
            addr: self.addr,
            detail,
        };
        if let Value::Object(m) = &mut args {
            m.insert("command".to_owned(), json!(command));
        }
        let cookie = format!("tl{:x}", self.cookie.fetch_add(1, Ordering::Relaxed));
        let mut msg = format!("{cookie} ").into_bytes();
        bencode::encode(&args, &mut msg);
        let bind: SocketAddr = if self.addr.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        }
        .parse()
        .map_err(|_| unreachable("no local address".to_owned()))?;
        let sock = UdpSocket::bind(bind)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        sock.send_to(&msg, self.addr)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let mut buf = vec![0u8; 65536];
        loop {
            let n = tokio::time::timeout(self.timeout, sock.recv(&mut buf))
                .await
                .map_err(|_| unreachable("no answer".to_owned()))?
                .map_err(|e| unreachable(e.to_string()))?;
            let reply = &buf[..n];
            let Some(body) = reply
                .strip_prefix(cookie.as_bytes())
                .and_then(|r| r.strip_prefix(b" "))
            else {
                continue; // an answer to someone else's cookie
            };
            let (v, _) = bencode::decode(body).ok_or(MediaError::Decode { command })?;
            if v.get("result").and_then(Value::as_str) == Some("error") {
                return Err(MediaError::Refused {
                    command,
                    reason: v
                        .get("error-reason")
                        .and_then(Value::as_str)
                        .unwrap_or("no reason given")
                        .to_owned(),
                });
            }
            return Ok(v);
        }
    }

    /// rtpengine answers `pong`: the health check.
    pub async fn ping(&self) -> Result<(), MediaError> {
        let v = self.command("ping", json!({})).await?;
        match v.get("result").and_then(Value::as_str) {
            Some("pong") => Ok(()),
            _ => Err(MediaError::Decode { command: "ping" }),
        }
    }

    /// The raw `query` answer of a call (for diagnostics).
    pub async fn query_raw(&self, call_id: &str) -> Result<Value, MediaError> {
        self.command("query", json!({ "call-id": call_id })).await
    }

    /// A call's legs with their protocol and packet counts.
    pub async fn query(&self, call_id: &str) -> Result<CallMedia, MediaError> {
        let v = self.query_raw(call_id).await?;
        Ok(parse_query(&v))
    }

    /// Call-ids of the calls rtpengine holds.
    pub async fn list(&self) -> Result<Vec<String>, MediaError> {
        let v = self.command("list", json!({ "limit": "1000" })).await?;
        Ok(v.get("calls")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default())
    }
}

fn num(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// `query`'s `tags` → one leg per tag: its medias' protocol and the packets of its streams
/// (what rtpengine received from that side).
fn parse_query(v: &Value) -> CallMedia {
    let mut legs = Vec::new();
    let tags = v.get("tags").and_then(Value::as_object);
    for (tag, t) in tags.into_iter().flatten() {
        let medias = t.get("medias").and_then(Value::as_array);
        let mut leg = MediaLeg {
            tag: tag.clone(),
            protocol: String::new(),
            packets: 0,
            bytes: 0,
            errors: 0,
            codec: None,
            crypto_suite: None,
        };
        for m in medias.into_iter().flatten() {
            if leg.protocol.is_empty()
                && let Some(p) = m.get("protocol").and_then(Value::as_str)
            {
                leg.protocol = p.to_owned();
            }
            if leg.codec.is_none()
                && let Some(c) = m.get("codec").and_then(Value::as_str)
            {
                leg.codec = Some(c.to_owned());
            }
            let streams = m.get("streams").and_then(Value::as_array);
            for s in streams.into_iter().flatten() {
                if leg.crypto_suite.is_none()
                    && let Some(c) = s.get("crypto suite").and_then(Value::as_str)
                {
                    leg.crypto_suite = Some(c.to_owned());
                }
                if let Some(st) = s.get("stats") {
                    leg.packets += num(st, "packets");
                    leg.bytes += num(st, "bytes");
                    leg.errors += num(st, "errors");
                }
            }
        }
        legs.push(leg);
    }
    CallMedia { legs }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `query` answer as rtpengine 10 gives it for a bridged call (trimmed).
    const QUERY: &str = r#"{"result":"ok","tags":{
        "t1":{"medias":[{"codec":"PCMU/8000","protocol":"RTP/SAVP","streams":[
            {"crypto suite":"AES_CM_128_HMAC_SHA1_80","stats":{"bytes":42312,"errors":1,"packets":246}},
            {"crypto suite":"AES_CM_128_HMAC_SHA1_80","stats":{"bytes":0,"errors":0,"packets":0}}]}]},
        "t2":{"medias":[{"codec":"PCMU/8000","protocol":"RTP/AVP","streams":[
            {"stats":{"bytes":38012,"errors":0,"packets":221}}]}]}}}"#;

    #[test]
    fn a_query_gives_each_sides_protocol_codec_crypto_and_packets() {
        let media = parse_query(&serde_json::from_str(QUERY).unwrap());
        let srtp = media.leg("RTP/SAVP").unwrap();
        assert_eq!((srtp.packets, srtp.errors), (246, 1));
        assert_eq!(
            srtp.crypto_suite.as_deref(),
            Some("AES_CM_128_HMAC_SHA1_80")
        );
        let rtp = media.leg("RTP/AVP").unwrap();
        assert_eq!((rtp.packets, rtp.crypto_suite.as_deref()), (221, None));
        assert_eq!(media.codec(), Some("PCMU/8000"));
        assert!(media.srtp());
    }

    #[test]
    fn a_call_without_microsofts_srtp_leg_is_not_srtp() {
        let media = parse_query(&serde_json::json!({"tags": {"t2": {"medias": [
            {"codec": "PCMA/8000", "protocol": "RTP/AVP", "streams": []}
        ]}}}));
        assert!(!media.srtp());
        assert_eq!(media.codec(), Some("PCMA/8000"));
    }
}
