//! Settings: `axum-users.toml` (optional) overlaid by `AXUM_USERS_*` environment variables.
//! Every setting has a default that works on a laptop; a bad one stops start-up with one line
//! naming the setting.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The API surface the server mounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// FastAPI Users 15's routes (CONTRACT §1).
    #[default]
    V15,
    /// The seed's 2019 routes (CONTRACT §7).
    Classic,
}

/// A configuration error: the setting's name and what is wrong with its value.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {problem}")]
pub struct ConfigError {
    /// The setting, by its environment name.
    pub setting: &'static str,
    /// What is wrong.
    pub problem: String,
}

impl ConfigError {
    pub(crate) fn new(setting: &'static str, problem: impl Into<String>) -> Self {
        Self {
            setting,
            problem: problem.into(),
        }
    }
}

/// argon2id parameters (defaults: the reference's m=65536 KiB, t=3, p=4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Argon2Settings {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for Argon2Settings {
    fn default() -> Self {
        let p = axum_users_core::Argon2Params::default();
        Self {
            memory_kib: p.m_cost,
            iterations: p.t_cost,
            parallelism: p.p_cost,
        }
    }
}

/// The server's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `AXUM_USERS_BIND`: address to listen on.
    pub bind: SocketAddr,
    /// `AXUM_USERS_DATABASE_URL`: `sqlite://path` (created if missing), `postgres://…`,
    /// `mysql://…` or `mariadb://…`.
    pub database_url: String,
    /// Connection pool settings.
    pub database: DatabaseSettings,
    /// `AXUM_USERS_AUTO_MIGRATE`: `serve` applies the migrations at start (default true;
    /// otherwise run `axum-users migrate`).
    pub auto_migrate: bool,
    /// `AXUM_USERS_REDIS_URL`: the Redis of the `redis` backend.
    pub redis_url: Option<String>,
    /// `AXUM_USERS_TOKEN_PURGE_INTERVAL_SECONDS`: how often expired database tokens are deleted.
    pub token_purge_interval_seconds: u64,
    /// `AXUM_USERS_SECRET`: the signing secret (at least 32 bytes). Unset: read from, or
    /// generated into, `secret_file`.
    pub secret: Option<String>,
    /// `AXUM_USERS_RESET_SECRET`: signs reset-password tokens (default: derived from the main
    /// secret).
    pub reset_secret: Option<String>,
    /// `AXUM_USERS_VERIFY_SECRET`: signs verification tokens (default: derived from the main
    /// secret).
    pub verify_secret: Option<String>,
    /// `AXUM_USERS_SECRET_FILE`: where a generated secret is kept (mode 0600).
    pub secret_file: PathBuf,
    /// `AXUM_USERS_JWT_LIFETIME_SECONDS`: access token lifetime.
    pub jwt_lifetime_seconds: u64,
    /// `AXUM_USERS_JWT_ALGORITHM`: `HS256` (the secret), or `RS256`, `ES256`, `EdDSA` with a
    /// private key file (then `/.well-known/jwks.json` publishes the public keys).
    pub jwt_algorithm: String,
    /// `AXUM_USERS_JWT_PRIVATE_KEY_FILE`: PKCS#8 PEM, as `openssl genpkey` writes it.
    pub jwt_private_key_file: Option<PathBuf>,
    /// `AXUM_USERS_JWT_PREVIOUS_KEY_FILES`: comma-separated PEM files (private or public) of
    /// retired keys that still verify the tokens they signed.
    pub jwt_previous_key_files: Vec<PathBuf>,
    /// `AXUM_USERS_PROFILE`: `v15` or `classic`.
    pub profile: Profile,
    /// `AXUM_USERS_CLASSIC_PREFIX`: where the classic routes are mounted (empty: the root).
    pub classic_prefix: String,
    /// `AXUM_USERS_HASH_WORKERS`: password hashing threads (0: one per core).
    pub hash_workers: usize,
    /// `AXUM_USERS_HASH_QUEUE_PER_WORKER`: hashing jobs that may wait per worker before 503.
    pub hash_queue_per_worker: usize,
    /// `AXUM_USERS_ARGON2_MEMORY_KIB`, `_ITERATIONS`, `_PARALLELISM`.
    pub argon2: Argon2Settings,
    /// `AXUM_USERS_REQUIRES_VERIFICATION`: login and the users API demand a verified email.
    pub requires_verification: bool,
    /// `AXUM_USERS_BACKENDS`: the authentication backends, mounted at `/auth/<name>` and tried
    /// in this order (`jwt`, `cookie`, `database`, `redis`).
    pub backends: Vec<BackendKind>,
    /// Cookie transport settings.
    pub cookie: CookieSettings,
    /// `AXUM_USERS_REVOKE_ON_PASSWORD_CHANGE`: a password change or reset revokes every token
    /// issued before it (default on; off is FastAPI Users' behaviour).
    pub revoke_on_password_change: bool,
    /// `AXUM_USERS_REQUIRE_TOKEN_BINDING`: refuse JWTs without the password-binding claim (e.g.
    /// minted by a FastAPI Users deployment sharing the secret). Default off.
    pub require_token_binding: bool,
    /// `AXUM_USERS_OAUTH_STATE_SECRET`: signs OAuth states (default: the main secret).
    pub oauth_state_secret: Option<String>,
    /// `AXUM_USERS_OAUTH_TOKEN_SECRET`: the key of provider tokens at rest (default: derived
    /// from the main secret).
    pub oauth_token_secret: Option<String>,
    /// `AXUM_USERS_OAUTH_PREVIOUS_TOKEN_SECRETS`: comma-separated retired token secrets (or
    /// main secrets) whose sealed tokens still open.
    pub oauth_previous_token_secrets: Vec<String>,
    /// `AXUM_USERS_OAUTH_ENCRYPT_TOKENS`: seal provider tokens at rest (default true; off
    /// writes them in plaintext, as FastAPI Users does).
    pub oauth_encrypt_tokens: bool,
    /// `[oauth.<name>]`: the OAuth2 / OpenID Connect providers, by mount name.
    pub oauth: std::collections::BTreeMap<String, crate::oauth::ProviderSettings>,
    /// Email settings.
    pub mail: MailSettings,
    /// The password policy.
    pub password: PasswordSettings,
    /// Rate limits and account lockout.
    pub limits: LimitSettings,
    /// Refresh tokens (opt-in).
    pub refresh: RefreshSettings,
    /// `AXUM_USERS_LOG_FORMAT`: `text` (default) or `json` lines on standard error.
    pub log_format: crate::logging::LogFormat,
    /// `AXUM_USERS_PAGES`: serve the reset and verification pages behind the email links
    /// (default true; `v15` profile only).
    pub pages: bool,
    /// `AXUM_USERS_PAGE_TEMPLATES`: a folder whose files override the built-in page templates.
    pub page_templates: Option<PathBuf>,
    /// `AXUM_USERS_METRICS`: serve `GET /metrics` (default true).
    pub metrics: bool,
    /// Connection and request limits.
    pub http: HttpSettings,
}

