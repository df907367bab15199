//! OAuth login through the real server, configured by an `axum-users.toml` with two providers
//! at a real local OAuth2 / OpenID Connect provider: `acme` (OpenID Connect by
//! `discovery_url`, the `jwt` backend) and `partner` (explicit OAuth2 endpoints,
//! `associate_by_email`, the `cookie` backend, a frontend redirect). authorize → provider →
//! callback → logged in, association, what is stored, the OpenAPI document, and settings
//! refused at start.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[path = "../../axum-users/tests/oauth_provider/mod.rs"]
mod oauth_provider;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use axum_users_server::Config;
use oauth_provider::{CLIENT_ID, CLIENT_SECRET, FakeProvider, Person};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use support::start;

const PUBLIC_URL: &str = "http://app.test.example";
const PASSWORD: &str = "round-table-42";

/// The settings file: the test's database, secret and outbox, cheap argon2, then `oauth`.
fn write_config(dir: &Path, oauth: &str) -> PathBuf {
    let text = format!(
        "database_url = \"sqlite://{db}\"\n\
         secret_file = \"{secret}\"\n\
         hash_workers = 2\n\
         [argon2]\nmemory_kib = 1024\niterations = 1\nparallelism = 1\n\
         [mail]\noutbox = \"{outbox}\"\npublic_url = \"{PUBLIC_URL}\"\n\
         {oauth}",
        db = dir.join("users.db").display(),
        secret = dir.join("secret").display(),
        outbox = dir.join("outbox").display(),
    );
    let path = dir.join("axum-users.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The two providers, both at the local provider `base`. `partner` has no client secret in
/// the file: it comes from `AXUM_USERS_OAUTH_PARTNER_CLIENT_SECRET`.
fn two_providers(base: &str) -> String {
    format!(
        r#"
[oauth.acme]
discovery_url = "{base}/.well-known/openid-configuration"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"

[oauth.partner]
authorize_url = "{base}/authorize"
token_url = "{base}/token"
userinfo_url = "{base}/userinfo"
token_auth = "client_secret_post"
client_id = "{CLIENT_ID}"
scopes = ["profile", "email"]
associate_by_email = true
is_verified_by_default = true
backend = "cookie"
redirect_url = "{PUBLIC_URL}/oauth/partner/back"
frontend_redirect = "{PUBLIC_URL}/welcome"
"#
    )
}

struct Setup {
    srv: support::Running,
    provider: FakeProvider,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Setup {
    async fn start() -> Self {
        let provider = FakeProvider::start().await;
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), &two_providers(provider.base()));
        let mut config = Config::load(Some(&path)).unwrap();
        // The environment overlay, as `AXUM_USERS_OAUTH_PARTNER_CLIENT_SECRET=…` would apply.
        config
            .overlay_env(|k| {
                (k == "AXUM_USERS_OAUTH_PARTNER_CLIENT_SECRET").then(|| CLIENT_SECRET.to_owned())
            })
            .unwrap();
        config.validate().unwrap();
        assert_eq!(config.oauth.keys().collect::<Vec<_>>(), ["acme", "partner"]);
        let srv = start(config).await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            srv,
            provider,
            dir,
            http,
        }
    }

    /// `GET {prefix}/authorize` (with a bearer token for association): the authorization URL
    /// and the CSRF cookie (`name=value`).
    async fn authorize(&self, prefix: &str, bearer: Option<&str>) -> (String, String) {
        let mut request = self.http.get(self.srv.url(&format!("{prefix}/authorize")));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["cache-control"], "no-store");
        let cookie = set_cookie(&r, "fastapiusersoauthcsrf").expect("the CSRF cookie");
        let body: Value = r.json().await.unwrap();
        (
            body["authorization_url"].as_str().unwrap().to_owned(),
            cookie,
        )
    }

    /// The provider approves; then `GET {prefix}/callback` with its code and state.
    async fn callback(
        &self,
        prefix: &str,
        authorization_url: &str,
        cookie: &str,
        bearer: Option<&str>,
    ) -> reqwest::Response {
        let (code, state) = self.provider.approve(authorization_url).await;
        self.send_callback(prefix, &code, &state, cookie, bearer)
            .await
    }

    async fn send_callback(
        &self,
        prefix: &str,
        code: &str,
        state: &str,
        cookie: &str,
        bearer: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .get(self.srv.url(&format!("{prefix}/callback")))
            .query(&[("code", code), ("state", state)])
            .header(COOKIE, cookie);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    async fn register(&self, email: &str) -> String {
        let r = self
            .http
            .post(self.srv.url("/auth/register"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn login(&self, email: &str) -> String {
        let r = self
            .http
            .post(self.srv.url("/auth/jwt/login"))
            .form(&[("username", email), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// `GET /users/me` with a bearer token or a cookie (`name=value`).
    async fn me(&self, bearer: Option<&str>, cookie: Option<&str>) -> Value {
        let mut request = self.http.get(self.srv.url("/users/me"));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// The `oauth_account` rows: (oauth_name, account_id, account_email, access_token,
    /// refresh_token, user_id).
    async fn accounts(&self) -> Vec<(String, String, String, String, Option<String>, String)> {
        let url = format!("sqlite://{}", self.dir.path().join("users.db").display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let rows = sqlx::query_as(
            "SELECT oauth_name, account_id, account_email, access_token, refresh_token, user_id \
             FROM oauth_account ORDER BY oauth_name, account_id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        pool.close().await;
        rows
    }
}

/// The `name=value` of the `Set-Cookie` for `name`, unless it clears the cookie.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| v.starts_with(&format!("{name}=")) && !v.contains("Max-Age=0"))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .next()
}

fn query_of(url: &str) -> HashMap<String, String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

#[tokio::test]
async fn oidc_by_discovery_creates_a_user_logs_in_and_seals_the_tokens() {
    let s = Setup::start().await;
    let (url, cookie) = s.authorize("/auth/acme", None).await;
    assert!(
        url.starts_with(&format!("{}/authorize?", s.provider.base())),
        "{url}"
    );
    let q = query_of(&url);
    assert_eq!(
        q["redirect_uri"],
        format!("{PUBLIC_URL}/auth/acme/callback"),
        "the default redirect URL is the server's own callback"
    );
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q.contains_key("nonce"));
    assert!(q["scope"].split(' ').any(|x| x == "openid"));

    let (code, state) = s.provider.approve(&url).await;
    let r = s
        .send_callback("/auth/acme", &code, &state, &cookie, None)
        .await;
    assert_eq!(r.status(), 200);
    let cleared = r.headers().get_all(SET_COOKIE).iter().any(|v| {
        v.to_str()
            .unwrap()
            .starts_with("fastapiusersoauthcsrf=\"\"; HttpOnly; Max-Age=0")
    });
    assert!(cleared, "the callback clears the CSRF cookie");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    let me = s.me(body["access_token"].as_str(), None).await;
    assert_eq!(me["email"], "arthur@camelot.bt");
    // The provider says verified, but trust_email_verified and is_verified_by_default are off.
    assert_eq!(me["is_verified"], false);

    let rows = s.accounts().await;
    assert_eq!(rows.len(), 1);
    let (name, account_id, email, access, refresh, user_id) = &rows[0];
    assert_eq!((name.as_str(), account_id.as_str()), ("acme", "1001"));
    assert_eq!(email, "arthur@camelot.bt");
    assert_eq!(user_id, me["id"].as_str().unwrap());
    // Sealed at rest (AES-GCM), by default, under a key derived from the main secret.
    assert!(access.starts_with("enc:v1:"), "{access}");
    assert!(refresh.as_deref().unwrap().starts_with("enc:v1:"));

    // A state is good once (CONTRACT §4.7).
    let again = s
        .send_callback("/auth/acme", &code, &state, &cookie, None)
        .await;
    assert_eq!(again.status(), 400);
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        json!({"detail": "OAUTH_INVALID_STATE"})
    );
    s.srv.stop().await;
}

#[tokio::test]
async fn oauth2_endpoints_link_by_email_through_the_cookie_backend_and_redirect() {
    let s = Setup::start().await;
    let id = s.register("lancelot@camelot.bt").await;

    // `acme` does not associate by email: a user has the address.
    s.provider
        .sign_in_as(Person::new("2001", "lancelot@camelot.bt"));
    let (url, cookie) = s.authorize("/auth/acme", None).await;
    let r = s.callback("/auth/acme", &url, &cookie, None).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "OAUTH_USER_ALREADY_EXISTS"})
    );

    // `partner` does: the account is linked to the user, who is logged in by the cookie
    // backend and sent to the frontend.
    s.provider
        .sign_in_as(Person::new("2002", "lancelot@camelot.bt"));
    let (url, cookie) = s.authorize("/auth/partner", None).await;
    let q = query_of(&url);
    assert_eq!(
        q["redirect_uri"],
        format!("{PUBLIC_URL}/oauth/partner/back")
    );
    assert_eq!(q["scope"], "profile email");
    let r = s.callback("/auth/partner", &url, &cookie, None).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], format!("{PUBLIC_URL}/welcome"));
    let session = set_cookie(&r, "fastapiusersauth").expect("the login cookie");
    let me = s.me(None, Some(&session)).await;
    assert_eq!(me["id"], id.as_str());
    // Linking by email leaves is_verified alone (trust_email_verified is off).
    assert_eq!(me["is_verified"], false);

    // A new user from `partner` is verified (is_verified_by_default).
    s.provider
        .sign_in_as(Person::new("2003", "gawain@camelot.bt"));
    let (url, cookie) = s.authorize("/auth/partner", None).await;
    let r = s.callback("/auth/partner", &url, &cookie, None).await;
    assert_eq!(r.status(), 303);
    let session = set_cookie(&r, "fastapiusersauth").unwrap();
    let me = s.me(None, Some(&session)).await;
    assert_eq!(me["email"], "gawain@camelot.bt");
    assert_eq!(me["is_verified"], true);

    let rows = s.accounts().await;
    let linked: Vec<_> = rows
        .iter()
        .map(|r| (r.0.as_str(), r.1.as_str(), r.5.as_str()))
        .collect();
    assert_eq!(
        linked,
        [
            ("partner", "2002", id.as_str()),
            ("partner", "2003", me["id"].as_str().unwrap())
        ]
    );
    s.srv.stop().await;
}

#[tokio::test]
async fn associate_links_a_provider_account_to_the_logged_in_user() {
    let s = Setup::start().await;
    let id = s.register("percival@camelot.bt").await;
    let token = s.login("percival@camelot.bt").await;
    // The provider account has another address than the user's.
    s.provider
        .sign_in_as(Person::new("3003", "percy@grail.example"));

    let r = s
        .http
        .get(s.srv.url("/auth/associate/acme/authorize"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let (url, cookie) = s.authorize("/auth/associate/acme", Some(&token)).await;
    assert_eq!(
        query_of(&url)["redirect_uri"],
        format!("{PUBLIC_URL}/auth/associate/acme/callback")
    );
    let (code, state) = s.provider.approve(&url).await;
    let r = s
        .send_callback("/auth/associate/acme", &code, &state, &cookie, None)
        .await;
    assert_eq!(r.status(), 401, "the callback authenticates too");
    let r = s
        .send_callback("/auth/associate/acme", &code, &state, &cookie, Some(&token))
        .await;
    assert_eq!(r.status(), 200);
    let user: Value = r.json().await.unwrap();
    assert_eq!(user["id"], id.as_str());
    assert_eq!(user["email"], "percival@camelot.bt");
    assert!(user.get("access_token").is_none() && user.get("oauth_accounts").is_none());

    let rows = s.accounts().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str(), rows[0].2.as_str()),
        ("acme", "3003", "percy@grail.example")
    );
    assert_eq!(rows[0].5, id);

    // The linked account now logs its user in.
    let (url, cookie) = s.authorize("/auth/acme", None).await;
    let r = s.callback("/auth/acme", &url, &cookie, None).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        s.me(body["access_token"].as_str(), None).await["id"],
        id.as_str()
    );
    s.srv.stop().await;
}

