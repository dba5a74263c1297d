//! Bencode, the encoding of rtpengine's ng control protocol, to and from `serde_json::Value`
//! (byte strings become JSON strings, lossily when they are not UTF-8).

use serde_json::{Map, Value};

pub fn encode(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.extend_from_slice(b"0:"),
        Value::Bool(b) => encode_str(if *b { "yes" } else { "no" }, out),
        Value::Number(n) => {
            out.push(b'i');
            out.extend_from_slice(n.to_string().as_bytes());
            out.push(b'e');
        }
        Value::String(s) => encode_str(s, out),
        Value::Array(items) => {
            out.push(b'l');
            for i in items {
                encode(i, out);
            }
            out.push(b'e');
        }
        Value::Object(map) => {
            out.push(b'd');
            // Bencode dictionaries are sorted by key.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for k in keys {
                encode_str(k, out);
                encode(&map[k], out);
            }
            out.push(b'e');
        }
    }
}

fn encode_str(s: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(s.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(s.as_bytes());
}

/// Decodes one value from the start of `input`; returns it and the rest.
pub fn decode(input: &[u8]) -> Option<(Value, &[u8])> {
    let (&first, rest) = input.split_first()?;
    match first {
        b'i' => {
            let end = rest.iter().position(|&b| b == b'e')?;
            let n: i64 = std::str::from_utf8(&rest[..end]).ok()?.parse().ok()?;
            Some((Value::from(n), &rest[end + 1..]))
        }
        b'l' => {
            let mut items = Vec::new();
            let mut rest = rest;
            loop {
                if let Some(r) = rest.strip_prefix(b"e") {
                    return Some((Value::Array(items), r));
                }
                let (v, r) = decode(rest)?;
                items.push(v);
                rest = r;
            }
        }
        b'd' => {
            let mut map = Map::new();
            let mut rest = rest;
            loop {
                if let Some(r) = rest.strip_prefix(b"e") {
                    return Some((Value::Object(map), r));
                }
                let (k, r) = decode(rest)?;
                let (v, r) = decode(r)?;
                let Value::String(k) = k else { return None };
                map.insert(k, v);
                rest = r;
            }
        }
        b'0'..=b'9' => {
            let colon = input.iter().position(|&b| b == b':')?;
            let len: usize = std::str::from_utf8(&input[..colon]).ok()?.parse().ok()?;
            let start = colon + 1;
            let bytes = input.get(start..start.checked_add(len)?)?;
            Some((
                Value::String(String::from_utf8_lossy(bytes).into_owned()),
                &input[start + len..],
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_what_rtpengine_sends() {
        let v = json!({"command": "query", "call-id": "abc@host", "n": 3, "l": ["a", {"x": 1}]});
        let mut out = Vec::new();
        encode(&v, &mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "d7:call-id8:abc@host7:command5:query1:ll1:ad1:xi1eee1:ni3ee"
        );
        let (back, rest) = decode(&out).unwrap();
        assert!(rest.is_empty());
        assert_eq!(back, v);
    }

    #[test]
    fn truncated_input_is_refused() {
        assert!(decode(b"d3:abc").is_none());
        assert!(decode(b"5:ab").is_none());
        assert!(decode(b"i12").is_none());
    }
}
