//! `teamline sim`: runs the Microsoft cloud simulator standalone and prints how to use it.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context, bail};
use teamline_sim::microsoft::{MicrosoftSim, SimConfig, TenantControl, demo};

/// Options of `teamline sim`.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Tenants to seed, comma-separated: `contoso`, `fabrikam`,
    /// `NAME:USERS[:SYNC_MEMBERS[:SYNC_GROUPS]]` for a generated tenant (e.g. `bigco:100000:20000`,
    /// or `bigco:100000:20000:10` for ten overlapping sync groups of 20 000 each), or
    /// `NAME*COUNT:USERS[:SYNC_MEMBERS[:SYNC_GROUPS]]` for a fleet of COUNT generated tenants
    /// named NAME-1 … NAME-COUNT (e.g. `fleet*2000:50`).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "contoso,fabrikam",
        env = "TEAMLINE_SIM_TENANTS"
    )]
    pub tenants: Vec<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", env = "TEAMLINE_SIM_BIND")]
    pub bind: IpAddr,
    /// HTTP port (0 = random).
    #[arg(long, default_value_t = 8480, env = "TEAMLINE_SIM_HTTP_PORT")]
    pub http_port: u16,
    /// HTTPS port; HTTPS is served only when given (0 = random).
    #[arg(long, env = "TEAMLINE_SIM_HTTPS_PORT")]
    pub https_port: Option<u16>,
    /// Directory where the HTTPS CA certificate is written for clients to trust.
    #[arg(long, default_value = "teamline-sim-ca", env = "TEAMLINE_SIM_CA_DIR")]
    pub ca_dir: PathBuf,
    /// The DNS server (`ip:port`, asked over TCP) where domain verification looks for the TXT
    /// record, as Microsoft looks in public DNS; without it, verification needs the control
    /// API's publish (or nothing, by default).
    #[arg(long, env = "TEAMLINE_SIM_DNS_NAMESERVER")]
    pub dns_nameserver: Option<std::net::SocketAddr>,
    /// Latency added to every Graph and Teams admin request of every tenant, in milliseconds,
    /// as over a real network (the control API's faults can change it per tenant).
    #[arg(long, default_value_t = 0, env = "TEAMLINE_SIM_LATENCY_MS")]
    pub latency_ms: u64,
}

/// At most this many tenants are listed one by one when the simulator starts.
const LISTED_TENANTS: usize = 20;

fn seed(sim: &MicrosoftSim, spec: &str) -> anyhow::Result<Vec<TenantControl>> {
    let spec = spec.trim();
    match spec.to_ascii_lowercase().as_str() {
        "contoso" => Ok(vec![sim.seed_contoso()]),
        "fabrikam" => Ok(vec![sim.seed_fabrikam()]),
        _ => {
            let usage = || {
                format!(
                    "tenant '{spec}': use contoso, fabrikam, NAME:USERS[:SYNC_MEMBERS[:SYNC_GROUPS]] or NAME*COUNT:USERS[:SYNC_MEMBERS[:SYNC_GROUPS]]"
                )
            };
            let mut parts = spec.split(':');
            let name = parts.next().unwrap_or_default();
            let (name, count) = match name.split_once('*') {
                Some((name, count)) => (
                    name,
                    Some(count.parse::<usize>().with_context(|| {
                        format!("tenant '{spec}': COUNT (after *) must be a number")
                    })?),
                ),
                None => (name, None),
            };
            let users: usize = parts
                .next()
                .with_context(usage)?
                .parse()
                .with_context(|| format!("tenant '{spec}': USERS must be a number"))?;
            let members: usize = match parts.next() {
                Some(m) => m
                    .parse()
                    .with_context(|| format!("tenant '{spec}': SYNC_MEMBERS must be a number"))?,
                None => users,
            };
            let groups: usize = match parts.next() {
                Some(g) => g.parse().ok().filter(|g| *g >= 1).with_context(|| {
                    format!("tenant '{spec}': SYNC_GROUPS must be a number of at least 1")
                })?,
                None => 1,
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                bail!("tenant '{spec}': the name must be letters, digits and hyphens");
            }
            Ok(match count {
                None => vec![sim.seed_generated_groups(name, users, members, groups)],
                Some(count) => (1..=count)
                    .map(|i| {
                        sim.seed_generated_groups(&format!("{name}-{i}"), users, members, groups)
                    })
                    .collect(),
            })
        }
    }
}

