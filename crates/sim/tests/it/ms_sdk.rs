//! The official Microsoft Graph SDK for Python against the simulator over HTTPS: proof that the
//! simulator speaks Graph, not our dialect.

use std::path::PathBuf;
use std::process::Command;

use teamline_sim::microsoft::{MicrosoftSim, SimConfig, demo};

#[tokio::test]
async fn official_python_graph_sdk_lists_users_members_and_runs_delta() {
    let Some(python) = std::env::var_os("TEAMLINE_TEST_PYTHON") else {
        panic!(
            "TEAMLINE_TEST_PYTHON is not set: run scripts/test.sh, or export TEAMLINE_TEST_PYTHON=\"$(scripts/sdk-venv.sh)\" \
             to create the virtualenv with the Microsoft Graph SDK for Python"
        );
    };
    let sim = MicrosoftSim::new(SimConfig::default()).unwrap();
    sim.seed_contoso();
    let dir = tempfile::tempdir().unwrap();
    let run = sim
        .spawn_https("127.0.0.1:0".parse().unwrap(), dir.path())
        .await
        .unwrap();
    let script: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "scripts",
        "graph-sdk-check",
        "check.py",
    ]
    .iter()
    .collect();
    let base = run.base_url().to_string();
    let ca = run.ca_pem_path().unwrap().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .env("SIM_BASE_URL", &base)
            .env("SIM_CA_FILE", &ca)
            .env("SIM_TENANT_ID", demo::CONTOSO_TENANT_ID)
            .env("SIM_CLIENT_ID", demo::TEAMLINE_APP_CLIENT_ID)
            .env("SIM_CLIENT_SECRET", demo::TEAMLINE_APP_CLIENT_SECRET)
            .env(
                "SIM_SYNC_GROUP_ID",
                demo::contoso_group_id(demo::SYNC_GROUP),
            )
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "graph SDK check failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("graph-sdk-check: OK"), "{stdout}");
}
