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
        };
        for m in medias.into_iter().flatten() {
            if leg.protocol.is_empty()
                && let Some(p) = m.get("protocol").and_then(Value::as_str)
            {
                leg.protocol = p.to_owned();
            }
            let streams = m.get("streams").and_then(Value::as_array);
            for s in streams.into_iter().flatten() {
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
