//! The remote CLI (`teamline --server URL --token …`) against a running demo: SET UP PBX USER,
//! the Users list, Disable/Enable Calling (each also as a `--dry-run` that changes nothing), Sync,
//! `jobs wait` and Bulk Upload's `import`, with the server's refusals
//! shown with the field at fault and the fix.

use crate::demo::start_demo;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn teamline(url: &str, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args(["--server", url])
        .args(args)
        .env("TEAMLINE_TOKEN", token)
        .env("TEAMLINE_LOG", "warn")
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&ok(out)).unwrap()
}

fn refused(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr.clone()).unwrap()
}

fn make_token(data: &Path, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args(["api-token", "create", "--enterprise", "contoso"])
        .args(extra)
        .arg("--data-dir")
        .arg(data)
        .env("TEAMLINE_LOG", "warn")
        .output()
        .unwrap();
    ok(&out).trim().to_owned()
}

/// `users setup` for Adele Vance on extension 1000 with her `1000tm` device.
fn setup_adele(url: &str, token: &str, number: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "users",
        "setup",
        "--teams-user",
        "AdeleV@contoso.example",
        "--extension",
        "1000",
        "--number",
        number,
        "--device",
        "1000tm",
    ];
    args.extend_from_slice(extra);
    teamline(url, token, &args)
}

fn adele(users: &Value) -> Option<&Value> {
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["sip_user"] == "1000")
}

#[tokio::test]
async fn the_remote_cli_sets_up_lists_and_changes_users_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let (_demo, url) = start_demo(&data);
    let token = make_token(&data, &["--name", "remote-cli", "--read-write"]);
    let reader = make_token(&data, &["--name", "reader"]);

    let before = json(&teamline(&url, &token, &["users", "list", "--json"]));
    assert!(adele(&before).is_none(), "{before}");

    // A wrong number: the server's problem names the field and says what to change.
    let bad = refused(&setup_adele(
        &url,
        &token,
        "call me",
        &["--voice-route", "US East 2"],
    ));
    assert!(bad.contains("\n  phone_number: "), "{bad}");
    assert!(bad.contains("422"), "{bad}");
    // Several voice routes: the CLI asks which.
    let which = refused(&setup_adele(&url, &token, "+11000", &[]));
    assert!(
        which.contains("--voice-route") && which.contains("\"US East 2\""),
        "{which}"
    );

    // --dry-run: the changes the server would make, and nothing is set up.
    let preview = json(&setup_adele(
        &url,
        &token,
        "+11000",
        &["--voice-route", "US East 2", "--dry-run", "--json"],
    ));
    assert_eq!(preview["dry_run"], true, "{preview}");
    assert_eq!(
        preview["teams"][0]["summary"], "Assign +11000 and turn on Enterprise Voice",
        "{preview}"
    );
    let said = ok(&setup_adele(
        &url,
        &token,
        "+11000",
        &["--voice-route", "US East 2", "--dry-run"],
    ));
    assert!(said.contains("nothing was changed"), "{said}");
    assert!(
        said.contains("In Microsoft Teams:\n  - Assign +11000 and turn on Enterprise Voice"),
        "{said}"
    );
    let still = json(&teamline(&url, &token, &["users", "list", "--json"]));
    assert!(adele(&still).is_none(), "a dry run set Adele up: {still}");

    let set_up = json(&setup_adele(
        &url,
        &token,
        "+11000",
        &["--voice-route", "us east 2", "--json"],
    ));
    assert_eq!(set_up["upn"], "AdeleV@contoso.example");
    assert_eq!(set_up["voice_route_name"], "US East 2");
    assert_eq!(set_up["calling_enabled"], true);
    assert!(
        !["pending", "in_progress"].contains(&set_up["push_state"].as_str().unwrap()),
        "the command waited for the push: {set_up}"
    );

    let listed = ok(&teamline(&url, &token, &["users", "list"]));
    let row = listed.lines().find(|l| l.contains("1000 ")).unwrap();
    assert!(
        row.contains("AdeleV@contoso.example") && row.contains(" on "),
        "{listed}"
    );

    let dry = ok(&teamline(
        &url,
        &token,
        &["users", "disable-calling", "1000", "--dry-run"],
    ));
    assert!(dry.contains("  - Remove +11000"), "{dry}");
    let dry = json(&teamline(
        &url,
        &token,
        &["users", "disable-calling", "1000", "--dry-run", "--json"],
    ));
    assert_eq!(dry["teams"][0]["action"], "unassign_number", "{dry}");
    let listed = json(&teamline(&url, &token, &["users", "list", "--json"]));
    assert_eq!(
        adele(&listed).unwrap()["calling_enabled"],
        true,
        "a dry run disabled calling"
    );

    let off = json(&teamline(
        &url,
        &token,
        &["users", "disable-calling", "1000", "--json"],
    ));
    assert_eq!(off["calling_enabled"], false);
    let on = json(&teamline(
        &url,
        &token,
        &[
            "users",
            "enable-calling",
            "adelev@contoso.example",
            "--json",
        ],
    ));
    assert_eq!(on["calling_enabled"], true);
    assert_eq!(on["id"], off["id"]);

    // Sync follows its job to the end; `jobs wait` finds it finished.
    let job = json(&teamline(
        &url,
        &token,
        &["sync", "--enterprise", "contoso", "--json"],
    ));
    assert_eq!(job["state"], "succeeded", "{job}");
    let id = job["id"].as_i64().unwrap().to_string();
    let waited = json(&teamline(&url, &token, &["jobs", "wait", &id, "--json"]));
    assert_eq!(waited["id"], job["id"]);
    assert_eq!(waited["state"], "succeeded");
    let missing = refused(&teamline(&url, &token, &["jobs", "wait", "999999"]));
    assert!(missing.contains("404"), "{missing}");

    // The token's rights hold: a read-only token lists but changes nothing.
    let listed = json(&teamline(&url, &reader, &["users", "list", "--json"]));
    assert!(adele(&listed).is_some());
    let read_only = refused(&teamline(
        &url,
        &reader,
        &["users", "disable-calling", "1000"],
    ));
    assert!(read_only.contains("read-only"), "{read_only}");
    let unknown = refused(&teamline(&url, "tl_nope", &["users", "list"]));
    assert!(unknown.contains("not known"), "{unknown}");
    let nobody = refused(&teamline(
        &url,
        &token,
        &["users", "enable-calling", "4242"],
    ));
    assert!(nobody.contains("no PBX user '4242'"), "{nobody}");
}

