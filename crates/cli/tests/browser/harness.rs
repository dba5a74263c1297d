//! Browser tests' harness: the demo stack on a random port, Debian's ChromeDriver on a free
//! port, headless Chromium with a fresh profile, and helpers that wait for what the admin would
//! wait for (elements, texts), never for fixed times. A failing test leaves a screenshot in
//! `target/e2e-screenshots/<test>.png`.

use anyhow::{Context, Result, anyhow, bail};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use std::any::Any;
use std::future::Future;
use std::net::TcpListener;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use teamline::commands::demo::{DemoArgs, DemoStack};
use teamline_sim::microsoft::demo as ms;

/// How long anything may take on a loaded 2-core machine before the test gives up.
pub const PATIENCE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// `<workspace>/target/e2e-screenshots`.
pub fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e-screenshots")
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A ChromeDriver process, stopped on drop.
pub struct Chromedriver {
    child: Child,
    pub url: String,
}

impl Chromedriver {
    pub async fn start() -> Result<Self> {
        let port = free_port()?;
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| {
                format!("cannot start {CHROMEDRIVER} (scripts/test.sh installs chromium-driver)")
            })?;
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let ready = http
                .get(format!("{}/status", driver.url))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if ready.is_some() {
                return Ok(driver);
            }
            if started.elapsed() > PATIENCE {
                bail!(
                    "ChromeDriver did not answer on {} within {PATIENCE:?}",
                    driver.url
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session at 1280×800 with helpers.
pub struct Browser {
    pub client: Client,
    _profile: tempfile::TempDir,
}

/// The screen a test's browser has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// 1280×800.
    Desktop,
    /// 390×844 at a device pixel ratio of 3, through ChromeDriver's `mobileEmulation` (a
    /// headless window does not get narrower than 500 px).
    Phone,
}

impl Browser {
    pub async fn open_on(driver: &Chromedriver, screen: Screen) -> Result<Self> {
        let profile = tempfile::tempdir()?;
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--window-size=1280,800".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut options = serde_json::json!({ "binary": CHROMIUM, "args": args });
        if screen == Screen::Phone {
            // Chromium's own phone emulation (viewport, device pixel ratio, mobile layout,
            // touch): a headless window cannot be sized below 500 px.
            options["mobileEmulation"] = serde_json::json!({
                "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 3.0, "touch": true }
            });
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".to_owned(), options);
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .context("cannot open a Chromium session through ChromeDriver")?;
        let browser = Self {
            client,
            _profile: profile,
        };
        if screen == Screen::Desktop {
            browser.set_viewport(1280, 800).await?;
        }
        Ok(browser)
    }

    /// Sizes the window so the page itself gets `width`×`height` (the window's frame is
    /// added on top).
    pub async fn set_viewport(&self, width: u32, height: u32) -> Result<()> {
        self.client.set_window_size(width, height).await?;
        let frame = self
            .client
            .execute(
                "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]",
                vec![],
            )
            .await?;
        let extra = |i: usize| {
            frame[i]
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0)
        };
        self.client
            .set_window_size(width + extra(0), height + extra(1))
            .await?;
        Ok(())
    }

    pub async fn goto(&self, url: &str) -> Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("opening {url}"))
    }

    pub async fn path(&self) -> Result<String> {
        Ok(self.client.current_url().await?.path().to_owned())
    }

