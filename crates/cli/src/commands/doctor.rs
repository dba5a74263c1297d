//! `teamline doctor`: what decides on day one whether Teamline works with an enterprise's
//! Microsoft 365 tenant and PBX, checked against the real services with the settings Teamline
//! has stored. Read-only unless `--write-test <user>` asks for the round trip on a test user
//! (who is put back as before). Prints a table, or `--json`; exits 1 when a check failed.

use super::serve::{EngineArgs, MicrosoftArgs};
use crate::config::{StoreArgs, open_store_beside_server};
use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use teamline_domain::diagnosis::{Check, Outcome, all_pass};
use teamline_domain::enterprise::Enterprise;
use teamline_engine::{ApiConnector, EngineSettings, PbxService};
use teamline_microsoft::doctor::{DoctorOptions, WriteTest};
use teamline_microsoft::voice::PolicyType;
use teamline_store::DynStore;

#[derive(Args, Debug, Clone)]
pub struct DoctorArgs {
    /// The enterprise (its short name, e.g. contoso). Optional when only one enterprise has
    /// registered its Microsoft 365 tenant.
    #[arg(long)]
    pub enterprise: Option<String>,

    /// The PBX location to check (its name). Default: every PBX location of the enterprise.
    #[arg(long)]
    pub location: Option<String>,

    /// An extension whose devices the PBX check reads (e.g. the test user's).
    #[arg(long)]
    pub extension: Option<String>,

    /// Also assign and remove a number and grant each policy on this test user (UPN or object
    /// id), create and remove a test object in Teams, then put the user back as before.
    #[arg(long, value_name = "USER")]
    pub write_test: Option<String>,

    /// The Direct Routing number the write test assigns when the test user holds none.
    #[arg(long, default_value = "+12025550199")]
    pub test_number: String,

    /// Print the checks as JSON instead of a table.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub microsoft: MicrosoftArgs,
}

#[derive(Serialize)]
struct Report<'a> {
    enterprise: &'a str,
    tenant_id: &'a str,
    ok: bool,
    checks: &'a [Check],
}

pub async fn run(args: DoctorArgs) -> anyhow::Result<()> {
    let opened = open_store_beside_server(&args.store).await?;
    let store = opened.store.clone();
    let enterprise = pick(&store, args.enterprise.as_deref()).await?;
    let tenant_id = enterprise
        .tenant_id
        .as_ref()
        .map(|t| t.as_str().to_owned())
        .with_context(|| {
            format!(
                "{} has not registered its Microsoft 365 tenant yet: its Global Administrator must sign in first",
                enterprise.name
            )
        })?;

    let mut checks = vec![last_sign_in(&store, &enterprise).await?];
    let public_url = args
        .microsoft
        .public_url
        .clone()
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    let microsoft = args.microsoft.client(
        &public_url,
        EngineArgs::default().microsoft_tenant_concurrency,
    )?;
    let options = DoctorOptions {
        policies: policies(&store, &enterprise).await?,
        write_test: args.write_test.clone().map(|user| WriteTest {
            user,
            number: args.test_number.clone(),
        }),
    };
    checks.extend(microsoft.doctor(&tenant_id, &options).await);

    let pbx = PbxService::new(
        store.clone(),
        Arc::new(ApiConnector),
        Duration::from_secs(20),
    );
    for location in store.list_pbx_locations(enterprise.id).await? {
        let name = location.settings.name.as_str().to_owned();
        if args
            .location
            .as_deref()
            .is_some_and(|wanted| !wanted.eq_ignore_ascii_case(&name))
        {
            continue;
        }
        match pbx.pbx(enterprise.id, location.id).await {
            Ok(client) => {
                for mut check in client.doctor(args.extension.as_deref()).await {
                    check.title = format!("{name}: {}", check.title);
                    checks.push(check);
                }
            }
            Err(e) => checks.push(
                Check::new(
                    "pbx.settings",
                    format!("{name}: PBX settings"),
                    Outcome::Fail,
                    "Teamline cannot build a client from the stored settings",
                )
                .with_error(e.to_string())
                .with_fix("correct the PBX location's settings in Teamline (PBX settings)"),
            ),
        }
    }

    let ok = all_pass(&checks);
    if args.json {
        let report = Report {
            enterprise: enterprise.slug.as_str(),
            tenant_id: &tenant_id,
            ok,
            checks: &checks,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&enterprise, &tenant_id, &checks);
    }
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}

