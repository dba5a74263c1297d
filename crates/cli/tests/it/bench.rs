//! Every `teamline bench` once at a small size (a smoke test, not a measurement): each run
//! validates its own result and exits non-zero when it is not valid, and ends with its figures
//! as JSON on the last line.

use serde_json::Value;
use std::process::Command;

fn bench(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_teamline"))
        .arg("bench")
        .args(args)
        .env("TEAMLINE_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "teamline bench {} failed:\n{stdout}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("the last line is not JSON ({e}): {last}"))
}

#[test]
fn bench_enable_measures_whole_windows_and_every_user_ends_in_sync() {
    let f = bench(&[
        "enable",
        "--users",
        "30",
        "--budget",
        "30",
        "--window-ms",
        "1000",
    ]);
    assert_eq!(f["users_in_sync"], 30);
    assert!(f["whole_windows"].as_u64().unwrap() >= 1, "{f}");
    let fraction = f["rate_fraction"].as_f64().unwrap();
    assert!(fraction > 0.0 && fraction <= 1.0, "{f}");
    assert!(f["measured_writes"].as_u64().unwrap() > 0, "{f}");
    // The requests by kind say where the budget went: one number assignment per user.
    let kinds = &f["accepted_per_user_by_kind"];
    assert_eq!(
        kinds["POST /admin/teams/telephoneNumberManagement/numberAssignments/assignNumber"], 1.0,
        "{f}"
    );
    assert!(
        kinds["GET /admin/teams/userConfigurations/{id}"]
            .as_f64()
            .unwrap()
            >= 1.0,
        "every user is read back: {f}"
    );
}

#[test]
fn bench_save_times_each_save_against_the_floor_of_its_sequential_requests() {
    let f = bench(&["save", "--samples", "2", "--latency-ms", "20"]);
    assert_eq!(f["floor_ms"], 40, "two sequential requests at 20 ms: {f}");
    assert!(f["median_ms"].as_f64().unwrap() >= 40.0, "{f}");
    // Every save is read back once; the grants and the number are the writes.
    assert_eq!(f["reads_per_save"], 1.0, "{f}");
    assert_eq!(f["writes_per_save"], 4.0, "{f}");
}

#[test]
fn bench_enable_prints_no_figures_for_a_run_without_a_whole_window() {
    // Three users finish well inside the first 10 s window: nothing to measure a rate over.
    let out = Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args(["bench", "enable", "--users", "3", "--budget", "2000"])
        .env("TEAMLINE_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}");
    assert!(stderr.contains("no whole throttling window"), "{stderr}");
    assert!(!stdout.contains("rate_fraction"), "{stdout}");
}

#[test]
fn bench_sync_reads_every_member_and_sees_every_change() {
    let f = bench(&[
        "sync",
        "--users",
        "2000",
        "--members",
        "400",
        "--delta-percent",
        "10",
    ]);
    assert_eq!(f["full_sync_users"], 400);
    assert_eq!(f["delta_changes"], 40);
}

#[test]
fn bench_sync_of_overlapping_groups_ends_with_their_union_in_scope() {
    // Three groups of 400 in 2 000 users, each starting 200 after the last: 800 members.
    // The delta round takes 20 out of the first group (the 10 also in the second stay in
    // scope) and adds 20 outsiders to the third.
    let f = bench(&[
        "sync",
        "--users",
        "2000",
        "--members",
        "400",
        "--groups",
        "3",
        "--delta-percent",
        "10",
    ]);
    assert_eq!(f["groups"], 3);
    assert_eq!(f["union_members"], 800);
    assert_eq!(f["full_sync_users"], 800);
    assert_eq!(f["union_members_after_delta"], 810);
}

#[test]
fn bench_users_page_finds_its_users() {
    let f = bench(&["users-page", "--users", "200", "--requests", "5"]);
    assert_eq!(f["users"], 200);
}

#[test]
fn bench_registrations_registers_every_handle() {
    let f = bench(&["registrations", "--handles", "20"]);
    assert_eq!(f["registered"], 20);
    // The periodic pass audits them all (fewer than a slice), the restart pushes them all
    // again, and the tracked states say registered.
    assert_eq!(f["audit_records_per_pass"], 20);
    assert_eq!(f["restart_pushed_records"], 20);
    assert_eq!(f["status_registered"], 20);
    assert!(f["restart_full_pass_seconds"].is_f64(), "{f}");
}

#[test]
fn bench_import_checks_and_applies_every_row_with_progress() {
    let f = bench(&["import", "--rows", "60"]);
    assert_eq!(f["rows"], 60);
    assert_eq!(f["bad_rows"], 0);
    assert_eq!(f["users_set_up"], 60);
    assert!(f["validate_ms"].is_u64(), "{f}");
    assert!(f["progress_reports"].as_u64().unwrap() >= 1, "{f}");
}

#[test]
fn bench_fleet_syncs_every_tenant_and_stores_every_change() {
    let f = bench(&[
        "fleet",
        "--enterprises",
        "20",
        "--users-per-enterprise",
        "5",
        "--latency-ms",
        "5",
    ]);
    assert_eq!(f["tenants_synced"], 20, "{f}");
    assert_eq!(f["full"]["changes_applied"], 100, "every user read: {f}");
    // Nothing changed: the delta rounds apply nothing; then one user per tenant was renamed.
    assert_eq!(f["idle"]["changes_applied"], 0, "{f}");
    assert_eq!(f["changed_users_per_tenant"], 1, "{f}");
    assert_eq!(f["changed"]["changes_applied"], 20, "{f}");
    assert_eq!(f["changed_users_stored"], 20, "{f}");
    assert!(
        f["idle"]["requests_per_tenant"].as_f64().unwrap() > 0.0,
        "{f}"
    );
}

#[test]
fn bench_calls_answers_every_call_both_ways_with_media_and_a_call_record() {
    let f = bench(&["calls", "--calls", "4", "--rate", "4"]);
    assert_eq!(f["calls_attempted"], 4, "{f}");
    assert_eq!(f["calls_answered"], 4, "{f}");
    assert_eq!(f["calls_failed"], 0, "{f}");
    assert_eq!(f["pbx_to_teams"]["answered"], 2, "{f}");
    assert_eq!(f["teams_to_pbx"]["answered"], 2, "{f}");
    assert_eq!(f["calls_with_media_both_ways"], 4, "{f}");
    assert_eq!(f["call_records_answered"], 4, "{f}");
    assert_eq!(f["added_setup_latency_ms"]["measured_calls"], 4, "{f}");
    assert!(
        f["added_setup_latency_ms"]["p99"].as_f64().unwrap() > 0.0,
        "{f}"
    );
}

#[test]
fn bench_calls_refuses_an_odd_number_of_calls() {
    let out = Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args(["bench", "calls", "--calls", "3"])
        .env("TEAMLINE_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--calls must be an even number"),
        "{stderr}"
    );
}