/// Bounds on every connection and request, so a slow or oversized client cannot hold the
/// server's resources (OWASP ASVS 13.1, slowloris).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// `AXUM_USERS_REQUEST_TIMEOUT_SECONDS`: a request not answered within this time (body
    /// upload included) gets 503 with `Retry-After` (default 30).
    pub request_timeout_seconds: u64,
    /// `AXUM_USERS_HEADER_READ_TIMEOUT_SECONDS`: a connection that does not finish sending a
    /// request's headers within this time is closed (default 10).
    pub header_read_timeout_seconds: u64,
    /// `AXUM_USERS_MAX_HEADERS`: headers per request; more answers 431 (default 100).
    pub max_headers: usize,
    /// `AXUM_USERS_MAX_HEADER_BYTES`: bytes of a request's head (request line and headers);
    /// more answers 431 (default 65536, at least 8192).
    pub max_header_bytes: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            request_timeout_seconds: 30,
            header_read_timeout_seconds: 10,
            max_headers: 100,
            max_header_bytes: 64 * 1024,
        }
    }
}

/// Refresh tokens with rotation (CONTRACT §5), off by default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RefreshSettings {
    /// `AXUM_USERS_REFRESH_TOKENS`: login on the `jwt` backend also answers a `refresh_token`,
    /// and `POST /auth/jwt/refresh` rotates it (default false).
    pub enabled: bool,
    /// `AXUM_USERS_REFRESH_TOKEN_LIFETIME_SECONDS` (default 30 days).
    pub lifetime_seconds: u64,
    /// `AXUM_USERS_REFRESH_TOKEN_STORE`: `database` (default) or `redis`.
    pub store: String,
}

impl Default for RefreshSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            lifetime_seconds: 30 * 24 * 3600,
            store: "database".to_owned(),
        }
    }
}