    /// Waits for an element to be present.
    pub async fn find(&self, css: &str) -> Result<Element> {
        self.client
            .wait()
            .at_most(PATIENCE)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("waiting for {css}"))
    }

    pub async fn find_xpath(&self, xpath: &str) -> Result<Element> {
        self.client
            .wait()
            .at_most(PATIENCE)
            .every(POLL)
            .for_element(Locator::XPath(xpath))
            .await
            .with_context(|| format!("waiting for {xpath}"))
    }

    /// Whether an element is there now (no waiting).
    pub async fn exists(&self, css: &str) -> Result<bool> {
        Ok(!self.client.find_all(Locator::Css(css)).await?.is_empty())
    }

    pub async fn exists_xpath(&self, xpath: &str) -> Result<bool> {
        Ok(!self
            .client
            .find_all(Locator::XPath(xpath))
            .await?
            .is_empty())
    }

    /// Waits until `check` holds, re-evaluating it every 100 ms.
    pub async fn until<F, Fut>(&self, what: &str, mut check: F) -> Result<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<bool>>,
    {
        let started = Instant::now();
        let mut last_error = None;
        loop {
            match check().await {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                // Elements swapped by htmx go stale between finding and reading: try again.
                Err(e) => last_error = Some(e),
            }
            if started.elapsed() > PATIENCE {
                return Err(match last_error {
                    Some(e) => e.context(format!("waiting until {what}")),
                    None => anyhow!("timed out waiting until {what}"),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Clicks the element `css` finds. An element htmx replaced between finding and clicking
    /// (e.g. the Phone Number list re-rendered when its field got focus) is found again.
    pub async fn click(&self, css: &str) -> Result<()> {
        let mut tries = 0;
        loop {
            match self.find(css).await?.click().await {
                Ok(()) => return Ok(()),
                Err(e) if tries < 5 && e.to_string().contains("stale element") => tries += 1,
                Err(e) => return Err(e).with_context(|| format!("clicking {css}")),
            }
        }
    }

    pub async fn click_xpath(&self, xpath: &str) -> Result<()> {
        self.find_xpath(xpath)
            .await?
            .click()
            .await
            .with_context(|| format!("clicking {xpath}"))
    }

    /// Clears an input and types `text` into it, key by key.
    pub async fn fill(&self, css: &str, text: &str) -> Result<()> {
        let e = self.find(css).await?;
        e.clear().await?;
        e.send_keys(text)
            .await
            .with_context(|| format!("typing into {css}"))
    }

    /// Chooses the option whose text is `label` (compared here: fantoccini's own
    /// `select_by_label` builds an XPath that breaks on apostrophes, e.g. "User's Caller ID").
    pub async fn select_label(&self, css: &str, label: &str) -> Result<()> {
        let select = self.find(css).await?;
        for option in select.find_all(Locator::Css("option")).await? {
            if option.text().await?.trim() == label {
                return option
                    .click()
                    .await
                    .with_context(|| format!("choosing {label:?} in {css}"));
            }
        }
        let labels = self.option_labels(css).await?;
        bail!("{css} offers no {label:?}; it offers {labels:?}")
    }

    pub async fn select_value(&self, css: &str, value: &str) -> Result<()> {
        self.find(css)
            .await?
            .select_by_value(value)
            .await
            .with_context(|| format!("choosing value {value:?} in {css}"))
    }

    pub async fn value(&self, css: &str) -> Result<String> {
        Ok(self
            .find(css)
            .await?
            .prop("value")
            .await?
            .unwrap_or_default())
    }

    pub async fn checked(&self, css: &str) -> Result<bool> {
        Ok(self.find(css).await?.is_selected().await?)
    }

    pub async fn text(&self, css: &str) -> Result<String> {
        Ok(self.find(css).await?.text().await?)
    }

    /// Waits until the element's text contains `needle`; returns the text.
    pub async fn wait_text(&self, css: &str, needle: &str) -> Result<String> {
        let started = Instant::now();
        loop {
            let seen = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if seen.contains(needle) {
                return Ok(seen);
            }
            if started.elapsed() > PATIENCE {
                bail!("timed out waiting until {css} shows {needle:?}; last text: {seen:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the element's text is exactly `want` (e.g. an error line that cleared).
    pub async fn wait_text_is(&self, css: &str, want: &str) -> Result<()> {
        let started = Instant::now();
        loop {
            let seen = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::from("\u{0}"),
            };
            if seen == want {
                return Ok(());
            }
            if started.elapsed() > PATIENCE {
                bail!("timed out waiting until {css} reads {want:?}; last text: {seen:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub async fn wait_value(&self, css: &str, want: &str) -> Result<()> {
        let started = Instant::now();
        loop {
            let seen = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.prop("value").await.ok().flatten().unwrap_or_default(),
                Err(_) => String::new(),
            };
            if seen == want {
                return Ok(());
            }
            if started.elapsed() > PATIENCE {
                bail!("timed out waiting until {css} holds {want:?}; last value: {seen:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub async fn wait_page_text(&self, needle: &str) -> Result<String> {
        self.wait_text("body", needle).await
    }

    pub async fn wait_gone(&self, css: &str) -> Result<()> {
        self.until(&format!("{css} is gone"), || async {
            Ok(!self.exists(css).await?)
        })
        .await
    }

    pub async fn wait_path(&self, path: &str) -> Result<()> {
        self.until(&format!("the browser is at {path}"), || async {
            Ok(self.path().await? == path)
        })
        .await
    }

    /// The labels of a `<select>`'s options.
    pub async fn option_labels(&self, css: &str) -> Result<Vec<String>> {
        let select = self.find(css).await?;
        let mut out = Vec::new();
        for o in select.find_all(Locator::Css("option")).await? {
            out.push(o.text().await?);
        }
        Ok(out)
    }

    pub async fn save_screenshot(&self, path: &std::path::Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let png = self.client.screenshot().await?;
        std::fs::write(path, png)?;
        Ok(())
    }
}

/// One browser test: the demo stack, ChromeDriver and a browser.
pub struct Ctx {
    pub stack: DemoStack,
    pub b: Browser,
    name: String,
    driver: Chromedriver,
    _dir: tempfile::TempDir,
}

impl Ctx {
    pub async fn start(name: &str) -> Self {
        Self::start_on(name, Screen::Desktop).await
    }

    pub async fn start_on(name: &str, screen: Screen) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let args = DemoArgs {
            data_dir: dir.path().join("demo"),
            listen: "127.0.0.1:0".parse().expect("an address"),
            fresh: false,
        };
        let stack = DemoStack::start(&args)
            .await
            .expect("the demo stack starts");
        let driver = Chromedriver::start().await.expect("ChromeDriver starts");
        let b = Browser::open_on(&driver, screen)
            .await
            .expect("Chromium starts");
        Self {
            stack,
            b,
            name: name.to_owned(),
            driver,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.stack.url)
    }

    /// Signs in from the sign-in page through the simulated Microsoft sign-in page.
    pub async fn sign_in(&self, upn: &str, password: &str) -> Result<()> {
        self.sign_in_on(&self.b, upn, password).await
    }

    /// A second browser on a phone's screen, signed in as the demo's admin (close it with
    /// `b.client.close()`).
    pub async fn phone_browser(&self) -> Result<Browser> {
        let b = Browser::open_on(&self.driver, Screen::Phone).await?;
        self.sign_in_on(&b, ms::CONTOSO_ADMIN_UPN, ms::ADMIN_PASSWORD)
            .await?;
        b.wait_path("/dashboard").await?;
        Ok(b)
    }

    async fn sign_in_on(&self, b: &Browser, upn: &str, password: &str) -> Result<()> {
        b.goto(&self.url("/")).await?;
        b.wait_path("/sign-in").await?;
        b.click("a.btn-microsoft").await?;
        b.fill("#i0116", upn).await?;
        b.fill("#i0118", password).await?;
        b.click("#idSIButton9").await?;
        // Back at Teamline (the Dashboard, or a page saying why not).
        let app = self.stack.url.clone();
        b.until("the browser is back at Teamline", || async {
            Ok(b.client.current_url().await?.as_str().starts_with(&app))
        })
        .await
    }

    pub async fn sign_in_as_admin(&self) -> Result<()> {
        self.sign_in(ms::CONTOSO_ADMIN_UPN, ms::ADMIN_PASSWORD)
            .await?;
        self.b.wait_path("/dashboard").await
    }

    /// Ends the test: on failure saves a screenshot, then fails with the error or panic.
    pub async fn finish(self, outcome: std::result::Result<Result<()>, Box<dyn Any + Send>>) {
        let failed = !matches!(outcome, Ok(Ok(())));
        if failed {
            let path = screenshot_dir().join(format!("{}.png", self.name));
            match self.b.save_screenshot(&path).await {
                Ok(()) => eprintln!("screenshot of the failure: {}", path.display()),
                Err(e) => eprintln!("could not save a screenshot: {e:#}"),
            }
        }
        let _ = self.b.client.clone().close().await;
        let _ = self.stack.stop().await;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("{e:#}"),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// Runs `scenario` in a fresh [`Ctx`], with a screenshot on failure.
#[macro_export]
macro_rules! browser_test {
    ($name:ident, $scenario:path) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let ctx = $crate::harness::Ctx::start(stringify!($name)).await;
            let outcome = $crate::harness::catch($scenario(&ctx)).await;
            ctx.finish(outcome).await;
        }
    };
    ($name:ident, $scenario:path, $screen:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let ctx =
                $crate::harness::Ctx::start_on(stringify!($name), $crate::harness::Screen::$screen)
                    .await;
            let outcome = $crate::harness::catch($scenario(&ctx)).await;
            ctx.finish(outcome).await;
        }
    };
}

pub async fn catch(
    f: impl Future<Output = Result<()>>,
) -> std::result::Result<Result<()>, Box<dyn Any + Send>> {
    AssertUnwindSafe(f).catch_unwind().await
}
