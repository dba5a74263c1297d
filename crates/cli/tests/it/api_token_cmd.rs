//! `teamline api-token` next to a running demo: the printed token works against its API.

use crate::demo::start_demo;
use std::process::Command;

fn api_token(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_teamline"))
        .arg("api-token")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("TEAMLINE_LOG", "warn")
        .output()
        .unwrap()
}

async fn enterprises(url: &str, token: &str) -> reqwest::Response {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
        .get(format!("{url}/api/v1/enterprises"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn tokens_made_on_the_command_line_reach_their_scope_until_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let (_demo, url) = start_demo(&data);

    let made = api_token(
        &data,
        &["create", "--enterprise", "contoso", "--name", "ci"],
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let token = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("tl_"), "{token}");
    let seen: serde_json::Value = enterprises(&url, &token).await.json().await.unwrap();
    let names: Vec<&str> = seen["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["slug"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["contoso"]);

    let wide = api_token(
        &data,
        &[
            "create",
            "--reseller",
            "Northwind Voice",
            "--name",
            "provisioning",
            "--read-write",
        ],
    );
    assert!(
        wide.status.success(),
        "{}",
        String::from_utf8_lossy(&wide.stderr)
    );
    let wide = String::from_utf8(wide.stdout).unwrap().trim().to_owned();
    let seen: serde_json::Value = enterprises(&url, &wide).await.json().await.unwrap();
    assert_eq!(seen["items"].as_array().unwrap().len(), 2, "{seen}");

    let list = api_token(&data, &["list", "--enterprise", "contoso"]);
    let list = String::from_utf8(list.stdout).unwrap();
    assert!(
        list.contains("\tci\t") && list.contains("read-only"),
        "{list}"
    );
    assert!(!list.contains(&token));
    let id = list.split('\t').next().unwrap().trim().to_owned();
    let revoked = api_token(&data, &["revoke", "--enterprise", "contoso", &id]);
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    assert_eq!(enterprises(&url, &token).await.status(), 401);

    let nowhere = api_token(&data, &["create", "--enterprise", "nowhere", "--name", "x"]);
    assert!(!nowhere.status.success());
    assert!(String::from_utf8_lossy(&nowhere.stderr).contains("no enterprise 'nowhere'"));
}