/// Rate limits and account lockout (CONTRACT §5's defaults).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// `AXUM_USERS_RATE_LIMITS`: apply limits and lockout at all (default true).
    pub enabled: bool,
    /// `AXUM_USERS_RATE_LIMIT_PER_IP`: requests per client IP per limited route, e.g.
    /// `600/1m` (the default) or `off`.
    pub per_ip: String,
    /// `[limits.per_route]` / `AXUM_USERS_RATE_LIMIT_<ROUTE>`: a route's own per-IP limit over
    /// `per_ip` (routes: `login`, `register`, `forgot_password`, `request_verify_token`,
    /// `verify`, `reset_password`, `refresh`), e.g. `login = "100/1m"` or `"off"`.
    pub per_route: std::collections::BTreeMap<String, String>,
    /// `AXUM_USERS_SEND_LIMIT_PER_ACCOUNT`: emails sent per account by forgot-password and by
    /// request-verify-token (each its own budget); beyond it they still answer 202 but send
    /// nothing (default `5/15m`, or `off`).
    pub sends_per_account: String,
    /// `AXUM_USERS_LOCKOUT`: lock an account after repeated failed logins (default true).
    pub lockout: bool,
    /// `AXUM_USERS_LOCKOUT_MAX_FAILURES` within the window (default 10).
    pub lockout_max_failures: u64,
    /// `AXUM_USERS_LOCKOUT_WINDOW_SECONDS` (default 900).
    pub lockout_window_seconds: u64,
    /// `AXUM_USERS_LOCKOUT_SECONDS`: the first lockout (default 900); each next one doubles.
    pub lockout_seconds: u64,
    /// `AXUM_USERS_TRUSTED_PROXIES`: comma-separated CIDRs whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
    /// `AXUM_USERS_RATE_LIMIT_STORE`: `memory` (default) or `redis` (shared by every instance;
    /// uses `AXUM_USERS_REDIS_URL`).
    pub store: String,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            per_ip: "600/1m".to_owned(),
            per_route: std::collections::BTreeMap::new(),
            sends_per_account: "5/15m".to_owned(),
            lockout: true,
            lockout_max_failures: 10,
            lockout_window_seconds: 900,
            lockout_seconds: 900,
            trusted_proxies: Vec::new(),
            store: "memory".to_owned(),
        }
    }
}

/// The password policy applied to every new password (register, change, reset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordSettings {
    /// `AXUM_USERS_PASSWORD_POLICY`: apply the policy at all (default true; false is FastAPI
    /// Users' behaviour: any password).
    pub enabled: bool,
    /// `AXUM_USERS_PASSWORD_MIN_LENGTH` (default 8).
    pub min_length: usize,
    /// `AXUM_USERS_PASSWORD_MAX_LENGTH` (default 1024).
    pub max_length: usize,
    /// `AXUM_USERS_PASSWORD_FORBID_EMAIL`: refuse passwords containing the email's local part
    /// (default true).
    pub forbid_email: bool,
    /// `AXUM_USERS_PASSWORD_FORBID_COMMON`: refuse the 30,000 most common passwords (default
    /// true).
    pub forbid_common: bool,
}

impl Default for PasswordSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            min_length: 8,
            max_length: 1024,
            forbid_email: true,
            forbid_common: true,
        }
    }
}

/// How reset and verification emails are sent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    /// `AXUM_USERS_SMTP_URL` (`smtp://host:port`, `smtp://…?tls=required`, `smtps://user:pass@host`);
    /// unset: messages go to the outbox folder.
    pub smtp_url: Option<String>,
    /// `AXUM_USERS_MAIL_OUTBOX`: where `.eml` files are written without SMTP.
    pub outbox: PathBuf,
    /// `AXUM_USERS_MAIL_FROM`: the sender.
    pub from: String,
    /// `AXUM_USERS_PUBLIC_URL`: the base of the links in emails (default `http://<bind>`).
    pub public_url: Option<String>,
    /// `AXUM_USERS_RESET_URL_TEMPLATE`: the reset link; `{public_url}` and `{token}` are
    /// replaced.
    pub reset_url_template: String,
    /// `AXUM_USERS_VERIFY_URL_TEMPLATE`: the verification link.
    pub verify_url_template: String,
    /// `AXUM_USERS_MAIL_TEMPLATES`: a folder whose files override the built-in email templates.
    pub templates: Option<PathBuf>,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            smtp_url: None,
            outbox: PathBuf::from("mail-outbox"),
            from: "axum-users <no-reply@localhost>".to_owned(),
            public_url: None,
            reset_url_template: "{public_url}/reset-password?token={token}".to_owned(),
            verify_url_template: "{public_url}/verify?token={token}".to_owned(),
            templates: None,
        }
    }
}

impl Config {
    /// The base URL of links: the setting, else `http://<bind>`.
    #[must_use]
    pub fn public_url(&self) -> String {
        self.mail
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
            .trim_end_matches('/')
            .to_owned()
    }

    /// A link template with `{public_url}` filled in.
    #[must_use]
    pub fn link_template(&self, template: &str) -> String {
        template.replace("{public_url}", &self.public_url())
    }
}

/// The database connection pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `AXUM_USERS_DATABASE_MAX_CONNECTIONS` (default 10).
    pub max_connections: u32,
    /// `AXUM_USERS_DATABASE_ACQUIRE_TIMEOUT_SECONDS`: how long a request waits for a
    /// connection before answering 503 (default 5).
    pub acquire_timeout_seconds: u64,
    /// `AXUM_USERS_DATABASE_CONNECT_RETRIES`: attempts at start before giving up (default 5).
    pub connect_retries: u32,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout_seconds: 5,
            connect_retries: 5,
        }
    }
}

/// An authentication backend the server can mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Bearer header × JWT, at `/auth/jwt`.
    Jwt,
    /// Cookie × JWT, at `/auth/cookie`.
    Cookie,
    /// Bearer header × database tokens, at `/auth/database`.
    Database,
    /// Bearer header × Redis tokens, at `/auth/redis`.
    Redis,
}

