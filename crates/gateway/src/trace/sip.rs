//! Just enough of a SIP message to draw it in a ladder: its first line, Call-ID and CSeq; and
//! its redaction, so that what Teamline keeps holds no secret.

/// What the ladder shows of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipSummary {
    pub call_id: String,
    /// `INVITE` for a request, `180 Ringing` for a reply.
    pub label: String,
    /// The CSeq header's value (`1 INVITE`).
    pub cseq: String,
    pub is_request: bool,
}

impl SipSummary {
    /// The method the CSeq names (`INVITE` for an INVITE and its replies).
    pub fn method(&self) -> &str {
        self.cseq.split_whitespace().nth(1).unwrap_or("")
    }
}

fn header_lines(msg: &str) -> impl Iterator<Item = (&str, &str)> {
    msg.split("\r\n")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim(), v.trim()))
}

/// Reads the first line, Call-ID and CSeq; `None` for something that is not a SIP message.
pub fn summarize(msg: &str) -> Option<SipSummary> {
    let first = msg.split("\r\n").next()?;
    let (label, is_request) = if let Some(rest) = first.strip_prefix("SIP/2.0 ") {
        (rest.trim().to_owned(), false)
    } else {
        let (method, rest) = first.split_once(' ')?;
        if !rest.trim_end().ends_with("SIP/2.0") || method.is_empty() {
            return None;
        }
        (method.to_owned(), true)
    };
    let mut call_id = None;
    let mut cseq = String::new();
    for (name, value) in header_lines(msg) {
        if name.eq_ignore_ascii_case("call-id") || name.eq_ignore_ascii_case("i") {
            call_id = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("cseq") {
            value.clone_into(&mut cseq);
        }
    }
    Some(SipSummary {
        call_id: call_id.filter(|c| !c.is_empty())?,
        label,
        cseq,
        is_request,
    })
}

const REDACTED: &str = "[redacted]";

/// Headers whose whole value is a secret.
fn secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["password", "secret", "token"]
        .iter()
        .any(|w| n.contains(w))
}

/// Replaces the value of `param=` (quoted or not) in a digest header.
fn redact_param(value: &str, param: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, part) in value.split(',').enumerate() {
        if i > 0 {
            out.push(',');
        }
        let key = part
            .trim_start()
            .trim_start_matches("Digest ")
            .split('=')
            .next()
            .unwrap_or("")
            .trim();
        if key.eq_ignore_ascii_case(param) {
            let (head, _) = part.split_once('=').unwrap_or((part, ""));
            out.push_str(head);
            out.push_str("=\"");
            out.push_str(REDACTED);
            out.push('"');
        } else {
            out.push_str(part);
        }
    }
    out
}

/// The message with its secrets replaced by `[redacted]`: the digest `response` of
/// Authorization and Proxy-Authorization, headers named like a password, secret or token, and
/// in SDP the SRTP keys (`a=crypto … inline:`) and `k=` lines.
pub fn redact(msg: &str) -> String {
    let (head, body) = msg.split_once("\r\n\r\n").unwrap_or((msg, ""));
    let mut lines: Vec<String> = Vec::new();
    for (i, line) in head.split("\r\n").enumerate() {
        let redacted = match line.split_once(':') {
            Some((name, value)) if i > 0 => {
                let n = name.trim();
                if n.eq_ignore_ascii_case("authorization")
                    || n.eq_ignore_ascii_case("proxy-authorization")
                {
                    format!("{name}:{}", redact_param(value, "response"))
                } else if secret_header(n) {
                    format!("{name}: {REDACTED}")
                } else {
                    line.to_owned()
                }
            }
            _ => line.to_owned(),
        };
        lines.push(redacted);
    }
    let body: Vec<String> = body
        .split("\r\n")
        .map(|l| {
            if let Some(at) = l.find("inline:").filter(|_| l.starts_with("a=crypto:")) {
                format!("{}inline:{REDACTED}", &l[..at])
            } else if l.starts_with("k=") {
                format!("k={REDACTED}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    if msg.contains("\r\n\r\n") {
        format!("{}\r\n\r\n{}", lines.join("\r\n"), body.join("\r\n"))
    } else {
        lines.join("\r\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:+11000@contoso.sbc.example.net SIP/2.0\r\n\
        Via: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1\r\n\
        i: abc@10.0.0.5\r\n\
        CSeq: 2 INVITE\r\n\
        Proxy-Authorization: Digest username=\"1000tm\", realm=\"pbx\", nonce=\"n1\", uri=\"sip:1001@pbx\", response=\"0123456789abcdef\", algorithm=MD5\r\n\
        X-Api-Token: abc123\r\n\
        Content-Type: application/sdp\r\n\
        \r\n\
        v=0\r\n\
        k=clear:hunter2\r\n\
        m=audio 4000 RTP/SAVP 0\r\n\
        a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31\r\n";

    #[test]
    fn first_line_call_id_and_cseq_are_read() {
        let s = summarize(INVITE).unwrap();
        assert_eq!(
            (
                s.label.as_str(),
                s.call_id.as_str(),
                s.method(),
                s.is_request
            ),
            ("INVITE", "abc@10.0.0.5", "INVITE", true)
        );
        let reply = "SIP/2.0 180 Ringing\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n";
        let s = summarize(reply).unwrap();
        assert_eq!((s.label.as_str(), s.is_request), ("180 Ringing", false));
        assert_eq!(summarize("hello world"), None);
        assert_eq!(summarize("SIP/2.0 200 OK\r\nCSeq: 1 BYE\r\n\r\n"), None);
    }

    #[test]
    fn digests_keys_and_secret_headers_are_redacted() {
        let r = redact(INVITE);
        for secret in ["0123456789abcdef", "abc123", "hunter2", "WVNfX19zZW1j"] {
            assert!(!r.contains(secret), "{secret} left in {r}");
        }
        assert!(r.contains("username=\"1000tm\""), "{r}");
        assert!(r.contains("response=\"[redacted]\""), "{r}");
        assert!(
            r.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[redacted]"),
            "{r}"
        );
        assert!(r.contains("m=audio 4000 RTP/SAVP 0"), "{r}");
        // The rest is untouched.
        assert_eq!(
            redact("BYE sip:x SIP/2.0\r\nCall-ID: y\r\n\r\n"),
            "BYE sip:x SIP/2.0\r\nCall-ID: y\r\n\r\n"
        );
    }
}
