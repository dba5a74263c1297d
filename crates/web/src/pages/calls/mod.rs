//! Calls: the calls through the SIP gateway of this enterprise, newest first, for enterprises
//! whose reseller gave them access to SIP data. Search (number, device handle, Teams user),
//! filters (direction, result, date range), keyset paging, the CSV export of the filtered view,
//! and each call's own page with its steps, final SIP code, media and SIP ladder.

mod ladder;
mod view;

use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::pages::user_list::csv_field;
use crate::routes::{Routes, get};
use crate::views::{Layout, Menu, ago, iso, timestamp};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use teamline_domain::call::{self, RESULTS};
use teamline_domain::enterprise::Enterprise;
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_store::{CallCursor, Store, StoreError, StoredCall};
pub use view::{CallParams, View};

pub fn routes() -> Routes {
    Routes::new()
        .route("/calls", get(page))
        .route("/calls/export.csv", get(export_csv))
        .route("/calls/{call_id}", get(call_page))
}

/// How many calls one page shows.
pub const PAGE: u32 = 50;
/// The most calls one CSV export holds.
const MAX_EXPORT: usize = 100_000;

/// Why the page shows no calls to an enterprise without access to SIP data.
const NO_ACCESS: &str = "Call records and SIP messages are shown only to enterprises whose \
    service provider turned on \u{201c}Access SIP Data\u{201d} for them. Ask your service \
    provider (the reseller that invited you to Teamline) to turn it on in the Reseller portal \
    if you need to see your calls here.";

pub(crate) fn allowed(enterprise: &Enterprise) -> Result<(), PageError> {
    if enterprise.access_sip_data {
        Ok(())
    } else {
        Err(PageError::Forbidden {
            title: "Calls are not shown for this enterprise".into(),
            detail: NO_ACCESS.into(),
        })
    }
}

/// `m:ss`, or `h:mm:ss` for an hour or more.
pub fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Talk time: from the answer to the end.
fn talk_ms(c: &StoredCall) -> Option<i64> {
    Some(c.ended_ms? - c.answered_ms?)
}

/// A Call-ID as one segment of a path (Call-IDs may hold `/`, `?`, `#`, `%`).
fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The call's own page.
pub fn call_href(call_id: &str) -> String {
    format!("/calls/{}", path_segment(call_id))
}

/// The result's style on the page: answered calls plain, failures marked.
fn result_class(result: &str) -> &'static str {
    match result {
        "answered" => "badge badge-ok",
        "in_progress" => "badge badge-info",
        r if call::is_failure(r) => "badge badge-bad",
        _ => "badge badge-warn",
    }
}

pub struct CallRow {
    pub href: String,
    pub started: String,
    pub iso: String,
    pub when: String,
    pub direction: &'static str,
    pub from: String,
    pub to: String,
    pub device: String,
    pub user: String,
    pub result: &'static str,
    pub result_class: &'static str,
    pub code: String,
    pub meaning: &'static str,
    pub duration: String,
}