impl BackendKind {
    /// The backend's name (its mount point under `/auth`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Jwt => "jwt",
            Self::Cookie => "cookie",
            Self::Database => "database",
            Self::Redis => "redis",
        }
    }
}

impl std::str::FromStr for BackendKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "jwt" => Ok(Self::Jwt),
            "cookie" => Ok(Self::Cookie),
            "database" => Ok(Self::Database),
            "redis" => Ok(Self::Redis),
            other => Err(format!(
                "unknown backend {other:?} (jwt, cookie, database, redis)"
            )),
        }
    }
}

/// The cookie transport's settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CookieSettings {
    /// `AXUM_USERS_COOKIE_NAME` (default `fastapiusersauth`).
    pub name: String,
    /// `AXUM_USERS_COOKIE_MAX_AGE` in seconds; unset: a session cookie.
    pub max_age: Option<u64>,
    /// `AXUM_USERS_COOKIE_DOMAIN`; unset: the host only.
    pub domain: Option<String>,
    /// `AXUM_USERS_COOKIE_SECURE` (default true; plain-HTTP development needs false).
    pub secure: bool,
    /// `AXUM_USERS_CSRF`: refuse cookie-authenticated unsafe requests from other origins
    /// (default true).
    pub csrf: bool,
    /// `AXUM_USERS_TRUSTED_ORIGINS`: comma-separated origins allowed past the CSRF check.
    pub trusted_origins: Vec<String>,
}

impl Default for CookieSettings {
    fn default() -> Self {
        Self {
            name: "fastapiusersauth".to_owned(),
            max_age: None,
            domain: None,
            secure: true,
            csrf: true,
            trusted_origins: Vec::new(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            database_url: "sqlite://axum-users.db".to_owned(),
            database: DatabaseSettings::default(),
            auto_migrate: true,
            redis_url: None,
            token_purge_interval_seconds: 3600,
            secret: None,
            reset_secret: None,
            verify_secret: None,
            secret_file: PathBuf::from("axum-users.secret"),
            jwt_lifetime_seconds: 3600,
            jwt_algorithm: "HS256".to_owned(),
            jwt_private_key_file: None,
            jwt_previous_key_files: Vec::new(),
            profile: Profile::V15,
            classic_prefix: String::new(),
            hash_workers: 0,
            hash_queue_per_worker: 64,
            argon2: Argon2Settings::default(),
            requires_verification: false,
            backends: vec![BackendKind::Jwt, BackendKind::Cookie],
            cookie: CookieSettings::default(),
            revoke_on_password_change: true,
            require_token_binding: false,
            oauth_state_secret: None,
            oauth_token_secret: None,
            oauth_previous_token_secrets: Vec::new(),
            oauth_encrypt_tokens: true,
            oauth: std::collections::BTreeMap::new(),
            mail: MailSettings::default(),
            password: PasswordSettings::default(),
            limits: LimitSettings::default(),
            refresh: RefreshSettings::default(),
            log_format: crate::logging::LogFormat::Text,
            pages: true,
            page_templates: None,
            metrics: true,
            http: HttpSettings::default(),
        }
    }
}

/// The TOML file read when no path is given.
pub const DEFAULT_CONFIG_FILE: &str = "axum-users.toml";

fn parse<T: std::str::FromStr>(setting: &'static str, raw: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    raw.trim()
        .parse()
        .map_err(|e| ConfigError::new(setting, format!("{raw:?} is not valid ({e})")))
}

fn parse_bool(setting: &'static str, raw: &str) -> Result<bool, ConfigError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(ConfigError::new(
            setting,
            format!("{raw:?} is not a boolean (true or false)"),
        )),
    }
}

impl Config {
    /// Reads the TOML file (`path`, or `axum-users.toml` if it exists), then the environment.
    ///
    /// # Errors
    /// One [`ConfigError`] naming the first bad setting.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let file = path.map_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE), Path::to_path_buf);
        let mut config = match std::fs::read_to_string(&file) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                ConfigError::new(
                    "config file",
                    format!("{}: {}", file.display(), e.message()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && path.is_none() => Self::default(),
            Err(e) => {
                return Err(ConfigError::new(
                    "config file",
                    format!("{}: {e}", file.display()),
                ));
            }
        };
        config.overlay_env(|k| std::env::var(k).ok())?;
        config.validate()?;
        Ok(config)
    }

