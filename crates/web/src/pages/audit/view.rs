//! The Audit log's filters and position, read from the query string, turned into the store's
//! query and back into links (Newer/Older and the CSV export keep the filters).

use serde::Deserialize;
use teamline_domain::audit::Actor;
use teamline_domain::ids::AuditEventId;
use teamline_store::{AuditCursor, AuditQuery};
use time::macros::format_description;
use time::{Date, Duration, PrimitiveDateTime, Time};

/// The Audit log's query string.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct AuditParams {
    /// Words in the summary or the actor.
    #[serde(default)]
    pub q: Option<String>,
    /// A PBX user's name, UPN, extension or number.
    #[serde(default)]
    pub user: Option<String>,
    /// An actor as stored (`enterprise_admin:admin@contoso.example`).
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    /// First day, `YYYY-MM-DD`, in the admin's time zone.
    #[serde(default)]
    pub from: Option<String>,
    /// Last day (included).
    #[serde(default)]
    pub to: Option<String>,
    /// The admin's time zone as minutes east of UTC (the page's script fills it in; UTC
    /// without it).
    #[serde(default)]
    pub tz: Option<String>,
    /// `at_ms.id` of the event the page continues after (older) or before (newer).
    #[serde(default)]
    pub older: Option<String>,
    #[serde(default)]
    pub newer: Option<String>,
    /// The Reseller portal's log: one of the reseller's enterprises, by id.
    #[serde(default)]
    pub enterprise: Option<String>,
}

/// One view of the Audit log, every filter as its query value ("" when not chosen).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct View {
    pub q: String,
    pub user: String,
    pub actor: String,
    pub action: String,
    pub from: String,
    pub to: String,
    /// Minutes east of UTC.
    pub tz: i32,
    pub cursor: Option<AuditCursor>,
    /// What was typed but cannot be used, for the page to say.
    pub problems: Vec<String>,
    /// The Reseller portal's enterprise filter (an id, or empty for all).
    pub enterprise: String,
    /// The page the links lead to (`/audit`, or the Reseller portal's `/reseller/audit`).
    pub base: &'static str,
}

pub(crate) fn trimmed(s: &Option<String>) -> String {
    s.as_deref().unwrap_or_default().trim().to_owned()
}

fn cursor(s: &Option<String>) -> Option<(i64, AuditEventId)> {
    let (at, id) = s.as_deref()?.split_once('.')?;
    Some((at.parse().ok()?, AuditEventId(id.parse().ok()?)))
}

/// A day as the portal's date fields send it (`2026-11-27`).
pub(crate) fn day(s: &str) -> Option<Date> {
    Date::parse(s, format_description!("[year]-[month]-[day]")).ok()
}

/// The admin's time zone from the page's `tz` field (minutes east of UTC; UTC when missing
/// or impossible: time zones lie between UTC−12 and UTC+14).
pub(crate) fn time_zone(s: &Option<String>) -> i32 {
    trimmed(s)
        .parse::<i32>()
        .ok()
        .filter(|m| (-12 * 60..=14 * 60).contains(m))
        .unwrap_or(0)
}

/// The instant the day `date` starts in the time zone `tz` (minutes east of UTC).
pub(crate) fn midnight_ms(tz: i32, date: Date) -> i64 {
    let utc = PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc();
    (utc - Duration::minutes(i64::from(tz))).unix_timestamp() * 1000
}

impl View {
    pub fn of(p: &AuditParams) -> Self {
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
        let tz = time_zone(&p.tz);
        let cursor = match (cursor(&p.older), cursor(&p.newer)) {
            (Some((at_ms, id)), _) => Some(AuditCursor::Older { at_ms, id }),
            (None, Some((at_ms, id))) => Some(AuditCursor::Newer { at_ms, id }),
            _ => None,
        };
        Self {
            q: trimmed(&p.q),
            user: trimmed(&p.user),
            actor: trimmed(&p.actor),
            action: trimmed(&p.action),
            from,
            to,
            tz,
            cursor,
            problems,
            enterprise: trimmed(&p.enterprise),
            base: "/audit",
        }
    }