#[tokio::test]
async fn the_openapi_document_lists_each_providers_routes() {
    let s = Setup::start().await;
    let doc: Value = s
        .http
        .get(s.srv.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = &doc["paths"];
    for name in ["acme", "partner"] {
        for path in [
            format!("/auth/{name}/authorize"),
            format!("/auth/{name}/callback"),
            format!("/auth/associate/{name}/authorize"),
            format!("/auth/associate/{name}/callback"),
        ] {
            assert!(paths[&path]["get"].is_object(), "{path} is not documented");
        }
    }
    let responses = |path: &str| paths[path]["get"]["responses"].clone();
    // `acme` answers the jwt backend's login; `partner` redirects to the frontend.
    assert!(responses("/auth/acme/callback")["200"].is_object());
    assert!(responses("/auth/partner/callback")["303"].is_object());
    assert!(responses("/auth/partner/callback")["200"].is_null());
    assert!(responses("/auth/associate/acme/authorize")["401"].is_object());
    s.srv.stop().await;
}

#[tokio::test]
async fn an_unreachable_discovery_url_answers_503_and_the_rest_keeps_working() {
    // A port nobody listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let oauth = format!(
        "[oauth.acme]\ndiscovery_url = \"{base}/.well-known/openid-configuration\"\n\
         client_id = \"{CLIENT_ID}\"\n"
    );
    let config = Config::load(Some(&write_config(dir.path(), &oauth))).unwrap();
    let srv = start(config).await;
    let http = reqwest::Client::new();
    let r = http
        .get(srv.url("/auth/acme/authorize"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    // Password logins do not depend on the provider.
    let r = http
        .post(srv.url("/auth/register"))
        .json(&json!({"email": "bedivere@camelot.bt", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    srv.stop().await;
}

#[test]
fn bad_oauth_settings_stop_the_binary_with_one_line_naming_the_setting() {
    let cases = [
        (
            "[oauth.x]\npreset = \"gogle\"\nclient_id = \"id\"\n",
            "error: oauth.x.preset: \"gogle\" is not a preset",
        ),
        (
            "[oauth.x]\nclient_id = \"id\"\n",
            "error: oauth.x: set exactly one of preset",
        ),
        (
            "[oauth.x]\npreset = \"github\"\n",
            "error: oauth.x.client_id: missing",
        ),
        (
            "[oauth.x]\nauthorize_url = \"https://id.example/a\"\n\
             token_url = \"https://id.example/t\"\nclient_id = \"id\"\n",
            "error: oauth.x.userinfo_url: missing",
        ),
        (
            "[oauth.x]\ndiscovery_url = \"not a url\"\nclient_id = \"id\"\n",
            "error: oauth.x.discovery_url: \"not a url\" is not a URL",
        ),
        (
            "[oauth.x]\npreset = \"github\"\nclient_id = \"id\"\nbackend = \"redis\"\n",
            "error: oauth.x.backend: redis is not among AXUM_USERS_BACKENDS",
        ),
        (
            "[oauth.x]\npreset = \"github\"\nclient_id = \"id\"\n\
             frontend_redirect = \"https://app.example/\"\n",
            "error: oauth.x.frontend_redirect: needs backend = \"cookie\"",
        ),
        (
            "[oauth.x]\npreset = \"github\"\nclientid = \"id\"\n",
            "error: config file:",
        ),
    ];
    for (oauth, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), oauth);
        let out = Command::new(env!("CARGO_BIN_EXE_axum-users"))
            .current_dir(dir.path())
            .env_clear()
            .env("AXUM_USERS_CONFIG", &path)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(!out.status.success(), "{oauth}: {stderr}");
        assert!(stderr.starts_with(expected), "{oauth}:\n{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        // Refused before anything was created.
        assert!(!dir.path().join("users.db").exists());
    }
}