#[test]
fn remote_commands_need_a_server_and_local_ones_refuse_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args(["users", "list"])
        .env_remove("TEAMLINE_SERVER")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--server URL"));
    let out = Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args(["--server", "http://127.0.0.1:9", "migrate"])
        .env("TEAMLINE_TOKEN", "tl_x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not through --server"));
    let out = Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args(["--server", "http://127.0.0.1:9", "users", "list"])
        .env_remove("TEAMLINE_TOKEN")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs an API token"));
}

/// A Bulk Upload row for a Contoso user on `ext` with `number`.
fn import_row(name: &str, ext: &str, number: &str) -> String {
    format!(
        "{},{ext},{number},US East 2,{}",
        teamline_sim::microsoft::demo::upn_for(name, teamline_sim::microsoft::demo::CONTOSO_DOMAIN),
        teamline_sim::netsapiens::CONTOSO_HQ_ADDRESS_ID
    )
}

fn has_extension(users: &Value, ext: &str) -> bool {
    users
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["sip_user"] == ext)
}

#[tokio::test]
async fn the_remote_cli_imports_a_file_and_follows_its_apply() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let (_demo, url) = start_demo(&data);
    let token = make_token(&data, &["--name", "importer", "--read-write"]);
    let reader = make_token(&data, &["--name", "reader"]);
    let file = dir.path().join("users.csv");
    let file_arg = file.to_str().unwrap();
    let header = "Teams User,SIP User,Phone Number,Available Voice Routes,Emergency Address";

    std::fs::write(
        &file,
        format!(
            "{header}\n{}\n{}\n",
            import_row("Megan Bowen", "1011", "+14255551011"),
            import_row("Lee Gu", "1008", "12ab")
        ),
    )
    .unwrap();
    let bad = teamline(&url, &token, &["import", file_arg, "--json"]);
    assert!(!bad.status.success());
    let report: Value =
        serde_json::from_str(String::from_utf8_lossy(&bad.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(report["bad_rows"], 1, "{report}");
    assert_eq!(report["rows"][0]["row"], 3, "{report}");
    assert_eq!(report["rows"][0]["problems"][0]["field"], "Phone Number");
    let users = json(&teamline(&url, &token, &["users", "list", "--json"]));
    assert!(!has_extension(&users, "1011"), "nothing written: {users}");

    std::fs::write(
        &file,
        format!(
            "{header}\n{}\n{}\n",
            import_row("Megan Bowen", "1011", "+14255551011"),
            import_row("Lee Gu", "1008", "+14255551008")
        ),
    )
    .unwrap();
    // A read-only token cannot upload a file.
    let refusal = refused(&teamline(&url, &reader, &["import", file_arg]));
    assert!(refusal.contains("read-only"), "{refusal}");

    let dry = ok(&teamline(&url, &token, &["import", file_arg, "--dry-run"]));
    assert!(dry.contains("2 rows, 0 to fix"), "{dry}");
    let applied = ok(&teamline(
        &url,
        &token,
        &["import", file_arg, "--enterprise", "contoso"],
    ));
    assert!(applied.contains("applied 2 of 2 rows"), "{applied}");
    assert!(applied.contains("2 set up: applied"), "{applied}");
    let users = json(&teamline(&url, &token, &["users", "list", "--json"]));
    assert!(
        has_extension(&users, "1011") && has_extension(&users, "1008"),
        "{users}"
    );
}
