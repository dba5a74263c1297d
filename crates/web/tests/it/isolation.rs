//! Tenant isolation over every route the router serves: the routes come from
//! `teamline_web::route_table()` (the table the router is built from, with what each handler
//! reads), so a new route is attacked without editing this test.
//!
//! Fabrikam's admin calls every route that reads an id, a query or a form with each kind of
//! Contoso's objects — PBX user, PBX location, voice route, device, job, audit event, call and
//! Teams user — in the path and in every form field the portal uses (the field names come from the
//! templates and from Contoso's own rendered pages). Every answer must be "not found" (an id in
//! the path), a refusal or a field error (a form), or a page showing none of Contoso's data (a
//! search); and after every single request nothing may have changed: not a row of the
//! database, not the Microsoft simulator's writes and voice state, not the PBX.

use crate::app::{Browser, TestApp};
use crate::users::set_up;
use std::collections::{BTreeMap, BTreeSet};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::device::DeviceAuthId;
use teamline_domain::enterprise::TenantId;
use teamline_domain::ids::EnterpriseId;
use teamline_domain::pbx_location::PbxLocationForm;
use teamline_domain::pbx_user::{CallerNamePolicy, ForwardedCallerId, PbxUserSpec};
use teamline_domain::phone::PhoneNumber;
use teamline_domain::sip::Extension;
use teamline_domain::teams_user::{Licences, PlanState, UserType};
use teamline_domain::voice_route::NewVoiceRoute;
use teamline_sim::microsoft::demo as ms;
use teamline_store::{
    JobQuery, NewPbxUser, PbxUserQuery, StoredCall, TeamsUserQuery, TeamsUserUpsert,
};
use teamline_store_tests::rows::{RowReader, Rows, differences};
use teamline_testkit::DatabaseLocation;
use teamline_web::routes::RouteInfo;

/// Field names of Microsoft's redirects back to Teamline (OAuth 2.0 / admin consent): they
/// reach the sign-in and consent callbacks, and are Microsoft's vocabulary, not the portal's.
const MICROSOFT_REDIRECT_FIELDS: [&str; 7] = [
    "code",
    "state",
    "session_state",
    "error",
    "error_description",
    "admin_consent",
    "tenant",
];

/// One kind of Contoso's objects and the values that name them.
struct Kind {
    name: &'static str,
    values: Vec<String>,
}

/// What Contoso holds, as the attacker would name it, and the text that must never show.
struct Victim {
    kinds: Vec<Kind>,
    /// A consistent set of Contoso's objects by form field (the SET UP PBX USER form filled in
    /// with Contoso's location, route, Teams user, extension, device and number).
    world: BTreeMap<&'static str, String>,
    /// Text only Contoso's data contains (names, UPNs, the PBX domain, SIP passwords).
    markers: Vec<String>,
    /// Each of Contoso's ids → an id of the same shape that names nothing anywhere.
    nothing: BTreeMap<String, String>,
}

