//! `teamline --server … users list|setup|enable-calling|disable-calling`: the Users page and
//! SET UP PBX USER through the API. Changes wait (with a spinner) until the server has pushed
//! them to Microsoft Teams and the PBX, unless `--no-wait`. `--dry-run` prints what the
//! change would make in Teams and on the PBX (the API's `?dry_run=true`) and changes nothing.

use super::client::{Client, ClientError};
use super::jobs::Progress;
use super::{enterprise, print_json};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use std::time::Duration;
use teamline_web::api::paging::Paged;
use teamline_web::api::v1::enterprises::{EnterpriseOut, PbxLocationList, VoiceRouteList};
use teamline_web::api::v1::pbx_users::{PbxUserIn, PbxUserOut};
use teamline_web::api::v1::preview::PreviewOut;

#[derive(Args, Debug, Clone)]
pub struct UsersArgs {
    /// The enterprise (id, short name or name); needed when the token reaches several.
    #[arg(long, global = true)]
    pub enterprise: Option<String>,

    #[command(subcommand)]
    pub command: UsersCommand,
}

#[derive(Subcommand, Debug, Clone)]
pub enum UsersCommand {
    /// The PBX users, every page of them.
    List {
        /// `active` (default), `disabled` or `deleted`.
        #[arg(long)]
        state: Option<String>,
        /// Part of the name, UPN, extension, number or tag.
        #[arg(long)]
        search: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// SET UP PBX USER: pair a Teams user with a PBX extension and a number.
    Setup(Box<SetupArgs>),
    /// Enable Calling: assign the number and policies in Teams.
    EnableCalling(ChangeArgs),
    /// Disable Calling: remove the number and policies in Teams.
    DisableCalling(ChangeArgs),
}

#[derive(Args, Debug, Clone)]
pub struct SetupArgs {
    /// The Teams user's UPN (or Entra object id).
    #[arg(long)]
    pub teams_user: String,
    /// The PBX extension.
    #[arg(long)]
    pub extension: String,
    /// The phone number in E.164, e.g. +14155550100.
    #[arg(long)]
    pub number: String,
    /// The PBX device Teams registers as, e.g. 1000tm (it must exist on the PBX).
    #[arg(long)]
    pub device: String,
    /// The voice route (name or id); may be left out when the enterprise has one.
    #[arg(long)]
    pub voice_route: Option<String>,
    /// The PBX location (name or id); may be left out when the enterprise has one.
    #[arg(long)]
    pub pbx_location: Option<String>,
    /// Voicemail in Teams instead of the PBX.
    #[arg(long)]
    pub teams_voicemail: bool,
    /// Show this caller name instead of the caller's own (caller name policy "other").
    #[arg(long)]
    pub caller_name: Option<String>,
    /// Forwarded calls show the original caller's number, not the user's.
    #[arg(long)]
    pub original_caller_id: bool,
    /// Do not assign the platform's dial plan.
    #[arg(long)]
    pub no_dial_plan: bool,
    #[arg(long)]
    pub tag: Option<String>,
    #[command(flatten)]
    pub output: ChangeOutput,
}

#[derive(Args, Debug, Clone)]
pub struct ChangeArgs {
    /// The user: extension, UPN or PBX user id.
    pub user: String,
    #[command(flatten)]
    pub output: ChangeOutput,
}

#[derive(Args, Debug, Clone)]
pub struct ChangeOutput {
    /// Answer as soon as the server accepted the change, without waiting for the push.
    #[arg(long)]
    pub no_wait: bool,
    /// Print the user (with `--dry-run`: the changes) as JSON.
    #[arg(long)]
    pub json: bool,
    /// Show what the change would make in Microsoft Teams and on the PBX; change nothing.
    #[arg(long, conflicts_with = "no_wait")]
    pub dry_run: bool,
}

pub async fn run(client: &Client, args: UsersArgs) -> anyhow::Result<()> {
    let e = enterprise(client, args.enterprise.as_deref()).await?;
    match args.command {
        UsersCommand::List {
            state,
            search,
            json,
        } => list(client, &e, state, search, json).await,
        UsersCommand::Setup(setup) => {
            let body = setup_body(client, &e, &setup).await?;
            if setup.output.dry_run {
                let preview: PreviewOut = client
                    .post_query(&users_path(&e), &dry_run(), Some(&body))
                    .await?;
                let who = format!("{} ({})", setup.teams_user, setup.extension);
                return print_preview(&preview, "users setup", &who, setup.output.json);
            }
            let user: PbxUserOut = client.post(&users_path(&e), Some(&body)).await?;
            settle(client, &e, user, &setup.output, "set up").await
        }
        UsersCommand::EnableCalling(change) => {
            calling(client, &e, &change, "enable-calling", "calling enabled").await
        }
        UsersCommand::DisableCalling(change) => {
            calling(client, &e, &change, "disable-calling", "calling disabled").await
        }
    }
}

fn users_path(e: &EnterpriseOut) -> String {
    format!("/api/v1/enterprises/{}/pbx-users", e.id)
}

async fn list(
    client: &Client,
    e: &EnterpriseOut,
    state: Option<String>,
    search: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let mut users = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "200".to_owned())];
        query.extend(state.clone().map(|s| ("state", s)));
        query.extend(search.clone().map(|s| ("search", s)));
        query.extend(cursor.take().map(|c| ("cursor", c)));
        let page: Paged<PbxUserOut> = client.get(&users_path(e), &query).await?;
        users.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    if json {
        return print_json(&users);
    }
    println!(
        "{:<6} {:<10} {:<14} {:<24} {:<32} {:<8} PUSH",
        "ID", "EXTENSION", "NUMBER", "NAME", "UPN", "CALLING"
    );
    for u in &users {
        println!(
            "{:<6} {:<10} {:<14} {:<24} {:<32} {:<8} {}",
            u.id,
            u.sip_user,
            u.phone_number,
            u.display_name,
            u.upn,
            if u.calling_enabled { "on" } else { "off" },
            u.push_state
        );
    }
    eprintln!("{} user(s) in {}", users.len(), e.name);
    Ok(())
}

