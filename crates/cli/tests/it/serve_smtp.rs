//! `teamline serve` sends invitations over SMTP in production: an operator created with the
//! CLI signs in to the operator area, adds a reseller and its admin, who adds an enterprise;
//! the invitation arrives at a real SMTP server (STARTTLS, signed in with the password from
//! `TEAMLINE_SMTP_PASSWORD`), and the password is nowhere on the command line.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use teamline_mail::SmtpSecurity;
use teamline_mail::testing::SmtpServer;

const SMTP_USER: &str = "teamline";
const SMTP_PASSWORD: &str = "smtp-password-for-tests";
const OPERATOR: &str = "ops@platform.example";
const OPERATOR_PASSWORD: &str = "operator-password-2026";

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        crate::demo::terminate(&mut self.0);
    }
}

/// Signs in at `<base>/sign-in`; the session cookie and the form token of `home`.
async fn sign_in(
    http: &reqwest::Client,
    url: &str,
    base: &str,
    home: &str,
    email: &str,
    password: &str,
) -> (String, String) {
    let r = http
        .post(format!("{url}{base}/sign-in"))
        .header("origin", url)
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("teamline_session="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    let page = http
        .get(format!("{url}{home}"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    (cookie, csrf): &(String, String),
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf_token", csrf));
    http.post(format!("{url}{path}"))
        .header("cookie", cookie)
        .header("origin", url)
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sends_invitations_over_smtp() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let smtp = SmtpServer::start(
        dir.path(),
        SmtpSecurity::StartTls,
        Some((SMTP_USER, SMTP_PASSWORD)),
    )
    .await
    .unwrap();
    let ca = dir.path().join("smtp-ca.pem");
    std::fs::write(&ca, smtp.ca_pem().unwrap()).unwrap();

    let mut create = Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args([
            "operator",
            "create",
            "--email",
            OPERATOR,
            "--password-stdin",
        ])
        .arg("--data-dir")
        .arg(&data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(create.stdin.take().unwrap(), "{OPERATOR_PASSWORD}").unwrap();
    assert!(create.wait().unwrap().success());

    let args = [
        "serve".to_owned(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--microsoft-client-id".into(),
        "00000000-0000-0000-0000-000000000001".into(),
        "--smtp-host".into(),
        smtp.host().into(),
        "--smtp-port".into(),
        smtp.port().to_string(),
        "--smtp-security".into(),
        "starttls".into(),
        "--smtp-user".into(),
        SMTP_USER.into(),
        "--smtp-from".into(),
        "Teamline <noreply@platform.example>".into(),
        "--smtp-ca-file".into(),
        ca.display().to_string(),
    ];
    assert!(!args.iter().any(|a| a.contains(SMTP_PASSWORD)));
    let mut child = Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args(&args)
        .arg("--data-dir")
        .arg(&data)
        .env("TEAMLINE_MICROSOFT_CLIENT_SECRET", "not-used-here")
        .env("TEAMLINE_SMTP_PASSWORD", SMTP_PASSWORD)
        .env("TEAMLINE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _serve = Serve(child);
    let url = BufReader::new(stdout)
        .lines()
        .map(Result::unwrap)
        .find_map(|l| {
            l.strip_prefix("Teamline is running at ")
                .map(|u| u.trim().to_owned())
        })
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let ops = sign_in(
        &http,
        &url,
        "/operator",
        "/operator/resellers",
        OPERATOR,
        OPERATOR_PASSWORD,
    )
    .await;
    let r = post(
        &http,
        &url,
        &ops,
        "/operator/resellers",
        &[
            ("name", "Litware Voice"),
            ("contact_email", "ops@litware.example"),
        ],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    let reseller_page = r.headers()["location"].to_str().unwrap().to_owned();
    let page = post(
        &http,
        &url,
        &ops,
        &format!("{reseller_page}/admins"),
        &[("email", "admin@litware.example")],
    )
    .await
    .text()
    .await
    .unwrap();
    let password = page
        .split("shown only now: <code>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("{page}"))
        .to_owned();

    let admin = sign_in(
        &http,
        &url,
        "/reseller",
        "/reseller/enterprises",
        "admin@litware.example",
        &password,
    )
    .await;
    let r = post(
        &http,
        &url,
        &admin,
        "/reseller/enterprises/new",
        &[
            ("name", "Tailspin"),
            ("global_admin_email", "ga@tailspin.example"),
            ("user_limit", "5"),
        ],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    let received = smtp.received().unwrap();
    assert_eq!(received.len(), 1, "{received:?}");
    let mail = &received[0];
    assert_eq!(mail.rcpt_to, vec!["ga@tailspin.example".to_owned()]);
    assert!(mail.tls, "sent without STARTTLS");
    assert_eq!(mail.auth_user.as_deref(), Some(SMTP_USER));
    let body = mail.text.clone().unwrap_or_default();
    assert!(
        body.contains(&format!("{url}/register?invitation=")),
        "{body}"
    );
}
