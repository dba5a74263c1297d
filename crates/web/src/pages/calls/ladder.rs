//! A call's SIP ladder: the messages the gateway relayed, in capture order, each an arrow
//! between two of three columns (Microsoft's proxy, the gateway, the PBX) labelled with its
//! method or status and its time since the first one. The messages come from the store already
//! redacted; the page shows them whole.

use teamline_store::StoredSipMessage;

/// One arrow of the ladder.
pub struct LadderRow {
    /// `+1.234 s` since the first message.
    pub offset: String,
    /// `INVITE`, `180 Ringing`.
    pub label: String,
    /// The arrow is between Microsoft's proxy and the gateway (else the gateway and the PBX).
    pub microsoft_side: bool,
    /// `right` or `left`: which way the arrow points on the page.
    pub direction: &'static str,
    /// For screen readers and the message's caption: `Microsoft proxy → gateway`.
    pub path: String,
    /// `sent`, `info`, `ok`, `bad`: how the arrow is coloured (a request, 1xx, 2xx, ≥ 3xx).
    pub tone: &'static str,
    pub src: String,
    pub dst: String,
    pub transport: String,
    pub cseq: String,
    pub message: String,
}

fn tone(label: &str) -> &'static str {
    match label.as_bytes().first() {
        Some(b'1') => "info",
        Some(b'2') => "ok",
        Some(b'3'..=b'6') => "bad",
        _ => "sent",
    }
}

/// `+0.000 s`, with milliseconds: SIP exchanges are fast.
fn offset(us: i64) -> String {
    let ms = us.max(0) / 1000;
    format!("+{}.{:03} s", ms / 1000, ms % 1000)
}

pub fn rows(messages: &[StoredSipMessage]) -> Vec<LadderRow> {
    let start = messages.first().map_or(0, |m| m.captured_us);
    messages
        .iter()
        .map(|m| {
            let microsoft_side = m.peer == "microsoft";
            let peer = if microsoft_side {
                "Microsoft proxy"
            } else {
                "PBX"
            };
            // Microsoft is the left column, the PBX the right one.
            let rightwards = microsoft_side != m.from_gateway;
            let path = if m.from_gateway {
                format!("gateway → {peer}")
            } else {
                format!("{peer} → gateway")
            };
            LadderRow {
                offset: offset(m.captured_us - start),
                label: m.label.clone(),
                microsoft_side,
                direction: if rightwards { "right" } else { "left" },
                path,
                tone: tone(&m.label),
                src: m.src.clone(),
                dst: m.dst.clone(),
                transport: m.transport.to_uppercase(),
                cseq: m.cseq.clone(),
                message: m.message.replace("\r\n", "\n"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(us: i64, peer: &str, from_gateway: bool, label: &str) -> StoredSipMessage {
        StoredSipMessage {
            call_id: "c".into(),
            captured_us: us,
            peer: peer.into(),
            from_gateway,
            src: "a".into(),
            dst: "b".into(),
            transport: "udp".into(),
            label: label.into(),
            cseq: "1 INVITE".into(),
            message: "x\r\ny".into(),
        }
    }

    #[test]
    fn arrows_point_between_the_right_columns() {
        let r = rows(&[
            m(1_000_000, "microsoft", false, "INVITE"),
            m(1_002_500, "pbx", true, "INVITE"),
            m(1_250_000, "pbx", false, "180 Ringing"),
            m(2_001_000, "microsoft", true, "486 Busy Here"),
        ]);
        let got: Vec<_> = r
            .iter()
            .map(|r| {
                (
                    r.offset.as_str(),
                    r.microsoft_side,
                    r.direction,
                    r.tone,
                    r.path.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "+0.000 s",
                    true,
                    "right",
                    "sent",
                    "Microsoft proxy → gateway"
                ),
                ("+0.002 s", false, "right", "sent", "gateway → PBX"),
                ("+0.250 s", false, "left", "info", "PBX → gateway"),
                ("+1.001 s", true, "left", "bad", "gateway → Microsoft proxy"),
            ]
        );
        assert_eq!(r[0].message, "x\ny");
    }
}