    /// Applies `AXUM_USERS_*` variables read through `get`.
    ///
    /// # Errors
    /// A [`ConfigError`] for a value that does not parse.
    pub fn overlay_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        macro_rules! set {
            ($name:literal, $field:expr) => {
                if let Some(v) = get($name) {
                    $field = parse($name, &v)?;
                }
            };
        }
        set!("AXUM_USERS_BIND", self.bind);
        if let Some(v) = get("AXUM_USERS_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = get("AXUM_USERS_SECRET") {
            self.secret = Some(v);
        }
        set!(
            "AXUM_USERS_DATABASE_MAX_CONNECTIONS",
            self.database.max_connections
        );
        set!(
            "AXUM_USERS_DATABASE_ACQUIRE_TIMEOUT_SECONDS",
            self.database.acquire_timeout_seconds
        );
        set!(
            "AXUM_USERS_DATABASE_CONNECT_RETRIES",
            self.database.connect_retries
        );
        if let Some(v) = get("AXUM_USERS_AUTO_MIGRATE") {
            self.auto_migrate = parse_bool("AXUM_USERS_AUTO_MIGRATE", &v)?;
        }
        if let Some(v) = get("AXUM_USERS_REDIS_URL") {
            self.redis_url = Some(v).filter(|s| !s.trim().is_empty());
        }
        set!(
            "AXUM_USERS_TOKEN_PURGE_INTERVAL_SECONDS",
            self.token_purge_interval_seconds
        );
        if let Some(v) = get("AXUM_USERS_RESET_SECRET") {
            self.reset_secret = Some(v);
        }
        if let Some(v) = get("AXUM_USERS_VERIFY_SECRET") {
            self.verify_secret = Some(v);
        }
        if let Some(v) = get("AXUM_USERS_SECRET_FILE") {
            self.secret_file = PathBuf::from(v);
        }
        set!("AXUM_USERS_JWT_LIFETIME_SECONDS", self.jwt_lifetime_seconds);
        if let Some(v) = get("AXUM_USERS_JWT_ALGORITHM") {
            self.jwt_algorithm = v.trim().to_owned();
        }
        if let Some(v) = get("AXUM_USERS_JWT_PRIVATE_KEY_FILE") {
            self.jwt_private_key_file = Some(v).filter(|s| !s.trim().is_empty()).map(PathBuf::from);
        }
        if let Some(v) = get("AXUM_USERS_JWT_PREVIOUS_KEY_FILES") {
            self.jwt_previous_key_files = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect();
        }
        if let Some(v) = get("AXUM_USERS_PROFILE") {
            self.profile = match v.trim().to_ascii_lowercase().as_str() {
                "v15" => Profile::V15,
                "classic" => Profile::Classic,
                _ => {
                    return Err(ConfigError::new(
                        "AXUM_USERS_PROFILE",
                        format!("{v:?} is not a profile (v15 or classic)"),
                    ));
                }
            };
        }
        if let Some(v) = get("AXUM_USERS_CLASSIC_PREFIX") {
            self.classic_prefix = v;
        }
        set!("AXUM_USERS_HASH_WORKERS", self.hash_workers);
        set!(
            "AXUM_USERS_REQUEST_TIMEOUT_SECONDS",
            self.http.request_timeout_seconds
        );
        set!(
            "AXUM_USERS_HEADER_READ_TIMEOUT_SECONDS",
            self.http.header_read_timeout_seconds
        );
        set!("AXUM_USERS_MAX_HEADERS", self.http.max_headers);
        set!("AXUM_USERS_MAX_HEADER_BYTES", self.http.max_header_bytes);
        set!(
            "AXUM_USERS_HASH_QUEUE_PER_WORKER",
            self.hash_queue_per_worker
        );
        set!("AXUM_USERS_ARGON2_MEMORY_KIB", self.argon2.memory_kib);
        set!("AXUM_USERS_ARGON2_ITERATIONS", self.argon2.iterations);
        set!("AXUM_USERS_ARGON2_PARALLELISM", self.argon2.parallelism);
        if let Some(v) = get("AXUM_USERS_REQUIRES_VERIFICATION") {
            self.requires_verification = parse_bool("AXUM_USERS_REQUIRES_VERIFICATION", &v)?;
        }
        if let Some(v) = get("AXUM_USERS_BACKENDS") {
            self.backends = v
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|e| ConfigError::new("AXUM_USERS_BACKENDS", e))?;
        }
        if let Some(v) = get("AXUM_USERS_COOKIE_NAME") {
            self.cookie.name = v;
        }
        if let Some(v) = get("AXUM_USERS_COOKIE_MAX_AGE") {
            self.cookie.max_age = if v.trim().is_empty() {
                None
            } else {
                Some(parse("AXUM_USERS_COOKIE_MAX_AGE", &v)?)
            };
        }
        if let Some(v) = get("AXUM_USERS_COOKIE_DOMAIN") {
            self.cookie.domain = Some(v).filter(|d| !d.trim().is_empty());
        }
        if let Some(v) = get("AXUM_USERS_COOKIE_SECURE") {
            self.cookie.secure = parse_bool("AXUM_USERS_COOKIE_SECURE", &v)?;
        }
        if let Some(v) = get("AXUM_USERS_CSRF") {
            self.cookie.csrf = parse_bool("AXUM_USERS_CSRF", &v)?;
        }
        if let Some(v) = get("AXUM_USERS_TRUSTED_ORIGINS") {
            self.cookie.trusted_origins = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(v) = get("AXUM_USERS_REVOKE_ON_PASSWORD_CHANGE") {
            self.revoke_on_password_change =
                parse_bool("AXUM_USERS_REVOKE_ON_PASSWORD_CHANGE", &v)?;
        }
        if let Some(v) = get("AXUM_USERS_REQUIRE_TOKEN_BINDING") {
            self.require_token_binding = parse_bool("AXUM_USERS_REQUIRE_TOKEN_BINDING", &v)?;
        }
        if let Some(v) = get("AXUM_USERS_OAUTH_STATE_SECRET") {
            self.oauth_state_secret = Some(v).filter(|s| !s.is_empty());
        }
        if let Some(v) = get("AXUM_USERS_OAUTH_TOKEN_SECRET") {
            self.oauth_token_secret = Some(v).filter(|s| !s.is_empty());
        }
        if let Some(v) = get("AXUM_USERS_OAUTH_PREVIOUS_TOKEN_SECRETS") {
            self.oauth_previous_token_secrets = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(v) = get("AXUM_USERS_OAUTH_ENCRYPT_TOKENS") {
            self.oauth_encrypt_tokens = parse_bool("AXUM_USERS_OAUTH_ENCRYPT_TOKENS", &v)?;
        }
        crate::oauth::overlay_env(&mut self.oauth, &get);
        if let Some(v) = get("AXUM_USERS_REFRESH_TOKENS") {
            self.refresh.enabled = parse_bool("AXUM_USERS_REFRESH_TOKENS", &v)?;
        }
        set!(
            "AXUM_USERS_REFRESH_TOKEN_LIFETIME_SECONDS",
            self.refresh.lifetime_seconds
        );
        if let Some(v) = get("AXUM_USERS_REFRESH_TOKEN_STORE") {
            self.refresh.store = v.trim().to_ascii_lowercase();
        }
        if let Some(v) = get("AXUM_USERS_RATE_LIMITS") {
            self.limits.enabled = parse_bool("AXUM_USERS_RATE_LIMITS", &v)?;
        }
        if let Some(v) = get("AXUM_USERS_RATE_LIMIT_PER_IP") {
            self.limits.per_ip = v.trim().to_owned();
        }
        for route in axum_users::limits::LimitedRoute::ALL {
            if let Some(v) = get(crate::limits::route_setting(route)) {
                self.limits
                    .per_route
                    .insert(route.as_str().to_owned(), v.trim().to_owned());
            }
        }
        if let Some(v) = get("AXUM_USERS_SEND_LIMIT_PER_ACCOUNT") {
            self.limits.sends_per_account = v.trim().to_owned();
        }
        if let Some(v) = get("AXUM_USERS_LOCKOUT") {
            self.limits.lockout = parse_bool("AXUM_USERS_LOCKOUT", &v)?;
        }
        set!(
            "AXUM_USERS_LOCKOUT_MAX_FAILURES",
            self.limits.lockout_max_failures
        );
        set!(
            "AXUM_USERS_LOCKOUT_WINDOW_SECONDS",
            self.limits.lockout_window_seconds
        );
        set!("AXUM_USERS_LOCKOUT_SECONDS", self.limits.lockout_seconds);
        if let Some(v) = get("AXUM_USERS_TRUSTED_PROXIES") {
            self.limits.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(v) = get("AXUM_USERS_RATE_LIMIT_STORE") {
            self.limits.store = v.trim().to_ascii_lowercase();
        }
        if let Some(v) = get("AXUM_USERS_PASSWORD_POLICY") {
            self.password.enabled = parse_bool("AXUM_USERS_PASSWORD_POLICY", &v)?;
        }
        set!("AXUM_USERS_PASSWORD_MIN_LENGTH", self.password.min_length);
        set!("AXUM_USERS_PASSWORD_MAX_LENGTH", self.password.max_length);
        if let Some(v) = get("AXUM_USERS_PASSWORD_FORBID_EMAIL") {
            self.password.forbid_email = parse_bool("AXUM_USERS_PASSWORD_FORBID_EMAIL", &v)?;
        }
        if let Some(v) = get("AXUM_USERS_PASSWORD_FORBID_COMMON") {
            self.password.forbid_common = parse_bool("AXUM_USERS_PASSWORD_FORBID_COMMON", &v)?;
        }
        let nonempty = |v: String| Some(v).filter(|s| !s.trim().is_empty());
        if let Some(v) = get("AXUM_USERS_SMTP_URL") {
            self.mail.smtp_url = nonempty(v);
        }
        if let Some(v) = get("AXUM_USERS_MAIL_OUTBOX") {
            self.mail.outbox = PathBuf::from(v);
        }
        if let Some(v) = get("AXUM_USERS_MAIL_FROM") {
            self.mail.from = v;
        }
        if let Some(v) = get("AXUM_USERS_PUBLIC_URL") {
            self.mail.public_url = nonempty(v);
        }
        if let Some(v) = get("AXUM_USERS_RESET_URL_TEMPLATE") {
            self.mail.reset_url_template = v;
        }
        if let Some(v) = get("AXUM_USERS_VERIFY_URL_TEMPLATE") {
            self.mail.verify_url_template = v;
        }
        if let Some(v) = get("AXUM_USERS_MAIL_TEMPLATES") {
            self.mail.templates = nonempty(v).map(PathBuf::from);
        }
        if let Some(v) = get("AXUM_USERS_LOG_FORMAT") {
            self.log_format = v
                .parse()
                .map_err(|e: String| ConfigError::new("AXUM_USERS_LOG_FORMAT", e))?;
        }
        if let Some(v) = get("AXUM_USERS_PAGES") {
            self.pages = parse_bool("AXUM_USERS_PAGES", &v)?;
        }
        if let Some(v) = get("AXUM_USERS_PAGE_TEMPLATES") {
            self.page_templates = nonempty(v).map(PathBuf::from);
        }
        if let Some(v) = get("AXUM_USERS_METRICS") {
            self.metrics = parse_bool("AXUM_USERS_METRICS", &v)?;
        }
        Ok(())
    }

    /// Checks values that parse but cannot work.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        crate::database::check_url(&self.database_url)?;
        if self.database.max_connections == 0 {
            return Err(ConfigError::new(
                "AXUM_USERS_DATABASE_MAX_CONNECTIONS",
                "must be at least 1",
            ));
        }
        if self.backends.contains(&BackendKind::Redis) && self.redis_url.is_none() {
            return Err(ConfigError::new(
                "AXUM_USERS_REDIS_URL",
                "the redis backend needs a Redis URL (redis://host:6379)",
            ));
        }
        if self.token_purge_interval_seconds == 0 {
            return Err(ConfigError::new(
                "AXUM_USERS_TOKEN_PURGE_INTERVAL_SECONDS",
                "must be at least 1",
            ));
        }
        let alg = self.jwt_algorithm()?;
        if alg != axum_users_core::JwtAlgorithm::HS256 && self.jwt_private_key_file.is_none() {
            return Err(ConfigError::new(
                "AXUM_USERS_JWT_PRIVATE_KEY_FILE",
                format!(
                    "{} needs a private key file (openssl genpkey …)",
                    self.jwt_algorithm
                ),
            ));
        }
        if self.jwt_lifetime_seconds == 0 {
            return Err(ConfigError::new(
                "AXUM_USERS_JWT_LIFETIME_SECONDS",
                "must be at least 1",
            ));
        }
        if let Some(secret) = &self.secret {
            crate::secret::check_len("AXUM_USERS_SECRET", secret)?;
        }
        if let Some(secret) = &self.reset_secret {
            crate::secret::check_len("AXUM_USERS_RESET_SECRET", secret)?;
        }
        if let Some(secret) = &self.verify_secret {
            crate::secret::check_len("AXUM_USERS_VERIFY_SECRET", secret)?;
        }
        crate::oauth::validate(self)?;
        let prefix = &self.classic_prefix;
        if !prefix.is_empty() && (!prefix.starts_with('/') || prefix.ends_with('/')) {
            return Err(ConfigError::new(
                "AXUM_USERS_CLASSIC_PREFIX",
                format!("{prefix:?} must start with '/' and not end with one (e.g. /users)"),
            ));
        }
        if self.backends.is_empty() {
            return Err(ConfigError::new(
                "AXUM_USERS_BACKENDS",
                "at least one backend is needed (jwt, cookie, database, redis)",
            ));
        }
        for (i, b) in self.backends.iter().enumerate() {
            if self.backends[..i].contains(b) {
                return Err(ConfigError::new(
                    "AXUM_USERS_BACKENDS",
                    format!("{} is listed twice", b.name()),
                ));
            }
        }
        let name = &self.cookie.name;
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(ConfigError::new(
                "AXUM_USERS_COOKIE_NAME",
                format!("{name:?} is not a valid cookie name"),
            ));
        }
        use axum_users_core::mail::LinkTemplate;
        for (setting, template) in [
            (
                "AXUM_USERS_RESET_URL_TEMPLATE",
                &self.mail.reset_url_template,
            ),
            (
                "AXUM_USERS_VERIFY_URL_TEMPLATE",
                &self.mail.verify_url_template,
            ),
        ] {
            LinkTemplate::new(&self.link_template(template))
                .map_err(|e| ConfigError::new(setting, format!("{template:?}: {e}")))?;
        }
        crate::limits::rate_limits(self)?;
        let p = self.password;
        if p.min_length > p.max_length || p.max_length > axum_users::MAX_PASSWORD_CHARS {
            return Err(ConfigError::new(
                "AXUM_USERS_PASSWORD_MAX_LENGTH",
                format!(
                    "the password lengths must satisfy min ({}) <= max ({}) <= {}",
                    p.min_length,
                    p.max_length,
                    axum_users::MAX_PASSWORD_CHARS
                ),
            ));
        }
        let h = self.http;
        for (setting, value) in [
            (
                "AXUM_USERS_REQUEST_TIMEOUT_SECONDS",
                h.request_timeout_seconds,
            ),
            (
                "AXUM_USERS_HEADER_READ_TIMEOUT_SECONDS",
                h.header_read_timeout_seconds,
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::new(setting, "must be at least 1"));
            }
        }
        if h.max_headers == 0 {
            return Err(ConfigError::new(
                "AXUM_USERS_MAX_HEADERS",
                "must be at least 1",
            ));
        }
        // hyper's read buffer cannot be smaller (it asserts).
        if h.max_header_bytes < 8192 {
            return Err(ConfigError::new(
                "AXUM_USERS_MAX_HEADER_BYTES",
                "must be at least 8192",
            ));
        }
        if self.hash_queue_per_worker == 0 {
            return Err(ConfigError::new(
                "AXUM_USERS_HASH_QUEUE_PER_WORKER",
                "must be at least 1",
            ));
        }
        let a = self.argon2;
        if argon2_params(a).is_none() {
            return Err(ConfigError::new(
                "AXUM_USERS_ARGON2_MEMORY_KIB",
                format!(
                    "argon2 parameters m={} KiB, t={}, p={} are out of range (m ≥ 8·p, t ≥ 1, 1 ≤ p ≤ 255)",
                    a.memory_kib, a.iterations, a.parallelism
                ),
            ));
        }
        Ok(())
    }

    /// The access-token algorithm.
    ///
    /// # Errors
    /// A [`ConfigError`] for an unknown algorithm.
    pub fn jwt_algorithm(&self) -> Result<axum_users_core::JwtAlgorithm, ConfigError> {
        self.jwt_algorithm.parse().map_err(|_| {
            ConfigError::new(
                "AXUM_USERS_JWT_ALGORITHM",
                format!(
                    "{:?} is not supported (HS256, RS256, ES256, EdDSA)",
                    self.jwt_algorithm
                ),
            )
        })
    }

    /// The argon2 parameters, validated.
    #[must_use]
    pub fn argon2_params(&self) -> axum_users_core::Argon2Params {
        argon2_params(self.argon2).unwrap_or_default()
    }
}

