//! Microsoft Graph's wire conventions that every Graph call shares: the OData page and Graph's
//! error envelope `{"error":{"code","message","innerError":{...}}}`, with its nested codes and
//! the `request-id` to quote to Microsoft support.

use serde::Deserialize;

use crate::error::ErrorBody;
use crate::http::Reply;

/// One page of an OData collection. Only `value` and the paging links are read; each item
/// type deserializes just the fields it needs.
#[derive(Deserialize)]
pub(crate) struct Page<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink", default)]
    pub delta_link: Option<String>,
}

/// Graph's error envelope `{"error":{"code","message","innerError":{...}}}`.
#[derive(Deserialize)]
struct Envelope {
    error: GraphError,
}

#[derive(Deserialize, Default)]
pub(crate) struct GraphError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(rename = "innerError", alias = "innererror", default)]
    inner: Option<Box<InnerError>>,
}

#[derive(Deserialize, Default)]
struct InnerError {
    #[serde(default)]
    code: Option<String>,
    #[serde(rename = "request-id", default)]
    request_id: Option<String>,
    #[serde(rename = "innerError", alias = "innererror", default)]
    inner: Option<Box<InnerError>>,
}

impl GraphError {
    /// The top-level code and every nested one, most general first, as Graph's docs ask
    /// clients to check.
    pub fn codes(&self) -> Vec<&str> {
        let mut codes = vec![self.code.as_str()];
        let mut inner = self.inner.as_deref();
        while let Some(i) = inner {
            if let Some(c) = i.code.as_deref() {
                codes.push(c);
            }
            inner = i.inner.as_deref();
        }
        codes
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.codes().iter().any(|c| c.eq_ignore_ascii_case(code))
    }

    pub fn request_id(&self) -> Option<String> {
        let mut inner = self.inner.as_deref();
        while let Some(i) = inner {
            if let Some(id) = &i.request_id {
                return Some(id.clone());
            }
            inner = i.inner.as_deref();
        }
        None
    }

    /// A body that is no envelope (a proxy's page, plain text): its start, as the message.
    fn from_text(body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body);
        GraphError {
            code: String::new(),
            message: text.trim().chars().take(300).collect(),
            inner: None,
        }
    }
}

/// Graph's envelope in `body`, if it is one.
pub(crate) fn parse_envelope(body: &[u8]) -> Option<GraphError> {
    serde_json::from_slice::<Envelope>(body)
        .ok()
        .map(|env| env.error)
}

/// The error in a Graph reply: the envelope, or the text of a body that is none.
pub(crate) fn parse_error(body: &[u8]) -> GraphError {
    parse_envelope(body).unwrap_or_else(|| GraphError::from_text(body))
}

/// Microsoft's `request-id` of a Graph reply: the response header, else the envelope's.
pub(crate) fn request_id(reply: &Reply) -> Option<String> {
    reply
        .header("request-id")
        .map(str::to_owned)
        .or_else(|| parse_error(&reply.body).request_id())
}

/// A failed Graph reply as the generic error mapping reads it.
pub(crate) fn read_error(reply: &Reply) -> ErrorBody {
    let err = parse_error(&reply.body);
    ErrorBody {
        request_id: request_id(reply),
        code: err.code,
        message: err.message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_envelope_with_nested_codes() {
        let body = br#"{"error":{"code":"TooManyRequests","message":"Please retry again later.","innerError":{"code":"429","date":"2020-08-18T12:51:51","request-id":"94fb3b52"}}}"#;
        let e = parse_error(body);
        assert_eq!(e.code, "TooManyRequests");
        assert_eq!(e.codes(), vec!["TooManyRequests", "429"]);
        assert_eq!(e.request_id().as_deref(), Some("94fb3b52"));
    }

    #[test]
    fn a_body_that_is_no_envelope_becomes_the_message() {
        let e = parse_error(b"  Service down\n");
        assert_eq!((e.code.as_str(), e.message.as_str()), ("", "Service down"));
    }
}