/// The request body, with the voice route and PBX location looked up by name.
async fn setup_body(
    client: &Client,
    e: &EnterpriseOut,
    s: &SetupArgs,
) -> anyhow::Result<PbxUserIn> {
    let routes: VoiceRouteList = client
        .get(&format!("/api/v1/enterprises/{}/voice-routes", e.id), &[])
        .await?;
    let route = choose(
        "voice route",
        "--voice-route",
        s.voice_route.as_deref(),
        routes.items.iter().map(|r| (r.id, r.name.as_str())),
    )?;
    let locations: PbxLocationList = client
        .get(&format!("/api/v1/enterprises/{}/pbx-locations", e.id), &[])
        .await?;
    let location = choose(
        "PBX location",
        "--pbx-location",
        s.pbx_location.as_deref(),
        locations.items.iter().map(|l| (l.id, l.name.as_str())),
    )?;
    Ok(PbxUserIn {
        pbx_location_id: location,
        voice_route_id: route,
        teams_user: s.teams_user.clone(),
        sip_user: s.extension.clone(),
        phone_number: s.number.clone(),
        use_teams_voicemail: s.teams_voicemail,
        caller_name_policy: s.caller_name.as_ref().map(|_| "other".to_owned()),
        caller_name: s.caller_name.clone(),
        forwarded_caller_id: s.original_caller_id.then(|| "original_caller".to_owned()),
        assign_dial_plan: s.no_dial_plan.then_some(false),
        device: s.device.clone(),
        tag: s.tag.clone(),
    })
}

