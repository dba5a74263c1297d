//! What the Users page shows: the tab, search, state and voice route filters and the sort
//! order, read from the query string, turned into the store's query and back into links
//! (paging, tabs, column headers, CSV export keep each other's choices); the CSV export of the
//! current view and the bulk Enable/Disable Calling of selected rows.

use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::routes::{Routes, get, post};
use axum::Form;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use teamline_domain::ids::{PbxUserId, VoiceRouteId};
use teamline_store::{PbxUserQuery, UserCursor, UserFilter, UserSort, UserTab};

pub fn routes() -> Routes {
    Routes::new()
        .route("/users/export.csv", get(export_csv))
        .route("/users/bulk", post(bulk))
}

/// The most rows one CSV export holds.
const MAX_EXPORT: u32 = 100_000;

/// The Users page's query string.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    pub tab: Option<String>,
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub page: Option<u32>,
    /// A filter by where calling stands: `failed`, `pending`, `calling-off`, `drift`.
    #[serde(default)]
    pub state: Option<String>,
    /// A voice route's id.
    #[serde(default)]
    pub route: Option<String>,
    /// `name`, `extension`, `number`, `route`, `calling`.
    #[serde(default)]
    pub sort: Option<String>,
    /// `desc` for descending.
    #[serde(default)]
    pub dir: Option<String>,
    /// Keyset paging: the page starts after this user (the next-page link)…
    #[serde(default)]
    pub after: Option<i64>,
    /// …or ends before this one (the previous-page link). `page` then only numbers the rows.
    #[serde(default)]
    pub before: Option<i64>,
}

/// The Users page's filters by state: the query value and its label.
pub const FILTERS: [(&str, &str); 4] = [
    ("failed", "Failed"),
    ("pending", "Pending"),
    ("calling-off", "Calling off"),
    ("drift", "Changed in Teams"),
];

/// The sortable columns: the query value and the store's order.
const SORTS: [(&str, UserSort); 5] = [
    ("name", UserSort::Name),
    ("extension", UserSort::Extension),
    ("number", UserSort::Number),
    ("route", UserSort::VoiceRoute),
    ("calling", UserSort::Calling),
];

/// One view of the Users page, every choice as its query value ("" when not chosen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub tab: &'static str,
    pub q: String,
    pub state: &'static str,
    pub route: String,
    pub sort: &'static str,
    pub desc: bool,
    pub page: u32,
    /// Where the page starts (keyset paging); without it the page is found by its number.
    pub cursor: Option<UserCursor>,
}

impl View {
    pub fn of(query: &ListQuery) -> Self {
        let tab = match query.tab.as_deref() {
            Some("disabled") => "disabled",
            Some("deleted") => "deleted",
            _ => "licensed",
        };
        let state = FILTERS
            .iter()
            .find(|(k, _)| Some(*k) == query.state.as_deref())
            .map_or("", |(k, _)| k);
        let sort = SORTS
            .iter()
            .find(|(k, _)| Some(*k) == query.sort.as_deref())
            .map_or("name", |(k, _)| k);
        let route = query
            .route
            .as_deref()
            .map(str::trim)
            .filter(|r| r.parse::<i64>().is_ok())
            .unwrap_or_default()
            .to_owned();
        Self {
            tab,
            q: query.q.as_deref().unwrap_or_default().trim().to_owned(),
            state,
            route,
            sort,
            desc: query.dir.as_deref() == Some("desc"),
            page: query.page.unwrap_or(1).max(1),
            cursor: match (query.after, query.before) {
                (Some(id), _) => Some(UserCursor::After(PbxUserId(id))),
                (None, Some(id)) => Some(UserCursor::Before(PbxUserId(id))),
                (None, None) => None,
            },
        }
    }

    pub fn tab(&self) -> UserTab {
        match self.tab {
            "disabled" => UserTab::Disabled,
            "deleted" => UserTab::Deleted,
            _ => UserTab::Licensed,
        }
    }

