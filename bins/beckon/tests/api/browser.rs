//! The pages a person sees (CONTRACT §1 `/invite`, §7 `/docs`), in headless
//! Chromium driven through chromedriver (WebDriver): the link from a
//! delivered email, its button, every refusal page, and the API reference.
//! Each page is also checked for basic accessibility (`<html lang>`, a
//! title, the button's accessible name, no horizontal scroll at 320 px) and
//! its final state saved to `target/browser-screenshots/<name>.png`.
//!
//! Needs `chromium` and `chromedriver` (`cargo xtask chromium` installs
//! Debian's packages). Without them the tests are skipped with a note,
//! except under CI (`CI` set), where they fail. SQLite only: the pages'
//! logic does not depend on the backend.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::helpers::{Backend, Caller, Decoded, TestApp, json_ok, read_email, spawn_app_with};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long a page may take to show what a test waits for.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether the browser is installed: panics under CI when it is not.
fn browser_installed() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{missing:?} missing under CI: run `cargo xtask chromium`");
    }
    eprintln!("{missing:?} missing: browser test skipped (run `cargo xtask chromium` to run it)");
    false
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A chromedriver of the test's own, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Self {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The app (its accept links pointing at itself), a chromedriver and a
/// headless Chromium session.
struct Browser {
    app: TestApp,
    client: Client,
    driver: Driver,
}