/// Fabrikam's own objects, so the routes with an id in the path get past it to their forms.
struct Attacker {
    enterprise: EnterpriseId,
    /// Its PBX user and PBX location: the objects the portal's paths name.
    own_ids: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_lets_one_enterprise_reach_anothers_objects() {
    let app = TestApp::start().await;
    let attacker = fabrikam(&app).await;
    let victim = contoso(&app, &attacker).await;
    let table = teamline_web::route_table();
    check_the_table_reads_handler_signatures(&table);
    let vocabulary = vocabulary(&app, &table, &victim).await;
    for expected in [
        "pbx_location",
        "teams_user",
        "voice_route",
        "device",
        "choose",
        "q",
    ] {
        assert!(
            vocabulary.contains(expected),
            "the field names found in the portal miss {expected}: {vocabulary:?}"
        );
    }

    let mut reader = State::reader(&app).await;
    let before = State::take_with(&app, &mut reader).await;
    let mut attacks = 0;
    let mut problems = Vec::new();
    for route in table.iter().filter(|r| r.inputs.any()) {
        for attack in attacks_on(route, &victim, &attacker, &vocabulary) {
            for htmx in [false, true] {
                let browser = app
                    .session_as(
                        attacker.enterprise,
                        ms::FABRIKAM_TENANT_ID,
                        ms::FABRIKAM_ADMIN_UPN,
                        "Fabrikam Admin",
                    )
                    .await;
                let (status, body) =
                    send(&browser, &attack.path, &attack.fields, route, htmx).await;
                let control = attack.control(&victim.nothing);
                let (control_status, control_body) =
                    send(&browser, &control.path, &control.fields, route, htmx).await;
                let answer = Answer {
                    status,
                    body: &body,
                    control_status,
                    control_field_error: shows_field_error(&control_body),
                };
                let what = format!(
                    "{} {} ({}{}) as {}: {status}",
                    route.method,
                    attack.path,
                    attack.label,
                    if htmx { ", htmx" } else { "" },
                    ms::FABRIKAM_ADMIN_UPN
                );
                if let Some(problem) = judge(route, &attack, &answer, &victim) {
                    problems.push(format!("{what}: {problem}"));
                }
                let after = State::take_with(&app, &mut reader).await;
                let changed = before.differences(&after);
                if !changed.is_empty() {
                    problems.push(format!("{what}: changed {}", changed.join("; ")));
                    panic!("{}", problems.join("\n\n"));
                }
                attacks += 1;
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {attacks} requests got a wrong answer:\n\n{}",
        problems.len(),
        problems
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    // Every route of the table with an input was attacked: the count grows with the routes.
    assert!(attacks > 500, "only {attacks} requests were made");
    app.stop().await;
}

/// The table's view of what handlers read must match what the routes visibly take, or the
/// test would quietly skip routes.
fn check_the_table_reads_handler_signatures(table: &[RouteInfo]) {
    for r in table {
        assert_eq!(
            r.inputs.path,
            r.path.contains('{'),
            "{} {}: the table says it reads a path parameter: {}",
            r.method,
            r.path,
            r.inputs.path
        );
    }
    let find = |method: &str, path: &str| {
        table
            .iter()
            .find(|r| r.method.as_str() == method && r.path == path)
            .unwrap_or_else(|| panic!("{method} {path} is not in the route table"))
            .inputs
    };
    assert!(find("POST", "/users/new").body);
    assert!(find("GET", "/users").query);
    assert!(find("GET", "/auth/microsoft/callback").query);
    assert!(find("GET", "/users/{id}/edit").enterprise_admin);
    assert!(!find("GET", "/dashboard").any());
}

/// Contoso with a configured user whose device Teamline read and whose jobs ran, and its
/// audit log.
async fn contoso(app: &TestApp, attacker: &Attacker) -> Victim {
    let e = app.contoso.id;
    set_up(app, "Adele Vance", "1000").await;
    app.engine
        .runner("isolation-test")
        .run_until_idle()
        .await
        .unwrap();
    let store = &app.store;
    let users = store
        .list_pbx_users(
            e,
            &PbxUserQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items;
    let adele = users
        .iter()
        .find(|u| u.display_name == "Adele Vance")
        .unwrap();
    let location = store.list_pbx_locations(e).await.unwrap()[0].clone();
    let routes = store.list_voice_routes(e).await.unwrap();
    let device = store
        .device_handle(e, location.id, &adele.user.spec.device)
        .await
        .unwrap()
        .expect("the device job stored Adele's device handle");
    let jobs = store
        .list_jobs(&JobQuery {
            enterprise_id: Some(e),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!jobs.is_empty());
    let audit = store.list_audit(Some(e), 100).await.unwrap();
    // A call of Adele's through the gateway (the Calls page and a call's own page).
    let call = StoredCall {
        call_id: "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f".to_owned(),
        enterprise_id: e,
        pbx_user_id: Some(adele.user.id),
        direction: "to_teams".to_owned(),
        device: adele.user.spec.device.to_string(),
        from_number: "+12125550199".to_owned(),
        to_number: adele.user.spec.phone_number.to_string(),
        tenant_fqdn: "contoso.useast2.sbc.example.net".to_owned(),
        microsoft_proxy: None,
        started_ms: 1_795_132_800_000,
        ringing_ms: None,
        answered_ms: None,
        ended_ms: Some(1_795_132_801_000),
        result: "failed".to_owned(),
        sip_code: Some(503),
        codec: None,
        srtp: None,
        observed_ms: 1_795_132_801_000,
    };
    store.record_call(&call).await.unwrap();
    let teams_users = store
        .list_teams_users(
            e,
            &TeamsUserQuery {
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items;

    let kinds = vec![
        Kind {
            name: "PBX user",
            values: users.iter().map(|u| u.user.id.to_string()).collect(),
        },
        Kind {
            name: "PBX location",
            values: vec![location.id.to_string()],
        },
        Kind {
            name: "voice route",
            values: routes.iter().map(|r| r.id.to_string()).collect(),
        },
        Kind {
            name: "device",
            values: vec![device.auth_id.to_string(), device.id.to_string()],
        },
        Kind {
            name: "job",
            values: jobs.iter().take(3).map(|j| j.id.to_string()).collect(),
        },
        Kind {
            name: "audit event",
            values: audit.iter().take(3).map(|a| a.id.to_string()).collect(),
        },
        Kind {
            name: "call",
            values: vec![call.call_id.clone()],
        },
        Kind {
            name: "Teams user",
            values: vec![
                adele.user.spec.teams_user_object_id.clone(),
                ms::contoso_user_id("Megan Bowen"),
            ],
        },
    ];
    // Ids are numbers counted per table: a value that also names Fabrikam's own PBX user or
    // location is not foreign to Fabrikam, so it is left out.
    let kinds: Vec<Kind> = kinds
        .into_iter()
        .map(|k| Kind {
            name: k.name,
            values: k
                .values
                .into_iter()
                .filter(|v| !attacker.own_ids.contains(v))
                .collect(),
        })
        .collect();
    for k in &kinds {
        assert!(!k.values.is_empty(), "no foreign {} left", k.name);
    }
    let spec = &adele.user.spec;
    let world = BTreeMap::from([
        ("pbx_location", location.id.to_string()),
        ("voice_route", spec.voice_route_id.to_string()),
        ("teams_user", ms::contoso_user_id("Megan Bowen")),
        ("sip_user", "1011".to_owned()),
        ("phone_number", "+11011".to_owned()),
        ("device", "1011tm".to_owned()),
        ("choose", "1001tm".to_owned()),
        ("q", "Adele".to_owned()),
        ("tab", "licensed".to_owned()),
        ("version", adele.user.version.to_string()),
    ]);
    let mut markers: Vec<String> = vec!["contoso".into(), call.from_number.clone()];
    for u in &teams_users {
        markers.push(u.display_name.clone());
        markers.push(u.upn.clone());
    }
    for device in app
        .pbx
        .sim()
        .device_ids(teamline_sim::netsapiens::CONTOSO_DOMAIN)
    {
        if let Some(password) = app
            .pbx
            .sim()
            .device_password(teamline_sim::netsapiens::CONTOSO_DOMAIN, &device)
        {
            markers.push(password);
        }
    }
    let nothing = kinds
        .iter()
        .flat_map(|k| k.values.iter())
        .map(|v| (v.clone(), nothing_like(v)))
        .collect();
    Victim {
        kinds,
        world,
        markers,
        nothing,
    }
}

/// Fabrikam, registered, with a voice route, a PBX location and a configured user of its
/// own (made through the store: Fabrikam's tenant has not consented to Teamline).
async fn fabrikam(app: &TestApp) -> Attacker {
    let e = app.fabrikam().id;
    let store = &app.store;
    let audit = || Audit::new(Actor::System("test".into()), "test", "Fabrikam set up");
    store
        .register_enterprise(
            e,
            &TenantId::parse(ms::FABRIKAM_TENANT_ID).unwrap(),
            &audit(),
        )
        .await
        .unwrap();
    let region = store.list_sbc_regions().await.unwrap()[0].clone();
    let route = store
        .create_voice_route(
            e,
            &NewVoiceRoute::for_region(&region, "fabrikam").unwrap(),
            &audit(),
        )
        .await
        .unwrap();
    // Fabrikam's own PBX answers (the simulator's Fabrikam domain, the reseller's key), so the
    // forms that read the PBX get past it quickly instead of waiting on a dead address.
    let pbx_api = store.list_pbx_locations(app.contoso.id).await.unwrap()[0]
        .settings
        .api_base_url
        .as_str()
        .to_owned();
    let location = store
        .create_pbx_location(
            e,
            &PbxLocationForm {
                name: "Fabrikam PBX".into(),
                pbx_type: "netsapiens".into(),
                dns_lookup: "srv".into(),
                sip_domain: teamline_sim::netsapiens::FABRIKAM_DOMAIN.into(),
                proxy: "sbc.pbx.example".into(),
                voicemail_code: "9901".into(),
                api_base_url: pbx_api,
                api_auth: "api_key".into(),
                api_key: teamline_sim::netsapiens::DEMO_API_KEY.into(),
                ..Default::default()
            }
            .validate(false)
            .unwrap(),
            &audit(),
        )
        .await
        .unwrap();
    let object_id = "0f0f0f0f-0000-4000-8000-000000000001".to_owned();
    store
        .upsert_teams_users(
            e,
            &[TeamsUserUpsert {
                object_id: object_id.clone(),
                upn: "pat@fabrikam.example".into(),
                display_name: "Pat Fabrikam".into(),
                account_enabled: true,
                user_type: UserType::Member,
                licences: Licences {
                    teams: PlanState::Enabled,
                    teams_phone: PlanState::Enabled,
                    calling_plan: false,
                    teams_phone_assigned_at_ms: None,
                },
                sync_groups: vec![],
                in_scope: true,
            }],
        )
        .await
        .unwrap();
    let user = store
        .create_pbx_user(
            &NewPbxUser {
                enterprise_id: e,
                spec: PbxUserSpec {
                    pbx_location_id: location.id,
                    voice_route_id: route.id,
                    teams_user_object_id: object_id,
                    sip_user: Extension::parse("2000").unwrap(),
                    phone_number: PhoneNumber::parse("+12000").unwrap(),
                    use_teams_voicemail: false,
                    caller_name: CallerNamePolicy::Transparent,
                    forwarded_caller_id: ForwardedCallerId::UserCallerId,
                    assign_dial_plan: true,
                    device: DeviceAuthId::parse("2000tm").unwrap(),
                    device_creation: None,
                    tag: None,
                },
                calling_enabled: true,
            },
            &audit(),
        )
        .await
        .unwrap();
    let own_ids = vec![user.id.to_string(), location.id.to_string()];
    Attacker {
        enterprise: e,
        own_ids,
    }
}

/// Every form field and query parameter name the portal uses: `name="…"` of its form
/// controls, `hx-vals` keys and query parameters of its links, in the templates and in
/// Contoso's own rendered pages; plus Microsoft's redirect parameters.
async fn vocabulary(app: &TestApp, table: &[RouteInfo], victim: &Victim) -> BTreeSet<String> {
    let mut texts = Vec::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    // The templates and those of sub-directories (the Reseller portal's `reseller/`).
    let mut dirs = vec![dir];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                texts.push(std::fs::read_to_string(path).unwrap());
            }
        }
    }
    let own = app.signed_in().await;
    for r in table.iter().filter(|r| r.method == "GET") {
        let paths: Vec<String> = if r.inputs.path {
            victim
                .kinds
                .iter()
                .flat_map(|k| k.values.iter().map(|v| fill(r.path, v)))
                .collect()
        } else {
            vec![r.path.to_owned()]
        };
        for path in paths {
            let response = own.get(&path).send().await.unwrap();
            if response.status() == 200 {
                texts.push(response.text().await.unwrap());
            }
        }
    }
    let mut names: BTreeSet<String> = MICROSOFT_REDIRECT_FIELDS
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for text in &texts {
        names.extend(after_each(text, "name=\""));
        names.extend(
            after_each(text, "?")
                .into_iter()
                .chain(after_each(text, "&amp;"))
                .chain(after_each(text, "&")),
        );
        for vals in text.split("hx-vals='").skip(1) {
            let json = vals.split('\'').next().unwrap_or_default();
            names.extend(after_each(json, "\""));
        }
    }
    // The session's token: sent right, always (a wrong one is refused before any handler).
    names.remove("csrf_token");
    names.retain(|n| !n.is_empty());
    names
}

/// The identifier-like word after each occurrence of `marker`.
fn after_each(text: &str, marker: &str) -> Vec<String> {
    text.split(marker)
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect::<String>()
        })
        .filter(|word| {
            // A query parameter or field name is followed by `=` or `"`.
            !word.is_empty()
        })
        .collect()
}

/// One request: the path with its parameters filled in, and the fields sent.
#[derive(Clone)]
struct Attack {
    label: String,
    /// The route's path, e.g. `/users/{id}/edit`, and the value its parameters get.
    route_path: &'static str,
    path_value: Option<String>,
    /// Whose object the path names: Fabrikam's own (so the handler reaches the fields).
    own_in_path: bool,
    fields: Vec<(String, String)>,
    path: String,
}

impl Attack {
    fn new(
        label: String,
        route: &RouteInfo,
        path_value: Option<&str>,
        own_in_path: bool,
        fields: Vec<(String, String)>,
    ) -> Self {
        let path = path_value.map_or_else(|| route.path.to_owned(), |v| fill(route.path, v));
        Self {
            label,
            route_path: route.path,
            path_value: path_value.map(str::to_owned),
            own_in_path,
            fields,
            path,
        }
    }

    /// The same request with each of Contoso's objects replaced by one that exists nowhere:
    /// what a foreign object gets must not differ from what a missing one gets.
    fn control(&self, nothing: &BTreeMap<String, String>) -> Attack {
        let swap = |v: &String| nothing.get(v).cloned().unwrap_or_else(|| v.clone());
        let path_value = if self.own_in_path {
            self.path_value.clone()
        } else {
            self.path_value.as_ref().map(swap)
        };
        let path = path_value
            .as_deref()
            .map_or_else(|| self.route_path.to_owned(), |v| fill(self.route_path, v));
        Attack {
            label: format!("{} (control)", self.label),
            route_path: self.route_path,
            path_value,
            own_in_path: self.own_in_path,
            fields: self
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), swap(v)))
                .collect(),
            path,
        }
    }
}

