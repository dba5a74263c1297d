//! `teamline pbx`: look at and act on an enterprise's PBX from the command line, with the
//! PBX location settings Teamline has stored (e.g. against the running demo:
//! `teamline pbx --data-dir data/demo --pbx-allow-http --pbx-allow-private-network
//! extensions`, as the demo's simulated PBX is on http://127.0.0.1).

use crate::config::{PbxNetworkArgs, StoreArgs, open_store_beside_server};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use std::time::Duration;
use teamline_domain::audit::Actor;
use teamline_domain::device::DeviceAuthId;
use teamline_domain::enterprise::Enterprise;
use teamline_domain::pbx_location::PbxLocation;
use teamline_domain::sip::Extension;
use teamline_engine::PbxService;
use teamline_pbx::{CheckStatus, PbxError, default_emergency_address, split_device_handle};
use teamline_store::DynStore;

#[derive(Args, Debug, Clone)]
pub struct PbxArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub pbx_network: PbxNetworkArgs,

    /// The enterprise (its short name, e.g. contoso). Optional when only one enterprise has a
    /// PBX location.
    #[arg(long, global = true)]
    pub enterprise: Option<String>,

    /// The PBX location's name (usually PBX). Optional when the enterprise has only one.
    #[arg(long, global = true)]
    pub location: Option<String>,

    #[command(subcommand)]
    pub command: PbxCommand,
}

#[derive(Subcommand, Debug, Clone)]
pub enum PbxCommand {
    /// List the PBX's extensions with their names and devices.
    Extensions,
    /// Create a device handle (e.g. 1002tm) on its extension, with a generated password.
    CreateDevice {
        /// The device to create: extension + suffix, e.g. 1002tm.
        handle: String,
        /// The emergency address id to attach (default: the extension's own address, else the
        /// domain-wide one).
        #[arg(long)]
        emergency_address: Option<String>,
    },
    /// Check the PBX settings: reachable, authenticated, domain exists, users readable.
    Test,
}

pub async fn run(args: PbxArgs) -> anyhow::Result<()> {
    let opened = open_store_beside_server(&args.store).await?;
    let store = opened.store.clone();
    let (enterprise, location) =
        pick(&store, args.enterprise.as_deref(), args.location.as_deref()).await?;
    let pbx = PbxService::new(
        store.clone(),
        args.pbx_network.connector(),
        Duration::from_secs(20),
    );
    if let Err(problems) = pbx.check_settings(&location.settings) {
        bail!(
            "PBX location {} is not reachable under this Teamline's network policy ({problems}); \
             for a PBX on a trusted network (or the demo's simulator) pass --pbx-allow-http \
             and/or --pbx-allow-private-network",
            location.settings.name
        );
    }
    let e = enterprise.id;
    match args.command {
        PbxCommand::Extensions => {
            let client = pbx.pbx(e, location.id).await?;
            let extensions = pbx
                .pbx_read("list its extensions", client.list_extensions())
                .await?;
            println!(
                "{} — {} extensions in domain {}",
                location.settings.name,
                extensions.len(),
                location.settings.sip_domain
            );
            println!("{:<10} {:<28} DEVICES", "EXTENSION", "NAME");
            for x in extensions {
                println!(
                    "{:<10} {:<28} {}",
                    x.id,
                    x.display_name(),
                    x.devices.join(", ")
                );
            }
        }
        PbxCommand::CreateDevice {
            handle,
            emergency_address,
        } => {
            let auth_id = DeviceAuthId::parse(&handle).map_err(|e| anyhow::anyhow!("{e}"))?;
            let (ext, suffix) = split_device_handle(auth_id.as_str())
                .filter(|(_, suffix)| !suffix.is_empty())
                .with_context(|| {
                    format!("'{handle}' is not extension + suffix: give it as e.g. 1002tm")
                })?;
            let ext = Extension::parse(ext).map_err(|e| anyhow::anyhow!("{e}"))?;
            let address = match emergency_address {
                Some(a) => Some(a),
                None => {
                    let client = pbx.pbx(e, location.id).await?;
                    let addresses = pbx
                        .pbx_read(
                            "list emergency addresses",
                            client.list_emergency_addresses(ext.as_str()),
                        )
                        .await?;
                    default_emergency_address(&addresses, ext.as_str()).map(|a| {
                        println!("Using emergency address {} ({})", a.id, a.summary());
                        a.id.clone()
                    })
                }
            };
            let actor = Actor::System("cli".into());
            match pbx
                .create_device(e, &actor, location.id, &ext, &auth_id, address)
                .await
            {
                Ok(created) => println!(
                    "Created device {created} on extension {ext} (suffix {suffix}) in domain {}.",
                    location.settings.sip_domain
                ),
                Err(teamline_engine::EngineError::Pbx(err @ PbxError::DeviceExists { .. })) => {
                    bail!("{err}")
                }
                Err(err) => return Err(err.into()),
            }
        }
        PbxCommand::Test => {
            let report = pbx.pbx(e, location.id).await?.test_connection().await;
            for (label, check) in report.checks() {
                let mark = match check.status {
                    CheckStatus::Passed => "ok  ",
                    CheckStatus::Failed => "FAIL",
                    CheckStatus::Skipped => "skip",
                };
                println!("[{mark}] {label}: {}", check.message);
            }
            if let Some(problem) = report.first_failure() {
                bail!("{problem}");
            }
        }
    }
    Ok(())
}

async fn pick(
    store: &DynStore,
    enterprise: Option<&str>,
    location: Option<&str>,
) -> anyhow::Result<(Enterprise, PbxLocation)> {
    let enterprises = match enterprise {
        Some(slug) => vec![
            store
                .enterprise_by_slug(slug)
                .await?
                .with_context(|| format!("there is no enterprise '{slug}'"))?,
        ],
        None => store.list_enterprises(None).await?,
    };
    let mut candidates = Vec::new();
    for e in enterprises {
        for l in store.list_pbx_locations(e.id).await? {
            if location.is_none_or(|name| l.settings.name.as_str().eq_ignore_ascii_case(name)) {
                candidates.push((e.clone(), l));
            }
        }
    }
    match candidates.len() {
        1 => Ok(candidates.remove(0)),
        0 => bail!("no PBX location matches: check --enterprise and --location"),
        _ => {
            let names: Vec<String> = candidates
                .iter()
                .map(|(e, l)| format!("{} / {}", e.slug, l.settings.name))
                .collect();
            bail!(
                "several PBX locations match ({}): choose one with --enterprise and --location",
                names.join(", ")
            )
        }
    }
}
