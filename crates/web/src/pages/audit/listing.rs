//! What the enterprise's and the reseller's audit logs share: the filter form's choices and
//! one keyset-paged page of events with the links around it. Each log asks its own store
//! query and draws its own rows; the form and the pager are the templates
//! `audit_filters.html` and `audit_pager.html`.

use super::{PAGE, View, action_label};
use teamline_domain::audit::AuditEvent;
use teamline_store::{AuditCursor, AuditFacets};

/// One choice of a filter's `<select>`.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The filter that narrows the log to part of what it covers.
pub enum Scope {
    /// An enterprise's log: by PBX user (name, UPN, extension or number).
    User,
    /// A reseller's log: by one of its enterprises.
    Enterprise(Vec<Choice>),
}

/// The filter form's choices besides the view's own values.
pub struct Filters {
    pub scope: Scope,
    pub actors: Vec<Choice>,
    pub actions: Vec<Choice>,
}

impl Filters {
    /// The Who and Action choices from what appears in the log, actions by their labels.
    pub fn new(view: &View, facets: &AuditFacets, scope: Scope) -> Self {
        let actors = facets
            .actors
            .iter()
            .map(|a| Choice {
                value: a.encode(),
                label: a.to_string(),
                selected: a.encode() == view.actor,
            })
            .collect();
        let mut actions: Vec<Choice> = facets
            .actions
            .iter()
            .map(|a| Choice {
                value: a.clone(),
                label: action_label(a),
                selected: *a == view.action,
            })
            .collect();
        actions.sort_by(|a, b| a.label.cmp(&b.label));
        Self {
            scope,
            actors,
            actions,
        }
    }
}

/// The links from one page to the newest, the newer and the older events.
pub struct Pager {
    pub first: Option<String>,
    pub newer: Option<String>,
    pub older: Option<String>,
}

/// The events one page shows out of the `PAGE + 1` a query of `view` fetched (one more than
/// shown, to know whether there is a page beyond), and the links around them.
pub fn page_of(view: &View, mut events: Vec<AuditEvent>) -> (Vec<AuditEvent>, Pager) {
    let more = events.len() > PAGE as usize;
    let (mut has_newer, mut has_older) = (false, more);
    match view.cursor {
        Some(AuditCursor::Newer { .. }) => {
            if more {
                events.remove(0);
            }
            (has_newer, has_older) = (more, true);
        }
        Some(AuditCursor::Older { .. }) => {
            events.truncate(PAGE as usize);
            has_newer = true;
        }
        None => events.truncate(PAGE as usize),
    }
    let pager = Pager {
        first: view.cursor.is_some().then(|| view.first_href()),
        newer: events
            .first()
            .filter(|_| has_newer)
            .map(|ev| view.newer_href(ev.at_ms, ev.id.0)),
        older: events
            .last()
            .filter(|_| has_older)
            .map(|ev| view.older_href(ev.at_ms, ev.id.0)),
    };
    (events, pager)
}
