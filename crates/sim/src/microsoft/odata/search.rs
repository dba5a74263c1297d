//! `$search` on directory objects, as Graph answers it with `ConsistencyLevel: eventual`:
//! clauses `"property:words"` joined by `OR` (or `AND`); a clause matches when every word of it
//! is the start of a word of the property (Graph tokenizes values on spaces and punctuation),
//! case-insensitively.

/// A parsed `$search`: alternatives (OR) of conjunctions (AND) of `(property, words)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Search {
    any_of: Vec<Vec<(String, Vec<String>)>>,
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Parses `raw`; `searchable` names the properties that may be searched. The error is
/// Graph's message.
pub(crate) fn parse_search(raw: &str, searchable: &[&str]) -> Result<Search, String> {
    let mut any_of = Vec::new();
    for alternative in raw.split(" OR ") {
        let mut all_of = Vec::new();
        for clause in alternative.split(" AND ") {
            let clause = clause.trim();
            let inner = clause
                .strip_prefix('"')
                .and_then(|c| c.strip_suffix('"'))
                .ok_or_else(|| format!("Syntax error: the search clause {clause} is not quoted"))?;
            let (property, term) = inner
                .split_once(':')
                .ok_or_else(|| format!("Syntax error: {inner} names no property"))?;
            if !searchable.iter().any(|p| p.eq_ignore_ascii_case(property)) {
                return Err(format!(
                    "Unsupported or invalid query search clause specified for property '{property}'."
                ));
            }
            all_of.push((property.to_owned(), words(term)));
        }
        any_of.push(all_of);
    }
    Ok(Search { any_of })
}

impl Search {
    /// Whether the object matches; `value` gives a property's value.
    pub(crate) fn matches<'a>(&self, value: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.any_of.iter().any(|all_of| {
            all_of.iter().all(|(property, term)| {
                let have = words(value(property).unwrap_or_default());
                !term.is_empty() && term.iter().all(|t| have.iter().any(|w| w.starts_with(t)))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROPS: [&str; 3] = ["displayName", "mail", "userPrincipalName"];

    fn christie(p: &str) -> Option<&'static str> {
        match p {
            "displayName" => Some("Christie Cline"),
            "mail" | "userPrincipalName" => Some("ChristieC@contoso.example"),
            _ => None,
        }
    }

    #[test]
    fn any_word_of_the_name_matches() {
        for q in [
            r#""displayName:Cline""#,
            r#""displayName:chri""#,
            r#""displayName:Cline Chris""#,
            r#""displayName:nobody" OR "mail:contoso""#,
        ] {
            let s = parse_search(q, &PROPS).unwrap();
            assert!(s.matches(christie), "{q}");
        }
        for q in [r#""displayName:line""#, r#""displayName:Cline Adele""#] {
            assert!(!parse_search(q, &PROPS).unwrap().matches(christie), "{q}");
        }
    }

    #[test]
    fn unquoted_or_unknown_clauses_are_refused() {
        assert!(parse_search("displayName:Cline", &PROPS).is_err());
        assert!(parse_search(r#""jobTitle:boss""#, &PROPS).is_err());
    }
}