/// The id of the object `wanted` names (by id or name), or the only one there is.
fn choose<'a>(
    what: &str,
    flag: &str,
    wanted: Option<&str>,
    items: impl Iterator<Item = (i64, &'a str)>,
) -> anyhow::Result<i64> {
    let items: Vec<(i64, &str)> = items.collect();
    let names = || {
        items
            .iter()
            .map(|(_, n)| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted.map(str::trim) {
        Some(w) => items
            .iter()
            .find(|(id, name)| id.to_string() == w || name.eq_ignore_ascii_case(w))
            .map(|(id, _)| *id)
            .with_context(|| format!("there is no {what} \"{w}\": use one of {}", names())),
        None => match items.as_slice() {
            [(id, _)] => Ok(*id),
            [] => bail!("the enterprise has no {what} yet: add one in the portal first"),
            _ => bail!("choose the {what} with {flag}: one of {}", names()),
        },
    }
}

/// The PBX user `key` names: its extension, UPN or id.
async fn find(client: &Client, e: &EnterpriseOut, key: &str) -> anyhow::Result<PbxUserOut> {
    let key = key.trim();
    for state in ["active", "disabled"] {
        let page: Paged<PbxUserOut> = client
            .get(
                &users_path(e),
                &[
                    ("state", state.to_owned()),
                    ("search", key.to_owned()),
                    ("limit", "200".to_owned()),
                ],
            )
            .await?;
        if let Some(u) = page
            .items
            .into_iter()
            .find(|u| u.sip_user == key || u.upn.eq_ignore_ascii_case(key))
        {
            return Ok(u);
        }
    }
    if let Ok(id) = key.parse::<i64>() {
        match client
            .get::<PbxUserOut>(&format!("{}/{id}", users_path(e)), &[])
            .await
        {
            Ok(u) => return Ok(u),
            Err(ClientError::Refused(r)) if r.status() == 404 => {}
            Err(other) => return Err(other.into()),
        }
    }
    bail!(
        "{} has no PBX user '{key}': give the extension, the UPN or the id (`users list` shows them)",
        e.name
    )
}

async fn calling(
    client: &Client,
    e: &EnterpriseOut,
    change: &ChangeArgs,
    action: &str,
    done: &str,
) -> anyhow::Result<()> {
    let user = find(client, e, &change.user).await?;
    if change.output.dry_run {
        let preview: PreviewOut = client
            .post_query::<(), _>(
                &format!("{}/{}/{action}", users_path(e), user.id),
                &dry_run(),
                None,
            )
            .await?;
        let who = format!("{} ({})", user.display_name, user.sip_user);
        return print_preview(&preview, action, &who, change.output.json);
    }
    let user: PbxUserOut = client
        .post::<(), _>(&format!("{}/{}/{action}", users_path(e), user.id), None)
        .await?;
    settle(client, e, user, &change.output, done).await
}

/// Waits (unless `--no-wait`) until the server has pushed the user's change, then prints it.
/// A push that failed is an error with the server's reason.
async fn settle(
    client: &Client,
    e: &EnterpriseOut,
    mut user: PbxUserOut,
    output: &ChangeOutput,
    done: &str,
) -> anyhow::Result<()> {
    if !output.no_wait {
        let path = format!("{}/{}", users_path(e), user.id);
        let mut progress = Progress::new(&format!("{} ({})", user.display_name, user.sip_user));
        while matches!(user.push_state.as_str(), "pending" | "in_progress") {
            let line = match &user.last_error {
                Some(err) => format!("{}: {err}", user.push_state),
                None => user.push_state.replace('_', " "),
            };
            progress.line(line);
            tokio::time::sleep(Duration::from_millis(300)).await;
            user = client.get(&path, &[]).await?;
        }
        progress.done();
    }
    if output.json {
        print_json(&user)?;
    } else {
        println!(
            "{} ({}, {}): {done}; push {}",
            user.display_name,
            user.sip_user,
            user.phone_number,
            user.push_state.replace('_', " ")
        );
    }
    if user.push_state == "failed" {
        bail!(
            "the push of {} ({}) failed: {}. Fix the cause, then Repair the user",
            user.display_name,
            user.sip_user,
            user.last_error
                .as_deref()
                .unwrap_or("no reason was recorded")
        );
    }
    Ok(())
}

fn dry_run() -> [(&'static str, String); 1] {
    [("dry_run", "true".to_owned())]
}

/// The API's preview of a change, as JSON or in words, Teams first as Teamline makes them.
fn print_preview(preview: &PreviewOut, command: &str, who: &str, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(preview);
    }
    println!("Dry run of {command} for {who}: nothing was changed.");
    if preview.teams.is_empty() && preview.pbx.is_empty() {
        println!("Nothing to change: Microsoft Teams and the PBX already hold this.");
    } else {
        let side = |title: &str, changes: Vec<&str>| {
            println!("{title}:");
            if changes.is_empty() {
                println!("  no change");
            }
            for c in changes {
                println!("  - {c}");
            }
        };
        side(
            "In Microsoft Teams",
            preview.teams.iter().map(|c| c.summary.as_str()).collect(),
        );
        side(
            "On the PBX",
            preview.pbx.iter().map(|c| c.summary.as_str()).collect(),
        );
    }
    for note in &preview.notes {
        println!("Note: {note}");
    }
    Ok(())
}