/// A value of the same shape as `foreign` that names no object of any enterprise.
fn nothing_like(foreign: &str) -> String {
    if foreign.bytes().all(|b| b.is_ascii_digit()) {
        format!("98765{foreign}")
    } else if foreign.ends_with("tm") {
        "9099tm".to_owned()
    } else {
        "00000000-0000-4000-8000-00000000dead".to_owned()
    }
}

fn attacks_on(
    route: &RouteInfo,
    victim: &Victim,
    attacker: &Attacker,
    vocabulary: &BTreeSet<String>,
) -> Vec<Attack> {
    let everywhere = |v: &str| -> Vec<(String, String)> {
        vocabulary
            .iter()
            .map(|n| (n.clone(), v.to_owned()))
            .collect()
    };
    // Only the fields Contoso's world names: an empty `page=` would be refused before any
    // handler ran, and prove nothing.
    let world: Vec<(String, String)> = vocabulary
        .iter()
        .filter_map(|n| victim.world.get(n.as_str()).map(|v| (n.clone(), v.clone())))
        .collect();
    let mut out = Vec::new();
    for kind in &victim.kinds {
        for v in &kind.values {
            let in_path = route.inputs.path.then_some(v.as_str());
            out.push(Attack::new(
                format!("Contoso's {} {v} everywhere", kind.name),
                route,
                in_path,
                false,
                everywhere(v),
            ));
            if route.inputs.path {
                // The id alone, so no field the handler reads can refuse the request before the
                // handler looks the object up.
                out.push(Attack::new(
                    format!("Contoso's {} {v} in the path, no fields", kind.name),
                    route,
                    in_path,
                    false,
                    Vec::new(),
                ));
                out.push(Attack::new(
                    format!(
                        "Contoso's {} {v} in the path, Contoso's objects in the form",
                        kind.name
                    ),
                    route,
                    in_path,
                    false,
                    world.clone(),
                ));
            }
        }
    }
    if route.inputs.path && (route.inputs.query || route.inputs.body) {
        // Fabrikam's own object in the path, so the handler reaches the fields.
        for own in &attacker.own_ids {
            out.push(Attack::new(
                format!("Fabrikam's own {own} in the path, Contoso's objects in the form"),
                route,
                Some(own),
                true,
                world.clone(),
            ));
            for kind in &victim.kinds {
                for v in &kind.values {
                    out.push(Attack::new(
                        format!(
                            "Fabrikam's own {own} in the path, Contoso's {} {v} in every field",
                            kind.name
                        ),
                        route,
                        Some(own),
                        true,
                        everywhere(v),
                    ));
                }
            }
        }
    } else if !route.inputs.path {
        out.push(Attack::new(
            "Contoso's objects in the form".into(),
            route,
            None,
            false,
            world,
        ));
    }
    out
}

