//! `teamline bench users-page`: starts the demo stack on a fresh SQLite or PostgreSQL
//! database, adds N PBX users to Contoso, signs in through the simulated Microsoft sign-in
//! like a browser, and times the Users page over HTTP: the first page, searches (an
//! extension, part of a name, part of a number), each filter, a filtered and sorted view and
//! the last page sorted. Each view's rows are checked against what the seed holds before it
//! is timed.

use super::figures;
use crate::commands::demo::{DemoArgs, DemoStack};
use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use std::time::{Duration, Instant};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::device::DeviceAuthId;
use teamline_domain::ids::EnterpriseId;
use teamline_domain::pbx_user::{CallerNamePolicy, ForwardedCallerId, PbxUserSpec};
use teamline_domain::phone::PhoneNumber;
use teamline_domain::sip::Extension;
use teamline_domain::teams_user::{Licences, PlanState, UserType};
use teamline_sim::microsoft::demo as ms;
use teamline_store::{DynStore, NewPbxUser, TeamsUserUpsert};
use teamline_store_postgres::testing::PgDatabase;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchBackend {
    Sqlite,
    /// A fresh database on the server at `TEAMLINE_TEST_POSTGRES_URL` (default
    /// postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards.
    Postgres,
}

#[derive(Args, Debug, Clone)]
pub struct UsersPageArgs {
    /// How many PBX users to create.
    #[arg(long, default_value_t = 20_000)]
    pub users: u32,
    /// How many times each page is requested (after a warm-up).
    #[arg(long, default_value_t = 200)]
    pub requests: u32,
    /// The database the demo stack runs on.
    #[arg(long, value_enum, default_value_t = BenchBackend::Sqlite)]
    pub backend: BenchBackend,
}

/// Every 7th seeded user has calling off (for the Calling off filter).
const CALLING_OFF_EVERY: u32 = 7;