/// Runs the simulator until Ctrl-C.
pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    let sim = MicrosoftSim::new(SimConfig {
        dns_nameserver: args.dns_nameserver,
        ..SimConfig::default()
    })
    .context("could not start the Microsoft simulator")?;
    let mut seeded = Vec::new();
    for spec in &args.tenants {
        seeded.extend(seed(&sim, spec)?);
    }
    if args.latency_ms > 0 {
        for t in &seeded {
            t.set_latency(std::time::Duration::from_millis(args.latency_ms));
        }
    }
    let http = sim
        .spawn_http(SocketAddr::new(args.bind, args.http_port))
        .await
        .context("could not start the simulator's HTTP listener")?;
    let https = match args.https_port {
        Some(port) => Some(
            sim.spawn_https(SocketAddr::new(args.bind, port), &args.ca_dir)
                .await
                .context("could not start the simulator's HTTPS listener")?,
        ),
        None => None,
    };

    println!("Teamline Microsoft cloud simulator");
    println!();
    for base in std::iter::once(http.base_url()).chain(https.as_ref().map(|h| h.base_url())) {
        println!(
            "  login (Entra ID):        {base}   e.g. {base}/organizations/v2.0/.well-known/openid-configuration"
        );
        println!("  Microsoft Graph:         {base}/v1.0");
        println!("  Teams admin REST:        {base}   (/Skype.Policy/..., /Teams.Tenant/tenants)");
        println!("  control API:             {base}/_sim/tenants");
    }
    if let Some(h) = &https
        && let Some(ca) = h.ca_pem_path()
    {
        println!("  CA certificate to trust: {}", ca.display());
    }
    println!();
    println!("App registration (Teamline):");
    println!("  client id:      {}", demo::TEAMLINE_APP_CLIENT_ID);
    println!("  client secret:  {}", demo::TEAMLINE_APP_CLIENT_SECRET);
    println!(
        "  redirect URIs:  {}",
        demo::TEAMLINE_APP_REDIRECT_URIS.join(", ")
    );
    println!();
    println!("Tenants:");
    for t in seeded.iter().take(LISTED_TENANTS) {
        let domains: Vec<String> = t.domains().into_iter().map(|(d, _)| d).collect();
        println!(
            "  {:<10} {}  {} users  consent {}  domains {}",
            t.name(),
            t.id(),
            t.user_count(),
            if t.consent_granted() {
                "granted"
            } else {
                "not granted"
            },
            domains.join(", ")
        );
    }
    if seeded.len() > LISTED_TENANTS {
        println!("  … and {} more", seeded.len() - LISTED_TENANTS);
    }
    if args.latency_ms > 0 {
        println!(
            "  every Graph and Teams admin request waits {} ms",
            args.latency_ms
        );
    }
    println!();
    println!("Demo accounts (simulated sign-in):");
    println!(
        "  Global Administrator  {} / {}",
        demo::CONTOSO_ADMIN_UPN,
        demo::ADMIN_PASSWORD
    );
    println!(
        "  Non-admin user        {} / {}",
        demo::CONTOSO_NON_ADMIN_UPN,
        demo::USER_PASSWORD
    );
    println!(
        "  Fabrikam admin        {} / {}",
        demo::FABRIKAM_ADMIN_UPN,
        demo::ADMIN_PASSWORD
    );
    println!("  Other users           <UPN> / {}", demo::USER_PASSWORD);
    println!();
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .context("could not wait for Ctrl-C")?;
    if let Some(h) = https {
        h.shutdown().await;
    }
    http.shutdown().await;
    Ok(())
}
