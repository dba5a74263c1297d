use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub(crate) struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        terminate(&mut self.0);
    }
}

/// Stops a `teamline demo` or `serve` the way systemd does: SIGTERM, so it stops the Kamailio
/// and rtpengine it supervises (a SIGKILL would leave them running for the rest of the test
/// run), then SIGKILL if it has not exited within 10 s.
pub(crate) fn terminate(child: &mut Child) {
    let asked = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while asked && std::time::Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Starts `teamline demo` on a free port and returns it with the URL it printed.
pub(crate) fn start_demo(data_dir: &std::path::Path) -> (Demo, String) {
    start_demo_logging(data_dir, "warn", Stdio::null())
}

fn start_demo_logging(data_dir: &std::path::Path, level: &str, stderr: Stdio) -> (Demo, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("TEAMLINE_LOG", level)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let demo = Demo(child);
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next() {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("Teamline demo is running at ") {
            // Keep reading: the demo prints more, and a closed pipe would make it exit.
            std::thread::spawn(move || lines.for_each(drop));
            return (demo, url.trim().to_owned());
        }
    }
    panic!("the demo exited without printing its URL");
}

/// `--help` and the demo's banner describe what this release has: the Enterprise portal, the
/// Reseller portal and the JSON API; the reseller sign-in the banner prints works. The demo is
/// started as the README says, with its default (relative) data directory, and its SIP
/// gateway runs.
#[test]
fn help_and_the_demo_banner_promise_only_what_exists() {
    let help = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_teamline"))
            .args(args)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    for args in [&["--help"][..], &["serve", "--help"][..]] {
        let text = help(args);
        assert!(!text.contains("the portals"), "{args:?}: {text}");
        assert!(text.contains("Reseller portal"), "{args:?}: {text}");
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args(["demo", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("TEAMLINE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let demo = Demo(child);
    let banner: Vec<String> = BufReader::new(stdout)
        .lines()
        .map(Result::unwrap)
        .take_while(|l| !l.starts_with("Press Ctrl-C"))
        .collect();
    let banner = banner.join("\n");
    assert!(banner.contains("Enterprise portal (Contoso)"), "{banner}");
    let data = dir.path().join("data/demo");
    assert!(
        banner.contains(&format!("data directory : {}", data.display())),
        "the data directory is shown absolute: {banner}"
    );
    assert!(
        banner.contains("SIP gateway: Kamailio RPC") && !banner.contains("is not running"),
        "the SIP gateway runs with a relative data directory: {banner}"
    );
    // "  Reseller portal (Northwind Voice): <url>/reseller as <e-mail> / <password> (…" and
    // "  operator area (…): <url>/operator as <e-mail> / <password>"
    let sign_ins = [
        (
            "Reseller portal (Northwind Voice):",
            "/reseller",
            "/reseller/enterprises",
        ),
        ("operator area (", "/operator", "/operator/resellers"),
    ]
    .map(|(marker, base, home)| {
        let line = banner
            .lines()
            .find(|l| l.contains(marker))
            .unwrap_or_else(|| panic!("no {base} sign-in in the banner: {banner}"))
            .to_owned();
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = |w: &str| words.iter().position(|x| *x == w).unwrap();
        let portal = words[at("as") - 1].trim_end_matches(base).to_owned();
        let email = words[at("as") + 1].to_owned();
        let password = words[at("as") + 3].to_owned();
        (line, portal, base, email, password, home)
    });
    let answers = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut answers = Vec::new();
        for (_, portal, base, email, password, _) in &sign_ins {
            let r = client
                .post(format!("{portal}{base}/sign-in"))
                .header("origin", portal)
                .form(&[("email", email.as_str()), ("password", password.as_str())])
                .send()
                .await
                .unwrap();
            answers.push((r.status().as_u16(), r.headers().get("location").cloned()));
        }
        answers
    });
    drop(demo);
    for ((line, .., home), (status, location)) in sign_ins.iter().zip(answers) {
        assert_eq!(status, 303, "the printed sign-in did not work: {line}");
        assert_eq!(location.unwrap(), *home);
    }
}

async fn get_json(url: &str) -> serde_json::Value {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    client.get(url).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn demo_starts_seeds_answers_healthz_and_does_not_duplicate_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    {
        let (_demo, url) = start_demo(&data);
        let health = get_json(&format!("{url}/healthz")).await;
        assert_eq!(health["status"], "ok");
        assert_eq!(health["database"], "sqlite");
        let metrics = reqwest::Client::new()
            .get(format!("{url}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("teamline_http_requests_total"),
            "{metrics}"
        );
    }
    assert!(data.join("encryption.key").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("encryption.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (demo, url) = start_demo(&data);
    assert_eq!(get_json(&format!("{url}/healthz")).await["status"], "ok");
    // While it runs, nothing else may use the SQLite data directory.
    let second = Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args(["migrate", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("another Teamline is already using"));

    drop(demo);

    // The second run reused the data instead of duplicating it.
    let key = std::fs::read_to_string(data.join("encryption.key")).unwrap();
    let keyring = teamline_store::crypto::Keyring::new(
        teamline_store::crypto::EncryptionKey::from_hex(&key).unwrap(),
        vec![],
    );
    let store = teamline_store_sqlite::open(
        &data.join("teamline.db"),
        std::sync::Arc::new(keyring),
        std::sync::Arc::new(teamline_store::SystemClock),
    )
    .await
    .unwrap();
    use teamline_store::prelude::*;
    let enterprises = store.list_enterprises(None).await.unwrap();
    let names: Vec<_> = enterprises
        .iter()
        .map(|e| e.name.as_str().to_owned())
        .collect();
    assert_eq!(names, ["Contoso", "Fabrikam"]);
    assert_eq!(store.list_resellers().await.unwrap().len(), 1);
    assert_eq!(store.list_sbc_regions().await.unwrap().len(), 2);
}

/// Runs `teamline` on the demo's data directory, allowed to reach the demo's simulated PBX
/// on http://127.0.0.1.
fn teamline(args: &[&str], data: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("TEAMLINE_LOG", "warn")
        .env("TEAMLINE_PBX_ALLOW_HTTP", "true")
        .env("TEAMLINE_PBX_ALLOW_PRIVATE_NETWORK", "true")
        .output()
        .unwrap()
}

#[tokio::test]
async fn pbx_cli_lists_extensions_and_creates_a_device_handle_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let (_demo, _url) = start_demo(&data);

    // By default Teamline reaches only https PBX APIs on public addresses.
    let strict = Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args(["pbx", "extensions", "--data-dir"])
        .arg(&data)
        .env("TEAMLINE_LOG", "warn")
        .output()
        .unwrap();
    assert!(!strict.status.success());
    let err = String::from_utf8_lossy(&strict.stderr);
    assert!(
        err.contains("network policy") && err.contains("--pbx-allow-http"),
        "{err}"
    );

    let out = teamline(&["pbx", "extensions", "--location", "PBX"], &data);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("20 extensions in domain contoso"), "{text}");
    for ext in 1000..1020 {
        assert!(
            text.contains(&format!("\n{ext} ")),
            "extension {ext} missing:\n{text}"
        );
    }
    let adele = text.lines().find(|l| l.starts_with("1000 ")).unwrap();
    assert!(
        adele.contains("Adele Vance") && adele.contains("1000tm"),
        "{adele}"
    );
    assert!(
        text.lines()
            .find(|l| l.starts_with("1011 "))
            .unwrap()
            .contains("Megan Bowen")
    );

    let out = teamline(&["pbx", "create-device", "1002tm"], &data);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Created device 1002tm on extension 1002")
    );

    let again = teamline(&["pbx", "create-device", "1002tm"], &data);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("device 1002tm already exists on extension 1002 in domain contoso"),
        "{err}"
    );

    let test = teamline(&["pbx", "test"], &data);
    assert!(
        test.status.success(),
        "{}",
        String::from_utf8_lossy(&test.stderr)
    );
    assert!(!String::from_utf8_lossy(&test.stdout).contains("FAIL"));
}

/// Even at the most verbose log level, the demo's log holds none of its secrets.
#[tokio::test]
async fn logs_never_print_secrets() {
    use teamline_sim::microsoft::demo as ms;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let log_path = dir.path().join("demo.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let (demo, url) = start_demo_logging(&data, "trace", Stdio::from(log));
    assert_eq!(get_json(&format!("{url}/healthz")).await["status"], "ok");
    // Work that uses the PBX API key and Microsoft's client secret.
    let out = teamline(&["pbx", "extensions"], &data);
    assert!(out.status.success());
    drop(demo);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.len() > 1000, "the trace log should not be empty");
    let key_file = std::fs::read_to_string(data.join("encryption.key")).unwrap();
    for secret in [
        ms::TEAMLINE_APP_CLIENT_SECRET,
        teamline_sim::netsapiens::DEMO_API_KEY,
        key_file.trim(),
        teamline_testkit::demo::RESELLER_PASSWORD,
    ] {
        assert!(!log.contains(secret), "a secret appeared in the log");
    }
}
