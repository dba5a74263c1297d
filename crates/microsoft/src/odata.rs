//! Building Graph URLs: OData query options, string literals and path segments, encoded the
//! way Microsoft documents them (spaces as `%20`, `$` and quotes kept readable).

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use url::Url;

/// Characters escaped inside a query value. Kept literal: `$ ' ( ) , / : @ ! *` which OData
/// expressions use and Graph's own `@odata.nextLink`s leave unescaped.
const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'>')
    .add(b'=')
    .add(b'?')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Characters escaped inside one path segment (an object id, a UPN, a domain name).
const PATH_SEGMENT: &AsciiSet = &QUERY_VALUE
    .add(b'/')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b';');

/// `key=value&key=value` with OData-friendly escaping.
pub(crate) fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY_VALUE)))
        .collect::<Vec<_>>()
        .join("&")
}

/// One URL path segment, e.g. a UPN with `#EXT#` in it.
pub(crate) fn segment(s: &str) -> String {
    utf8_percent_encode(s, PATH_SEGMENT).to_string()
}

/// An OData function call as one path segment, e.g.
/// `getPolicyId(type='TenantDialPlan',name='US%20East')`: string arguments as literals,
/// with only what would break the path escaped.
pub(crate) fn function_call(name: &str, args: &[(&str, &str)]) -> String {
    const ARG: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'/')
        .add(b'?')
        .add(b'<')
        .add(b'>')
        .add(b'\\')
        .add(b'`')
        .add(b'{')
        .add(b'}')
        .add(b'|')
        .add(b'^');
    let args: Vec<String> = args
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(&literal(v), ARG)))
        .collect();
    format!("{name}({})", args.join(","))
}

/// An OData string literal: `'O''Brien'`.
pub(crate) fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `base` without its trailing slash, so paths can be appended.
pub(crate) fn trim_base(base: &Url) -> &str {
    base.as_str().trim_end_matches('/')
}

/// Whether `link` may receive Teamline's bearer token: only links on the configured host.
pub(crate) fn same_origin(base: &Url, link: &Url) -> bool {
    base.scheme() == link.scheme()
        && base.host_str() == link.host_str()
        && base.port_or_known_default() == link.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odata_filters_are_encoded_like_graphs_docs() {
        assert_eq!(
            query(&[
                ("$filter", "startswith(displayName,'Adele V')"),
                ("$top", "999")
            ]),
            "$filter=startswith(displayName,'Adele%20V')&$top=999"
        );
        assert_eq!(
            query(&[("$filter", "id eq 'a+b&c'")]),
            "$filter=id%20eq%20'a%2Bb%26c'"
        );
    }

    #[test]
    fn path_segments_and_literals_escape_what_would_break_the_url() {
        assert_eq!(
            segment("adele_fabrikam.com#EXT#@contoso.example"),
            "adele_fabrikam.com%23EXT%23@contoso.example"
        );
        assert_eq!(segment("a/b"), "a%2Fb");
        assert_eq!(literal("O'Brien"), "'O''Brien'");
        assert_eq!(
            function_call(
                "getPolicyId",
                &[("type", "TenantDialPlan"), ("name", "US East/2")]
            ),
            "getPolicyId(type='TenantDialPlan',name='US%20East%2F2')"
        );
    }

    #[test]
    fn only_the_configured_host_is_trusted_with_tokens() {
        let base = Url::parse("https://graph.microsoft.com").unwrap();
        assert!(same_origin(
            &base,
            &Url::parse("https://graph.microsoft.com/v1.0/users?$skiptoken=x").unwrap()
        ));
        assert!(!same_origin(
            &base,
            &Url::parse("https://evil.example/v1.0/users").unwrap()
        ));
        assert!(!same_origin(
            &base,
            &Url::parse("http://graph.microsoft.com/v1.0/users").unwrap()
        ));
    }
}
