//! The reseller's audit log: what its admins did (also outside any enterprise, e.g. adding an
//! admin) and everything done in its enterprises, by their own admins, by Teamline, or by a
//! reseller admin acting for the enterprise. Filters (words, enterprise, who, action, dates)
//! and keyset paging as in an enterprise's log.

use super::{ResellerAdmin, ResellerLayout, ResellerMenu};
use crate::AppState;
use crate::error::PageError;
use crate::pages::audit::{
    AuditParams, Choice, Filters, PAGE, Pager, Scope, View, action_label, page_of,
};
use crate::routes::{Routes, get};
use crate::views::{ago, iso, timestamp};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use std::collections::HashMap;
use teamline_domain::audit::{Actor, AuditEvent};
use teamline_domain::ids::EnterpriseId;

pub fn routes() -> Routes {
    Routes::new().route("/reseller/audit", get(page))
}

pub struct ResellerEventRow {
    pub at: String,
    pub iso: String,
    pub when: String,
    pub who: String,
    pub enterprise: String,
    pub action: String,
    pub summary: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "reseller/audit.html")]
struct ResellerAuditPage {
    layout: ResellerLayout,
    view: View,
    events: Vec<ResellerEventRow>,
    filters: Filters,
    pager: Pager,
}

/// Who acted, as the reseller reads it: a reseller admin's change inside an enterprise was made
/// for that enterprise (through its management consent).
pub fn acted_for(actor: &Actor, enterprise: Option<&str>) -> String {
    match (actor, enterprise) {
        (Actor::ResellerAdmin(email), Some(e)) => {
            format!("reseller admin {email} for {e}")
        }
        (Actor::ResellerAdmin(email), None) => format!("reseller admin {email}"),
        (other, _) => other.to_string(),
    }
}

fn row(now: i64, e: &AuditEvent, names: &HashMap<EnterpriseId, String>) -> ResellerEventRow {
    let enterprise = e
        .enterprise_id
        .and_then(|id| names.get(&id))
        .map(String::as_str);
    ResellerEventRow {
        at: timestamp(e.at_ms),
        iso: iso(e.at_ms),
        when: ago(now, e.at_ms),
        who: acted_for(&e.actor, enterprise),
        enterprise: enterprise.unwrap_or("—").to_owned(),
        action: action_label(&e.action),
        summary: e.summary.clone(),
    }
}

async fn page(
    State(state): State<AppState>,
    admin: ResellerAdmin,
    Query(params): Query<AuditParams>,
) -> Result<ResellerAuditPage, PageError> {
    let store = state.store.as_ref();
    let reseller = admin.reseller.id;
    let now = store.clock().now_ms();
    let mut view = View::of(&params);
    view.base = "/reseller/audit";
    let own = store.list_enterprises(Some(reseller)).await?;
    let names: HashMap<EnterpriseId, String> = own
        .iter()
        .map(|e| (e.id, e.name.as_str().to_owned()))
        .collect();
    // An id that is not one of the reseller's matches nothing (the store checks it too).
    let enterprise = match view.enterprise.parse::<i64>().ok() {
        Some(id) => Some(EnterpriseId(id)),
        None if view.enterprise.is_empty() => None,
        None => Some(EnterpriseId(0)),
    };
    let fetched = store
        .search_reseller_audit(reseller, enterprise, &view.query(PAGE + 1, None))
        .await?;
    let (events, pager) = page_of(&view, fetched);
    let mut enterprises: Vec<Choice> = own
        .iter()
        .map(|e| Choice {
            value: e.id.0.to_string(),
            label: e.name.as_str().to_owned(),
            selected: e.id.0.to_string() == view.enterprise,
        })
        .collect();
    enterprises.sort_by(|a, b| a.label.cmp(&b.label));
    let facets = store.reseller_audit_facets(reseller).await?;
    let filters = Filters::new(&view, &facets, Scope::Enterprise(enterprises));
    Ok(ResellerAuditPage {
        layout: admin.layout(ResellerMenu::Audit),
        events: events.iter().map(|ev| row(now, ev, &names)).collect(),
        view,
        filters,
        pager,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reseller_admin_inside_an_enterprise_acted_for_it() {
        let ann = Actor::ResellerAdmin("ann@northwind.example".into());
        assert_eq!(
            acted_for(&ann, Some("Fabrikam")),
            "reseller admin ann@northwind.example for Fabrikam"
        );
        assert_eq!(
            acted_for(&ann, None),
            "reseller admin ann@northwind.example"
        );
        let job = Actor::Job("push_teams".into());
        assert_eq!(acted_for(&job, Some("Fabrikam")), "Teamline (push_teams)");
    }
}