    /// The store's query for `limit` rows from `offset` (counted from the cursor if any).
    pub fn query(&self, limit: u32, offset: u32) -> PbxUserQuery {
        PbxUserQuery {
            tab: self.tab(),
            search: Some(self.q.clone()).filter(|s| !s.is_empty()),
            filter: match self.state {
                "failed" => Some(UserFilter::Failed),
                "pending" => Some(UserFilter::Pending),
                "calling-off" => Some(UserFilter::CallingOff),
                "drift" => Some(UserFilter::Drift),
                _ => None,
            },
            voice_route: self.route.parse().ok().map(VoiceRouteId),
            sort: SORTS
                .iter()
                .find(|(k, _)| *k == self.sort)
                .map_or(UserSort::Name, |(_, s)| *s),
            descending: self.desc,
            limit,
            offset,
            cursor: self.cursor,
        }
    }

    fn pairs(&self, page: u32, cursor: Option<UserCursor>) -> Vec<(&'static str, String)> {
        let mut pairs = vec![("tab", self.tab.to_owned())];
        if !self.q.is_empty() {
            pairs.push(("q", self.q.clone()));
        }
        if !self.state.is_empty() {
            pairs.push(("state", self.state.to_owned()));
        }
        if !self.route.is_empty() {
            pairs.push(("route", self.route.clone()));
        }
        if self.sort != "name" || self.desc {
            pairs.push(("sort", self.sort.to_owned()));
        }
        if self.desc {
            pairs.push(("dir", "desc".to_owned()));
        }
        if page > 1 {
            pairs.push(("page", page.to_string()));
            match cursor {
                Some(UserCursor::After(id)) => pairs.push(("after", id.to_string())),
                Some(UserCursor::Before(id)) => pairs.push(("before", id.to_string())),
                None => {}
            }
        }
        pairs
    }

    fn link(&self, page: u32, cursor: Option<UserCursor>) -> String {
        format!(
            "/users?{}",
            serde_urlencoded::to_string(self.pairs(page, cursor)).unwrap_or_default()
        )
    }

    /// The link to `page` of this view, found by its number.
    pub fn href(&self, page: u32) -> String {
        self.link(page, None)
    }

    /// The next page: the rows after `last`, the last row shown.
    pub fn next_href(&self, last: PbxUserId) -> String {
        self.link(self.page + 1, Some(UserCursor::After(last)))
    }

    /// The previous page: the rows before `first`, the first row shown.
    pub fn prev_href(&self, first: PbxUserId) -> String {
        self.link(self.page.saturating_sub(1), Some(UserCursor::Before(first)))
    }

    /// The link to this very page.
    pub fn current_href(&self) -> String {
        self.link(self.page, self.cursor)
    }

    /// The CSV export of this view (every page).
    pub fn export_href(&self) -> String {
        format!(
            "/users/export.csv?{}",
            serde_urlencoded::to_string(self.pairs(1, None)).unwrap_or_default()
        )
    }

    pub fn with_tab(&self, tab: &'static str) -> Self {
        Self {
            tab,
            page: 1,
            cursor: None,
            ..self.clone()
        }
    }

    pub fn with_state(&self, state: &'static str) -> Self {
        Self {
            state,
            page: 1,
            cursor: None,
            ..self.clone()
        }
    }

    /// A column header's link: sorts by it, or turns the order round when it is the sort.
    pub fn sorted_by(&self, sort: &'static str) -> Self {
        Self {
            sort,
            desc: self.sort == sort && !self.desc,
            page: 1,
            cursor: None,
            ..self.clone()
        }
    }

    /// `aria-sort` of a column header.
    pub fn aria_sort(&self, sort: &str) -> &'static str {
        match (self.sort == sort, self.desc) {
            (false, _) => "none",
            (true, false) => "ascending",
            (true, true) => "descending",
        }
    }
}

