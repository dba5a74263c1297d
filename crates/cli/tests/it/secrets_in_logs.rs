//! Secrets never reach the log, in any flow and in either log format: the real `teamline`
//! binary at trace level (every crate, hyper, reqwest and sqlx included) signs an admin in
//! through the simulated Microsoft authorization-code flow, grants consent, creates a device
//! on the PBX (a generated SIP password), calls the PBX with an API key and with OAuth, and
//! runs `pbx` and `sync`; every line it printed is scanned for every secret value involved.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use teamline_sim::microsoft::demo as ms;
use teamline_sim::netsapiens as ns;

/// The demo process; its stdout and stderr are collected into one text.
struct Running {
    child: Child,
    output: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Stops the process and returns everything it printed.
    fn stop(mut self) -> String {
        crate::demo::terminate(&mut self.child);
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        self.output.lock().unwrap().clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        crate::demo::terminate(&mut self.child);
    }
}

fn collect(
    from: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut lines = BufReader::new(from).lines();
        while let Some(Ok(line)) = lines.next() {
            let mut out = into.lock().unwrap();
            out.push_str(&line);
            out.push('\n');
        }
    })
}

/// Starts `teamline args…` at trace level in `format` and waits until it printed `ready`;
/// returns the process and what it printed so far.
fn start_teamline(
    args: &[&std::ffi::OsStr],
    format: &str,
    extra_env: &[(&str, &str)],
    ready: &str,
) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args(args)
        .env("TEAMLINE_LOG", "trace")
        .env("TEAMLINE_LOG_FORMAT", format)
        .envs(extra_env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = Arc::new(Mutex::new(String::new()));
    let readers = vec![
        collect(child.stdout.take().unwrap(), output.clone()),
        collect(child.stderr.take().unwrap(), output.clone()),
    ];
    let running = Running {
        child,
        output,
        readers,
    };
    for _ in 0..1200 {
        let text = running.output.lock().unwrap().clone();
        if text.contains(ready) {
            return (running, text);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("teamline did not start: {}", running.stop());
}

/// The first word after `prefix` on a line of `text`.
fn word_after(text: &str, prefix: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(prefix))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {prefix:?} in {text}"))
        .to_owned()
}

/// Starts `teamline demo` at trace level in `format`; returns the process, the portal's URL,
/// the simulated Microsoft 365's URL and the simulated PBX API's URL.
fn start_demo(data: &Path, format: &str) -> (Running, String, String, String) {
    let args = ["demo", "--listen", "127.0.0.1:0", "--data-dir"].map(std::ffi::OsStr::new);
    let mut args = args.to_vec();
    args.push(data.as_os_str());
    let (running, banner) = start_teamline(&args, format, &[], "Press Ctrl-C to stop.");
    let portal = word_after(&banner, "Teamline demo is running at ");
    let microsoft = word_after(&banner, "simulated Microsoft 365: ");
    let pbx_api = word_after(&banner, "simulated NetSapiens API: ");
    (running, portal, microsoft, pbx_api)
}

/// `teamline serve` on the demo's data directory (the demo stopped), pointed at a simulated
/// Microsoft 365 of its own, with the client secret and the encryption key in its
/// environment; a visitor starts a sign-in. Returns what it printed and the sign-in cookie.
async fn serve_once(data: &Path, key: &str, format: &str) -> (String, String) {
    let exe = Path::new(env!("CARGO_BIN_EXE_teamline"));
    let sim = teamline::sim_process::SimProcess::start(exe, "secretco:5:5")
        .await
        .unwrap();
    let words = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--microsoft-client-id",
        ms::TEAMLINE_APP_CLIENT_ID,
        "--microsoft-login-url",
        &sim.base_url,
        "--microsoft-graph-url",
        &sim.base_url,
        "--microsoft-teams-admin-url",
        &sim.base_url,
        "--data-dir",
    ];
    let args: Vec<&std::ffi::OsStr> = words
        .iter()
        .map(std::ffi::OsStr::new)
        .chain([data.as_os_str()])
        .collect();
    let env = [
        (
            "TEAMLINE_MICROSOFT_CLIENT_SECRET",
            ms::TEAMLINE_APP_CLIENT_SECRET,
        ),
        ("TEAMLINE_ENCRYPTION_KEY", key),
        ("TEAMLINE_PBX_ALLOW_HTTP", "true"),
        ("TEAMLINE_PBX_ALLOW_PRIVATE_NETWORK", "true"),
    ];
    let (server, started) = start_teamline(&args, format, &env, "Teamline is running at ");
    let url = word_after(&started, "Teamline is running at ");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let health = http.get(format!("{url}/healthz")).send().await.unwrap();
    assert!(health.status().is_success());
    let start = http
        .get(format!("{url}/auth/microsoft/start"))
        .send()
        .await
        .unwrap();
    let pending = cookie_value(&start, "teamline_sign_in");
    (server.stop(), pending)
}

