//! The slice of OData that Microsoft Graph clients use: query options (`$select`, `$filter`,
//! `$top`, `$count`, `$skiptoken`, ...), a `$filter` parser/evaluator for the operators a
//! connector needs (`eq`, `ne`, `startswith`, `endswith`, `in`, `and`, `or`, `not`, `any`), and
//! opaque paging tokens.//!
//! Query options and paging tokens live here; the `$filter` language in `filter`.

mod filter;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

pub(crate) use self::filter::{
    Expr, FilterError, Filterable, Lit, Operand, eval, parse_filter, validate,
};

/// Parsed query options of a Graph request.
#[derive(Debug, Default, Clone)]
pub(crate) struct Query {
    /// All pairs as received (decoded), in order.
    pub pairs: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Self { pairs }
    }

    /// A query option, with or without its `$` prefix (Graph v1.0 accepts both).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        let bare = name.trim_start_matches('$');
        self.pairs
            .iter()
            .find(|(k, _)| k.trim_start_matches('$').eq_ignore_ascii_case(bare))
            .map(|(_, v)| v.as_str())
    }

    /// `$select` as a list of property names (empty when absent).
    pub(crate) fn select(&self) -> Vec<String> {
        self.get("$select")
            .map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn count(&self) -> bool {
        self.get("$count")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The query string without the given options (re-encoded), for building next links.
    pub(crate) fn without(&self, names: &[&str]) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .filter(|(k, _)| {
                !names.iter().any(|n| {
                    k.trim_start_matches('$')
                        .eq_ignore_ascii_case(n.trim_start_matches('$'))
                })
            })
            .cloned()
            .collect()
    }
}

/// Encodes query pairs (keeping `$` unescaped, as Graph's own links do).
pub(crate) fn encode_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let k: String = url::form_urlencoded::byte_serialize(k.as_bytes()).collect();
            let v: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
            format!("{}={}", k.replace("%24", "$"), v.replace('+', "%20"))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Encodes a paging/delta state as an opaque token.
pub(crate) fn encode_token(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// Decodes a token made by [`encode_token`].
pub(crate) fn decode_token(token: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_rejected() {
        let v = json!({"o": 999});
        assert_eq!(decode_token(&encode_token(&v)), Some(v));
        assert_eq!(decode_token("not-a-token!"), None);
    }
}
