//! End to end in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`,
//! driven over WebDriver by fantoccini) opens the Swagger UI at `/docs` of the real server,
//! authorizes through the OAuth2 password dialog with a registered user, executes
//! `GET /users/me` from the UI and reads the user's email in the response panel.
//!
//! - The page is loaded under a non-loopback host name (`docs.axum-users.test`, mapped to
//!   127.0.0.1 inside Chromium; every other name fails to resolve), so Swagger UI behaves as it
//!   would on a real deployment, and the test checks that every resource the page fetched came
//!   from the server: no request leaves the machine.
//! - A screenshot is saved to `target/test-artifacts/browser/docs.png` (and `failure.png` when a
//!   step fails), with chromedriver's log beside it.
//! - Without `chromium` or `chromedriver` on the PATH (or `CHROMIUM` / `CHROMEDRIVER` naming
//!   them), the test prints a line and passes; with `CI=true` it fails instead.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum_users_server::Profile;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

/// How long any single wait in the browser may take.
const STEP: Duration = Duration::from_secs(20);
/// How long the whole browser scenario may take.
const SCENARIO: Duration = Duration::from_secs(120);
/// The host name the docs are loaded under (resolved to 127.0.0.1 by Chromium only).
const HOST: &str = "docs.axum-users.test";

const EMAIL: &str = "percival@camelot.bt";
const PASSWORD: &str = "the grail is in the castle";

/// Where the test's screenshots and logs go: `target/test-artifacts/browser/`.
fn artifacts() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let target = tmp.parent().unwrap_or(tmp);
    let dir = target.join("test-artifacts").join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `$var` if set (when it names a file), else the first of `names` found on the PATH.