impl Browser {
    /// `None` (skipped) when the browser is not installed.
    async fn start(tweak: impl FnOnce(&mut beckon::config::Config)) -> Option<Self> {
        if !browser_installed() {
            return None;
        }
        let port = free_port();
        let app = spawn_app_with(Backend::Sqlite, |c| {
            c.listen = format!("127.0.0.1:{port}").parse().unwrap();
            c.accept_url = format!("http://127.0.0.1:{port}/invite?token={{token}}");
            tweak(c);
        })
        .await;
        let driver = Driver::start();
        let mut caps = Capabilities::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--window-size=1024,768", "--disable-dev-shm-usage"],
            }),
        );
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let start = Instant::now();
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&driver.url)
                .await
            {
                Ok(client) => break client,
                // chromedriver may not listen yet.
                Err(_) if start.elapsed() < PAGE_TIMEOUT => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no browser session: {e}"),
            }
        };
        Some(Self {
            app,
            client,
            driver,
        })
    }

    /// The accept link of the newest of `n` messages to `addr`, read from
    /// the `.eml` the mailer wrote.
    async fn link_in_email(&self, addr: &str, n: usize, known: &[String]) -> String {
        let files = self.app.wait_for_emails_to(addr, n).await;
        let links: Vec<String> = files
            .iter()
            .map(|p| link_from_email(p))
            .filter(|l| !known.contains(l))
            .collect();
        assert_eq!(links.len(), 1, "exactly one new link: {links:?}");
        let link = links.into_iter().next().unwrap();
        assert!(
            link.starts_with(&format!("{}/invite?token=", self.app.base)),
            "{link} points at the app"
        );
        link
    }

    /// The text of the page's `<body>`.
    async fn text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Runs `script` and returns its value.
    async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// The number of "Accept invitation" buttons in the DOM.
    async fn buttons(&self) -> usize {
        self.client
            .find_all(Locator::Css("button"))
            .await
            .unwrap()
            .len()
    }

    /// An English page: see `check_page_in`.
    async fn check_page(&self, name: &str) {
        self.check_page_in(name, "en").await;
    }

    /// `<html lang>` is `lang`, a non-empty title, no horizontal scroll at
    /// 320 px; then the screenshot, at 1024 px again.
    async fn check_page_in(&self, name: &str, lang: &str) {
        let found = self.js("return document.documentElement.lang").await;
        assert_eq!(found, json!(lang), "{name}: <html lang>");
        let title = self.client.title().await.unwrap();
        assert!(!title.trim().is_empty(), "{name}: a title");
        self.client.set_window_size(320, 640).await.unwrap();
        // The width of the viewport follows the window's.
        self.wait_until(name, "the 320 px viewport", || async {
            self.js("return window.innerWidth").await.as_u64() == Some(320)
        })
        .await;
        let scroll = self
            .js("return document.documentElement.scrollWidth")
            .await
            .as_u64()
            .unwrap();
        assert!(
            scroll <= 320,
            "{name}: scrolls sideways at 320 px ({scroll})"
        );
        self.client.set_window_size(1024, 768).await.unwrap();
        // The refusal pages' own 400 and 410 are the contract's (§1); any
        // other failed load, script error or CSP violation is a fault.
        let page = format!("{} - ", self.client.current_url().await.unwrap());
        let errors: Vec<Value> = self
            .console_errors()
            .await
            .into_iter()
            .filter(|m| {
                !(m["source"] == "network"
                    && m["message"].as_str().is_some_and(|t| t.starts_with(&page)))
            })
            .collect();
        assert!(errors.is_empty(), "{name}: console errors: {errors:?}");
        self.screenshot(name).await;
    }

    async fn screenshot(&self, name: &str) {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}: a PNG");
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Polls `ready` until it holds, failing after `PAGE_TIMEOUT`.
    async fn wait_until<F, Fut>(&self, name: &str, what: &str, mut ready: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let start = Instant::now();
        while !ready().await {
            assert!(
                start.elapsed() < PAGE_TIMEOUT,
                "{name}: no {what} after {PAGE_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The first `css` element's computed accessibility property
    /// (`computedlabel`, `computedrole`), as chromedriver reports it.
    async fn computed(&self, css: &str, property: &str) -> String {
        let session = self.client.session_id().await.unwrap().unwrap();
        let http = reqwest::Client::new();
        let found: Value = http
            .post(format!("{}/session/{session}/element", self.driver.url))
            .json(&json!({ "using": "css selector", "value": css }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let element = found["value"]
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no {css}: {found}"))
            .to_owned();
        let value: Value = http
            .get(format!(
                "{}/session/{session}/element/{element}/{property}",
                self.driver.url
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        value["value"].as_str().unwrap_or_default().to_owned()
    }

    /// The browser's console messages so far (chromedriver's log endpoint).
    async fn console(&self) -> Vec<Value> {
        let session = self.client.session_id().await.unwrap().unwrap();
        let resp = reqwest::Client::new()
            .post(format!("{}/session/{session}/se/log", self.driver.url))
            .json(&json!({ "type": "browser" }))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "browser log: {}", resp.status());
        let body: Value = resp.json().await.unwrap();
        body["value"].as_array().cloned().unwrap_or_default()
    }

    /// The console's errors (`SEVERE`: script errors, failed loads, CSP
    /// violations) since the last call.
    async fn console_errors(&self) -> Vec<Value> {
        self.console()
            .await
            .into_iter()
            .filter(|m| m["level"] == "SEVERE")
            .collect()
    }

    async fn close(self) {
        self.client.close().await.unwrap();
        drop(self.driver);
    }
}

/// The WCAG contrast ratio of the button's text on its background.
const CONTRAST: &str = r#"
const s = getComputedStyle(document.querySelector('button'));
const lum = c => {
  const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map(v => {
    v = v / 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const [a, b] = [lum(s.color), lum(s.backgroundColor)];
return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
"#;

fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots")
}

/// The accept link in a message (the text part is 7bit, the link intact).
fn link_from_email(path: &Path) -> String {
    let text = read_email(path);
    let at = text.find("http://").expect("a link in the email");
    text[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '<' && *c != '"')
        .collect()
}

/// Opens `link`: asserts the invitation page with its button, and checks it.
async fn open_invitation(b: &Browser, link: &str, name: &str) {
    b.client.goto(link).await.unwrap();
    let text = b.text().await;
    assert!(text.contains("Acme Robotics"), "{name}: the tenant: {text}");
    let button = b.client.find(Locator::Css("button")).await.unwrap();
    assert_eq!(button.text().await.unwrap(), "Accept invitation");
    assert_eq!(
        b.computed("button", "computedlabel").await,
        "Accept invitation",
        "{name}: the button's accessible name"
    );
    assert_eq!(b.computed("button", "computedrole").await, "button");
    let contrast = b.js(CONTRAST).await.as_f64().unwrap();
    assert!(
        contrast >= 4.5,
        "{name}: button contrast {contrast:.2} < 4.5"
    );
    b.check_page(name).await;
}

/// Clicks the button and waits for the answer page (which has none).
async fn click_accept(b: &Browser) {
    b.client
        .find(Locator::Css("button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_until("accept", "answer page", || async { b.buttons().await == 0 })
        .await;
}

async fn status(app: &TestApp, c: &Caller, id: &str) -> String {
    app.user(c, id).await["status"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_in_the_email_accepts_the_invitation() {
    let Some(b) = Browser::start(|_| {}).await else {
        return;
    };
    let c = b.app.admin("Acme Robotics").await;
    let id = b.app.invite_id(&c, "ada@example.com").await;
    let link = b.link_in_email("ada@example.com", 1, &[]).await;
    open_invitation(&b, &link, "invite").await;
    // Opening changed nothing.
    assert_eq!(status(&b.app, &c, &id).await, "invited");
    click_accept(&b).await;
    let text = b.text().await;
    assert!(text.contains("Invitation accepted"), "{text}");
    assert_eq!(b.buttons().await, 0);
    b.check_page("accepted").await;
    assert_eq!(status(&b.app, &c, &id).await, "active");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_click_on_a_used_link_is_refused() {
    let Some(b) = Browser::start(|_| {}).await else {
        return;
    };
    let c = b.app.admin("Acme Robotics").await;
    let id = b.app.invite_id(&c, "ada@example.com").await;
    let link = b.link_in_email("ada@example.com", 1, &[]).await;
    // The form, open in a first tab while the link is still good.
    open_invitation(&b, &link, "used-form").await;
    let first = b.client.window().await.unwrap();
    // Accepted from a second tab.
    let second = b.client.new_window(true).await.unwrap().handle;
    b.client.switch_to_window(second).await.unwrap();
    b.client.goto(&link).await.unwrap();
    click_accept(&b).await;
    assert!(b.text().await.contains("Invitation accepted"));
    b.client.close_window().await.unwrap();
    // The first tab's button, clicked again.
    b.client.switch_to_window(first).await.unwrap();
    click_accept(&b).await;
    let text = b.text().await;
    assert!(text.contains("does not work"), "{text}");
    assert!(!text.contains("Invitation accepted"), "{text}");
    assert_eq!(b.buttons().await, 0);
    b.check_page("used").await;
    assert_eq!(status(&b.app, &c, &id).await, "active");
    // The link itself, opened again, offers no button either.
    b.client.goto(&link).await.unwrap();
    assert!(b.text().await.contains("does not work"));
    assert_eq!(b.buttons().await, 0);
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_link_says_so_without_a_button() {
    let Some(b) = Browser::start(|_| {}).await else {
        return;
    };
    let c = b.app.admin("Acme Robotics").await;
    b.app.invite_id(&c, "ada@example.com").await;
    let link = b.link_in_email("ada@example.com", 1, &[]).await;
    b.app
        .clock
        .advance(b.app.cfg.invite_ttl + Duration::from_secs(1));
    b.client.goto(&link).await.unwrap();
    let text = b.text().await;
    assert!(text.contains("This invitation has expired"), "{text}");
    assert_eq!(b.buttons().await, 0);
    b.check_page("expired").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_link_does_not_work() {
    let Some(b) = Browser::start(|_| {}).await else {
        return;
    };
    let c = b.app.admin("Acme Robotics").await;
    let id = b.app.invite_id(&c, "ada@example.com").await;
    let old = b.link_in_email("ada@example.com", 1, &[]).await;
    b.app
        .clock
        .advance(b.app.cfg.resend_cooldown + Duration::from_secs(1));
    json_ok(b.app.resend(&c, &id).await, 200).await;
    let new = b
        .link_in_email("ada@example.com", 2, std::slice::from_ref(&old))
        .await;
    assert_ne!(old, new);
    b.client.goto(&old).await.unwrap();
    let text = b.text().await;
    assert!(text.contains("does not work"), "{text}");
    assert_eq!(b.buttons().await, 0);
    b.check_page("replaced").await;
    // The new link still offers the button.
    open_invitation(&b, &new, "resent").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_invitation_was_withdrawn() {
    let Some(b) = Browser::start(|_| {}).await else {
        return;
    };
    let c = b.app.admin("Acme Robotics").await;
    let id = b.app.invite_id(&c, "ada@example.com").await;
    let link = b.link_in_email("ada@example.com", 1, &[]).await;
    let resp = b
        .app
        .post(&format!("/v1/users/{id}/revoke-invite"))
        .bearer_auth(&c.key)
        .header("X-Tenant-ID", &c.tenant)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "revoke: {}", resp.status());
    b.client.goto(&link).await.unwrap();
    let text = b.text().await;
    assert!(text.contains("withdrawn"), "{text}");
    assert_eq!(b.buttons().await, 0);
    b.check_page("withdrawn").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_german_tenants_invitation_is_in_german_from_link_to_answer() {
    let Some(b) = Browser::start(|_| {}).await else {
        return;
    };
    let tenant = b.app.tenant_in("Acme Robotik", "de").await;
    let c = b.app.caller_in(&tenant, "admin").await;
    let id = b.app.invite_id(&c, "ada@example.com").await;
    // The German message is quoted-printable: read its decoded text part.
    let path = b
        .app
        .wait_for_emails_to("ada@example.com", 1)
        .await
        .remove(0);
    let token = Decoded::read(&path).token();
    b.client
        .goto(&format!("{}/invite?token={token}", b.app.base))
        .await
        .unwrap();
    let text = b.text().await;
    assert!(text.contains("Acme Robotik hat Sie eingeladen."), "{text}");
    assert!(text.contains("gültig"), "{text}");
    let button = b.client.find(Locator::Css("button")).await.unwrap();
    assert_eq!(button.text().await.unwrap(), "Einladung annehmen");
    b.check_page_in("invite-de", "de").await;
    click_accept(&b).await;
    let text = b.text().await;
    assert!(text.contains("Einladung angenommen"), "{text}");
    b.check_page_in("accepted-de", "de").await;
    assert_eq!(status(&b.app, &c, &id).await, "active");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_render_every_route_from_this_host_only() {
    let Some(b) = Browser::start(|_| {}).await else {
        return;
    };
    b.client.goto(&b.app.url("/docs")).await.unwrap();
    let shadow = "const d = document.querySelector('rapi-doc'); \
                  return d && d.shadowRoot ? d.shadowRoot.textContent : ''";
    b.wait_until("docs", "rendered route", || async {
        b.js(shadow)
            .await
            .as_str()
            .is_some_and(|t| t.contains("/v1/users/{id}/resend-invite"))
    })
    .await;
    let rendered = b.js(shadow).await;
    for route in ["/v1/users", "/v1/invites/accept", "/invite"] {
        assert!(rendered.as_str().unwrap().contains(route), "{route}");
    }
    let urls = b
        .js("return performance.getEntriesByType('resource').map(e => e.name)")
        .await;
    let urls = urls.as_array().unwrap();
    assert!(!urls.is_empty(), "the page loaded its script and spec");
    for url in urls {
        let url = url.as_str().unwrap();
        assert!(
            url.starts_with(&b.app.base),
            "a request off the host: {url}"
        );
    }
    b.check_page("docs").await;
    b.close().await;
}
