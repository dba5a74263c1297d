//! The SIP messages of each call, for its ladder diagram. Kamailio's `siptrace` module (core
//! events mode: every message the gateway receives or sends, TLS ones in clear) duplicates
//! them as HEP3 over UDP to Teamline's [`TraceListener`]; [`capture`] keeps those of calls
//! (not registrations or OPTIONS keep-alives), says which side of the gateway each one was on
//! (Microsoft's proxy or the PBX) and redacts its secrets before anything is stored.

pub mod hep;
pub mod sip;

use std::net::SocketAddr;
use std::time::SystemTime;

use tokio::net::UdpSocket;

pub use hep::HepPacket;
pub use sip::{SipSummary, redact, summarize};

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error(
        "cannot listen for the gateway's SIP messages on {addr} ({source}): choose a free loopback or private UDP port for the SIP trace listener"
    )]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the SIP trace listener stopped receiving ({0})")]
    Receive(#[source] std::io::Error),
}

/// Which of the gateway's peers a message went to or came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// Microsoft's SIP proxy (over TLS).
    Microsoft,
    /// The PBX.
    Pbx,
}

impl Peer {
    pub fn as_str(self) -> &'static str {
        match self {
            Peer::Microsoft => "microsoft",
            Peer::Pbx => "pbx",
        }
    }
}

/// The gateway's own sockets: the TLS listener toward Microsoft and the SIP listener toward
/// the PBX. A message's side is the one whose socket it left from or arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sides {
    pub microsoft: SocketAddr,
    pub pbx: SocketAddr,
}

fn is(socket: SocketAddr, addr: SocketAddr) -> bool {
    socket.port() == addr.port() && (socket.ip().is_unspecified() || socket.ip() == addr.ip())
}

impl Sides {
    /// The peer and whether the gateway sent the message; `None` when it touched neither of
    /// the gateway's sockets.
    pub fn classify(&self, src: SocketAddr, dst: SocketAddr) -> Option<(Peer, bool)> {
        [(self.microsoft, Peer::Microsoft), (self.pbx, Peer::Pbx)]
            .into_iter()
            .find_map(|(socket, peer)| {
                if is(socket, src) {
                    Some((peer, true))
                } else if is(socket, dst) {
                    Some((peer, false))
                } else {
                    None
                }
            })
    }
}

/// One SIP message of a call, ready to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedMessage {
    pub summary: SipSummary,
    pub at: SystemTime,
    pub peer: Peer,
    pub from_gateway: bool,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// `tls`, `tcp` or `udp`.
    pub transport: &'static str,
    /// The whole message, secrets redacted.
    pub message: String,
}

/// Methods that belong to no call: keep-alives and registrations are not kept.
const NOT_CALLS: [&str; 2] = ["OPTIONS", "REGISTER"];

/// The message of a call a HEP packet carries, redacted; `None` for anything else.
pub fn capture(packet: &HepPacket, sides: &Sides) -> Option<CapturedMessage> {
    if packet.payload_type != 1 {
        return None;
    }
    let text = String::from_utf8_lossy(&packet.payload);
    let summary = summarize(&text)?;
    if NOT_CALLS.contains(&summary.method()) {
        return None;
    }
    let (peer, from_gateway) = sides.classify(packet.src, packet.dst)?;
    let transport = match (peer, packet.ip_proto) {
        (Peer::Microsoft, _) => "tls",
        (Peer::Pbx, 6) => "tcp",
        (Peer::Pbx, _) => "udp",
    };
    Some(CapturedMessage {
        summary,
        at: packet.at,
        peer,
        from_gateway,
        src: packet.src,
        dst: packet.dst,
        transport,
        message: redact(&text),
    })
}

/// Where `siptrace` sends its HEP packets.
#[derive(Debug)]
pub struct TraceListener {
    socket: UdpSocket,
}

impl TraceListener {
    pub async fn bind(addr: SocketAddr) -> Result<TraceListener, TraceError> {
        let socket = UdpSocket::bind(addr)
            .await
            .map_err(|source| TraceError::Bind { addr, source })?;
        Ok(TraceListener { socket })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.socket.local_addr().ok()
    }

    /// The next HEP packet; datagrams that are not HEP3 are skipped (logged).
    pub async fn next(&self) -> Result<HepPacket, TraceError> {
        // A SIP message over UDP fits in 64 KiB; siptrace sends one message per datagram.
        let mut buf = vec![0u8; 65_536];
        loop {
            let (n, from) = self
                .socket
                .recv_from(&mut buf)
                .await
                .map_err(TraceError::Receive)?;
            match hep::parse(&buf[..n]) {
                Ok(p) => return Ok(p),
                Err(e) => {
                    tracing::debug!(%from, error = %e, "skipping a datagram that is not HEP3")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn packet(src: &str, dst: &str, payload: &str) -> HepPacket {
        HepPacket {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            ip_proto: 17,
            at: UNIX_EPOCH,
            payload_type: 1,
            payload: payload.as_bytes().to_vec(),
        }
    }

    #[test]
    fn calls_are_kept_with_their_side_and_keepalives_are_not() {
        let sides = Sides {
            microsoft: "0.0.0.0:5061".parse().unwrap(),
            pbx: "10.0.0.1:5060".parse().unwrap(),
        };
        let invite = "INVITE sip:1000@pbx SIP/2.0\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\r\n";
        let to_pbx = capture(&packet("10.0.0.1:5060", "10.0.0.9:5060", invite), &sides).unwrap();
        assert_eq!(
            (to_pbx.peer, to_pbx.from_gateway, to_pbx.transport),
            (Peer::Pbx, true, "udp")
        );
        let from_ms =
            capture(&packet("52.114.1.1:40000", "10.0.0.1:5061", invite), &sides).unwrap();
        assert_eq!(
            (from_ms.peer, from_ms.from_gateway, from_ms.transport),
            (Peer::Microsoft, false, "tls")
        );
        let ping = "OPTIONS sip:x SIP/2.0\r\nCall-ID: p\r\nCSeq: 9 OPTIONS\r\n\r\n";
        assert_eq!(
            capture(&packet("10.0.0.1:5061", "52.114.1.1:5061", ping), &sides),
            None
        );
        let ok = "SIP/2.0 200 OK\r\nCall-ID: r\r\nCSeq: 3 REGISTER\r\n\r\n";
        assert_eq!(
            capture(&packet("10.0.0.9:5060", "10.0.0.1:5060", ok), &sides),
            None
        );
        // Elsewhere on the host: not the gateway's.
        assert_eq!(
            capture(&packet("10.0.0.2:5060", "10.0.0.9:5060", invite), &sides),
            None
        );
    }
}
