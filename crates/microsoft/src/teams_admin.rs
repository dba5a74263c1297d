//! The Teams admin REST surface's error answers. Microsoft does not document this surface;
//! clients that work against real tenants see Graph's envelope, `{"code","message"}` in several
//! spellings (`Code`, `errorCode`, `Message`, …) or plain text, so all of them are read.

use serde::Deserialize;

use crate::error::ErrorBody;
use crate::graph;
use crate::http::Reply;

/// The looser shapes: `{"code": …, "message": …}` and their spellings.
#[derive(Deserialize)]
struct Loose {
    #[serde(alias = "Code", alias = "errorCode", alias = "ErrorCode", default)]
    code: Option<serde_json::Value>,
    #[serde(
        alias = "Message",
        alias = "errorMessage",
        alias = "ErrorMessage",
        default
    )]
    message: Option<String>,
}

/// Code and message of an error body (empty code when none is given).
fn parse_error(body: &[u8]) -> (String, String) {
    if let Some(err) = graph::parse_envelope(body) {
        return (err.code, err.message);
    }
    if let Ok(loose) = serde_json::from_slice::<Loose>(body)
        && (loose.code.is_some() || loose.message.is_some())
    {
        let code = match loose.code {
            Some(serde_json::Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => String::new(),
        };
        return (code, loose.message.unwrap_or_default());
    }
    let text = String::from_utf8_lossy(body);
    (String::new(), text.trim().chars().take(300).collect())
}

/// Microsoft's `request-id`: the response header, else the one in a Graph-shaped body.
pub(crate) fn request_id(reply: &Reply) -> Option<String> {
    reply
        .header("request-id")
        .map(str::to_owned)
        .or_else(|| graph::parse_envelope(&reply.body).and_then(|e| e.request_id()))
}

/// A failed Teams admin reply as the generic error mapping reads it.
pub(crate) fn read_error(reply: &Reply) -> ErrorBody {
    let (code, message) = parse_error(&reply.body);
    ErrorBody {
        code,
        message,
        request_id: request_id(reply),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_error_shapes_are_understood() {
        assert_eq!(
            parse_error(br#"{"code":40301,"message":"Forbidden"}"#),
            ("40301".to_owned(), "Forbidden".to_owned())
        );
        assert_eq!(
            parse_error(br#"{"Message":"Policy not found"}"#),
            (String::new(), "Policy not found".to_owned())
        );
        assert_eq!(
            parse_error(br#"{"error":{"code":"BadRequest","message":"Invalid identity"}}"#),
            ("BadRequest".to_owned(), "Invalid identity".to_owned())
        );
        assert_eq!(
            parse_error(b"Service down"),
            (String::new(), "Service down".to_owned())
        );
    }
}