pub(super) async fn run(args: UsersPageArgs) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let pg = match args.backend {
        BenchBackend::Sqlite => None,
        BenchBackend::Postgres => Some(PgDatabase::create().await),
    };
    eprintln!(
        "Starting the demo stack on a fresh {} database",
        match &pg {
            Some(db) => format!("PostgreSQL ({})", db.name),
            None => format!("SQLite (in {})", dir.display()),
        }
    );
    let stack = DemoStack::start_on(
        &DemoArgs {
            data_dir: dir.join("demo"),
            listen: "127.0.0.1:0".parse()?,
            fresh: true,
        },
        pg.as_ref().map(|db| db.url.clone()),
    )
    .await;
    let result = match stack {
        Ok(stack) => {
            let result = measure(&stack, &args).await;
            let _ = stack.stop().await;
            result
        }
        Err(e) => Err(e),
    };
    if let Some(db) = pg {
        db.drop_database().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("teamline-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// One view of the Users page and what its answer must show.
struct View {
    key: &'static str,
    path: String,
    /// Text each of the expected rows shows (their UPNs), and whether only they are shown.
    expect: Vec<String>,
    only: bool,
    /// The total the page must show ("… of N"), when the seed alone decides it.
    total: Option<u64>,
}

async fn measure(stack: &DemoStack, args: &UsersPageArgs) -> anyhow::Result<()> {
    let e = stack.contoso.id;
    let n = args.users;
    let started = Instant::now();
    seed_users(stack.engine.store(), e, n).await?;
    eprintln!(
        "Created {n} PBX users in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?;
    let cookie = sign_in(&http, &stack.url, ms::CONTOSO_ADMIN_UPN, ms::ADMIN_PASSWORD).await?;

    let store = stack.engine.store();
    let east = store
        .list_voice_routes(e)
        .await?
        .into_iter()
        .find(|r| r.name.as_str() == "US East 2")
        .context("the demo has no US East 2 route")?
        .id;
    let upn = |i: u32| format!("user{i:06}@contoso.example");
    let mid = n / 2;
    // Part of a name: "User 01000" is in Bench User 010000 … 010009 (20 000 users).
    let name_part = format!("User {:05}", mid / 10);
    let name_hits: Vec<u32> = (0..n).filter(|i| i / 10 == mid / 10).collect();
    // Part of a number: the digits after +1555 and the extension's first digit.
    let number_part = format!("555{:07}", 100_000 + mid)[..9].to_owned();
    let number_hits: Vec<u32> = (0..n)
        .filter(|i| (100_000 + i) / 10 == (100_000 + mid) / 10)
        .collect();
    let views = vec![
        View {
            key: "first_page",
            path: "/users".to_owned(),
            expect: Vec::new(),
            only: false,
            total: None,
        },
        View {
            key: "search_extension",
            path: format!("/users?tab=licensed&q={}", 100_000 + mid),
            expect: vec![upn(mid)],
            only: true,
            total: Some(1),
        },
        View {
            key: "search_name_part",
            path: format!("/users?tab=licensed&q={}", name_part.replace(' ', "+")),
            expect: name_hits.iter().map(|&i| upn(i)).collect(),
            only: true,
            total: Some(name_hits.len() as u64),
        },
        View {
            key: "search_number_part",
            path: format!("/users?tab=licensed&q={number_part}"),
            expect: number_hits.iter().map(|&i| upn(i)).collect(),
            only: true,
            total: Some(number_hits.len() as u64),
        },
        View {
            key: "filter_failed",
            path: "/users?tab=licensed&state=failed".to_owned(),
            expect: Vec::new(),
            only: true,
            total: None,
        },
        View {
            key: "filter_pending",
            path: "/users?tab=licensed&state=pending".to_owned(),
            expect: Vec::new(),
            only: false,
            total: None,
        },
        View {
            key: "filter_calling_off",
            path: "/users?tab=licensed&state=calling-off".to_owned(),
            expect: vec![upn(0)],
            only: false,
            total: None,
        },
        View {
            key: "filter_drift",
            path: "/users?tab=licensed&state=drift".to_owned(),
            expect: Vec::new(),
            only: true,
            total: None,
        },
        // The users of one voice route by extension, descending.
        View {
            key: "filtered_sorted",
            path: format!("/users?tab=licensed&route={east}&sort=extension&dir=desc"),
            expect: Vec::new(),
            only: false,
            total: None,
        },
        // The last page of every user by extension, descending: extension 100000 ends it.
        View {
            key: "last_page_sorted",
            path: format!(
                "/users?tab=licensed&sort=extension&dir=desc&page={}",
                n.div_ceil(50).max(1)
            ),
            expect: vec![upn(0)],
            only: false,
            total: None,
        },
    ];
    let mut json = serde_json::json!({
        "bench": "users-page",
        "backend": format!("{:?}", args.backend).to_lowercase(),
        "users": n,
        "requests": args.requests,
    });
    for view in &views {
        let url = format!("{}{}", stack.url, view.path);
        let body = get(&http, &url, &cookie).await?;
        check(view, &body)?;
        for _ in 0..10 {
            get(&http, &url, &cookie).await?;
        }
        let mut samples = Vec::with_capacity(args.requests as usize);
        for _ in 0..args.requests {
            let t = Instant::now();
            get(&http, &url, &cookie).await?;
            samples.push(t.elapsed());
        }
        let f = figures(&mut samples);
        println!(
            "Users page, {} ({n} users, {} requests): median {:.1} ms, p95 {:.1} ms",
            view.key, args.requests, f.median_ms, f.p95_ms
        );
        json[view.key] =
            serde_json::json!({"median_ms": round(f.median_ms), "p95_ms": round(f.p95_ms)});
    }
    println!("{json}");
    Ok(())
}

/// The page shows the expected rows and total; with `only`, no other bench user.
fn check(view: &View, body: &str) -> anyhow::Result<()> {
    for want in &view.expect {
        if !body.contains(want.as_str()) {
            bail!("the Users page ({}) does not show {want}", view.path);
        }
    }
    let bench_rows = body.matches(">user").count();
    if view.only && bench_rows > view.expect.len() {
        bail!(
            "the Users page ({}) shows {bench_rows} bench users, expected {}",
            view.path,
            view.expect.len()
        );
    }
    match view.total {
        Some(0) if bench_rows > 0 => bail!(
            "the Users page ({}) shows {bench_rows} users, expected none",
            view.path
        ),
        Some(0) => {}
        Some(total) if !body.contains(&format!(" of {total}<")) => bail!(
            "the Users page ({}) does not show a total of {total}",
            view.path
        ),
        _ => {}
    }
    Ok(())
}

fn round(ms: f64) -> f64 {
    (ms * 100.0).round() / 100.0
}

async fn get(http: &reqwest::Client, url: &str, cookie: &str) -> anyhow::Result<String> {
    let r = http.get(url).header("cookie", cookie).send().await?;
    if r.status() != 200 {
        bail!("GET {url} answered {}", r.status());
    }
    Ok(r.text().await?)
}

/// Adds `n` licensed Teams users and pairs each with an extension (100000 + i), as if they
/// had been set up one by one.
async fn seed_users(store: &DynStore, e: EnterpriseId, n: u32) -> anyhow::Result<()> {
    let location = store
        .list_pbx_locations(e)
        .await?
        .into_iter()
        .next()
        .context("the demo has no PBX location")?;
    let routes = store.list_voice_routes(e).await?;
    let groups = store.list_sync_groups(e).await?;
    let group = groups.first().map(|g| g.group_object_id.clone());
    let actor = Actor::System("bench".into());
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let users: Vec<TeamsUserUpsert> = chunk
            .iter()
            .map(|i| TeamsUserUpsert {
                object_id: format!("bench-{i:06}"),
                upn: format!("user{i:06}@contoso.example"),
                display_name: format!("Bench User {i:06}"),
                account_enabled: true,
                user_type: UserType::Member,
                licences: Licences {
                    teams: PlanState::Enabled,
                    teams_phone: PlanState::Enabled,
                    calling_plan: false,
                    teams_phone_assigned_at_ms: None,
                },
                sync_groups: group.iter().cloned().collect(),
                in_scope: true,
            })
            .collect();
        store.upsert_teams_users(e, &users).await?;
    }
    for i in 0..n {
        let ext = 100_000 + i;
        let route = &routes[(i as usize) % routes.len().max(1)];
        let spec = PbxUserSpec {
            pbx_location_id: location.id,
            voice_route_id: route.id,
            teams_user_object_id: format!("bench-{i:06}"),
            sip_user: Extension::parse(&ext.to_string())?,
            phone_number: PhoneNumber::parse(&format!("+1555{ext:07}"))?,
            use_teams_voicemail: false,
            caller_name: CallerNamePolicy::Transparent,
            forwarded_caller_id: ForwardedCallerId::UserCallerId,
            assign_dial_plan: true,
            device: DeviceAuthId::parse(&format!("{ext}tm"))?,
            device_creation: None,
            tag: (i % 10 == 0).then(|| "sales".to_owned()),
        };
        let audit = Audit::new(
            actor.clone(),
            "pbx_user.create",
            format!("Set up Bench User {i:06} on extension {ext}"),
        );
        store
            .create_pbx_user(
                &NewPbxUser {
                    enterprise_id: e,
                    spec,
                    calling_enabled: i % CALLING_OFF_EVERY != 0,
                },
                &audit,
            )
            .await?;
        if (i + 1) % 5000 == 0 {
            eprintln!("  {} PBX users…", i + 1);
        }
    }
    Ok(())
}

/// Signs in like a browser: Teamline → the simulated Microsoft sign-in page → Teamline's
/// callback. Returns the session cookie.
async fn sign_in(
    http: &reqwest::Client,
    base: &str,
    upn: &str,
    password: &str,
) -> anyhow::Result<String> {
    let start = http
        .get(format!("{base}/auth/microsoft/start"))
        .send()
        .await?;
    let cookie =
        cookie_named(&start, "teamline_sign_in").context("no sign-in cookie at sign-in")?;
    let authorize = location(&start)?;
    let ms_base = authorize
        .split("/organizations/")
        .next()
        .unwrap_or_default()
        .to_owned();
    let page = http.get(&authorize).send().await?.text().await?;
    let flow = between(&page, r#"name="flow" value=""#, "\"")
        .context("the Microsoft sign-in page has no flow")?;
    let action = between(&page, r#"id="signin-form" method="post" action=""#, "\"")
        .context("the Microsoft sign-in page has no form")?;
    let back = http
        .post(format!("{ms_base}{action}"))
        .form(&[
            ("flow", flow.as_str()),
            ("loginfmt", upn),
            ("passwd", password),
        ])
        .send()
        .await?;
    let callback = location(&back)?;
    let done = http.get(&callback).header("cookie", &cookie).send().await?;
    if location(&done)? != "/dashboard" {
        bail!("signing in as {upn} did not reach the Dashboard");
    }
    cookie_named(&done, "teamline_session").context("no session cookie after sign-in")
}

fn location(r: &reqwest::Response) -> anyhow::Result<String> {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .with_context(|| format!("expected a redirect from {}, got {}", r.url(), r.status()))
}

fn cookie_named(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| {
            c.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('='))
        })
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(text[from..from + len].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_between_markers() {
        assert_eq!(
            between(
                r#"<input name="flow" value="abc">"#,
                r#"name="flow" value=""#,
                "\""
            ),
            Some("abc".to_owned())
        );
    }
}
