//! `teamline doctor`: what decides on day one whether Teamline works with an enterprise's
//! Microsoft 365 tenant and PBX, checked against the real services with the settings Teamline
//! has stored. Read-only unless `--write-test <user>` asks for the round trip on a test user
//! (who is put back as before). Prints a table, or `--json`; exits 1 when a check failed.

use super::serve::MicrosoftArgs;
use crate::config::{PbxNetworkArgs, StoreArgs, open_store_beside_server};
use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use teamline_domain::audit::Actor;
use teamline_domain::diagnosis::{Check, Outcome};
use teamline_domain::enterprise::Enterprise;
use teamline_engine::doctor::DoctorRequest;
use teamline_microsoft::doctor::WriteTest;
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

    #[command(flatten)]
    pub pbx_network: PbxNetworkArgs,
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
    // Only the engine's reads are used: no job runner, nothing is queued.
    let engine = args
        .microsoft
        .engine_beside_server(store.clone(), args.pbx_network.connector())?;
    let request = DoctorRequest {
        location: args.location.clone(),
        extension: args.extension.clone(),
        write_test: args.write_test.clone().map(|user| WriteTest {
            user,
            number: args.test_number.clone(),
        }),
    };
    let actor = Actor::System("teamline doctor".into());
    let report = engine.doctor(enterprise.id, &actor, &request).await?;

    let ok = report.ok();
    if args.json {
        let json = Report {
            enterprise: enterprise.slug.as_str(),
            tenant_id: &report.tenant_id,
            ok,
            checks: &report.checks,
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print_table(&enterprise, &report.tenant_id, &report.checks);
    }
    if !ok {
        std::process::exit(1);
    }
    Ok(())
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
