//! A new customer's onboarding as its admins see it, in Chromium: the platform operator signs
//! in, adds the reseller Litware Voice and its first admin (whose first password the page shows
//! once); that admin signs in, sees no enterprise of another reseller, adds Fabrikam (user
//! limit 5, both platform-wide SBC regions) and its PBX location with locked fields; the
//! invitation arrives at a real SMTP server (aiosmtpd) and its link is followed from the
//! received message; a Global Administrator of another tenant is refused with the reason;
//! Fabrikam's Global Administrator registers, consents at Microsoft, is sent to Manage User
//! Groups, then sees Teamline's Direct Routing set-up on the Dashboard (its TXT record
//! published in a real Knot DNS zone the simulated Microsoft checks), fixes the refused step
//! and runs it again until both regions are ready; the PBX page shows the locked fields
//! read-only, locked by Litware Voice; the first user is set up with the SET UP PBX USER form
//! and read back from Teams with calling on; with four more set up a sixth is refused by the
//! form naming the limit; the reseller's Enterprises list says "Direct Routing ready" and
//! "5 / 5". The reseller's onboarding pages are then walked at phone width.
//!
//! The app is the testkit's, seeded without the demo's invited Fabrikam
//! (`DemoSeed::WithoutFabrikam`), so Fabrikam starts from nothing; the demo's reseller is there
//! but the story's reseller is created by the operator.

use crate::harness::{Browser, Chromedriver, PATIENCE, Screen, catch, screenshot_dir};
use crate::pages::{
    Pairing, add_and_select_device, choose_sip_user, row, save_user, set_up_in,
    settled_calling_state,
};
use crate::phone::layout_problems;
use anyhow::{Context, Result, bail, ensure};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;
use teamline_dns::testing::{Knot, KnotConfig, TestTsigKey};
use teamline_dns::{Rfc2136Publisher, Rfc2136Settings, TsigKey};
use teamline_domain::audit::Actor;
use teamline_domain::ids::EnterpriseId;
use teamline_mail::testing::SmtpServer;
use teamline_mail::{MailAddress, SmtpMailer, SmtpSecurity};
use teamline_sim::microsoft::demo as ms;
use teamline_sim::microsoft::{ConsentState, NewUser, SimConfig};
use teamline_sim::netsapiens::{DEMO_API_KEY, FABRIKAM_DOMAIN};
use teamline_testkit::TestApp;
use teamline_testkit::demo::{DemoSeed, OPERATOR_EMAIL, OPERATOR_PASSWORD};

const ZONE: &str = "sbc.example.net";
const LIMIT: usize = 5;

/// The reseller the operator creates, and its first admin.
const RESELLER: &str = "Litware Voice";
const RESELLER_ADMIN: &str = "first@litware.example";

/// Fabrikam's Teams Phone users: the simulator's three, and three a test adds so a sixth user
/// exists to be refused.
const SEEDED: [&str; 3] = ["Katie Jordan", "Lenny Fischer", "Omar Haddad"];
const ADDED: [&str; 3] = ["Nadia Rahman", "Piotr Nowak", "Sofia Costa"];

struct Story {
    app: TestApp,
    driver: Chromedriver,
    smtp: SmtpServer,
    _knot: Knot,
    _dir: tempfile::TempDir,
}

