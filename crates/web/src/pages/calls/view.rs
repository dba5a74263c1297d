//! The Calls page's filters and position, read from the query string, turned into the store's
//! filter and back into links (Older/Newest and the CSV export keep the filters).

use crate::pages::audit::view::{day, midnight_ms, time_zone, trimmed};
use serde::Deserialize;
use teamline_store::{CallCursor, CallFilter};

/// The Calls page's query string.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct CallParams {
    /// Part of a number, a device handle, or a Teams user's name or UPN.
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub result: Option<String>,
    /// First day, `YYYY-MM-DD`, in the admin's time zone.
    #[serde(default)]
    pub from: Option<String>,
    /// Last day (included).
    #[serde(default)]
    pub to: Option<String>,
    /// The admin's time zone as minutes east of UTC (filled in by the page's script).
    #[serde(default)]
    pub tz: Option<String>,
    /// `started_ms.call_id` of the call the page continues after.
    #[serde(default)]
    pub after: Option<String>,
}

/// One view of the Calls page, every filter as its query value ("" when not chosen).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct View {
    pub q: String,
    pub direction: String,
    pub result: String,
    pub from: String,
    pub to: String,
    pub tz: i32,
    pub after: Option<CallCursor>,
    /// What was typed but cannot be used, for the page to say.
    pub problems: Vec<String>,
}

fn cursor(s: &Option<String>) -> Option<CallCursor> {
    // A Call-ID may hold dots; the time before the first one does not.
    let (at, id) = s.as_deref()?.split_once('.')?;
    Some(CallCursor {
        started_ms: at.parse().ok()?,
        call_id: id.to_owned(),
    })
}

impl View {
    pub fn of(p: &CallParams) -> Self {
        let mut problems = Vec::new();
        let mut date = |label: &str, value: String| {
            if value.is_empty() || day(&value).is_some() {
                value
            } else {
                problems.push(format!(
                    "{label}: \u{201c}{value}\u{201d} is not a date; enter it as 2026-11-27."
                ));
                String::new()
            }
        };
        let from = date("From", trimmed(&p.from));
        let to = date("To", trimmed(&p.to));
        let known = |v: String, allowed: &[&str]| {
            if allowed.contains(&v.as_str()) {
                v
            } else {
                String::new()
            }
        };
        let results: Vec<&str> = teamline_domain::call::RESULTS
            .iter()
            .map(|(r, _)| *r)
            .collect();
        Self {
            q: trimmed(&p.q),
            direction: known(trimmed(&p.direction), &["to_teams", "to_pbx"]),
            result: known(trimmed(&p.result), &results),
            from,
            to,
            tz: time_zone(&p.tz),
            after: cursor(&p.after),
            problems,
        }
    }

    /// Whether any filter is set (the page then offers to clear them).
    pub fn filtered(&self) -> bool {
        !(self.q.is_empty()
            && self.direction.is_empty()
            && self.result.is_empty()
            && self.from.is_empty()
            && self.to.is_empty())
    }

    /// The store's filter for `limit` calls.
    pub fn filter(&self, limit: u32) -> CallFilter {
        let some = |s: &String| Some(s.clone()).filter(|s| !s.is_empty());
        CallFilter {
            direction: some(&self.direction),
            result: some(&self.result),
            search: some(&self.q),
            since_ms: day(&self.from).map(|d| midnight_ms(self.tz, d)),
            until_ms: day(&self.to)
                .and_then(|d| d.next_day())
                .map(|d| midnight_ms(self.tz, d)),
            after: self.after.clone(),
            limit,
        }
    }

    fn link(&self, path: &str, extra: Option<(&'static str, String)>) -> String {
        let pairs: Vec<(&str, String)> = [
            ("q", &self.q),
            ("direction", &self.direction),
            ("result", &self.result),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, v.clone()))
        .chain(
            (self.tz != 0 && !(self.from.is_empty() && self.to.is_empty()))
                .then(|| ("tz", self.tz.to_string())),
        )
        .chain(extra)
        .collect();
        if pairs.is_empty() {
            return path.to_owned();
        }
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }

    /// The newest calls of this view.
    pub fn first_href(&self) -> String {
        self.link("/calls", None)
    }

    /// The calls after (older than) `call` in this view.
    pub fn older_href(&self, started_ms: i64, call_id: &str) -> String {
        self.link("/calls", Some(("after", format!("{started_ms}.{call_id}"))))
    }

    /// The CSV export of this view (every call it matches).
    pub fn export_href(&self) -> String {
        self.link("/calls/export.csv", None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_round_trip_and_unknown_choices_are_dropped() {
        let v = View::of(&CallParams {
            q: Some(" adele ".into()),
            direction: Some("to_pbx".into()),
            result: Some("exploded".into()),
            from: Some("2026-11-27".into()),
            tz: Some("60".into()),
            after: Some("1000.a.b@10.0.0.1".into()),
            ..Default::default()
        });
        assert_eq!(v.result, "");
        assert_eq!(
            v.after,
            Some(CallCursor {
                started_ms: 1000,
                call_id: "a.b@10.0.0.1".into()
            })
        );
        assert_eq!(
            v.older_href(5, "x@y"),
            "/calls?q=adele&direction=to_pbx&from=2026-11-27&tz=60&after=5.x%40y"
        );
        let f = v.filter(51);
        // 2026-11-27 00:00 at UTC+1 is 23:00 UTC the day before.
        assert_eq!(f.since_ms, Some(1_795_737_600_000 - 3_600_000));
        assert_eq!(f.until_ms, None);
        assert!(
            View::of(&CallParams {
                to: Some("yesterday".into()),
                ..Default::default()
            })
            .problems
            .len()
                == 1
        );
    }
}