/// The Teams users' names behind the calls' PBX users.
async fn user_names(
    store: &dyn Store,
    enterprise: EnterpriseId,
    calls: &[StoredCall],
) -> Result<HashMap<PbxUserId, String>, PageError> {
    let mut names = HashMap::new();
    for id in calls.iter().filter_map(|c| c.pbx_user_id) {
        if names.contains_key(&id) {
            continue;
        }
        match store.get_pbx_user(enterprise, id).await {
            Ok(u) => {
                names.insert(id, u.display_name);
            }
            // The user was removed since; the call keeps its device handle.
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(names)
}

fn row(now: i64, c: &StoredCall, names: &HashMap<PbxUserId, String>) -> CallRow {
    CallRow {
        href: call_href(&c.call_id),
        started: timestamp(c.started_ms),
        iso: iso(c.started_ms),
        when: ago(now, c.started_ms),
        direction: call::direction_label(&c.direction),
        from: c.from_number.clone(),
        to: c.to_number.clone(),
        device: c.device.clone(),
        user: c
            .pbx_user_id
            .and_then(|id| names.get(&id).cloned())
            .unwrap_or_default(),
        result: call::result_label(&c.result),
        result_class: result_class(&c.result),
        code: c.sip_code.map(|c| c.to_string()).unwrap_or_default(),
        meaning: c.sip_code.map_or("", call::sip_code_meaning),
        duration: talk_ms(c).map(duration).unwrap_or_default(),
    }
}

pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "calls.html")]
pub struct CallsPage {
    pub layout: Layout,
    pub view: View,
    pub calls: Vec<CallRow>,
    pub directions: Vec<Choice>,
    pub results: Vec<Choice>,
    pub older: Option<String>,
    pub first: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    admin: Admin,
    Query(params): Query<CallParams>,
) -> Result<CallsPage, PageError> {
    allowed(&admin.enterprise)?;
    let e = admin.enterprise.id;
    let store = state.store.as_ref();
    let now = store.clock().now_ms();
    let view = View::of(&params);
    // One more than shown, to know whether there is a page beyond.
    let mut calls = store.list_calls(e, &view.filter(PAGE + 1)).await?;
    let more = calls.len() > PAGE as usize;
    calls.truncate(PAGE as usize);
    let names = user_names(store, e, &calls).await?;
    let choice = |value: &'static str, label: &'static str, chosen: &str| Choice {
        value,
        label,
        selected: value == chosen,
    };
    Ok(CallsPage {
        layout: admin.layout(Menu::Calls),
        first: view.after.is_some().then(|| view.first_href()),
        older: calls
            .last()
            .filter(|_| more)
            .map(|c| view.older_href(c.started_ms, &c.call_id)),
        directions: ["to_teams", "to_pbx"]
            .into_iter()
            .map(|d| choice(d, call::direction_label(d), &view.direction))
            .collect(),
        results: RESULTS
            .iter()
            .map(|(r, label)| choice(r, label, &view.result))
            .collect(),
        calls: calls.iter().map(|c| row(now, c, &names)).collect(),
        view,
    })
}