/// `path` with every `{parameter}` replaced by `value`.
fn fill(path: &str, value: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                encode(value)
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn send(
    browser: &Browser,
    path: &str,
    fields: &[(String, String)],
    route: &RouteInfo,
    htmx: bool,
) -> (u16, String) {
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let request = match route.method.as_str() {
        "GET" => browser.get(path).query(&fields),
        "POST" => browser.post_form(path, &fields),
        other => panic!("the route table has a {other} route: teach this test to send it"),
    };
    let request = if htmx {
        request
            .header("hx-request", "true")
            .header("x-csrf-token", &browser.csrf)
    } else {
        request
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// Whether the page shows a problem next to a form field.
fn shows_field_error(body: &str) -> bool {
    body.split("class=\"field-error\"").skip(1).any(|rest| {
        rest.split_once('>')
            .map(|(_, text)| !text.split('<').next().unwrap_or_default().trim().is_empty())
            .unwrap_or(false)
    })
}

/// The answer to an attack, and to its control (the same request naming objects that exist
/// nowhere).
struct Answer<'a> {
    status: u16,
    body: &'a str,
    control_status: u16,
    control_field_error: bool,
}

/// What is wrong with the answer to `attack`, if anything.
fn judge(
    route: &RouteInfo,
    attack: &Attack,
    answer: &Answer<'_>,
    victim: &Victim,
) -> Option<String> {
    let (status, body) = (answer.status, answer.body);
    // Contoso's text the request itself carried may be echoed back (e.g. into the form).
    let sent: Vec<String> = attack
        .fields
        .iter()
        .map(|(_, v)| v.to_lowercase())
        .chain([attack.path.to_lowercase()])
        .collect();
    let lower = body.to_lowercase();
    for marker in &victim.markers {
        let m = marker.to_lowercase();
        if sent.iter().any(|s| s.contains(&m)) {
            continue;
        }
        if let Some(at) = lower.find(&m) {
            return Some(format!(
                "showed Contoso's \"{marker}\": …{}…",
                excerpt(body, at)
            ));
        }
    }
    let refused = (400..500).contains(&status);
    // A foreign object must look exactly like a missing one: same status, same field errors.
    let like_missing =
        status == answer.control_status && shows_field_error(body) == answer.control_field_error;
    if route.inputs.path && !attack.own_in_path && status != 404 && !(refused && like_missing) {
        return Some(format!(
            "answered {status}, not 404 (a missing object got {}), for Contoso's object in the \
             path: {}",
            answer.control_status,
            excerpt(body, 0)
        ));
    }
    if route.method == "POST" && !refused && !shows_field_error(body) && !like_missing {
        return Some(format!(
            "answered {status} without a refusal or a field error, unlike a missing object \
             ({}): {}",
            answer.control_status,
            excerpt(body, 0)
        ));
    }
    None
}

/// A few hundred characters of `body` from around `at`, on one line.
fn excerpt(body: &str, at: usize) -> String {
    let start = body.floor_char_boundary(at.saturating_sub(150));
    let end = body.ceil_char_boundary((at + 250).min(body.len()));
    body[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Everything a request could change: the database (except the web sessions the requests
/// sign in with), what the Microsoft simulator's tenants hold and were asked to write, and the
/// PBX's devices and writes.
#[derive(Debug, PartialEq)]
pub(crate) struct State {
    rows: Rows,
    microsoft: Vec<String>,
    pbx: Vec<String>,
}

impl State {
    pub(crate) async fn take(app: &TestApp) -> Self {
        Self::take_with(app, &mut Self::reader(app).await).await
    }

    /// A reader of the app's database for `take_with`, which the isolation test calls after
    /// each of its requests.
    pub(crate) async fn reader(app: &TestApp) -> RowReader {
        let skip = ["sessions"];
        match app.database().expect("a fresh database").location() {
            DatabaseLocation::Sqlite(path) => RowReader::sqlite(&path, &skip).await,
            DatabaseLocation::Postgres(url) => RowReader::postgres(&url, &skip).await,
        }
        .unwrap()
    }

    pub(crate) async fn take_with(app: &TestApp, reader: &mut RowReader) -> Self {
        let rows = reader.read().await.unwrap();
        let mut microsoft = Vec::new();
        for tenant in app.microsoft.sim.tenants() {
            microsoft.push(format!(
                "{}: writes {:?}, numbers {}, voice {}",
                tenant.name(),
                tenant.write_counts(),
                tenant.numbers(),
                tenant.voice_config()
            ));
        }
        let sim = app.pbx.sim();
        let stats = sim.stats();
        let pbx = vec![
            format!(
                "devices created {}, deleted {}, addresses created {}",
                stats.devices_created, stats.devices_deleted, stats.addresses_created
            ),
            format!(
                "contoso devices {:?}",
                sim.device_ids(teamline_sim::netsapiens::CONTOSO_DOMAIN)
            ),
        ];
        Self {
            rows,
            microsoft,
            pbx,
        }
    }

    pub(crate) fn differences(&self, after: &Self) -> Vec<String> {
        let mut out = differences(&self.rows, &after.rows);
        for (b, a) in self.microsoft.iter().zip(&after.microsoft) {
            if b != a {
                out.push(format!("Microsoft: {b}\n  became {a}"));
            }
        }
        for (b, a) in self.pbx.iter().zip(&after.pbx) {
            if b != a {
                out.push(format!("PBX: {b}\n  became {a}"));
            }
        }
        out
    }
}