/// Runs `teamline` on the data directory at trace level in `format`; returns its output
/// after asserting it succeeded.
fn teamline(args: &[&str], data: &Path, format: &str, extra_env: &[(&str, &str)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("TEAMLINE_LOG", "trace")
        .env("TEAMLINE_LOG_FORMAT", format)
        .env("TEAMLINE_PBX_ALLOW_HTTP", "true")
        .env("TEAMLINE_PBX_ALLOW_PRIVATE_NETWORK", "true")
        .envs(extra_env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "teamline {args:?} failed: {text}");
    text
}

/// The value of the cookie `name` the response sets.
fn cookie_value(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|h| h.to_str().unwrap().split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .find(|(n, v)| *n == name && !v.is_empty())
        .unwrap_or_else(|| panic!("no cookie {name} in {:?}", response.headers()))
        .1
        .to_owned()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    page[at..at + page[at..].find('"').unwrap()].to_owned()
}

/// What the browser flows exposed that must never be logged.
#[derive(Default)]
struct Observed {
    secrets: Vec<(String, String)>,
}

impl Observed {
    fn add(&mut self, what: &str, value: &str) {
        assert!(
            value.len() >= 8,
            "{what} is too short to scan for: {value:?}"
        );
        self.secrets.push((what.to_owned(), value.to_owned()));
    }
}

/// Signs the Contoso admin in through the simulated Microsoft sign-in page (cookies by hand,
/// as a browser would) and grants the user-sync consent; returns the portal session cookie.
async fn sign_in_and_consent(portal: &str, microsoft: &str, seen: &mut Observed) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = http
        .get(format!("{portal}/auth/microsoft/start"))
        .send()
        .await
        .unwrap();
    let pending = cookie_value(&start, "teamline_sign_in");
    seen.add("the sealed sign-in cookie", &pending);
    let authorize = start.headers()["location"].to_str().unwrap().to_owned();
    let page = http
        .get(&authorize)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let flow = hidden(&page, "flow");
    let back = http
        .post(format!("{microsoft}/organizations/login"))
        .form(&[
            ("flow", flow.as_str()),
            ("loginfmt", ms::CONTOSO_ADMIN_UPN),
            ("passwd", ms::ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let ms_session = back
        .headers()
        .get("set-cookie")
        .map(|h| h.to_str().unwrap().split(';').next().unwrap().to_owned());
    let callback = back.headers()["location"].to_str().unwrap().to_owned();
    let code = query_param(&callback, "code").expect("an authorization code");
    seen.add("the authorization code", &code);
    let done = http
        .get(&callback)
        .header("cookie", format!("teamline_sign_in={pending}"))
        .send()
        .await
        .unwrap();
    assert_eq!(done.headers()["location"].to_str().unwrap(), "/dashboard");
    let session = cookie_value(&done, "teamline_session");
    seen.add("the portal session id", &session);
    let session_cookie = format!("teamline_session={session}");

    // Consent: Dashboard → Grant Consent → Microsoft's admin consent → back to the portal.
    let dashboard = http
        .get(format!("{portal}/dashboard"))
        .header("cookie", &session_cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&dashboard, "csrf_token");
    seen.add("the CSRF token", &csrf);
    let to_microsoft = http
        .post(format!("{portal}/consent/user-sync"))
        .header("cookie", &session_cookie)
        .header("origin", portal)
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let consent_url = to_microsoft.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut request = http.get(&consent_url);
    if let Some(c) = &ms_session {
        request = request.header("cookie", c);
    }
    let mut answer = request.send().await.unwrap();
    // Up to a login page and a consent page, each a form with the flow id.
    for _ in 0..3 {
        if answer.status().is_redirection() {
            break;
        }
        let page = answer.text().await.unwrap();
        let flow = hidden(&page, "flow");
        let form_action = {
            let marker = "action=\"";
            let at = page.find(marker).unwrap() + marker.len();
            page[at..at + page[at..].find('"').unwrap()].to_owned()
        };
        let target = if form_action.starts_with("http") {
            form_action
        } else {
            format!("{microsoft}{form_action}")
        };
        answer = if page.contains("passwd") {
            http.post(&target)
                .form(&[
                    ("flow", flow.as_str()),
                    ("loginfmt", ms::CONTOSO_ADMIN_UPN),
                    ("passwd", ms::ADMIN_PASSWORD),
                ])
                .send()
                .await
                .unwrap()
        } else {
            http.post(&target)
                .form(&[("flow", flow.as_str()), ("decision", "accept")])
                .send()
                .await
                .unwrap()
        };
    }
    let back = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.contains("admin_consent=True"), "{back}");
    let granted = http
        .get(&back)
        .header("cookie", &session_cookie)
        .send()
        .await
        .unwrap();
    assert!(
        granted.status().is_redirection(),
        "consent refused: {}",
        granted.text().await.unwrap()
    );
    session_cookie
}

/// The `value` of the form control named `name` (an `<input>` tag, attributes in any order).
fn input_value(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\"");
    let at = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {page}"));
    let start = page[..at].rfind('<').unwrap();
    let tag = &page[start..start + page[start..].find('>').unwrap()];
    let v = tag.find("value=\"").map(|i| i + "value=\"".len());
    v.map(|i| tag[i..i + tag[i..].find('"').unwrap()].to_owned())
        .unwrap_or_default()
}

/// Switches Contoso's PBX location to OAuth on the portal's PBX page and presses Test
/// connection: the portal calls the PBX with the OAuth password grant.
async fn switch_pbx_to_oauth(portal: &str, session_cookie: &str) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |path: String| {
        let http = http.clone();
        async move {
            http.get(format!("{portal}{path}"))
                .header("cookie", session_cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let list = get("/pbx".into()).await;
    let edit = list
        .match_indices("\"/pbx/")
        .map(|(at, _)| list[at + 1..].split('"').next().unwrap())
        .find(|link| link.ends_with("/edit"))
        .unwrap_or_else(|| panic!("no PBX location to edit: {list}"))
        .to_owned();
    let page = get(edit.clone()).await;
    let csrf = hidden(&page, "csrf_token");
    let fields = [
        "name",
        "proxy",
        "voicemail_code",
        "api_base_url",
        "sip_domain",
    ]
    .map(|f| (f, input_value(&page, f)));
    let mut form: Vec<(&str, String)> = fields.to_vec();
    form.extend([
        ("csrf_token", csrf),
        ("pbx_type", "netsapiens".into()),
        ("dns_lookup", "srv".into()),
        ("api_auth", "oauth".into()),
        ("api_key", String::new()),
        ("oauth_client_id", ns::DEMO_OAUTH_CLIENT_ID.into()),
        ("oauth_client_secret", ns::DEMO_OAUTH_CLIENT_SECRET.into()),
        ("oauth_username", ns::DEMO_OAUTH_USERNAME.into()),
        ("oauth_password", ns::DEMO_OAUTH_PASSWORD.into()),
    ]);
    let saved = http
        .post(format!("{portal}{edit}"))
        .header("cookie", session_cookie)
        .header("origin", portal)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(
        saved.status().is_redirection(),
        "the OAuth settings were not saved: {}",
        saved.text().await.unwrap()
    );
    let page = get(edit.clone()).await;
    let csrf = hidden(&page, "csrf_token");
    let test = http
        .post(format!("{portal}{}", edit.replace("/edit", "/test")))
        .header("cookie", session_cookie)
        .header("origin", portal)
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(test.status().is_redirection());
    let list = get("/pbx".into()).await;
    assert!(
        list.contains("Test connection: everything works."),
        "Test connection with OAuth failed: {list}"
    );
}

/// The first non-empty option of the `<select name="name">` on `page`.
fn first_option(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no {name} on {page}"));
    let select = &page[at..at + page[at..].find("</select>").unwrap()];
    select
        .match_indices("value=\"")
        .map(|(i, m)| &select[i + m.len()..])
        .map(|v| &v[..v.find('"').unwrap()])
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("no {name} option in {select}"))
        .to_owned()
}

/// Sets Joni Sherman up on extension 1007 on the portal's SET UP PBX USER form, with a new
/// device 1007tm: the engine creates the device with a generated SIP password.
async fn set_up_user_with_device(portal: &str, session_cookie: &str) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(format!("{portal}/users/new"))
        .header("cookie", session_cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = teamline_domain::pbx_user::PbxUserForm {
        pbx_location: first_option(&page, "pbx_location"),
        voice_route: first_option(&page, "voice_route"),
        teams_user: ms::contoso_user_id("Joni Sherman"),
        sip_user: "1007".into(),
        phone_number: "11007".into(),
        device: "1007tm".into(),
        create_device: true,
        emergency_address: ns::CONTOSO_HQ_ADDRESS_ID.into(),
        ..teamline_domain::pbx_user::PbxUserForm::new_with_defaults()
    };
    let mut fields: Vec<(String, String)> = serde_json::to_value(&form)
        .unwrap()
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            (k.clone(), v)
        })
        .collect();
    fields.push(("csrf_token".into(), hidden(&page, "csrf_token")));
    let saved = http
        .post(format!("{portal}/users/new"))
        .header("cookie", session_cookie)
        .header("origin", portal)
        .form(&fields)
        .send()
        .await
        .unwrap();
    if !saved.status().is_redirection() {
        let page = saved.text().await.unwrap();
        let errors: Vec<&str> = page
            .lines()
            .filter(|l| l.contains("error") && !l.contains("<meta"))
            .collect();
        panic!("the user was not saved: {errors:#?}");
    }
}