/// The filtered view, every call of it, as CSV.
async fn export_csv(
    State(state): State<AppState>,
    admin: Admin,
    Query(params): Query<CallParams>,
) -> Result<Response, PageError> {
    allowed(&admin.enterprise)?;
    let e = admin.enterprise.id;
    let store = state.store.as_ref();
    let view = View {
        after: None,
        ..View::of(&params)
    };
    let mut out = String::from(
        "Started (UTC),Direction,From,To,Device,Teams user,Result,SIP code,Meaning,\
         Talk time (s),Codec,Teams media,Call-ID\r\n",
    );
    let mut filter = view.filter(1000);
    let mut written = 0;
    loop {
        let calls = store.list_calls(e, &filter).await?;
        let Some(last) = calls.last() else { break };
        filter.after = Some(CallCursor {
            started_ms: last.started_ms,
            call_id: last.call_id.clone(),
        });
        let names = user_names(store, e, &calls).await?;
        for c in &calls {
            let r = row(0, c, &names);
            let media = match c.srtp {
                Some(true) => "SRTP",
                Some(false) => "RTP",
                None => "",
            };
            let line = [
                iso(c.started_ms),
                r.direction.to_owned(),
                r.from,
                r.to,
                r.device,
                r.user,
                r.result.to_owned(),
                r.code,
                r.meaning.to_owned(),
                talk_ms(c)
                    .map(|ms| (ms / 1000).to_string())
                    .unwrap_or_default(),
                c.codec.clone().unwrap_or_default(),
                media.to_owned(),
                c.call_id.clone(),
            ]
            .map(|s| csv_field(&s))
            .join(",");
            out.push_str(&line);
            out.push_str("\r\n");
            written += 1;
        }
        if written >= MAX_EXPORT {
            break;
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"teamline-calls.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

/// One step of a call, as its page lists them.
pub struct Step {
    pub label: &'static str,
    pub at: String,
    pub iso: String,
    /// Time since the call started (`+0:03`).
    pub offset: String,
}

pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "call_detail.html")]
pub struct CallPage {
    pub layout: Layout,
    pub title: String,
    pub call: CallRow,
    pub user_href: Option<String>,
    pub steps: Vec<Step>,
    pub facts: Vec<Fact>,
    pub media: Vec<Fact>,
    pub ladder: Vec<ladder::LadderRow>,
}

async fn call_page(
    State(state): State<AppState>,
    admin: Admin,
    Path(call_id): Path<String>,
) -> Result<CallPage, PageError> {
    allowed(&admin.enterprise)?;
    let e = admin.enterprise.id;
    let store = state.store.as_ref();
    let c = store
        .get_call(e, &call_id)
        .await?
        .ok_or(PageError::NotFound)?;
    let now = store.clock().now_ms();
    let names = user_names(store, e, std::slice::from_ref(&c)).await?;
    let step = |label, at: Option<i64>| {
        at.map(|at| Step {
            label,
            at: timestamp(at),
            iso: iso(at),
            offset: format!("+{}", duration(at - c.started_ms)),
        })
    };
    let end_label = if c.answered_ms.is_some() {
        "Ended"
    } else {
        "Failed or cancelled"
    };
    let steps = [
        step("Started", Some(c.started_ms)),
        step("Ringing", c.ringing_ms),
        step("Answered", c.answered_ms),
        step(end_label, c.ended_ms),
    ]
    .into_iter()
    .flatten()
    .collect();
    let or_dash = |s: Option<String>| s.filter(|s| !s.is_empty()).unwrap_or("—".into());
    let call = row(now, &c, &names);
    let facts = vec![
        Fact {
            label: "Direction",
            value: call.direction.to_owned(),
        },
        Fact {
            label: "From",
            value: c.from_number.clone(),
        },
        Fact {
            label: "To",
            value: c.to_number.clone(),
        },
        Fact {
            label: "Device handle",
            value: c.device.clone(),
        },
        Fact {
            label: "Teams user",
            value: or_dash(Some(call.user.clone())),
        },
        Fact {
            label: "Result",
            value: call.result.to_owned(),
        },
        Fact {
            label: "Final SIP code",
            value: c.sip_code.map_or("—".into(), |code| {
                format!("{code} — {}", call::sip_code_meaning(code))
            }),
        },
        Fact {
            label: "Talk time",
            value: or_dash(talk_ms(&c).map(duration)),
        },
        Fact {
            label: "Tenant FQDN",
            value: c.tenant_fqdn.clone(),
        },
        Fact {
            label: "Microsoft SIP proxy",
            value: or_dash(c.microsoft_proxy.clone()),
        },
        Fact {
            label: "Call-ID",
            value: c.call_id.clone(),
        },
    ];
    let mut media = Vec::new();
    if let Some(codec) = &c.codec {
        media.push(Fact {
            label: "Codec",
            value: codec.clone(),
        });
    }
    if let Some(srtp) = c.srtp {
        media.push(Fact {
            label: "Teams side",
            value: if srtp {
                "SRTP (encrypted)"
            } else {
                "RTP (not encrypted)"
            }
            .into(),
        });
    }
    let ladder = ladder::rows(&store.sip_messages(e, &c.call_id).await?);
    Ok(CallPage {
        layout: admin.layout(Menu::Calls),
        title: format!("Call {} → {}", c.from_number, c.to_number),
        user_href: c.pbx_user_id.map(|id| format!("/users/{id}")),
        call,
        steps,
        facts,
        media,
        ladder,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_call_ids_in_paths() {
        assert_eq!(duration(65_000), "1:05");
        assert_eq!(duration(3_725_000), "1:02:05");
        assert_eq!(path_segment("a/b c@10.0.0.1"), "a%2Fb%20c@10.0.0.1");
    }
}
