//! A PBX user's own page: the pairing, what Microsoft holds (read back, with when it was
//! read), the PBX device, where the last push stands and what it did, Retry/Repair, and the
//! user's own audit history.

use super::users::{UserRow, user_id};
use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::views::{Layout, Menu, ago, iso, timestamp};
use askama::Template;
use askama_web::WebTemplate;

use crate::routes::{Routes, get};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use teamline_domain::pbx_user::PushState;
use teamline_domain::registration::RegistrationStatus;
use teamline_store::RegistrationRecord;

pub fn routes() -> Routes {
    Routes::new().route("/users/{id}", get(detail)).route(
        "/users/{id}/repair",
        get(super::preview::confirm_repair).post(repair),
    )
}

/// How many of the user's audit events the page lists.
const HISTORY: u32 = 50;

/// A label and its value.
pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

pub struct HistoryRow {
    pub at: String,
    pub iso: String,
    pub when: String,
    pub who: String,
    pub summary: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "user_detail.html")]
pub struct DetailPage {
    pub layout: Layout,
    pub r: UserRow,
    pub pairing: Vec<Fact>,
    /// What Microsoft held when it was last read, and when that was.
    pub read_back: Option<(Vec<Fact>, String)>,
    pub device: Vec<Fact>,
    /// The last push: its state, error and what it changed (the latest push event).
    pub last_push: Vec<Fact>,
    pub history: Vec<HistoryRow>,
    pub can_repair: bool,
    pub notice: Option<String>,
    pub test_call: super::test_call::TestCallPanel,
}

#[derive(serde::Deserialize)]
pub struct DetailQuery {
    /// The test call whose result the page shows.
    test_call: Option<String>,
}

