//! `teamline import FILE --enterprise contoso` (the real binary) next to the running demo: a
//! file with a bad row is reported by row and column and writes nothing, `--dry-run` only
//! checks, and the fixed file is applied by the server's runner while the command follows it.

use serde_json::Value;
use std::path::Path;
use std::process::Output;
use teamline::commands::demo::{DemoArgs, DemoStack};
use teamline_sim::microsoft::demo as ms;
use teamline_sim::netsapiens::CONTOSO_HQ_ADDRESS_ID;

const HEADER: &str = "Teams User,SIP User,Phone Number,Available Voice Routes,Emergency Address";

fn row(name: &str, ext: &str, number: &str) -> String {
    format!(
        "{},{ext},{number},US East 2,{CONTOSO_HQ_ADDRESS_ID}",
        ms::upn_for(name, ms::CONTOSO_DOMAIN)
    )
}

fn import(data: &Path, sim: &str, file: &Path, extra: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_teamline"))
        .arg("import")
        .arg(file)
        .arg("--data-dir")
        .arg(data)
        .args(["--enterprise", "contoso"])
        .args(["--microsoft-client-id", ms::TEAMLINE_APP_CLIENT_ID])
        .args(["--microsoft-login-url", sim])
        .args(["--microsoft-graph-url", sim])
        .args(["--microsoft-teams-admin-url", sim])
        .args(extra)
        .env(
            "TEAMLINE_MICROSOFT_CLIENT_SECRET",
            ms::TEAMLINE_APP_CLIENT_SECRET,
        )
        .env("TEAMLINE_LOG", "warn")
        .env("TEAMLINE_PBX_ALLOW_HTTP", "true")
        .env("TEAMLINE_PBX_ALLOW_PRIVATE_NETWORK", "true")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_row_is_reported_and_the_fixed_file_is_applied_with_progress() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let stack = DemoStack::start(&DemoArgs {
        data_dir: data.clone(),
        listen: "127.0.0.1:0".parse().unwrap(),
        fresh: false,
    })
    .await
    .unwrap();
    let e = stack.contoso.id;
    let store = stack.engine.store().clone();
    let sim = stack.microsoft.url.clone();
    let before = store.user_counts(e).await.unwrap();
    let file = dir.path().join("users.csv");

    std::fs::write(
        &file,
        format!(
            "{HEADER}\n{}\n{}\n",
            row("Megan Bowen", "1011", "+14255551011"),
            row("Lee Gu", "1008", "12ab")
        ),
    )
    .unwrap();
    let bad = import(&data, &sim, &file, &["--json"]);
    assert!(!bad.status.success(), "{}", text(&bad));
    let report: Value =
        serde_json::from_str(String::from_utf8_lossy(&bad.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(report["bad_rows"], 1, "{report}");
    assert_eq!(report["rows"][0]["row"], 3);
    assert_eq!(report["rows"][0]["problems"][0]["field"], "Phone Number");
    assert_eq!(
        store.user_counts(e).await.unwrap(),
        before,
        "nothing written"
    );

    std::fs::write(
        &file,
        format!(
            "{HEADER}\n{}\n{}\n",
            row("Megan Bowen", "1011", "+14255551011"),
            row("Lee Gu", "1008", "+14255551008")
        ),
    )
    .unwrap();
    let dry = import(&data, &sim, &file, &["--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    assert!(text(&dry).contains("2 rows, 0 to fix"), "{}", text(&dry));
    assert_eq!(
        store.user_counts(e).await.unwrap(),
        before,
        "a dry run writes nothing"
    );

    let applied = import(&data, &sim, &file, &[]);
    let out = text(&applied);
    assert!(applied.status.success(), "{out}");
    assert!(out.contains("applied 2 of 2 rows"), "{out}");
    assert!(out.contains("2 set up: applied"), "{out}");
    assert_eq!(
        store.user_counts(e).await.unwrap().active,
        before.active + 2
    );
}
