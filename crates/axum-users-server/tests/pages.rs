//! The pages behind the email links, over HTTP without JavaScript (form posts), and in a
//! headless Chromium with JavaScript (fetch), from the emailed link to a login with the new
//! password. Screenshots go to `target/test-artifacts/pages/`.

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum_users_core::{AUDIENCE_RESET, AUDIENCE_VERIFY, JwtCodec};
use axum_users_server::{Config, Profile};
use serde_json::{Value, json};
use support::{Running, config, outbox_files, start, token_in};

const LINK_BASE: &str = "http://app.test.example";
const RESET_LINK: &str = "http://app.test.example/reset-password?token=";
const VERIFY_LINK: &str = "http://app.test.example/verify?token=";
const RESET_SECRET: &str = "reset secret of the page tests, 32+ bytes";
const VERIFY_SECRET: &str = "verify secret of the page tests, 32+ bytes";

/// A test server whose token secrets are known, so tests can forge expired tokens.
fn page_config(dir: &Path) -> Config {
    let mut c = config(dir, Profile::V15);
    c.reset_secret = Some(RESET_SECRET.into());
    c.verify_secret = Some(VERIFY_SECRET.into());
    c
}

async fn register(http: &reqwest::Client, srv: &Running, email: &str, password: &str) {
    let r = http
        .post(srv.url("/auth/register"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

async fn login(http: &reqwest::Client, srv: &Running, email: &str, password: &str) -> u16 {
    http.post(srv.url("/auth/jwt/login"))
        .form(&[("username", email), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Asks for an email (`/auth/forgot-password` or `/auth/request-verify-token`) and returns the
/// link's token from the `n`th email of the outbox.
async fn emailed_token(
    http: &reqwest::Client,
    srv: &Running,
    dir: &Path,
    route: &str,
    email: &str,
    n: usize,
    link: &str,
) -> String {
    let r = http
        .post(srv.url(route))
        .json(&json!({"email": email}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let files = outbox_files(&dir.join("outbox"), n).await;
    token_in(&std::fs::read(&files[n - 1]).unwrap(), link)
}

/// `(status, body)` of a form post to `/reset-password`.
async fn post_reset(
    http: &reqwest::Client,
    srv: &Running,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let r = http
        .post(srv.url("/reset-password"))
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    (status, r.text().await.unwrap())
}

async fn get_page(http: &reqwest::Client, srv: &Running, path: &str) -> (u16, String) {
    let r = http.get(srv.url(path)).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

fn expired(secret: &str, claims: &Value) -> String {
    JwtCodec::hs256(secret.as_bytes())
        .unwrap()
        .encode(claims)
        .unwrap()
}

#[tokio::test]
async fn reset_without_javascript_from_the_emailed_link_to_a_login() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(page_config(dir.path())).await;
    let http = reqwest::Client::new();
    register(&http, &srv, "tristan@camelot.bt", "iseult-of-ireland").await;
    let before = http
        .post(srv.url("/auth/jwt/login"))
        .form(&[
            ("username", "tristan@camelot.bt"),
            ("password", "iseult-of-ireland"),
        ])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = emailed_token(
        &http,
        &srv,
        dir.path(),
        "/auth/forgot-password",
        "tristan@camelot.bt",
        1,
        RESET_LINK,
    )
    .await;

    // The page of the link: a form with labelled fields and the token hidden in it.
    let r = http
        .get(srv.url(&format!("/reset-password?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-frame-options"], "DENY");
    let csp = h["content-security-policy"].to_str().unwrap().to_owned();
    let html = r.text().await.unwrap();
    for needle in [
        "<label for=\"password\">",
        "<label for=\"password_confirm\">",
        "id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required",
        &format!("<input type=\"hidden\" name=\"token\" value=\"{token}\">"),
        "<form id=\"reset-form\" method=\"post\" action=\"reset-password\"",
        "At least 8 characters.",
    ] {
        assert!(html.contains(needle), "{needle} not in\n{html}");
    }
    // One nonce for the inline style and script, and nothing else allowed.
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(csp.starts_with("default-src 'none'; "), "{csp}");
    assert!(html.contains(&format!("<script nonce=\"{nonce}\">")));
    assert!(html.contains(&format!("<style nonce=\"{nonce}\">")));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no external asset"
    );

    // Two different passwords: refused, the form comes back with the token.
    let (status, body) = post_reset(
        &http,
        &srv,
        &[
            ("token", &token),
            ("password", "lyonesse-1"),
            ("password_confirm", "lyonesse-2"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("The two passwords do not match."), "{body}");
    assert!(body.contains(&format!("value=\"{token}\"")), "{body}");
    assert!(body.contains("name=\"password_confirm\" type=\"password\" autocomplete=\"new-password\" required aria-invalid=\"true\""), "{body}");

    // Refused by the password policy: the reason in words; the token still works after.
    let (status, body) = post_reset(
        &http,
        &srv,
        &[
            ("token", &token),
            ("password", "short"),
            ("password_confirm", "short"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("This password was refused: Password should be at least 8 characters"),
        "{body}"
    );
    let (status, body) = post_reset(
        &http,
        &srv,
        &[
            ("token", &token),
            ("password", "password1"),
            ("password_confirm", "password1"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("This password was refused: This password is too common"),
        "{body}"
    );
    let (status, body) = post_reset(&http, &srv, &[("token", &token), ("password", "")]).await;
    assert_eq!(status, 400);
    assert!(body.contains("Enter a new password."), "{body}");

    // The new password.
    let (status, body) = post_reset(
        &http,
        &srv,
        &[
            ("token", &token),
            ("password", "king-mark-of-cornwall"),
            ("password_confirm", "king-mark-of-cornwall"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("Your password has been changed. You can now sign in with it."),
        "{body}"
    );
    assert!(!body.contains("<form"), "{body}");
    assert!(!body.contains(&token), "the spent token is not echoed");

    // Submitted twice (a reload, a double click): the link is spent.
    let (status, body) = post_reset(
        &http,
        &srv,
        &[
            ("token", &token),
            ("password", "king-mark-of-cornwall"),
            ("password_confirm", "king-mark-of-cornwall"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("This reset link can no longer be used"),
        "{body}"
    );

    assert_eq!(
        login(&http, &srv, "tristan@camelot.bt", "iseult-of-ireland").await,
        400
    );
    assert_eq!(
        login(&http, &srv, "tristan@camelot.bt", "king-mark-of-cornwall").await,
        200
    );
    // As with the API: tokens issued before the reset are revoked.
    let r = http
        .get(srv.url("/users/me"))
        .bearer_auth(&before)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    srv.stop().await;
}

#[tokio::test]
async fn reset_page_bad_links_say_so_with_a_400() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(page_config(dir.path())).await;
    let http = reqwest::Client::new();
    let stale = expired(
        RESET_SECRET,
        &json!({"sub": uuid::Uuid::new_v4().to_string(), "password_fgpt": "x", "aud": AUDIENCE_RESET, "exp": 1_000_000}),
    );
    let other_purpose = JwtCodec::hs256(VERIFY_SECRET.as_bytes())
        .unwrap()
        .encode(&json!({"sub": "x", "email": "x@y.z", "aud": AUDIENCE_VERIFY, "exp": 4_000_000_000_u64}))
        .unwrap();
    for (path, words) in [
        ("/reset-password", "this address has no token in it"),
        ("/reset-password?token=", "this address has no token in it"),
        ("/reset-password?other=1", "this address has no token in it"),
        (
            "/reset-password?token=garbage",
            "This reset link is not valid.",
        ),
        (
            "/reset-password?token=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            "This reset link is not valid.",
        ),
        (
            &format!("/reset-password?token={stale}"),
            "This reset link has expired.",
        ),
        (
            &format!("/reset-password?token={other_purpose}"),
            "This reset link is not valid.",
        ),
    ] {
        let (status, body) = get_page(&http, &srv, path).await;
        assert_eq!(status, 400, "{path}");
        assert!(body.contains(words), "{path}: {body}");
        assert!(body.contains("role=\"alert\""), "{path}: {body}");
        assert!(!body.contains("<form"), "{path}: no form for a bad link");
        assert!(!body.contains("<script>alert"), "{path}");
    }
    // The same when posted.
    let (status, body) = post_reset(
        &http,
        &srv,
        &[
            ("password", "a-long-one"),
            ("password_confirm", "a-long-one"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("this address has no token in it"), "{body}");
    let (status, body) = post_reset(
        &http,
        &srv,
        &[
            ("token", "garbage"),
            ("password", "a-long-one"),
            ("password_confirm", "a-long-one"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("This reset link is not valid."), "{body}");
    let (status, body) = post_reset(
        &http,
        &srv,
        &[
            ("token", &stale),
            ("password", "a-long-one"),
            ("password_confirm", "a-long-one"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("This reset link has expired."), "{body}");
    // Not a form: no JSON API here (that one is /auth/reset-password).
    let r = http
        .post(srv.url("/reset-password"))
        .json(&json!({"token": "x", "password": "y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = http.put(srv.url("/reset-password")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    srv.stop().await;
}

#[tokio::test]
async fn verify_page_confirms_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(page_config(dir.path())).await;
    let http = reqwest::Client::new();
    register(&http, &srv, "lamorak@camelot.bt", "of-wales-and-gales").await;
    let token = emailed_token(
        &http,
        &srv,
        dir.path(),
        "/auth/request-verify-token",
        "lamorak@camelot.bt",
        1,
        VERIFY_LINK,
    )
    .await;
    let r = http
        .get(srv.url(&format!("/verify?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Your email address <strong>lamorak@camelot.bt</strong> is verified."),
        "{body}"
    );
    assert!(!body.contains("<script"), "the verify page needs no script");
    // The API agrees.
    let r = http
        .post(srv.url("/auth/jwt/login"))
        .form(&[
            ("username", "lamorak@camelot.bt"),
            ("password", "of-wales-and-gales"),
        ])
        .send()
        .await
        .unwrap();
    let access = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me: Value = http
        .get(srv.url("/users/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["is_verified"], true);
    // Opened again: nothing more to do, and said so.
    let (status, body) = get_page(&http, &srv, &format!("/verify?token={token}")).await;
    assert_eq!(status, 200);
    assert!(body.contains("already verified"), "{body}");

    let stale = expired(
        VERIFY_SECRET,
        &json!({"sub": uuid::Uuid::new_v4().to_string(), "email": "lamorak@camelot.bt", "aud": AUDIENCE_VERIFY, "exp": 1_000_000}),
    );
    let reset_token = expired(
        RESET_SECRET,
        &json!({"sub": "x", "aud": AUDIENCE_RESET, "exp": 4_000_000_000_u64}),
    );
    for (path, words) in [
        ("/verify", "this address has no token in it"),
        ("/verify?token=", "this address has no token in it"),
        (
            "/verify?token=garbage",
            "This verification link is not valid.",
        ),
        (
            &format!("/verify?token={stale}"),
            "This verification link has expired.",
        ),
        (
            &format!("/verify?token={reset_token}"),
            "This verification link is not valid.",
        ),
    ] {
        let (status, body) = get_page(&http, &srv, path).await;
        assert_eq!(status, 400, "{path}");
        assert!(body.contains(words), "{path}: {body}");
    }
    srv.stop().await;
}

#[tokio::test]
async fn classic_profile_keeps_its_json_api_at_reset_password() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(config(dir.path(), Profile::Classic)).await;
    let http = reqwest::Client::new();
    let r = http
        .get(srv.url("/reset-password?token=x"))
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 200);
    assert!(!r.text().await.unwrap().contains("<html"));
    let r = http.get(srv.url("/verify?token=x")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = http
        .post(srv.url("/reset-password"))
        .json(&json!({"token": "garbage", "password": "whatever-it-is"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "RESET_PASSWORD_BAD_TOKEN"})
    );
    srv.stop().await;
}

#[tokio::test]
async fn pages_can_be_turned_off_or_their_templates_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = page_config(dir.path());
    c.pages = false;
    let srv = start(c).await;
    let r = reqwest::get(srv.url("/reset-password?token=x"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    srv.stop().await;

    let templates = dir.path().join("page-templates");
    std::fs::create_dir(&templates).unwrap();
    std::fs::write(
        templates.join("verify.html"),
        "{% extends \"layout.html\" %}{% block title %}Camelot{% endblock %}\
         {% block content %}<h1>Camelot says</h1><p>{{ view }} {{ message or '' }} {{ email or '' }}</p>{% endblock %}",
    )
    .unwrap();
    let mut c = page_config(dir.path());
    c.page_templates = Some(templates.clone());
    let srv = start(c).await;
    let (status, body) = get_page(&reqwest::Client::new(), &srv, "/verify?token=garbage").await;
    assert_eq!(status, 400);
    assert!(
        body.contains("<h1>Camelot says</h1><p>problem invalid_link </p>"),
        "{body}"
    );
    assert!(body.contains("<title>Camelot</title>"), "{body}");
    srv.stop().await;

    // A template that does not compile stops the start, naming the setting and the file.
    std::fs::write(templates.join("reset_password.html"), "{% if %}").unwrap();
    let mut c = page_config(dir.path());
    c.page_templates = Some(templates);
    let e = axum_users_server::app::build(&c)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("AXUM_USERS_PAGE_TEMPLATES: "), "{e}");
    assert!(e.contains("reset_password.html"), "{e}");
    assert!(!e.contains('\n'), "{e}");
}

// --- headless Chromium ---------------------------------------------------------------------

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

/// The chromedriver we started; ended (by its id) when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts chromedriver on a free loopback port and returns it with its URL and Chromium's
/// path, or says why not.
async fn chromedriver() -> Result<(Driver, String, PathBuf), String> {
    let missing = "chromium and chromedriver are needed (apt-get install chromium chromium-driver, \
                   or CHROMIUM / CHROMEDRIVER naming them)";
    let chromium = program("CHROMIUM", &["chromium", "chromium-browser"]).ok_or(missing)?;
    let chromedriver = program("CHROMEDRIVER", &["chromedriver"]).ok_or(missing)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let child = Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", chromedriver.display()))?;
    let driver = Driver(child);
    let deadline = Instant::now() + Duration::from_secs(15);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            return Err("chromedriver did not listen within 15 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((driver, format!("http://127.0.0.1:{port}"), chromium))
}

async fn browser(webdriver: &str, chromium: &Path) -> fantoccini::Client {
    let caps = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=900,720", "--lang=en-US"]
        }
    });
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    fantoccini::ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(webdriver)
        .await
        .unwrap()
}

/// Where the screenshots go: `target/test-artifacts/pages/`.
fn artifacts() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let target = tmp.parent().unwrap_or(tmp);
    let dir = target.join("test-artifacts").join("pages");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(client: &fantoccini::Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    let path = artifacts().join(name);
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

/// Text of the element `css`, once it exists (10 s at most).
async fn text_of(client: &fantoccini::Client, css: &str) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_chromium_reset_and_verify_from_the_emailed_links() {
    let (driver, webdriver, chromium) = match chromedriver().await {
        Ok(found) => found,
        Err(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "headless Chromium is required under CI=true: {why}"
            );
            eprintln!("skipping: {why}");
            return;
        }
    };
    // rustls needs one process-wide crypto provider when both are compiled in.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let srv = start(page_config(dir.path())).await;
    let http = reqwest::Client::new();
    register(&http, &srv, "gareth@camelot.bt", "beaumains-kitchen").await;
    let token = emailed_token(
        &http,
        &srv,
        dir.path(),
        "/auth/forgot-password",
        "gareth@camelot.bt",
        1,
        RESET_LINK,
    )
    .await;
    let client = browser(&webdriver, &chromium).await;

    // The emailed link, pointed at this server.
    let files = outbox_files(&dir.path().join("outbox"), 1).await;
    let raw = String::from_utf8_lossy(&std::fs::read(&files[0]).unwrap()).into_owned();
    assert!(raw.contains(LINK_BASE));
    let link = format!("{}/reset-password?token={token}", srv.base);
    client.goto(&link).await.unwrap();
    assert_eq!(client.title().await.unwrap(), "Choose a new password");
    // Marks this document: a form post would load a new one and lose it.
    client
        .execute("window.__sameDocument = true; return true;", vec![])
        .await
        .unwrap();
    // The inline style ran under the CSP (its nonce matched): the layout is applied.
    let width = client
        .execute(
            "return getComputedStyle(document.querySelector('main')).maxWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(width, json!("416px"));
    screenshot(&client, "reset-1-form.png").await;

    let find = |css: &'static str| {
        let client = client.clone();
        async move { client.find(fantoccini::Locator::Css(css)).await.unwrap() }
    };
    // Mismatched passwords: refused in the page, nothing sent.
    find("#password")
        .await
        .send_keys("lady-lynette-1")
        .await
        .unwrap();
    find("#password_confirm")
        .await
        .send_keys("lady-lynette-2")
        .await
        .unwrap();
    find("button[type=submit]").await.click().await.unwrap();
    let message = text_of(&client, "#message.error").await;
    assert_eq!(
        message,
        "The two passwords do not match. Type the same password twice."
    );
    assert_eq!(
        find("#password_confirm")
            .await
            .attr("aria-invalid")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    screenshot(&client, "reset-2-mismatch.png").await;

    // Refused by the policy: the API's reason, shown in the page.
    find("#password").await.clear().await.unwrap();
    find("#password_confirm").await.clear().await.unwrap();
    find("#password")
        .await
        .send_keys("password1")
        .await
        .unwrap();
    find("#password_confirm")
        .await
        .send_keys("password1")
        .await
        .unwrap();
    find("button[type=submit]").await.click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = text_of(&client, "#message").await;
        if text.contains("refused") {
            assert_eq!(
                text,
                "This password was refused: This password is too common"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no refusal shown: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    screenshot(&client, "reset-3-refused.png").await;

    // The new password, through fetch.
    find("#password").await.clear().await.unwrap();
    find("#password_confirm").await.clear().await.unwrap();
    find("#password")
        .await
        .send_keys("green-knight-of-orkney")
        .await
        .unwrap();
    find("#password_confirm")
        .await
        .send_keys("green-knight-of-orkney")
        .await
        .unwrap();
    find("button[type=submit]").await.click().await.unwrap();
    let message = text_of(&client, "#message.ok").await;
    assert_eq!(
        message,
        "Your password has been changed. You can now sign in with it."
    );
    let same = client
        .execute("return window.__sameDocument === true;", vec![])
        .await
        .unwrap();
    assert_eq!(same, Value::Bool(true), "sent by fetch, without a reload");
    let url = client.current_url().await.unwrap();
    assert!(
        url.query().is_none(),
        "the spent token left the address bar: {url}"
    );
    assert!(!find("#reset-form").await.is_displayed().await.unwrap());
    screenshot(&client, "reset-4-done.png").await;

    assert_eq!(
        login(&http, &srv, "gareth@camelot.bt", "beaumains-kitchen").await,
        400
    );
    assert_eq!(
        login(&http, &srv, "gareth@camelot.bt", "green-knight-of-orkney").await,
        200
    );

    // The link again: the page's check passes (signature, expiry) but the reset refuses it.
    client.goto(&link).await.unwrap();
    find("#password")
        .await
        .send_keys("yet-another-password")
        .await
        .unwrap();
    find("#password_confirm")
        .await
        .send_keys("yet-another-password")
        .await
        .unwrap();
    find("button[type=submit]").await.click().await.unwrap();
    let message = text_of(&client, "#message.error").await;
    assert!(
        message.starts_with("This reset link can no longer be used"),
        "{message}"
    );
    screenshot(&client, "reset-5-spent.png").await;

    // A bad link.
    client
        .goto(&format!("{}/reset-password?token=garbage", srv.base))
        .await
        .unwrap();
    let message = text_of(&client, "#message").await;
    assert!(
        message.starts_with("This reset link is not valid."),
        "{message}"
    );
    screenshot(&client, "reset-6-bad-link.png").await;

    // Verification: the emailed link verifies on load.
    let token = emailed_token(
        &http,
        &srv,
        dir.path(),
        "/auth/request-verify-token",
        "gareth@camelot.bt",
        2,
        VERIFY_LINK,
    )
    .await;
    client
        .goto(&format!("{}/verify?token={token}", srv.base))
        .await
        .unwrap();
    let message = text_of(&client, "#message.ok").await;
    assert_eq!(
        message,
        "Your email address gareth@camelot.bt is verified. Thank you!"
    );
    screenshot(&client, "verify-1-done.png").await;
    client.refresh().await.unwrap();
    let message = text_of(&client, "#message").await;
    assert!(
        message.starts_with("This email address is already verified."),
        "{message}"
    );
    screenshot(&client, "verify-2-again.png").await;

    client.close().await.unwrap();
    drop(driver);
    srv.stop().await;
}