fn argon2_params(a: Argon2Settings) -> Option<axum_users_core::Argon2Params> {
    let ok = a.iterations >= 1
        && (1..=255).contains(&a.parallelism)
        && a.memory_kib >= 8 * a.parallelism
        && a.memory_kib <= 4 * 1024 * 1024;
    ok.then_some(axum_users_core::Argon2Params {
        m_cost: a.memory_kib,
        t_cost: a.iterations,
        p_cost: a.parallelism,
        output_len: 32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_env(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        c.overlay_env(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })?;
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn defaults_work_on_a_laptop() {
        let c = with_env(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(c.database_url, "sqlite://axum-users.db");
        assert_eq!(c.jwt_lifetime_seconds, 3600);
        assert_eq!(c.profile, Profile::V15);
    }

    #[test]
    fn env_overrides_and_errors_name_the_setting() {
        let c = with_env(&[
            ("AXUM_USERS_PROFILE", "classic"),
            ("AXUM_USERS_BIND", "0.0.0.0:9"),
        ])
        .unwrap();
        assert_eq!(c.profile, Profile::Classic);
        assert_eq!(c.bind.port(), 9);
        let e = with_env(&[("AXUM_USERS_BIND", "nowhere")]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("AXUM_USERS_BIND: \"nowhere\" is not valid"),
            "{e}"
        );
        let e = with_env(&[("AXUM_USERS_DATABASE_URL", "oracle://x")]).unwrap_err();
        assert!(e.to_string().starts_with("AXUM_USERS_DATABASE_URL:"), "{e}");
        let e = with_env(&[("AXUM_USERS_SECRET", "short")]).unwrap_err();
        assert!(e.to_string().contains("at least 32 bytes"), "{e}");
        let e = with_env(&[("AXUM_USERS_PROFILE", "v14")]).unwrap_err();
        assert_eq!(e.setting, "AXUM_USERS_PROFILE");
        let e = with_env(&[("AXUM_USERS_CLASSIC_PREFIX", "users")]).unwrap_err();
        assert_eq!(e.setting, "AXUM_USERS_CLASSIC_PREFIX");
    }

    #[test]
    fn toml_file_is_read_and_unknown_keys_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "bind = \"127.0.0.1:9999\"\njwt_lifetime_seconds = 60\n[argon2]\nmemory_kib = 1024\n",
        )
        .unwrap();
        let c = Config::load(Some(&path)).unwrap();
        assert_eq!(c.bind.port(), 9999);
        assert_eq!(c.argon2.memory_kib, 1024);
        std::fs::write(&path, "bnid = \"x\"\n").unwrap();
        let e = Config::load(Some(&path)).unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }
}