impl Story {
    async fn start() -> Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir()?;
        let key = TestTsigKey::generate("teamline.");
        let knot = KnotConfig::new(ZONE)
            .update_key(key.clone())
            .start(dir.path())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        // Invitations go over SMTP to a real mail server.
        let smtp = SmtpServer::start(dir.path(), SmtpSecurity::None, None).await?;
        let from = MailAddress::parse(teamline_testkit::INVITATION_FROM)?;
        let mailer = SmtpMailer::new(smtp.settings(from, None))?;
        let app = TestApp::builder()
            .seed(DemoSeed::WithoutFabrikam)
            .mailer(Arc::new(mailer))
            .settings(teamline_engine::EngineSettings {
                directory_sync_every: None,
                reconcile_every: None,
                direct_routing_recheck: Duration::from_millis(500),
                ..Default::default()
            })
            .run_jobs("onboarding-browser")
            .microsoft_config(SimConfig {
                dns_nameserver: Some(knot.addr),
                ..Default::default()
            })
            .spawn()
            .await?;
        let publisher = Rfc2136Publisher::new(&Rfc2136Settings::new(
            knot.server(),
            ZONE,
            TsigKey::hmac_sha256(&key.name, SecretString::from(key.secret_base64.clone())),
        ))?;
        ensure!(app.engine.set_dns_publisher(Arc::new(publisher)));
        // A sixth Teams Phone user and a sixth extension, so the limit has someone to refuse.
        let tenant = app
            .microsoft
            .sim
            .tenant(ms::FABRIKAM_TENANT_ID)
            .context("the simulator has Fabrikam")?;
        for name in ADDED {
            tenant.add_user(NewUser {
                user_principal_name: ms::upn_for(name, ms::FABRIKAM_DOMAIN),
                display_name: name.to_owned(),
                password: None,
                account_enabled: None,
                guest: false,
                plans: vec![ms::PLAN_TEAMS1.to_owned(), ms::PLAN_MCOEV.to_owned()],
                groups: vec![ms::SYNC_GROUP.to_owned()],
            })?;
        }
        ensure!(
            app.pbx
                .sim()
                .add_extension(FABRIKAM_DOMAIN, "2005", "Sofia", "Costa")
        );
        let driver = Chromedriver::start().await?;
        Ok(Self {
            app,
            driver,
            smtp,
            _knot: knot,
            _dir: dir,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.url)
    }

    async fn browser(&self, screen: Screen) -> Result<Browser> {
        Browser::open_on(&self.driver, screen).await
    }

