//! schemathesis (property-based API testing, a Python package installed by scripts/test.sh
//! into the tests' venv, `TEAMLINE_TEST_PYTHON`) against the live OpenAPI document of a running
//! demo, with a read-write reseller-wide token: every operation, generated valid and invalid
//! requests, stateful sequences along the document's links. No answer may be a server error or
//! differ from what the document gives for it.

use crate::demo::start_demo;
use std::process::Command;

/// Cases per operation and phase: enough to find what breaks, bounded to keep the run short.
const MAX_EXAMPLES: &str = "15";

/// No server error, every answer as the document says: its body's schema, its status code and
/// its content type. (Not `positive_data_acceptance`: a schema-valid body may still name an
/// extension the PBX does not have, which no schema can know.)
const CHECKS: &str = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance";

#[test]
fn the_api_holds_to_its_openapi_document_under_schemathesis() {
    let python = std::env::var("TEAMLINE_TEST_PYTHON").expect(
        "TEAMLINE_TEST_PYTHON is not set: run scripts/test.sh, or export \
         TEAMLINE_TEST_PYTHON=\"$(scripts/sdk-venv.sh)\" and install \
         scripts/test-python-requirements.txt into it",
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let (_demo, url) = start_demo(&data);
    let token = Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args(["api-token", "create", "--reseller", "Northwind Voice"])
        .args(["--name", "schemathesis", "--read-write"])
        .args(["--rate-per-minute", "1000000", "--data-dir"])
        .arg(&data)
        .env("TEAMLINE_LOG", "warn")
        .output()
        .unwrap();
    assert!(token.status.success(), "{token:?}");
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();

    let out = Command::new(&python)
        .args(["-m", "schemathesis.cli", "run"])
        .arg(format!("{url}/api/v1/openapi.json"))
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--checks", CHECKS])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", "16"])
        // One worker: with two, its threads parse lambdas' source at once, which this
        // machine's CPython 3.11.7 sometimes refuses ("AST constructor recursion depth
        // mismatch", a CPython bug) — an error of the tool, not of the API.
        .args(["--request-timeout", "30", "--workers", "1"])
        .args(["--generation-database", "none", "--no-color"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named"),
        "{python} has no schemathesis: run scripts/test.sh, or `{python} -m pip install -r \
         scripts/test-python-requirements.txt`\n{stderr}"
    );
    // The totals, for whoever reads the test's output.
    if let Some(summary) = report.find("SUMMARY") {
        eprintln!("schemathesis: {}", &report[summary..]);
    }
    assert!(
        out.status.success(),
        "schemathesis failed:\n{report}\n{stderr}"
    );
    // Every operation but the one serving the document schemathesis reads (it leaves that
    // one out of the total).
    let operations = teamline_web::api::route_table().len() - 1;
    assert!(
        report.contains(&format!("Tested: {operations}\n")),
        "every one of the {operations} operations was tested:\n{report}"
    );
}