/// How the last sign-in to the Enterprise portal learnt the admin's roles (the portal records
/// it with the sign-in; the command line cannot sign in for you).
async fn last_sign_in(store: &DynStore, enterprise: &Enterprise) -> anyhow::Result<Check> {
    let events = store.list_audit(Some(enterprise.id), 500).await?;
    let recorded = events.iter().find_map(|event| {
        let check: Check = serde_json::from_str(event.after.as_deref()?).ok()?;
        (event.action == "admin.sign_in").then_some((event.at_ms, check))
    });
    Ok(match recorded {
        Some((at_ms, mut check)) => {
            let when = time::OffsetDateTime::from_unix_timestamp(at_ms / 1000)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default();
            check.found = format!("last sign-in ({when}): {}", check.found);
            check
        }
        None => Check::new(
            "signin.roles",
            "Admin sign-in: directory roles",
            Outcome::Skip,
            "no sign-in recorded yet: sign in to the Enterprise portal once, then run the doctor again to see whether the roles came from the ID token's wids claim or from Microsoft Graph",
        ),
    })
}

/// The enterprise named, or the only one with a registered tenant.
async fn pick(store: &DynStore, slug: Option<&str>) -> anyhow::Result<Enterprise> {
    if let Some(slug) = slug {
        return store
            .enterprise_by_slug(slug)
            .await?
            .with_context(|| format!("there is no enterprise '{slug}'"));
    }
    let mut registered: Vec<Enterprise> = store
        .list_enterprises(None)
        .await?
        .into_iter()
        .filter(|e| e.tenant_id.is_some())
        .collect();
    match registered.len() {
        1 => Ok(registered.remove(0)),
        0 => bail!("no enterprise has registered its Microsoft 365 tenant yet"),
        _ => {
            let slugs: Vec<String> = registered.iter().map(|e| e.slug.to_string()).collect();
            bail!(
                "several enterprises have a tenant ({}): choose one with --enterprise",
                slugs.join(", ")
            )
        }
    }
}

/// The policies Teamline grants in this enterprise: the first voice route's routing policy,
/// the dial plan and the no-voicemail calling policy (caller-ID policies are per caller name,
/// so that type is checked with Global).
async fn policies(
    store: &DynStore,
    enterprise: &Enterprise,
) -> anyhow::Result<Vec<(PolicyType, String)>> {
    let settings = EngineSettings::default();
    let mut out = vec![
        (PolicyType::TenantDialPlan, settings.dial_plan.clone()),
        (
            PolicyType::TeamsCallingPolicy,
            settings.no_voicemail_calling_policy.clone(),
        ),
    ];
    if let Some(route) = store.list_voice_routes(enterprise.id).await?.first() {
        out.push((
            PolicyType::OnlineVoiceRoutingPolicy,
            route.policy_name.clone(),
        ));
    }
    Ok(out)
}

fn print_table(enterprise: &Enterprise, tenant_id: &str, checks: &[Check]) {
    println!("teamline doctor — {} (tenant {tenant_id})", enterprise.name);
    println!();
    println!("{:<6} {:<52} FOUND", "RESULT", "CHECK");
    for c in checks {
        println!("{:<6} {:<52} {}", c.outcome.label(), c.title, c.found);
        if let Some(error) = &c.error {
            println!("{:<6} {:<52} says: {error}", "", "");
        }
        if let Some(fix) = &c.fix {
            println!("{:<6} {:<52} fix:  {fix}", "", "");
        }
    }
    let failed = checks.iter().filter(|c| c.outcome == Outcome::Fail).count();
    let warned = checks.iter().filter(|c| c.outcome == Outcome::Warn).count();
    println!();
    println!(
        "{} checks: {} failed, {warned} need attention",
        checks.len(),
        failed
    );
}
