//! HEP version 3 (the Homer encapsulation protocol), as Kamailio's `siptrace` sends each SIP
//! message it receives or sends: `HEP3`, the total length, then chunks of
//! (vendor, type, length including the 6-byte chunk header, payload), all big-endian.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One captured message as HEP carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HepPacket {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// IP protocol: 17 UDP, 6 TCP (TLS is carried as TCP).
    pub ip_proto: u8,
    pub at: SystemTime,
    /// What the payload is: 1 = SIP.
    pub payload_type: u8,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HepError {
    #[error("not a HEP3 packet")]
    NotHep3,
    #[error("a HEP3 packet is cut short")]
    Truncated,
    #[error("a HEP3 packet lacks its {0}")]
    Missing(&'static str),
}

// Generic chunk types (vendor 0) of HEP3.
const IP_PROTO: u16 = 0x02;
const SRC_V4: u16 = 0x03;
const DST_V4: u16 = 0x04;
const SRC_V6: u16 = 0x05;
const DST_V6: u16 = 0x06;
const SRC_PORT: u16 = 0x07;
const DST_PORT: u16 = 0x08;
const TIME_SEC: u16 = 0x09;
const TIME_USEC: u16 = 0x0a;
const PAYLOAD_TYPE: u16 = 0x0b;
const PAYLOAD: u16 = 0x0f;

fn be16(b: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(..2)?.try_into().ok()?))
}

fn be32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

/// Parses one HEP3 datagram.
pub fn parse(datagram: &[u8]) -> Result<HepPacket, HepError> {
    if datagram.get(..4) != Some(b"HEP3") {
        return Err(HepError::NotHep3);
    }
    let total = usize::from(be16(&datagram[4..]).ok_or(HepError::Truncated)?);
    let body = datagram.get(6..total).ok_or(HepError::Truncated)?;
    let (mut src_ip, mut dst_ip) = (None::<IpAddr>, None::<IpAddr>);
    let (mut src_port, mut dst_port) = (None, None);
    let (mut secs, mut usecs) = (None, 0u32);
    let (mut ip_proto, mut payload_type) = (0u8, 1u8);
    let mut payload = None;
    let mut rest = body;
    while !rest.is_empty() {
        let vendor = be16(rest).ok_or(HepError::Truncated)?;
        let kind = be16(&rest[2..]).ok_or(HepError::Truncated)?;
        let len = usize::from(be16(&rest[4..]).ok_or(HepError::Truncated)?);
        if len < 6 {
            return Err(HepError::Truncated);
        }
        let data = rest.get(6..len).ok_or(HepError::Truncated)?;
        rest = &rest[len..];
        if vendor != 0 {
            continue;
        }
        match kind {
            IP_PROTO => ip_proto = *data.first().ok_or(HepError::Truncated)?,
            SRC_V4 | DST_V4 => {
                let o: [u8; 4] = data.try_into().map_err(|_| HepError::Truncated)?;
                let ip = Some(IpAddr::V4(Ipv4Addr::from(o)));
                if kind == SRC_V4 {
                    src_ip = ip
                } else {
                    dst_ip = ip
                }
            }
            SRC_V6 | DST_V6 => {
                let o: [u8; 16] = data.try_into().map_err(|_| HepError::Truncated)?;
                let ip = Some(IpAddr::V6(Ipv6Addr::from(o)));
                if kind == SRC_V6 {
                    src_ip = ip
                } else {
                    dst_ip = ip
                }
            }
            SRC_PORT => src_port = be16(data),
            DST_PORT => dst_port = be16(data),
            TIME_SEC => secs = be32(data),
            TIME_USEC => usecs = be32(data).unwrap_or(0),
            PAYLOAD_TYPE => payload_type = *data.first().ok_or(HepError::Truncated)?,
            PAYLOAD => payload = Some(data.to_vec()),
            _ => {}
        }
    }
    let at = UNIX_EPOCH
        + Duration::from_secs(u64::from(secs.ok_or(HepError::Missing("time"))?))
        + Duration::from_micros(u64::from(usecs.min(999_999)));
    Ok(HepPacket {
        src: SocketAddr::new(
            src_ip.ok_or(HepError::Missing("source address"))?,
            src_port.ok_or(HepError::Missing("source port"))?,
        ),
        dst: SocketAddr::new(
            dst_ip.ok_or(HepError::Missing("destination address"))?,
            dst_port.ok_or(HepError::Missing("destination port"))?,
        ),
        ip_proto,
        at,
        payload_type,
        payload: payload.ok_or(HepError::Missing("payload"))?,
    })
}

/// Encodes a packet as HEP3 (what `siptrace` sends); the tests build datagrams with it.
pub fn encode(p: &HepPacket) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
        out.extend_from_slice(&0u16.to_be_bytes());
        out.extend_from_slice(&kind.to_be_bytes());
        let len = u16::try_from(data.len() + 6).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(data);
    }
    let mut body = Vec::new();
    chunk(&mut body, 0x01, &[if p.src.is_ipv4() { 2 } else { 10 }]);
    chunk(&mut body, IP_PROTO, &[p.ip_proto]);
    for (v4, v6, ip) in [(SRC_V4, SRC_V6, p.src.ip()), (DST_V4, DST_V6, p.dst.ip())] {
        match ip {
            IpAddr::V4(a) => chunk(&mut body, v4, &a.octets()),
            IpAddr::V6(a) => chunk(&mut body, v6, &a.octets()),
        }
    }
    chunk(&mut body, SRC_PORT, &p.src.port().to_be_bytes());
    chunk(&mut body, DST_PORT, &p.dst.port().to_be_bytes());
    let since = p.at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = u32::try_from(since.as_secs()).unwrap_or(u32::MAX);
    chunk(&mut body, TIME_SEC, &secs.to_be_bytes());
    chunk(&mut body, TIME_USEC, &since.subsec_micros().to_be_bytes());
    chunk(&mut body, PAYLOAD_TYPE, &[p.payload_type]);
    chunk(&mut body, PAYLOAD, &p.payload);
    let mut out = b"HEP3".to_vec();
    let total = u16::try_from(body.len() + 6).unwrap_or(u16::MAX);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packet_survives_encoding_and_garbage_is_refused() {
        let p = HepPacket {
            src: "10.0.0.5:5060".parse().unwrap(),
            dst: "[fd00::1]:5061".parse().unwrap(),
            ip_proto: 6,
            at: UNIX_EPOCH + Duration::from_micros(1_800_000_000_123_456),
            payload_type: 1,
            payload: b"INVITE sip:x SIP/2.0\r\n\r\n".to_vec(),
        };
        assert_eq!(parse(&encode(&p)), Ok(p.clone()));
        assert_eq!(parse(b"HEP2...."), Err(HepError::NotHep3));
        let cut = encode(&p);
        assert_eq!(parse(&cut[..cut.len() - 3]), Err(HepError::Truncated));
    }
}