    async fn fabrikam(&self) -> Result<EnterpriseId> {
        Ok(self
            .app
            .store
            .enterprise_by_slug("fabrikam")
            .await?
            .context("Fabrikam was not added")?
            .id)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reseller_onboards_fabrikam_up_to_its_user_limit() {
    let story = Story::start().await.expect("the onboarding stack starts");
    let reseller = story.browser(Screen::Desktop).await.expect("Chromium");
    let customer = story.browser(Screen::Desktop).await.expect("Chromium");
    let outcome = catch(onboarding(&story, &reseller, &customer)).await;
    let failed = !matches!(outcome, Ok(Ok(())));
    if failed {
        for (who, b) in [("reseller", &reseller), ("customer", &customer)] {
            let path = screenshot_dir().join(format!("onboarding-{who}.png"));
            if b.save_screenshot(&path).await.is_ok() {
                eprintln!("screenshot of the failure: {}", path.display());
            }
        }
    }
    let _ = reseller.client.clone().close().await;
    let _ = customer.client.clone().close().await;
    let _ = story.app.stop().await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("{e:#}"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A reseller admin's e-mail and password.
struct Admin {
    email: String,
    password: String,
}

async fn onboarding(story: &Story, reseller: &Browser, customer: &Browser) -> Result<()> {
    let admin = operator_adds_reseller(story).await?;
    reseller_signs_in(story, reseller, &admin).await?;
    let list = reseller.wait_page_text("No enterprises yet").await?;
    ensure!(
        !list.contains("Contoso") && !list.contains("Fabrikam"),
        "the new reseller sees enterprises it does not have: {list}"
    );
    add_enterprise(reseller).await?;
    let fabrikam = story.fabrikam().await?;
    lock_pbx_settings(story, reseller, fabrikam).await?;
    let link = invitation_link(story, reseller).await?;
    wrong_tenant_is_refused(story, &link).await?;
    register(story, customer, &link).await?;
    manage_user_groups(customer).await?;
    direct_routing(story, customer, reseller, fabrikam).await?;
    locked_fields_read_only(customer).await?;
    user_limit(story, customer, fabrikam).await?;

    reseller.goto(&story.url("/reseller/enterprises")).await?;
    let row = "//tr[.//a[normalize-space()='Fabrikam']]";
    reseller.find_xpath(row).await?;
    let text = reseller.find_xpath(row).await?.text().await?;
    ensure!(
        text.contains("Direct Routing ready") && text.contains(&format!("{LIMIT} / {LIMIT}")),
        "Fabrikam's row: {text}"
    );

    phone_width(story, fabrikam, &admin).await
}

/// The platform operator (the account `teamline operator create` makes; the testkit seeds it)
/// signs in, in a browser of their own, adds Litware Voice and its first admin: the admin's
/// first password is shown once.
async fn operator_adds_reseller(story: &Story) -> Result<Admin> {
    let b = story.browser(Screen::Desktop).await?;
    let outcome = async {
        b.goto(&story.url("/operator/sign-in")).await?;
        b.fill("#email", OPERATOR_EMAIL).await?;
        b.fill("#password", OPERATOR_PASSWORD).await?;
        b.click("button[type=submit]").await?;
        b.wait_path("/operator/resellers").await?;
        b.wait_text("h1", "Resellers").await?;
        b.fill("#name", RESELLER).await?;
        b.fill("#contact_email", "ops@litware.example").await?;
        b.fill("#billing_reference", "LV-1").await?;
        b.click_xpath("//button[normalize-space()='Add reseller']")
            .await?;
        b.wait_page_text(&format!("Added {RESELLER}.")).await?;
        b.wait_text("h1", RESELLER).await?;
        b.fill("#email", RESELLER_ADMIN).await?;
        b.click_xpath("//button[normalize-space()='Add admin']")
            .await?;
        b.wait_page_text("shown only now").await?;
        let password = b
            .find_xpath("//div[contains(@class, 'notice-ok')]//code")
            .await?
            .text()
            .await?;
        ensure!(!password.trim().is_empty(), "no first password shown");
        // The operator's list of resellers has the new one, active.
        b.goto(&story.url("/operator/resellers")).await?;
        let row = b
            .find_xpath(&format!("//tr[.//a[normalize-space()='{RESELLER}']]"))
            .await?
            .text()
            .await?;
        ensure!(row.contains("Active"), "the new reseller's row: {row}");
        Ok(Admin {
            email: RESELLER_ADMIN.to_owned(),
            password: password.trim().to_owned(),
        })
    }
    .await;
    let _ = b.client.clone().close().await;
    outcome
}

async fn reseller_signs_in(story: &Story, b: &Browser, admin: &Admin) -> Result<()> {
    b.goto(&story.url("/reseller/sign-in")).await?;
    b.fill("#email", &admin.email).await?;
    b.fill("#password", &admin.password).await?;
    b.click("button[type=submit]").await?;
    b.wait_path("/reseller/enterprises").await
}

/// Add Enterprise: Fabrikam, its Global Administrator, a limit of 5, both SBC regions.
async fn add_enterprise(b: &Browser) -> Result<()> {
    b.click_xpath("//a[normalize-space()='Add Enterprise']")
        .await?;
    b.wait_text("h1", "Add Enterprise").await?;
    b.fill("#name", "Fabrikam").await?;
    b.fill("#global_admin_email", ms::FABRIKAM_ADMIN_UPN)
        .await?;
    b.fill("#user_limit", &LIMIT.to_string()).await?;
    for region in ["US East 2", "US West"] {
        let box_ = format!(
            "//label[starts-with(normalize-space(), '{region} (')]/input[@name='sbc_region']"
        );
        if !b.find_xpath(&box_).await?.is_selected().await? {
            b.click_xpath(&box_).await?;
        }
    }
    b.click("form.stack button[type=submit]").await?;
    b.wait_path("/reseller/enterprises").await?;
    let row = b
        .find_xpath("//tr[.//a[normalize-space()='Fabrikam']]")
        .await?
        .text()
        .await?;
    ensure!(
        row.contains("Invited") && row.contains(&format!("0 / {LIMIT}")),
        "the new row: {row}"
    );
    Ok(())
}

/// PBX settings: Fabrikam's PBX location, its SIP domain, API Base URL and key locked.
async fn lock_pbx_settings(story: &Story, b: &Browser, e: EnterpriseId) -> Result<()> {
    b.goto(&story.url(&format!("/reseller/enterprises/{}/pbx", e.0)))
        .await?;
    b.click_xpath("//a[normalize-space()='Add PBX Location']")
        .await?;
    b.wait_text("h1", "Add PBX Location").await?;
    b.fill("#name", "PBX").await?;
    b.fill("#sip_domain", FABRIKAM_DOMAIN).await?;
    b.fill("#proxy", "sbc.pbx.example").await?;
    b.fill("#voicemail_code", "9901").await?;
    b.fill(
        "#api_base_url",
        &format!("{}/ns-api/v2", story.app.pbx.base_url.trim_end_matches('/')),
    )
    .await?;
    b.fill("#api_key", DEMO_API_KEY).await?;
    for field in ["sip_domain", "api_base_url", "api_key"] {
        b.click(&format!("input[name='lock'][value='{field}']"))
            .await?;
    }
    b.click_xpath("//button[normalize-space()='Save PBX Location']")
        .await?;
    b.wait_path(&format!("/reseller/enterprises/{}/pbx", e.0))
        .await?;
    let page = b
        .wait_page_text("Saved PBX location PBX of Fabrikam.")
        .await?;
    ensure!(page.contains("SIP Domain, API Base URL, API Key"), "{page}");
    Ok(())
}

/// The invitation as the SMTP server received it; its link. The Outbox says the mail was sent,
/// not kept.
async fn invitation_link(story: &Story, b: &Browser) -> Result<String> {
    let mail = story.smtp.wait_for_mail(1).await?.remove(0);
    ensure!(
        mail.rcpt_to == vec![ms::FABRIKAM_ADMIN_UPN.to_owned()],
        "the invitation went to {:?}",
        mail.rcpt_to
    );
    let text = mail.text.context("the invitation has no text part")?;
    ensure!(
        text.contains("Fabrikam") && text.contains(RESELLER),
        "the invitation: {text}"
    );
    let start = text
        .find(&format!("{}/register?invitation=", story.app.url))
        .with_context(|| format!("no link in the invitation: {text}"))?;
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    b.goto(&story.url("/reseller/outbox")).await?;
    b.wait_page_text("This Teamline sends e-mail over SMTP")
        .await?;
    Ok(link)
}

/// Signs in at the simulated Microsoft sign-in page the browser is on.
async fn microsoft_sign_in(b: &Browser, upn: &str, password: &str) -> Result<()> {
    b.fill("#i0116", upn).await?;
    b.fill("#i0118", password).await?;
    b.click("input#idSIButton9").await
}

/// Contoso's Global Administrator follows the link (in a browser of their own): refused, with
/// the reason.
async fn wrong_tenant_is_refused(story: &Story, link: &str) -> Result<()> {
    let b = story.browser(Screen::Desktop).await?;
    let outcome = async {
        b.goto(link).await?;
        b.wait_page_text("Register Fabrikam with Teamline").await?;
        b.click("a.btn-microsoft").await?;
        microsoft_sign_in(&b, ms::CONTOSO_ADMIN_UPN, ms::ADMIN_PASSWORD).await?;
        b.wait_page_text("Registration refused").await?;
        b.wait_page_text(&format!(
            "you signed in as {}, but this invitation is for {}",
            ms::CONTOSO_ADMIN_UPN,
            ms::FABRIKAM_ADMIN_UPN
        ))
        .await
        .map(drop)
    }
    .await;
    let _ = b.client.clone().close().await;
    outcome
}

/// Fabrikam's Global Administrator: the link, Sign in with Microsoft, admin consent.
async fn register(story: &Story, b: &Browser, link: &str) -> Result<()> {
    b.goto(link).await?;
    b.wait_page_text("Register Fabrikam with Teamline").await?;
    b.click("a.btn-microsoft").await?;
    microsoft_sign_in(b, ms::FABRIKAM_ADMIN_UPN, ms::ADMIN_PASSWORD).await?;
    // Microsoft's admin consent: it may ask who signs in again, then asks for consent.
    let app = story.app.url.clone();
    let mut signed_in_again = false;
    loop {
        if b.client.current_url().await?.as_str().starts_with(&app) {
            break;
        }
        if b.exists("#consent-form").await? {
            b.click("button#idSIButton9").await?;
        } else if !signed_in_again && b.exists("#i0116").await? {
            signed_in_again = true;
            microsoft_sign_in(b, ms::FABRIKAM_ADMIN_UPN, ms::ADMIN_PASSWORD).await?;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.wait_path("/groups").await
}

/// Manage User Groups is forced: the Dashboard sends the admin back; "All Company" is refused
/// with the fix; the sync group is saved.
async fn manage_user_groups(b: &Browser) -> Result<()> {
    b.wait_page_text("Choose at least one group").await?;
    let url = b.client.current_url().await?;
    b.goto(url.join("/dashboard")?.as_str()).await?;
    b.wait_path("/groups").await?;
    let all = ms::group_id(ms::FABRIKAM_TENANT_ID, ms::ALL_COMPANY_GROUP);
    let sync = ms::group_id(ms::FABRIKAM_TENANT_ID, ms::SYNC_GROUP);
    b.click(&format!("input[name='group'][value='{all}']"))
        .await?;
    b.click_xpath("//button[normalize-space()='Save groups']")
        .await?;
    b.wait_page_text("create a dedicated group such as").await?;
    if b.checked(&format!("input[name='group'][value='{all}']"))
        .await?
    {
        b.click(&format!("input[name='group'][value='{all}']"))
            .await?;
    }
    b.click(&format!("input[name='group'][value='{sync}']"))
        .await?;
    b.click_xpath("//button[normalize-space()='Save groups']")
        .await?;
    b.wait_path("/dashboard").await?;
    b.wait_page_text("Sync groups saved").await?;
    b.find("#action-items").await.map(drop)
}

/// Reloads the page until it shows `needle`.
async fn reload_until(b: &Browser, what: &str, needle: &str) -> Result<String> {
    let started = std::time::Instant::now();
    loop {
        let page = b.text("body").await.unwrap_or_default();
        if page.contains(needle) {
            return Ok(page);
        }
        if started.elapsed() > PATIENCE * 2 {
            bail!("{what}: the page never showed {needle:?}; it shows:\n{page}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        b.client.refresh().await?;
    }
}

/// Consent queued the set-up of both regions. Admin consent alone does not give Teamline's app
/// the Teams Administrator role: the Dashboard shows the refused step and what to do; once the
/// role is assigned, "Set up Direct Routing" runs it again to the end.
async fn direct_routing(
    story: &Story,
    b: &Browser,
    reseller: &Browser,
    e: EnterpriseId,
) -> Result<()> {
    let page = reload_until(
        b,
        "the first set-up",
        "the Teams Administrator role in that tenant",
    )
    .await?;
    ensure!(
        page.contains("Direct Routing: US East 2")
            && page.contains("fabrikam.useast2.sbc.example.net verified"),
        "{page}"
    );
    story
        .app
        .microsoft
        .sim
        .tenant(ms::FABRIKAM_TENANT_ID)
        .context("Fabrikam's tenant")?
        .set_consent(ConsentState {
            granted: true,
            graph_roles: None,
            teams_admin: None,
            service_principal_roles: None,
        });
    b.click_xpath("//button[normalize-space()='Set up Direct Routing']")
        .await?;
    b.wait_path("/dashboard").await?;
    // Both regions done: every region's heading carries its summary state.
    let started = std::time::Instant::now();
    loop {
        let states = b
            .client
            .execute(
                "return [...document.querySelectorAll('#direct-routing .panel-head span')].map(s => s.textContent.trim())",
                vec![],
            )
            .await?;
        let states: Vec<String> = states
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if states.len() == 2 && states.iter().all(|s| s == "Done") {
            break;
        }
        if started.elapsed() > PATIENCE * 2 {
            bail!("Direct Routing did not finish: {states:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        b.client.refresh().await?;
    }
    let page = b.text("#direct-routing").await?;
    for step in [
        "Publish its TXT verification record",
        "Sync Voice Routes",
        "US East 2 created",
    ] {
        ensure!(page.contains(step), "the steps lack {step:?}: {page}");
    }
    ensure!(!page.contains("Failed"), "{page}");
    // The reseller's page of the enterprise shows the same steps and the state.
    reseller
        .goto(&story.url(&format!("/reseller/enterprises/{}", e.0)))
        .await?;
    let page = reseller.wait_page_text("Direct Routing ready").await?;
    ensure!(page.contains("Direct Routing: US West"), "{page}");
    Ok(())
}

/// The PBX page: the reseller's locked fields read-only, saying who locked them.
async fn locked_fields_read_only(b: &Browser) -> Result<()> {
    let url = b.client.current_url().await?;
    b.goto(url.join("/pbx")?.as_str()).await?;
    b.click_xpath("//a[normalize-space()='Edit']").await?;
    b.wait_text("h1", "Edit PBX Location").await?;
    let readonly = b.find("#sip_domain").await?.attr("readonly").await?;
    ensure!(readonly.is_some(), "the SIP domain can be edited");
    ensure!(
        b.find("#api_key").await?.attr("disabled").await?.is_some(),
        "the API key can be typed"
    );
    b.wait_page_text(&format!(
        "Locked by your reseller {RESELLER}: only they can change it"
    ))
    .await
    .map(drop)
}

/// Both regions offered in SET UP PBX USER; the first user set up with the form, four more
/// through the engine (as Save User does); the sixth refused by the form, naming the limit; the
/// first read back from Teams with calling on.
async fn user_limit(story: &Story, b: &Browser, e: EnterpriseId) -> Result<()> {
    let url = b.client.current_url().await?;
    b.goto(url.join("/users/new")?.as_str()).await?;
    b.wait_text("h1", "SET UP PBX USER").await?;
    let routes = b.option_labels("#voice_route").await?;
    ensure!(
        routes.iter().any(|r| r == "US East 2") && routes.iter().any(|r| r == "US West"),
        "{routes:?}"
    );

    let tenant = story
        .app
        .microsoft
        .sim
        .tenant(ms::FABRIKAM_TENANT_ID)
        .context("Fabrikam's tenant")?;
    let people: Vec<&str> = SEEDED.iter().chain(ADDED.iter()).copied().collect();
    // The directory sync that Manage User Groups started has all six.
    let upns: Vec<String> = people
        .iter()
        .map(|n| ms::upn_for(n, ms::FABRIKAM_DOMAIN))
        .collect();
    b.until("the six users are synced", || async {
        let page = story
            .app
            .store
            .list_teams_users(
                e,
                &teamline_store::TeamsUserQuery {
                    limit: 100,
                    ..Default::default()
                },
            )
            .await?;
        Ok(upns.iter().all(|u| {
            page.items
                .iter()
                .any(|t| t.upn.as_str().eq_ignore_ascii_case(u))
        }))
    })
    .await?;
    // The first, in the form, as the seed article does.
    let first = SEEDED[0];
    b.goto(url.join("/users/new")?.as_str()).await?;
    b.wait_text("h1", "SET UP PBX USER").await?;
    if b.value("#pbx_location").await?.is_empty() {
        b.select_label("#pbx_location", "PBX").await?;
        b.find("#setup-form").await?;
    }
    b.select_label("#voice_route", "US East 2").await?;
    b.select_label(
        "#teams_user",
        &format!("{first} ({})", ms::upn_for(first, ms::FABRIKAM_DOMAIN)),
    )
    .await?;
    choose_sip_user(b, "2000").await?;
    if b.value("#phone_number").await?.is_empty() {
        b.fill("#phone_number", "+12000").await?;
    }
    add_and_select_device(b, "2000tm").await?;
    save_user(b).await?;
    if b.exists("#form-errors").await? {
        bail!(
            "Save User refused {first}: {}",
            b.text("#form-errors").await?
        );
    }
    b.wait_page_text(&format!("{first} is set up on extension 2000"))
        .await?;

    let admin = Actor::EnterpriseAdmin(ms::FABRIKAM_ADMIN_UPN.into());
    for (i, name) in people.iter().enumerate().take(LIMIT).skip(1) {
        let ext = format!("200{i}");
        let upn = ms::upn_for(name, ms::FABRIKAM_DOMAIN);
        let who = Pairing {
            teams_user: tenant.user_id(&upn).context("a Fabrikam user")?,
            ext: &ext,
            device: &format!("{ext}tm"),
        };
        set_up_in(&story.app.engine, e, &admin, who).await?;
    }

    // The sixth, in the form.
    b.goto(url.join("/users/new")?.as_str()).await?;
    b.wait_text("h1", "SET UP PBX USER").await?;
    b.select_label("#voice_route", "US East 2").await?;
    let sixth = ADDED[2];
    b.select_label(
        "#teams_user",
        &format!("{sixth} ({})", ms::upn_for(sixth, ms::FABRIKAM_DOMAIN)),
    )
    .await?;
    b.select_value("#sip_user", "2005").await?;
    b.click("#save-user").await?;
    b.wait_page_text(&format!(
        "this enterprise has reached its limit of {LIMIT} users: ask your reseller to raise it"
    ))
    .await?;
    let c = story.app.store.user_counts(e).await?;
    ensure!(
        c.active + c.disabled == LIMIT as u64,
        "{} users configured",
        c.active + c.disabled
    );
    // The five on the Users page.
    b.goto(url.join("/users")?.as_str()).await?;
    let page = b.wait_page_text(SEEDED[0]).await?;
    for name in people.iter().take(LIMIT) {
        ensure!(
            page.contains(name),
            "{name} is not on the Users page: {page}"
        );
    }
    // The one set up with the form, pushed to Microsoft Teams and read back: calling is on,
    // and Microsoft holds its number with enterprise voice.
    let state = settled_calling_state(b, first).await?;
    ensure!(state == "Enabled", "{first}: {state}");
    let cells = b.find_xpath(&row(first)).await?.text().await?;
    ensure!(
        cells.contains("2000") && cells.contains("+12000") && cells.contains("US East 2"),
        "{first}'s row: {cells}"
    );
    let read_back = format!("{}/td[@data-label='Microsoft (read back)']", row(first));
    let started = std::time::Instant::now();
    loop {
        let seen = match b.find_xpath(&read_back).await {
            Ok(cell) => cell.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if seen.contains("Enterprise voice on") && seen.contains("+12000") {
            break;
        }
        if started.elapsed() > PATIENCE {
            bail!("{first} was never read back from Microsoft as configured; last: {seen:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        b.client.refresh().await?;
    }
    Ok(())
}

/// The elements whose content scrolls sideways (e.g. a table wider than its panel), which the
/// page-wide check lets pass.
async fn sideways_scrollers(b: &Browser) -> Result<String> {
    let found = b
        .client
        .execute(
            "return [...document.querySelectorAll('body *')]
               .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)
                         && e.scrollWidth > e.clientWidth + 1)
               .slice(0, 3).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className
                                     + ' (' + e.scrollWidth + 'px in ' + e.clientWidth + 'px)')
               .join(', ');",
            vec![],
        )
        .await?;
    Ok(found.as_str().unwrap_or_default().to_owned())
}

/// The reseller's onboarding pages at 390 px: nothing scrolls sideways, not even a table in
/// its panel (the Enterprises list and the Direct Routing steps become one card per row).
async fn phone_width(story: &Story, e: EnterpriseId, admin: &Admin) -> Result<()> {
    let b = story.browser(Screen::Phone).await?;
    let outcome = async {
        reseller_signs_in(story, &b, admin).await?;
        let mut problems = Vec::new();
        for page in [
            "/reseller/enterprises".to_owned(),
            "/reseller/enterprises/new".to_owned(),
            format!("/reseller/enterprises/{}", e.0),
            format!("/reseller/enterprises/{}/pbx", e.0),
        ] {
            b.goto(&story.url(&page)).await?;
            b.find("h1").await?;
            if let Some(p) = layout_problems(&b).await? {
                problems.push(format!("{page}: {p}"));
            }
            let scrollers = sideways_scrollers(&b).await?;
            if !scrollers.is_empty() {
                problems.push(format!("{page}: scrolls sideways inside {scrollers}"));
            }
        }
        ensure!(problems.is_empty(), "at 390×844:\n{}", problems.join("\n"));
        Ok(())
    }
    .await;
    let _ = b.client.clone().close().await;
    outcome
}