/// Reads the device's SIP password the way Teamline does, from the simulated PBX's API.
async fn sip_password(pbx_api: &str, device: &str) -> String {
    let ext = &device[..4];
    let url = format!(
        "{pbx_api}/domains/{}/users/{ext}/devices/{device}",
        ns::CONTOSO_DOMAIN
    );
    let mut body = serde_json::Value::Null;
    // The engine creates a device in the background: wait for it.
    for _ in 0..200 {
        let answer = reqwest::Client::new()
            .get(&url)
            .bearer_auth(ns::DEMO_API_KEY)
            .send()
            .await
            .unwrap();
        if answer.status().is_success() {
            body = answer.json().await.unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let found = [
        "device-sip-registration-password",
        "sip-password",
        "password",
    ]
    .iter()
    .find_map(|k| body[*k].as_str().map(str::to_owned));
    found.unwrap_or_else(|| panic!("no SIP password in {body}"))
}

/// The shapes of the simulated Microsoft's tokens and codes: a JWT (access and ID tokens),
/// a refresh token (`0.A…`) and an authorization code (`1.A…`). Any of them in the log is a
/// leak even when the test could not observe the value itself.
fn token_shapes(log: &str) -> Vec<String> {
    let mut found = Vec::new();
    let url_safe = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    for prefix in ["eyJ", "0.A", "1.A"] {
        for (at, _) in log.match_indices(prefix) {
            let rest = &log[at + prefix.len()..];
            let run = rest.chars().take_while(|c| url_safe(*c)).count();
            if run >= 40 {
                found.push(log[at..at + prefix.len() + run.min(60)].to_owned());
            }
        }
    }
    found
}

/// The simulated PBX's OAuth access tokens are 32 hex digits: every such value in the log is
/// tried against the PBX API, and one it accepts is a leaked token.
async fn live_pbx_tokens(log: &str, pbx_api: &str) -> Vec<String> {
    let mut candidates: Vec<&str> = log
        .split(|c: char| !c.is_ascii_hexdigit())
        .filter(|w| w.len() == 32)
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    let http = reqwest::Client::new();
    let mut live = Vec::new();
    for token in candidates {
        let answer = http
            .get(format!("{pbx_api}/domains/{}", ns::CONTOSO_DOMAIN))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        if answer.status().is_success() {
            live.push(token.to_owned());
        }
    }
    live
}

/// An OAuth access token the simulated PBX issues, to prove [`live_pbx_tokens`] finds one.
async fn a_pbx_token(pbx_api: &str) -> String {
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{pbx_api}/tokens"))
        .json(&serde_json::json!({
            "grant_type": "password",
            "client_id": ns::DEMO_OAUTH_CLIENT_ID,
            "client_secret": ns::DEMO_OAUTH_CLIENT_SECRET,
            "username": ns::DEMO_OAUTH_USERNAME,
            "password": ns::DEMO_OAUTH_PASSWORD,
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {answer}"))
        .to_owned()
}

/// A token the simulated Microsoft issues, to prove [`token_shapes`] recognises one.
async fn a_microsoft_token(microsoft: &str) -> String {
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "{microsoft}/{}/oauth2/v2.0/token",
            ms::CONTOSO_TENANT_ID
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", ms::TEAMLINE_APP_CLIENT_ID),
            ("client_secret", ms::TEAMLINE_APP_CLIENT_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {answer}"))
        .to_owned()
}

fn assert_clean(format: &str, log: &str, secrets: &[(String, String)]) {
    for (what, value) in secrets {
        assert!(
            !log.contains(value.as_str()),
            "{what} appeared in the {format} log, e.g. {}",
            log.lines()
                .find(|l| l.contains(value.as_str()))
                .unwrap_or_default()
        );
    }
    let shapes = token_shapes(log);
    assert!(
        shapes.is_empty(),
        "token-shaped values in the {format} log: {shapes:?}\n{}",
        log.lines()
            .find(|l| l.contains(&shapes[0]))
            .unwrap_or_default()
    );
}

async fn every_flow_at_trace(format: &str) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let mut seen = Observed::default();
    for (what, value) in [
        (
            "the Microsoft client secret",
            ms::TEAMLINE_APP_CLIENT_SECRET,
        ),
        ("the admin's Microsoft password", ms::ADMIN_PASSWORD),
        ("the PBX API key", ns::DEMO_API_KEY),
        ("the PBX OAuth client secret", ns::DEMO_OAUTH_CLIENT_SECRET),
        ("the PBX OAuth password", ns::DEMO_OAUTH_PASSWORD),
        (
            "the reseller's password",
            teamline_testkit::demo::RESELLER_PASSWORD,
        ),
    ] {
        seen.add(what, value);
    }
    let mut log = String::new();

    let (demo, portal, microsoft, pbx_api) = start_demo(&data, format);
    let key_file = std::fs::read_to_string(data.join("encryption.key")).unwrap();
    seen.add("the encryption key", key_file.trim());
    let session = sign_in_and_consent(&portal, &microsoft, &mut seen).await;

    // PBX calls with the API key; a device with a generated SIP password.
    log.push_str(&teamline(&["pbx", "extensions"], &data, format, &[]));
    log.push_str(&teamline(
        &["pbx", "create-device", "1003tm"],
        &data,
        format,
        &[],
    ));
    log.push_str(&teamline(&["pbx", "test"], &data, format, &[]));
    seen.add(
        "the new device's SIP password",
        &sip_password(&pbx_api, "1003tm").await,
    );
    // PBX calls with OAuth, from the portal and from the command line.
    switch_pbx_to_oauth(&portal, &session).await;
    log.push_str(&teamline(&["pbx", "test"], &data, format, &[]));
    log.push_str(&teamline(
        &["pbx", "create-device", "1004tm"],
        &data,
        format,
        &[],
    ));
    seen.add(
        "the second device's SIP password",
        &sip_password(&pbx_api, "1004tm").await,
    );
    // A user saved on the portal with a new device.
    set_up_user_with_device(&portal, &session).await;
    seen.add(
        "the portal-created device's SIP password",
        &sip_password(&pbx_api, "1007tm").await,
    );
    // A sync followed through the running demo.
    log.push_str(&teamline(
        &["sync", "--enterprise", "contoso"],
        &data,
        format,
        &[],
    ));

    // Tokens the test cannot observe are found by their shape, or by the PBX accepting them.
    let token = a_microsoft_token(&microsoft).await;
    assert!(!token_shapes(&format!("x {token} y")).is_empty(), "{token}");
    let pbx_token = a_pbx_token(&pbx_api).await;
    assert_eq!(
        live_pbx_tokens(&format!("x {pbx_token} y"), &pbx_api).await,
        [pbx_token]
    );
    let so_far = format!("{log}{}", demo.output.lock().unwrap());
    let live = live_pbx_tokens(&so_far, &pbx_api).await;
    assert!(
        live.is_empty(),
        "PBX access tokens in the {format} log: {live:?}"
    );
    log.push_str(&without_banner_sign_ins(&demo.stop()));
    let (served, pending) = serve_once(&data, key_file.trim(), format).await;
    seen.add("the sealed sign-in cookie of serve", &pending);
    log.push_str(&served);
    assert!(
        log.len() > 10_000,
        "the trace log should not be empty:\n{log}"
    );
    // The text format colours its output: a secret split by colour codes is still a secret.
    let log = without_colours(&log);
    // Trace level really is on, in the format asked for.
    let trace = match format {
        "json" => "\"level\":\"TRACE\"",
        _ => " TRACE ",
    };
    assert!(log.contains(trace), "no trace lines in the {format} log");
    if format == "json" {
        assert!(
            log.lines().any(|l| l.starts_with("{\"timestamp\"")),
            "{log}"
        );
    }
    assert_clean(format, &log, &seen.secrets);
}

/// The demo's banner prints the demo accounts' passwords on purpose (that is how one signs
/// in to a demo); those lines, and only those, are not log output.
fn without_banner_sign_ins(output: &str) -> String {
    let banner = [
        "  Enterprise portal (Contoso): sign in with Microsoft as ",
        "  a non-admin to see the refusal: ",
        "  Reseller portal (Northwind Voice): ",
    ];
    let kept: Vec<&str> = output
        .lines()
        .filter(|l| !banner.iter().any(|b| l.starts_with(b)))
        .collect();
    assert_eq!(
        output.lines().count() - kept.len(),
        banner.len(),
        "the banner's sign-in lines, once each"
    );
    kept.join("\n")
}

/// `text` without ANSI colour sequences (ESC `[` … letter).
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_the_text_log_of_any_flow() {
    every_flow_at_trace("text").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_the_json_log_of_any_flow() {
    every_flow_at_trace("json").await;
}