fn program(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// chromedriver on a free loopback port; killed when dropped, whatever happened.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver(chromedriver: &Path, log: &Path) -> Driver {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .arg(format!("--log-path={}", log.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + STEP;
    loop {
        let ready = http
            .get(format!("{}/status", driver.url))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        if let Ok(r) = ready
            && let Ok(status) = r.json::<Value>().await
            && status["value"]["ready"] == json!(true)
        {
            return driver;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not become ready on {} within {STEP:?} (log: {})",
            driver.url,
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn capabilities(chromium: &Path, profile: &Path) -> serde_json::Map<String, Value> {
    let args = [
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--no-default-browser-check".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-default-apps".to_owned(),
        "--window-size=1280,1600".to_owned(),
        format!("--host-resolver-rules=MAP {HOST} 127.0.0.1, MAP * ~NOTFOUND"),
        format!("--user-data-dir={}", profile.display()),
    ];
    let caps = json!({
        "browserName": "chrome",
        "pageLoadStrategy": "normal",
        "goog:chromeOptions": {"binary": chromium, "args": args},
    });
    match caps {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

/// Polls `find` until it yields, within [`STEP`]; the error names `what`.
async fn until<T, F, Fut>(what: &str, mut find: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + STEP;
    loop {
        if let Some(found) = find().await? {
            return Ok(found);
        }
        if Instant::now() > deadline {
            return Err(format!("timed out after {STEP:?} waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_for(
    c: &Client,
    what: &str,
    locator: Locator<'_>,
) -> Result<fantoccini::elements::Element> {
    c.wait()
        .at_most(STEP)
        .for_element(locator)
        .await
        .map_err(|e| format!("waiting for {what}: {e}").into())
}

/// The browser scenario proper.
async fn scenario(c: &Client, docs: &str, operations: usize) -> Result<()> {
    c.update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
        Some(STEP),
        Some(STEP),
        Some(Duration::ZERO),
    ))
    .await?;
    c.goto(&format!("{docs}/docs/")).await?;

    // The operations render: GET /users/me, and as many blocks as the document has operations.
    let me = wait_for(
        c,
        "the GET /users/me operation",
        Locator::XPath("//div[contains(@class,'opblock-get')][.//*[@data-path='/users/me']]"),
    )
    .await?;
    let blocks = c.find_all(Locator::Css(".opblock")).await?.len();
    if blocks != operations {
        return Err(
            format!("{blocks} operation blocks rendered, the document has {operations}").into(),
        );
    }

    // Authorize through the OAuth2 password flow dialog.
    c.find(Locator::Css(".auth-wrapper button.authorize"))
        .await?
        .click()
        .await?;
    wait_for(
        c,
        "the OAuth2 username field",
        Locator::Id("oauth_username"),
    )
    .await?
    .send_keys(EMAIL)
    .await?;
    c.find(Locator::Id("oauth_password"))
        .await?
        .send_keys(PASSWORD)
        .await?;
    c.find(Locator::XPath(
        "//input[@id='oauth_password']/following::button[normalize-space()='Authorize'][1]",
    ))
    .await?
    .click()
    .await?;
    let logged_in = until(
        "the dialog to show the OAuth2 scheme as authorized",
        || async move {
            let logout = c
                .find_all(Locator::XPath(
                    "//div[contains(@class,'modal-ux')]//button[normalize-space()='Logout']",
                ))
                .await?;
            let errors = c.find_all(Locator::Css(".modal-ux .errors")).await?;
            if let Some(error) = errors.first() {
                return Ok(Some(Err(error.text().await?)));
            }
            Ok((!logout.is_empty()).then_some(Ok(())))
        },
    )
    .await?;
    if let Err(error) = logged_in {
        return Err(format!("the OAuth2 dialog reports: {error}").into());
    }
    c.find(Locator::Css(".modal-ux button.close-modal"))
        .await?
        .click()
        .await?;
    until("the dialog to close", || async move {
        Ok(c.find_all(Locator::Css(".modal-ux"))
            .await?
            .is_empty()
            .then_some(()))
    })
    .await?;

    // GET /users/me: expand, try it out, execute.
    let me = &me;
    me.find(Locator::Css(".opblock-summary-control"))
        .await?
        .click()
        .await?;
    let try_out = until("the Try it out button", || async move {
        Ok(me
            .find_all(Locator::Css(".try-out__btn"))
            .await?
            .into_iter()
            .next())
    })
    .await?;
    try_out.click().await?;
    let execute = until("the Execute button", || async move {
        Ok(me
            .find_all(Locator::Css("button.execute"))
            .await?
            .into_iter()
            .next())
    })
    .await?;
    execute.click().await?;
    let body = until("the response body panel", || async move {
        Ok(me
            .find_all(Locator::Css(
                ".live-responses-table .response-col_description .highlight-code pre",
            ))
            .await?
            .into_iter()
            .next())
    })
    .await?;
    let body = &body;
    let text = until("the user's email in the response body", || async move {
        let text = body.text().await?;
        Ok(text.contains(EMAIL).then_some(text))
    })
    .await?;
    let status = me
        .find(Locator::Css(
            ".live-responses-table .response .response-col_status",
        ))
        .await?
        .text()
        .await?;
    if status.trim() != "200" {
        return Err(format!("GET /users/me answered {status}: {text}").into());
    }
    let user: Value = serde_json::from_str(&text)
        .map_err(|e| format!("the response panel is not JSON ({e}): {text:?}"))?;
    if user["email"] != json!(EMAIL) || user["is_active"] != json!(true) {
        return Err(format!("unexpected user in the response panel: {text}").into());
    }

    c.execute(
        "arguments[0].scrollIntoView({block: 'start'});",
        vec![serde_json::to_value(me)?],
    )
    .await?;
    let png = c.screenshot().await?;
    std::fs::write(artifacts().join("docs.png"), png)?;

    // No request left the server's origin: the page itself, every resource it loaded (Swagger
    // UI's assets, the document, the token and API calls) and every element that fetches.
    let fetched = c
        .execute(
            "return [location.href]
               .concat(performance.getEntriesByType('resource').map(e => e.name))
               .concat(Array.from(document.querySelectorAll('[src], link[href]'))
                 .map(e => e.src || e.href));",
            vec![],
        )
        .await?;
    let fetched: Vec<String> = serde_json::from_value(fetched)?;
    let base = docs.to_owned();
    let outside: Vec<&String> = fetched
        .iter()
        .filter(|u| !(u.starts_with(&base) && u[base.len()..].starts_with('/')))
        .collect();
    if !outside.is_empty() {
        return Err(format!("the docs page fetched from outside {base}: {outside:?}").into());
    }
    for path in [
        "/docs/swagger-ui-bundle.js",
        "/openapi.json",
        "/auth/jwt/login",
        "/users/me",
    ] {
        if !fetched.iter().any(|u| u == &format!("{base}{path}")) {
            return Err(format!("{path} is not among the page's requests: {fetched:?}").into());
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swagger_ui_authorizes_and_executes_users_me_in_chromium() {
    let chromium = program("CHROMIUM", &["chromium", "chromium-browser"]);
    let chromedriver = program("CHROMEDRIVER", &["chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        let msg = "chromium and chromedriver are needed (apt-get install chromium chromium-driver)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
        // Straight to stderr, past the test harness's capture, so the skip is seen.
        let _ = writeln!(std::io::stderr(), "skipping the browser test: {msg}");
        return;
    };
    // fantoccini's rustls connector needs a process-wide crypto provider (the tree has two).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();

    let dir = tempfile::tempdir().unwrap();
    let srv = support::start(support::config(dir.path(), Profile::V15)).await;
    let http = reqwest::Client::new();
    let document: Value = http
        .get(srv.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let operations: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().map_or(0, serde_json::Map::len))
        .sum();
    let r = http
        .post(srv.url("/auth/register"))
        .json(&json!({"email": EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

    let out = artifacts();
    let driver = start_driver(&chromedriver, &out.join("chromedriver.log")).await;
    let profile = tempfile::tempdir().unwrap();
    let client = ClientBuilder::rustls()
        .unwrap()
        .capabilities(capabilities(&chromium, profile.path()))
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("no browser session: {e}"));
    let port = srv.base.rsplit(':').next().unwrap().to_owned();
    let docs = format!("http://{HOST}:{port}");
    let outcome = tokio::time::timeout(SCENARIO, scenario(&client, &docs, operations)).await;
    if !matches!(outcome, Ok(Ok(()))) {
        if let Ok(png) = client.screenshot().await {
            let _ = std::fs::write(out.join("failure.png"), png);
        }
        let requests = client
            .execute(
                "return performance.getEntriesByType('resource').map(e => e.name);",
                vec![],
            )
            .await;
        eprintln!("the page's requests: {requests:?}");
    }
    let _ = client.close().await;
    drop(driver);
    srv.stop().await;
    match outcome {
        Ok(Ok(())) => println!("screenshot: {}", out.join("docs.png").display()),
        Ok(Err(e)) => panic!("{e} (screenshot: {})", out.join("failure.png").display()),
        Err(_) => panic!("the browser scenario took over {SCENARIO:?}"),
    }
}
