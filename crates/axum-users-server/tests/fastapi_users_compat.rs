//! FastAPI Users database compatibility, against the real thing: FastAPI Users 15.0.5 (with
//! fastapi-users-db-sqlalchemy 7) creates and fills a database, axum-users serves that same
//! database without migrating FastAPI Users' tables, and FastAPI Users serves it again after.
//!
//! On SQLite and on PostgreSQL (a fresh database per run):
//!
//! 1. `tests/compat/fastapi_users_app.py create-tables` (SQLAlchemy's `create_all`: FastAPI
//!    Users' own DDL for `user`, `accesstoken`, `oauth_account`);
//! 2. the Python app serves; its driver registers two users and logs each in through the JWT
//!    and the database backends; the app is stopped; OAuth accounts are linked through the
//!    SQLAlchemy adapter (one provider account to both users, which FastAPI Users allows);
//! 3. axum-users (`server::run`, same secret, backends jwt + database, `auto_migrate` on) serves
//!    the database: the users log in with their passwords (pwdlib's argon2 hashes), their
//!    FastAPI Users JWTs and database tokens are accepted at `GET /users/me`, a third user
//!    registers; FastAPI Users' tables keep their columns, keys, indexes and rows (ours may
//!    only be added beside them, named `axum_users_*`, and nothing to `oauth_account`); the
//!    account linked to both users is linked once in `axum_users_oauth_link`;
//! 4. the Python app serves again: the third user logs in through both of its backends, the
//!    tokens axum-users issued are accepted there, the first users still log in (pwdlib
//!    verifying the hashes axum-users rewrote) and keep their tokens; FastAPI Users links an
//!    OAuth account in the migrated table.
//!
//! Needs `FASTAPI_USERS_PYTHON`: a Python with `fastapi-users[sqlalchemy]==15.0.5`, `aiosqlite`,
//! `asyncpg`, `uvicorn`, `httpx` (`.ci/run` builds one in `target/ci-python`). Without it the
//! tests print a `skipping:` line and pass, except under `CI=true`, where they fail; the same
//! rule holds for the PostgreSQL server (`TEST_DATABASE_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum_users_server::Profile;
use axum_users_server::config::BackendKind;
use serde_json::{Value, json};
use support::{PgDatabase, config, service_missing, start};

/// The FastAPI Users app's `SECRET`, given to axum-users as `AXUM_USERS_SECRET`.
const SECRET: &str = "a FastAPI Users SECRET shared with axum-users, 32+ bytes";
/// pwdlib's default argon2id parameters (`PasswordHash.recommended()`; also our default).
const PWDLIB_ARGON2: &str = "$argon2id$v=19$m=65536,t=3,p=4$";
/// The cheap parameters of the test server (`support::config`): the hashes of FastAPI Users'
/// users are rehashed to them at their first login on axum-users, and pwdlib, verifying
/// those, rehashes them back to its own at their next login on FastAPI Users.
const TEST_ARGON2: &str = "$argon2id$v=19$m=1024,t=1,p=1$";
/// How long one Python command (create tables, the driver) may take.
const PYTHON_COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the Python app may take to bind its socket.
const PYTHON_START_TIMEOUT: Duration = Duration::from_secs(60);

/// Users registered through FastAPI Users (passwords that also pass our password policy).
const FASTAPI_USERS: [(&str, &str); 2] = [
    ("lancelot@camelot.bt", "the lake and the sword, 1471"),
    ("Gawain@Camelot.bt", "green knight at the chapel"),
];
/// The user registered through axum-users.
const AXUM_USER: (&str, &str) = ("percival@camelot.bt", "the grail castle, found twice");

/// The workspace root (tests run in the crate's folder).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python of `FASTAPI_USERS_PYTHON`, or `None` (skip) when unset and `CI` is not `true`.
fn python() -> Option<PathBuf> {
    match std::env::var_os("FASTAPI_USERS_PYTHON").filter(|v| !v.is_empty()) {
        Some(p) => Some(workspace().join(p)),
        None => {
            service_missing(
                "FastAPI Users",
                &"FASTAPI_USERS_PYTHON is not set (.ci/run sets it to \
                  target/ci-python/bin/python, a venv with fastapi-users[sqlalchemy]==15.0.5)",
            );
            None
        }
    }
}

/// A child process that is killed (and reaped) when dropped, whatever happened.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The Python side: the interpreter, the script, the database and a folder for logs.
struct FastApiUsers {
    python: PathBuf,
    script: PathBuf,
    database_url: String,
    dir: PathBuf,
}

