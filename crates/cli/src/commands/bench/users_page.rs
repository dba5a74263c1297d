//! `teamline bench users-page`: starts the demo stack on a fresh SQLite database, adds 20 000
//! PBX users to Contoso, signs in through the simulated Microsoft sign-in like a browser, and
//! times the Users page over HTTP: the first page, a search, a filtered and sorted view and its
//! last page.

use super::figures;
use crate::commands::demo::{DemoArgs, DemoStack};
use anyhow::{Context, bail};
use clap::Args;
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

#[derive(Args, Debug, Clone)]
pub struct UsersPageArgs {
    /// How many PBX users to create.
    #[arg(long, default_value_t = 20_000)]
    pub users: u32,
    /// How many times each page is requested (after a warm-up).
    #[arg(long, default_value_t = 200)]
    pub requests: u32,
}

pub(super) async fn run(args: UsersPageArgs) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    eprintln!(
        "Starting the demo stack on a fresh SQLite database in {}",
        dir.display()
    );
    let stack = DemoStack::start(&DemoArgs {
        data_dir: dir.join("demo"),
        listen: "127.0.0.1:0".parse()?,
        fresh: true,
    })
    .await?;
    let result = measure(&stack, &args).await;
    let _ = stack.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("teamline-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

async fn measure(stack: &DemoStack, args: &UsersPageArgs) -> anyhow::Result<()> {
    let e = stack.contoso.id;
    let started = Instant::now();
    seed_users(stack.engine.store(), e, args.users).await?;
    eprintln!(
        "Created {} PBX users in {:.1} s",
        args.users,
        started.elapsed().as_secs_f64()
    );

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?;
    let cookie = sign_in(&http, &stack.url, ms::CONTOSO_ADMIN_UPN, ms::ADMIN_PASSWORD).await?;

    // A search that finds one user among all of them (by extension).
    let needle = 100_000 + args.users / 2;
    let east = stack
        .engine
        .store()
        .list_voice_routes(e)
        .await?
        .into_iter()
        .find(|r| r.name.as_str() == "US East 2")
        .context("the demo has no US East 2 route")?
        .id;
    let last_page = args.users.div_ceil(50).max(1);
    let pages = [
        ("first page", "/users".to_owned()),
        ("search", format!("/users?tab=licensed&q={needle}")),
        // Filters and sorting in place: the users of one voice route by extension,
        // descending; and the last page of every user so sorted (paging through all of them).
        (
            "filtered and sorted",
            format!("/users?tab=licensed&route={east}&sort=extension&dir=desc"),
        ),
        (
            "last page, sorted",
            format!("/users?tab=licensed&sort=extension&dir=desc&page={last_page}"),
        ),
    ];
    let mut results = Vec::new();
    for (what, path) in &pages {
        let url = format!("{}{path}", stack.url);
        let body = get(&http, &url, &cookie).await?;
        if what == &"first page" && !body.contains("Bench User") {
            bail!(
                "the first page of the Users page lists none of the {} users",
                args.users
            );
        }
        if what == &"search" && !body.contains(&format!("{needle}@contoso")) {
            bail!("the search for {needle} did not find the user");
        }
        // Sorted by extension, descending: the lowest extension (100000) ends the last page.
        if what == &"last page, sorted" && !body.contains("100000@contoso") {
            bail!(
                "the last page of {} users does not hold extension 100000",
                args.users
            );
        }
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
            "Users page, {what} ({} users, {} requests): median {:.1} ms, p95 {:.1} ms",
            args.users, args.requests, f.median_ms, f.p95_ms
        );
        results.push((*what, f));
    }
    let json = serde_json::json!({
        "bench": "users-page",
        "users": args.users,
        "requests": args.requests,
        "first_page": {"median_ms": round(results[0].1.median_ms), "p95_ms": round(results[0].1.p95_ms)},
        "search": {"median_ms": round(results[1].1.median_ms), "p95_ms": round(results[1].1.p95_ms)},
        "filtered_sorted": {"median_ms": round(results[2].1.median_ms), "p95_ms": round(results[2].1.p95_ms)},
        "last_page_sorted": {"median_ms": round(results[3].1.median_ms), "p95_ms": round(results[3].1.p95_ms)},
    });
    println!("{json}");
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
                    calling_enabled: true,
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