/// A CSV field: quoted when it holds a separator, a quote or a line break; a value a
/// spreadsheet would run as a formula (a leading `=` or `@`, or `+`/`-` before anything but
/// digits, so `+11000` stays a number) is prefixed with `'`.
pub(crate) fn csv_field(s: &str) -> String {
    let signed_number =
        s.len() > 1 && s.starts_with(['+', '-']) && s[1..].chars().all(|c| c.is_ascii_digit());
    let s = if s.starts_with(['=', '+', '-', '@']) && !signed_number {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The current view (all its pages) as CSV.
async fn export_csv(
    State(state): State<AppState>,
    admin: Admin,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let view = View::of(&query);
    let page = state
        .store
        .list_pbx_users(admin.enterprise.id, &view.query(MAX_EXPORT, 0))
        .await?;
    let mut out = String::from(
        "Name,UPN,Extension,Phone number,Voice route,State,Calling,Push state,Last error,Tag\r\n",
    );
    for i in &page.items {
        let u = &i.user;
        let row = [
            i.display_name.as_str(),
            i.upn.as_str(),
            u.spec.sip_user.as_str(),
            &u.spec.phone_number.to_string(),
            i.voice_route_name.as_str(),
            u.state.as_str(),
            if u.calling_enabled { "on" } else { "off" },
            u.push_state.as_str(),
            u.last_error.as_deref().unwrap_or_default(),
            u.spec.tag.as_deref().unwrap_or_default(),
        ]
        .map(csv_field)
        .join(",");
        out.push_str(&row);
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"teamline-users.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

/// Enable or Disable Calling for the selected rows.
async fn bulk(
    State(state): State<AppState>,
    admin: Admin,
    // As pairs: the browser sends one `ids` per ticked row.
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let enabled = match value("action") {
        "enable-calling" => true,
        "disable-calling" => false,
        _ => {
            return Err(PageError::BadRequest(
                "Choose Enable Calling or Disable Calling.".into(),
            ));
        }
    };
    let ids: Vec<PbxUserId> = pairs
        .iter()
        .filter(|(k, _)| k == "ids")
        .filter_map(|(_, i)| i.trim().parse().ok().map(PbxUserId))
        .collect();
    if ids.is_empty() {
        return Err(PageError::BadRequest(
            "Select the users first: tick the box in front of each.".into(),
        ));
    }
    let mut names = Vec::new();
    for id in ids {
        let item = state.store.get_pbx_user(admin.enterprise.id, id).await?;
        state
            .engine
            .set_calling(admin.enterprise.id, &admin.actor(), id, enabled)
            .await?;
        names.push(item.display_name);
    }
    let verb = if enabled { "Enabling" } else { "Disabling" };
    admin
        .flash(format!(
            "{verb} calling for {} user{}: {}.",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        ))
        .await?;
    let back = Some(value("back").to_owned())
        .filter(|b| b.starts_with("/users") && !b.starts_with("//"))
        .unwrap_or_else(|| "/users".to_owned());
    Ok(Redirect::to(&back).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_every_choice() {
        let q = ListQuery {
            tab: Some("licensed".into()),
            q: Some("Adele V".into()),
            state: Some("failed".into()),
            route: Some("2".into()),
            sort: Some("extension".into()),
            dir: Some("desc".into()),
            page: Some(3),
            after: Some(41),
            before: None,
        };
        let v = View::of(&q);
        assert_eq!(
            v.href(3),
            "/users?tab=licensed&q=Adele+V&state=failed&route=2&sort=extension&dir=desc&page=3"
        );
        // Paging links carry the keyset cursor; the first page needs none.
        assert!(v.current_href().ends_with("&page=3&after=41"));
        assert!(v.next_href(PbxUserId(90)).ends_with("&page=4&after=90"));
        assert!(v.prev_href(PbxUserId(50)).ends_with("&page=2&before=50"));
        assert!(!v.sorted_by("number").href(1).contains("after"));
        assert_eq!(
            View::of(&ListQuery::default()).href(1),
            "/users?tab=licensed"
        );
        // A header turns the order round; another column starts ascending.
        assert!(!v.sorted_by("extension").desc && v.sorted_by("extension").page == 1);
        assert_eq!(v.sorted_by("number").aria_sort("number"), "ascending");
        // Nonsense is ignored, not echoed.
        let odd = View::of(&ListQuery {
            state: Some("<x>".into()),
            route: Some("x".into()),
            sort: Some("drop".into()),
            ..Default::default()
        });
        assert_eq!(odd.href(1), "/users?tab=licensed");
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("Vance, Adele"), "\"Vance, Adele\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("+11000"), "+11000");
        assert_eq!(csv_field("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
    }
}
