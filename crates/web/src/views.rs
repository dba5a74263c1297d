//! What every signed-in page shows around its content: the main menu, who is signed in, and the
//! security token for forms and htmx requests.

/// The main menu's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Menu {
    Dashboard,
    Users,
    Troubleshoot,
    Calls,
    /// The Dashboard's Direct Routing section (never the page's own menu entry).
    DirectRouting,
    Pbx,
    BulkUpload,
    AuditLog,
    ApiTokens,
}

pub struct MenuItem {
    pub label: &'static str,
    /// `None` for entries of later milestones (shown disabled).
    pub href: Option<&'static str>,
    pub current: bool,
}

/// The signed-in layout's data.
pub struct Layout {
    pub enterprise: String,
    pub admin: String,
    pub username: String,
    pub role: String,
    pub csrf: String,
    pub active: Menu,
    /// The banner while a reseller admin acts for the enterprise (management consent).
    pub acting: Option<String>,
}

impl Layout {
    pub fn menu(&self) -> Vec<MenuItem> {
        let item = |label, href, menu| MenuItem {
            label,
            href: Some(href),
            current: self.active == menu,
        };
        vec![
            item("Dashboard", "/dashboard", Menu::Dashboard),
            item("Users", "/users", Menu::Users),
            item("Troubleshoot", "/troubleshoot", Menu::Troubleshoot),
            item("Calls", "/calls", Menu::Calls),
            item(
                "Direct Routing",
                "/dashboard#direct-routing",
                Menu::DirectRouting,
            ),
            item("PBX", "/pbx", Menu::Pbx),
            item("Bulk Upload", "/bulk-upload", Menu::BulkUpload),
            item("Audit log", "/audit", Menu::AuditLog),
            item("API tokens", "/api-tokens", Menu::ApiTokens),
        ]
    }

    pub fn asset_version(&self) -> &'static str {
        crate::assets::VERSION
    }
}

/// "3 minutes ago" style times for lists; exact time in the `title`.
pub fn ago(now_ms: i64, at_ms: i64) -> String {
    let secs = (now_ms - at_ms).max(0) / 1000;
    match secs {
        0..=44 => "just now".to_owned(),
        45..=89 => "a minute ago".to_owned(),
        90..=3599 => format!("{} minutes ago", (secs + 30) / 60),
        3600..=5399 => "an hour ago".to_owned(),
        5400..=86_399 => format!("{} hours ago", (secs + 1800) / 3600),
        86_400..=172_799 => "yesterday".to_owned(),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// The instant as ISO 8601 in UTC, for `<time datetime>`: the page's script shows it in the
/// admin's time zone.
pub fn iso(at_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at_ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// `2026-03-14 09:30 UTC` (what a page shows before its script localizes it).
pub fn timestamp(at_ms: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(at_ms / 1000) else {
        return String::new();
    };
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        let now = 1_000_000_000_000;
        assert_eq!(ago(now, now - 5_000), "just now");
        assert_eq!(ago(now, now - 3 * 60_000), "3 minutes ago");
        assert_eq!(ago(now, now - 5 * 3_600_000), "5 hours ago");
        assert_eq!(ago(now, now - 3 * 86_400_000), "3 days ago");
        assert_eq!(timestamp(0), "1970-01-01 00:00 UTC");
    }
}