impl FastApiUsers {
    fn command(&self, args: &[&str], log: &str) -> Command {
        let mut c = Command::new(&self.python);
        c.arg(&self.script)
            .args(args)
            .env("FASTAPI_USERS_DATABASE_URL", &self.database_url)
            .env("FASTAPI_USERS_SECRET", SECRET)
            .env("PYTHONUNBUFFERED", "1")
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stderr(File::create(self.dir.join(log)).unwrap());
        c
    }

    fn log(&self, log: &str) -> String {
        std::fs::read_to_string(self.dir.join(log)).unwrap_or_default()
    }

    /// Runs a command to its end (bounded), panicking with its stderr when it fails.
    async fn run(&self, args: &[&str]) {
        let log = format!("{}.log", args[0]);
        let child = self
            .command(args, &log)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.python.display()));
        let mut child = KillOnDrop(child);
        let deadline = Instant::now() + PYTHON_COMMAND_TIMEOUT;
        let status = loop {
            if let Some(status) = child.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "`{}` still running after {PYTHON_COMMAND_TIMEOUT:?}:\n{}",
                args.join(" "),
                self.log(&log)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(
            status.success(),
            "`{}` failed ({status}):\n{}",
            args.join(" "),
            self.log(&log)
        );
    }

    /// Starts the app on a free port and waits (bounded) until it listens.
    async fn serve(&self, log: &str) -> PythonApp {
        let child = self
            .command(&["serve", "--port", "0"], log)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.python.display()));
        let mut child = KillOnDrop(child);
        let stdout = child.0.stdout.take().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<u16>();
        // Reads the port line, then drains stdout until the process ends.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let port = line
                    .strip_prefix("LISTENING ")
                    .and_then(|p| p.trim().parse().ok());
                if let Some(port) = port
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(port);
                }
            }
        });
        let port = match tokio::time::timeout(PYTHON_START_TIMEOUT, rx).await {
            Ok(Ok(port)) => port,
            Ok(Err(_)) => panic!("the FastAPI Users app exited at start:\n{}", self.log(log)),
            Err(_) => panic!(
                "the FastAPI Users app did not listen within {PYTHON_START_TIMEOUT:?}:\n{}",
                self.log(log)
            ),
        };
        PythonApp {
            _child: child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

/// The running FastAPI Users app; dropping it kills it.
struct PythonApp {
    _child: KillOnDrop,
    base: String,
}

/// What the driver wrote for one user.
#[derive(Debug, serde::Deserialize)]
struct DrivenUser {
    id: String,
    email: String,
    password: String,
    jwt: String,
    database: String,
}

/// A direct connection to the database, to look at tables and rows.
enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Db {
    async fn open(url: &str) -> Self {
        if url.starts_with("sqlite:") {
            Self::Sqlite(sqlx::SqlitePool::connect(url).await.unwrap())
        } else {
            Self::Postgres(sqlx::PgPool::connect(url).await.unwrap())
        }
    }

    async fn close(self) {
        match self {
            Self::Sqlite(p) => p.close().await,
            Self::Postgres(p) => p.close().await,
        }
    }

    async fn strings(&self, sql: &'static str) -> Vec<String> {
        match self {
            Self::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await.unwrap(),
            Self::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await.unwrap(),
        }
    }

    /// `(email, hashed_password, "<is_active><is_superuser><is_verified>")` per user, by email.
    async fn users(&self) -> Vec<(String, String, String)> {
        let rows = match self {
            Self::Sqlite(_) => {
                self.strings(
                    r#"SELECT email || ' ' || hashed_password || ' ' || is_active || is_superuser
                       || is_verified FROM "user" ORDER BY email"#,
                )
                .await
            }
            Self::Postgres(_) => {
                self.strings(
                    r#"SELECT email || ' ' || hashed_password || ' ' || is_active::int
                       || is_superuser::int || is_verified::int FROM "user" ORDER BY email"#,
                )
                .await
            }
        };
        rows.iter()
            .map(|row| {
                let mut parts = row.split(' ');
                let mut next = || parts.next().unwrap().to_owned();
                (next(), next(), next())
            })
            .collect()
    }

    /// FastAPI Users' tables, one line per column (type, nullability, default, key), foreign
    /// key, index and constraint.
    async fn schema(&self) -> BTreeSet<String> {
        let queries: &[&'static str] = match self {
            Self::Sqlite(_) => &[
                "SELECT m.name || '.' || p.name || ' ' || p.type || ' notnull=' || p.\"notnull\"
                 || ' default=' || coalesce(p.dflt_value, '-') || ' pk=' || p.pk
                 FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'
                 AND m.name IN ('user', 'accesstoken', 'oauth_account')",
                "SELECT m.name || ' foreign key ' || f.\"from\" || ' -> ' || f.\"table\" || '.'
                 || f.\"to\" || ' on delete ' || f.on_delete
                 FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'
                 AND m.name IN ('user', 'accesstoken', 'oauth_account')",
                "SELECT 'index ' || tbl_name || '.' || name || ': ' || coalesce(sql, '')
                 FROM sqlite_master
                 WHERE type = 'index' AND tbl_name IN ('user', 'accesstoken', 'oauth_account')",
            ],
            Self::Postgres(_) => &[
                "SELECT table_name || '.' || column_name || ' ' || data_type || ' '
                 || coalesce(character_maximum_length::text, '-') || ' nullable=' || is_nullable
                 || ' default=' || coalesce(column_default, '-')
                 FROM information_schema.columns WHERE table_schema = 'public'
                 AND table_name IN ('user', 'accesstoken', 'oauth_account')",
                "SELECT 'index ' || tablename || '.' || indexname || ': ' || indexdef
                 FROM pg_indexes WHERE schemaname = 'public'
                 AND tablename IN ('user', 'accesstoken', 'oauth_account')",
                "SELECT conrelid::regclass::text || ' constraint ' || conname || ': '
                 || pg_get_constraintdef(oid) FROM pg_constraint
                 WHERE conrelid::regclass::text IN ('\"user\"', 'accesstoken', 'oauth_account')",
            ],
        };
        let mut schema = BTreeSet::new();
        for query in queries {
            schema.extend(self.strings(query).await);
        }
        schema
    }

    /// Our links of provider accounts (`axum_users_oauth_link`): `"<oauth_name> <account_id>"`.
    async fn oauth_links(&self) -> Vec<String> {
        self.strings(
            "SELECT oauth_name || ' ' || account_id FROM axum_users_oauth_link
             ORDER BY oauth_name, account_id",
        )
        .await
    }

    /// The linked OAuth accounts, FastAPI Users' columns but the generated id.
    async fn oauth_accounts(&self) -> BTreeSet<String> {
        let sql = match self {
            Self::Sqlite(_) => {
                "SELECT user_id || ' ' || oauth_name || ' ' || account_id || ' ' || access_token
                 || ' ' || coalesce(expires_at, '-') || ' ' || coalesce(refresh_token, '-')
                 || ' ' || account_email FROM oauth_account"
            }
            Self::Postgres(_) => {
                "SELECT user_id::text || ' ' || oauth_name || ' ' || account_id || ' '
                 || access_token || ' ' || coalesce(expires_at::text, '-') || ' '
                 || coalesce(refresh_token, '-') || ' ' || account_email FROM oauth_account"
            }
        };
        self.strings(sql).await.into_iter().collect()
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Logs in through `/auth/<backend>/login`: the status and the access token (if any).
async fn login(
    http: &reqwest::Client,
    base: &str,
    backend: &str,
    email: &str,
    password: &str,
) -> (u16, Option<String>) {
    let r = http
        .post(format!("{base}/auth/{backend}/login"))
        .form(&[("username", email), ("password", password)])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let token = body["access_token"].as_str().map(str::to_owned);
    (status, token)
}

/// Logs in and returns the token, asserting a 200.
async fn login_ok(
    http: &reqwest::Client,
    base: &str,
    backend: &str,
    email: &str,
    password: &str,
) -> String {
    let (status, token) = login(http, base, backend, email, password).await;
    assert_eq!(status, 200, "{backend} login of {email} at {base}");
    token.unwrap()
}

/// `GET /users/me` with a bearer token: the status and the body.
async fn me(http: &reqwest::Client, base: &str, token: &str) -> (u16, Value) {
    let r = http
        .get(format!("{base}/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Asserts that `token` is `id`'s at `base`.
async fn me_is(http: &reqwest::Client, base: &str, token: &str, id: &str, what: &str) {
    let (status, body) = me(http, base, token).await;
    assert_eq!(status, 200, "{what}: {body}");
    assert_eq!(body["id"], id, "{what}: {body}");
}

/// The whole round trip on one database (`url` in axum-users' form).
async fn round_trip(python: PathBuf, url: &str, dir: &Path) {
    let fastapi = FastApiUsers {
        python,
        script: workspace().join("tests/compat/fastapi_users_app.py"),
        database_url: url.to_owned(),
        dir: dir.to_path_buf(),
    };
    let http = http();

    // 1–2. FastAPI Users creates its tables, registers two users and issues their tokens.
    fastapi.run(&["create-tables"]).await;
    let tokens_file = dir.join("tokens.json");
    {
        let app = fastapi.serve("serve-1.log").await;
        let mut args = vec!["drive", "--base", &app.base, "--out"];
        let out = tokens_file.to_str().unwrap();
        args.push(out);
        let specs: Vec<String> = FASTAPI_USERS
            .iter()
            .map(|(e, p)| format!("{e}:{p}"))
            .collect();
        for spec in &specs {
            args.extend(["--user", spec]);
        }
        fastapi.run(&args).await;
    }
    let driven: Value =
        serde_json::from_str(&std::fs::read_to_string(&tokens_file).unwrap()).unwrap();
    let driven: Vec<DrivenUser> = serde_json::from_value(driven["users"].clone()).unwrap();
    assert_eq!(driven.len(), FASTAPI_USERS.len());
    // Linked OAuth accounts, one of them linked to both users (FastAPI Users allows it).
    for (user, provider, account) in [
        (0, "github", "1001"),
        (1, "github", "1001"),
        (1, "google", "2002"),
    ] {
        let email = &driven[user].email;
        fastapi
            .run(&[
                "link-oauth",
                "--email",
                email,
                "--oauth-name",
                provider,
                "--account-id",
                account,
            ])
            .await;
    }

    let db = Db::open(url).await;
    let schema_before = db.schema().await;
    let users_before = db.users().await;
    let oauth_before = db.oauth_accounts().await;
    db.close().await;
    assert_eq!(oauth_before.len(), 3, "{oauth_before:?}");
    assert_eq!(users_before.len(), 2, "{users_before:?}");
    for (email, hash, flags) in &users_before {
        assert!(
            hash.starts_with(PWDLIB_ARGON2),
            "pwdlib's argon2id: {email} {hash}"
        );
        assert_eq!(flags, "100", "{email}: active, not superuser, not verified");
    }

    // 3. axum-users serves the same database with the same secret.
    let mut c = config(dir, Profile::V15);
    c.database_url = url.to_owned();
    c.secret = Some(SECRET.to_owned());
    c.backends = vec![BackendKind::Jwt, BackendKind::Database];
    c.auto_migrate = true;
    let axum = start(c).await;
    let base = axum.base.clone();
    for user in &driven {
        let what = format!("{} on axum-users", user.email);
        me_is(
            &http,
            &base,
            &user.jwt,
            &user.id,
            &format!("{what}: FastAPI Users' JWT"),
        )
        .await;
        me_is(
            &http,
            &base,
            &user.database,
            &user.id,
            &format!("{what}: FastAPI Users' database token"),
        )
        .await;
        let (_, body) = me(&http, &base, &user.jwt).await;
        assert_eq!(
            body,
            json!({"id": user.id, "email": user.email, "is_active": true,
                   "is_superuser": false, "is_verified": false}),
            "{what}"
        );
        for backend in ["jwt", "database"] {
            let token = login_ok(&http, &base, backend, &user.email, &user.password).await;
            me_is(
                &http,
                &base,
                &token,
                &user.id,
                &format!("{what}: own {backend} token"),
            )
            .await;
        }
        let (status, _) = login(&http, &base, "jwt", &user.email, "not the password").await;
        assert_eq!(status, 400, "{what}: a wrong password");
    }
    // Another case of the address finds the same user (FastAPI Users compares lower-cased).
    let gawain = &driven[1];
    let token = login_ok(
        &http,
        &base,
        "jwt",
        &gawain.email.to_lowercase(),
        &gawain.password,
    )
    .await;
    me_is(
        &http,
        &base,
        &token,
        &gawain.id,
        "lower-cased email on axum-users",
    )
    .await;

    // A user registered through axum-users, with tokens of both backends.
    let r = http
        .post(format!("{base}/auth/register"))
        .json(&json!({"email": AXUM_USER.0, "password": AXUM_USER.1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let registered: Value = r.json().await.unwrap();
    let new_id = registered["id"].as_str().unwrap().to_owned();
    let axum_jwt = login_ok(&http, &base, "jwt", AXUM_USER.0, AXUM_USER.1).await;
    let axum_db_token = login_ok(&http, &base, "database", AXUM_USER.0, AXUM_USER.1).await;
    axum.stop().await;

    // FastAPI Users' tables: every column, key and index as it was (ours, named axum_users_*,
    // may be added beside them, but nothing at all to oauth_account), the same rows (the
    // hashes rehashed to the configured parameters), plus the new user. The account FastAPI
    // Users linked to both users is linked once in our own table.
    let db = Db::open(url).await;
    let schema_after = db.schema().await;
    let users_after = db.users().await;
    let oauth_after = db.oauth_accounts().await;
    let links = db.oauth_links().await;
    db.close().await;
    assert_eq!(links, ["github 1001", "google 2002"]);
    let changed: Vec<_> = schema_before.difference(&schema_after).collect();
    assert!(
        changed.is_empty(),
        "FastAPI Users' schema changed: {changed:?}"
    );
    for added in schema_after.difference(&schema_before) {
        assert!(
            added.contains("axum_users_"),
            "added, and not one of ours: {added}"
        );
        assert!(
            !added.starts_with("oauth_account") && !added.starts_with("index oauth_account."),
            "added to oauth_account: {added}"
        );
        eprintln!("axum-users added to FastAPI Users' tables: {added}");
    }
    assert_eq!(oauth_after, oauth_before, "linked OAuth accounts");
    assert_eq!(users_after.len(), 3, "{users_after:?}");
    for (email, hash, flags) in &users_after {
        assert!(hash.starts_with(TEST_ARGON2), "{email}: {hash}");
        assert_eq!(flags, "100", "{email}");
    }
    let emails = |rows: &[(String, String, String)]| {
        rows.iter()
            .map(|(e, _, _)| e.clone())
            .collect::<BTreeSet<_>>()
    };
    let mut expected = emails(&users_before);
    expected.insert(AXUM_USER.0.to_owned());
    assert_eq!(emails(&users_after), expected);

    // 4. FastAPI Users serves the database again.
    let app = fastapi.serve("serve-2.log").await;
    let base = app.base.clone();
    let what = "axum-users' user on FastAPI Users";
    for backend in ["jwt", "database"] {
        let token = login_ok(&http, &base, backend, AXUM_USER.0, AXUM_USER.1).await;
        me_is(
            &http,
            &base,
            &token,
            &new_id,
            &format!("{what}: {backend} login"),
        )
        .await;
    }
    me_is(
        &http,
        &base,
        &axum_jwt,
        &new_id,
        &format!("{what}: axum-users' JWT"),
    )
    .await;
    me_is(
        &http,
        &base,
        &axum_db_token,
        &new_id,
        &format!("{what}: axum-users' database token"),
    )
    .await;
    let (_, body) = me(&http, &base, &axum_jwt).await;
    assert_eq!(
        body,
        json!({"id": new_id, "email": AXUM_USER.0, "is_active": true,
               "is_superuser": false, "is_verified": false})
    );
    for user in &driven {
        let what = format!("{} on FastAPI Users again", user.email);
        me_is(
            &http,
            &base,
            &user.jwt,
            &user.id,
            &format!("{what}: its JWT"),
        )
        .await;
        me_is(
            &http,
            &base,
            &user.database,
            &user.id,
            &format!("{what}: its database token"),
        )
        .await;
        for backend in ["jwt", "database"] {
            let token = login_ok(&http, &base, backend, &user.email, &user.password).await;
            me_is(
                &http,
                &base,
                &token,
                &user.id,
                &format!("{what}: {backend} login"),
            )
            .await;
        }
    }
    drop(app);
    // FastAPI Users links an OAuth account in the migrated table.
    fastapi
        .run(&[
            "link-oauth",
            "--email",
            AXUM_USER.0,
            "--oauth-name",
            "github",
            "--account-id",
            "3003",
        ])
        .await;

    // FastAPI Users wrote to the migrated `user` table: pwdlib verified our hashes and
    // replaced them with its own.
    let db = Db::open(url).await;
    let users_last = db.users().await;
    let oauth_last = db.oauth_accounts().await;
    let links_last = db.oauth_links().await;
    db.close().await;
    // FastAPI Users' row has no link of ours (it knows nothing of the table); tolerated.
    assert_eq!(links_last, links);
    assert!(oauth_last.is_superset(&oauth_before), "{oauth_last:?}");
    assert!(
        oauth_last
            .iter()
            .any(|row| row.starts_with(&new_id) && row.contains(" github 3003 ")),
        "{oauth_last:?}"
    );
    assert_eq!(emails(&users_last), expected);
    for (email, hash, flags) in &users_last {
        assert!(hash.starts_with(PWDLIB_ARGON2), "{email}: {hash}");
        assert_eq!(flags, "100", "{email}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fastapi_users_sqlite_database_is_served_both_ways() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("users.db").display());
    round_trip(python, &url, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fastapi_users_postgres_database_is_served_both_ways() {
    let Some(python) = python() else { return };
    let Some(database) = PgDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    round_trip(python, &database.url, dir.path()).await;
    drop(database);
}