    /// The instant the admin's day `date` starts.
    fn midnight_ms(&self, date: Date) -> i64 {
        midnight_ms(self.tz, date)
    }

    /// Whether any filter is set (the page then offers to clear them).
    pub fn filtered(&self) -> bool {
        !(self.q.is_empty()
            && self.user.is_empty()
            && self.actor.is_empty()
            && self.action.is_empty()
            && self.from.is_empty()
            && self.to.is_empty()
            && self.enterprise.is_empty())
    }

    /// The store's query for `limit` events; `objects` are the PBX users the User filter
    /// matched.
    pub fn query(&self, limit: u32, objects: Option<Vec<String>>) -> AuditQuery {
        AuditQuery {
            text: Some(self.q.clone()).filter(|s| !s.is_empty()),
            actor: Some(&self.actor)
                .filter(|s| !s.is_empty())
                .map(|a| Actor::decode(a)),
            action: Some(self.action.clone()).filter(|s| !s.is_empty()),
            objects: objects.map(|ids| ("pbx_user".to_owned(), ids)),
            from_ms: day(&self.from).map(|d| self.midnight_ms(d)),
            until_ms: day(&self.to)
                .and_then(|d| d.next_day())
                .map(|d| self.midnight_ms(d)),
            cursor: self.cursor,
            limit,
        }
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("q", &self.q),
            ("user", &self.user),
            ("actor", &self.actor),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
            ("enterprise", &self.enterprise),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, v.clone()))
        .chain(
            (self.tz != 0 && !(self.from.is_empty() && self.to.is_empty()))
                .then(|| ("tz", self.tz.to_string())),
        )
        .collect()
    }

    fn link(&self, path: &str, extra: Option<(&'static str, String)>) -> String {
        let pairs: Vec<_> = self.pairs().into_iter().chain(extra).collect();
        if pairs.is_empty() {
            return path.to_owned();
        }
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }

    /// The newest events of this view.
    pub fn first_href(&self) -> String {
        self.link(self.base, None)
    }

    /// The events older than the event at `at_ms`, `id`.
    pub fn older_href(&self, at_ms: i64, id: i64) -> String {
        self.link(self.base, Some(("older", format!("{at_ms}.{id}"))))
    }

    pub fn newer_href(&self, at_ms: i64, id: i64) -> String {
        self.link(self.base, Some(("newer", format!("{at_ms}.{id}"))))
    }

    /// The CSV export of this view (every event it matches).
    pub fn export_href(&self) -> String {
        self.link("/audit/export.csv", None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_round_trip_and_days_follow_the_admins_time_zone() {
        let p = AuditParams {
            q: Some(" Adele ".into()),
            action: Some("pbx_user.update".into()),
            from: Some("2026-11-27".into()),
            to: Some("2026-11-27".into()),
            tz: Some("-300".into()),
            older: Some("1000.7".into()),
            ..Default::default()
        };
        let v = View::of(&p);
        assert_eq!(
            v.older_href(5, 3),
            "/audit?q=Adele&action=pbx_user.update&from=2026-11-27&to=2026-11-27&tz=-300&older=5.3"
        );
        assert_eq!(
            v.export_href(),
            "/audit/export.csv?q=Adele&action=pbx_user.update&from=2026-11-27&to=2026-11-27&tz=-300"
        );
        let q = v.query(50, None);
        // 2026-11-27 00:00 at UTC−5 is 05:00 UTC; the day ends 24 hours later.
        assert_eq!(q.from_ms, Some(1_795_755_600_000));
        assert_eq!(q.until_ms, Some(1_795_755_600_000 + 86_400_000));
        assert_eq!(
            q.cursor,
            Some(AuditCursor::Older {
                at_ms: 1000,
                id: AuditEventId(7)
            })
        );
        let odd = View::of(&AuditParams {
            from: Some("27/11/2026".into()),
            tz: Some("99999".into()),
            ..Default::default()
        });
        assert_eq!(odd.problems.len(), 1);
        assert_eq!((odd.first_href(), odd.tz), ("/audit".to_owned(), 0));
    }
}