async fn detail(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Result<DetailPage, PageError> {
    let e = admin.enterprise.id;
    let id = user_id(&id)?;
    let item = state.store.get_pbx_user(e, id).await?;
    let now = state.store.clock().now_ms();
    let u = &item.user;
    let spec = &u.spec;
    let at = |ms: i64| format!("{} ({})", timestamp(ms), ago(now, ms));
    let pairing = vec![
        Fact {
            label: "Teams user",
            value: format!("{} ({})", item.display_name, item.upn),
        },
        Fact {
            label: "SIP user / AOR",
            value: format!("{}@{}", spec.sip_user, item.sip_domain),
        },
        Fact {
            label: "Phone number",
            value: spec.phone_number.to_string(),
        },
        Fact {
            label: "Voice route",
            value: item.voice_route_name.clone(),
        },
        Fact {
            label: "Use Voicemail in Teams",
            value: yes_no(spec.use_teams_voicemail),
        },
        Fact {
            label: "Caller Name Policy",
            value: spec.caller_name.label(),
        },
        Fact {
            label: "Caller ID on Forwarded Calls",
            value: spec.forwarded_caller_id.label().to_owned(),
        },
        Fact {
            label: "Assign Default Dial Plan Policy",
            value: yes_no(spec.assign_dial_plan),
        },
        Fact {
            label: "User Tag",
            value: spec.tag.clone().unwrap_or_else(|| "—".to_owned()),
        },
        Fact {
            label: "State",
            value: u.state.as_str().to_owned(),
        },
        Fact {
            label: "Set up",
            value: at(u.created_ms),
        },
    ];
    let r = UserRow::from_item(&item, &admin.csrf);
    let read_back = item.observed.as_ref().map(|o| {
        let facts = [
            (
                "Enterprise voice",
                if o.enterprise_voice { "on" } else { "off" }.to_owned(),
            ),
            (
                "Numbers",
                if o.numbers.is_empty() {
                    "none".to_owned()
                } else {
                    o.numbers.join(", ")
                },
            ),
        ]
        .into_iter()
        .map(|(label, value)| Fact { label, value })
        .chain(
            r.microsoft_detail
                .iter()
                .skip(usize::from(!o.numbers.is_empty()))
                .map(|d| Fact {
                    label: "Policy",
                    value: d.clone(),
                }),
        )
        .collect();
        (facts, at(o.read_at_ms))
    });
    let handle = state
        .store
        .device_handle(e, spec.pbx_location_id, &spec.device)
        .await?;
    let mut device = vec![
        Fact {
            label: "Device",
            value: spec.device.to_string(),
        },
        Fact {
            label: "On the PBX",
            value: match (&handle, &spec.device_creation) {
                (Some(h), _) if h.created_by_teamline => "yes, created by Teamline".to_owned(),
                (Some(_), _) => "yes".to_owned(),
                (None, Some(_)) => {
                    "not yet: Teamline creates it with this user's set-up".to_owned()
                }
                (None, None) => "not read yet".to_owned(),
            },
        },
    ];
    let registration = state.store.list_registrations(Some(e), Some(&[id])).await?;
    device.extend(registration_facts(registration.first(), now));
    let history = state
        .store
        .audit_of(e, "pbx_user", &id.to_string(), HISTORY)
        .await?;
    let pushed = history
        .iter()
        .find(|h| h.action == "teams.push" || h.action == "teams.push_failed");
    let mut last_push = vec![Fact {
        label: "Status",
        value: r.calling.text.clone(),
    }];
    if let Some(err) = &u.last_error {
        last_push.push(Fact {
            label: "Last error",
            value: err.clone(),
        });
    }
    if let Some(p) = pushed {
        last_push.push(Fact {
            label: "Last change in Teams",
            value: format!("{} — {}", p.summary, at(p.at_ms)),
        });
    }
    Ok(DetailPage {
        layout: admin.layout(Menu::Users),
        pairing,
        read_back,
        device,
        last_push,
        history: history
            .into_iter()
            .map(|h| HistoryRow {
                at: timestamp(h.at_ms),
                iso: iso(h.at_ms),
                when: ago(now, h.at_ms),
                who: h.actor.to_string(),
                summary: h.summary,
            })
            .collect(),
        can_repair: !r.is_deleted() && !matches!(u.push_state, PushState::Failed),
        test_call: super::test_call::TestCallPanel::load(
            &state,
            &admin,
            id,
            q.test_call.as_deref(),
        )
        .await?,
        r,
        notice: admin.take_flash().await?,
    })
}

/// The handle's registration as the SIP gateway last reported it.
fn registration_facts(r: Option<&RegistrationRecord>, now: i64) -> Vec<Fact> {
    let Some(r) = r else {
        return vec![Fact {
            label: "Registration",
            value: "not reported yet: Teamline's SIP gateway registers the handle once calling is enabled and the gateway runs".to_owned(),
        }];
    };
    let at = |ms: i64| format!("{} ({})", timestamp(ms), ago(now, ms));
    let mut facts = vec![Fact {
        label: "Registration",
        value: r.state.label().to_owned(),
    }];
    if let Some(since) = r.since_ms {
        facts.push(Fact {
            label: "Since",
            value: at(since),
        });
    }
    if let Some(target) = &r.target {
        facts.push(Fact {
            label: if r.state == RegistrationStatus::Registered {
                "Registered to"
            } else {
                "PBX address"
            },
            value: target.clone(),
        });
    }
    if let Some(expires) = r
        .expires_ms
        .filter(|_| r.state == RegistrationStatus::Registered)
    {
        facts.push(Fact {
            label: "Expires",
            value: format!("{} (refreshed before then)", timestamp(expires)),
        });
    }
    if let Some(error) = &r.last_error {
        facts.push(Fact {
            label: "Last error",
            value: error.clone(),
        });
    }
    if let Some(fix) = r.state.fix() {
        facts.push(Fact {
            label: "What to do",
            value: fix.to_owned(),
        });
    }
    facts
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// Repair: sends again only what Microsoft does not hold (read fresh), and checks the device.
async fn repair(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = user_id(&id)?;
    let item = state.store.get_pbx_user(admin.enterprise.id, id).await?;
    state
        .engine
        .repair_user(admin.enterprise.id, &admin.actor(), id)
        .await?;
    admin
        .flash(format!(
            "Repairing {}: Teamline reads what Microsoft holds and sends only what differs.",
            item.display_name
        ))
        .await?;
    Ok(Redirect::to(&format!("/users/{id}")).into_response())
}
