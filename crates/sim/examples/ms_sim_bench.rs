//! Prints how fast the Microsoft simulator seeds a large tenant and serves a sync.
//!
//! `cargo run --release -p teamline-sim --example ms_sim_bench [USERS] [SYNC_MEMBERS]`

use std::time::Instant;

use serde_json::Value;
use teamline_sim::microsoft::{MicrosoftSim, SimConfig, UserPatch, demo};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let users: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let members: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20_000);
    teamline_sim::tls::install_crypto_provider();
    let sim = MicrosoftSim::new(SimConfig::default())?;

    let started = Instant::now();
    let tenant = sim.seed_generated("bench", users, members);
    println!(
        "seed {users} users ({members} in the sync group): {:?}",
        started.elapsed()
    );

    let run = sim.spawn_http("127.0.0.1:0".parse()?).await?;
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            run.base_url(),
            tenant.id()
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", demo::TEAMLINE_APP_CLIENT_ID),
            ("client_secret", demo::TEAMLINE_APP_CLIENT_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let group = tenant.group_id(demo::SYNC_GROUP).unwrap_or_default();

    let started = Instant::now();
    let mut next = Some(format!(
        "{}/v1.0/groups/{group}/transitiveMembers/microsoft.graph.user?$select=id,userPrincipalName,accountEnabled,assignedPlans&$top=999",
        run.base_url()
    ));
    let (mut pages, mut count) = (0, 0);
    while let Some(url) = next {
        let page: Value = http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        pages += 1;
        count += page["value"].as_array().map(Vec::len).unwrap_or(0);
        next = page["@odata.nextLink"].as_str().map(str::to_string);
    }
    println!(
        "transitiveMembers: {count} users in {pages} pages: {:?}",
        started.elapsed()
    );

    let latest: Value = http
        .get(format!(
            "{}/v1.0/users/delta?$deltatoken=latest",
            run.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let link = latest["@odata.deltaLink"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let started = Instant::now();
    for _ in 0..100 {
        http.get(&link)
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?;
    }
    println!("100 empty delta rounds: {:?}", started.elapsed());
    tenant.update_user(
        &demo::generated_user_upn("bench", 7),
        UserPatch {
            account_enabled: Some(false),
            ..Default::default()
        },
    )?;
    let started = Instant::now();
    let changed: Value = http
        .get(&link)
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    println!(
        "delta round with 1 change: {} item(s) in {:?}",
        changed["value"].as_array().map(Vec::len).unwrap_or(0),
        started.elapsed()
    );
    run.shutdown().await;
    Ok(())
}
