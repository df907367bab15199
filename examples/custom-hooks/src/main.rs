//! Hooks: FastAPI Users' `UserManager` callbacks (`on_after_register`, `on_after_login`, …,
//! `validate_password`) as an implementation of `UserHooks`.
//!
//! [`AppHooks`] here
//!
//! - refuses passwords under 8 characters or containing the email (as FastAPI Users'
//!   documented `validate_password` does): register answers 400
//!   `REGISTER_INVALID_PASSWORD` with the reason;
//! - sends a welcome email on registration, through the core's mail module: an
//!   `OutboxMailer` writing one `.eml` file per email into a folder (swap in `SmtpMailer`
//!   for real delivery);
//! - writes one audit line (`tracing`, target `audit`) per login, successful or not, with
//!   the user id and client address, never the password.
//!
//! Hooks named `on_after_*` run after the change is committed: a failing one is logged and
//! the client still gets its success.
//!
//! Run it from the repository root:
//!
//! ```sh
//! cargo run -p custom-hooks      # emails go to ./mail-outbox
//! curl -X POST localhost:8000/auth/register -H 'content-type: application/json' \
//!      -d '{"email": "king.arthur@camelot.bt", "password": "guinevere"}'
//! ls mail-outbox/                # 1712345678901-…eml: "Welcome to Camelot, king.arthur@camelot.bt"
//! curl -X POST localhost:8000/auth/jwt/login -d 'username=king.arthur@camelot.bt&password=guinevere'
//! # stderr: INFO audit: login succeeded user_id=… email=king.arthur@camelot.bt client_ip=127.0.0.1
//! ```
//!
//! Environment: `EXAMPLE_ADDR` (default `127.0.0.1:8000`; port 0 picks a free one, and the
//! address is printed), `DATABASE_URL` (default `sqlite://custom-hooks.db`), `SECRET` (at
//! least 32 bytes; default: a random one), `MAIL_OUTBOX` (default `./mail-outbox`),
//! `RUST_LOG` (default `info`).

use std::error::Error;
use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use axum::routing::get;
use axum::{Json, Router};
use axum_users::core::mail::{Email, Mailer, OutboxMailer};
use axum_users::core::{
    Argon2Hasher, BoxError, HashPool, HashPoolConfig, InvalidPassword, JwtCodec, JwtStrategy,
    PasswordSubject, RequestContext, User, UserHooks, UserManager,
};
use axum_users::{
    AuthBackend, AuthRouterOptions, CurrentUser, UsersRouterOptions, UsersState, auth_router,
    not_found, register_router, users_router,
};
use axum_users_sqlx::SqliteStore;
use serde_json::{Value, json};
use tracing_subscriber::EnvFilter;

/// Lifetime of the access tokens, in seconds.
const LIFETIME_SECONDS: u64 = 3600;

/// The application's hooks.
struct AppHooks {
    /// Where emails go: any `Mailer` (`OutboxMailer`, `SmtpMailer`, a `RetryingMailer`
    /// around either, a test double).
    mailer: Arc<dyn Mailer>,
}

#[async_trait]
impl UserHooks for AppHooks {
    async fn validate_password(
        &self,
        password: &str,
        subject: PasswordSubject<'_, ()>,
    ) -> Result<(), InvalidPassword> {
        if password.chars().count() < 8 {
            return Err(InvalidPassword::new(
                "Password should be at least 8 characters",
            ));
        }
        if password.contains(subject.email()) {
            return Err(InvalidPassword::new("Password should not contain e-mail"));
        }
        Ok(())
    }

    async fn on_after_register(&self, user: &User, _ctx: &RequestContext) -> Result<(), BoxError> {
        let email = Email {
            to: user.email.clone(),
            subject: format!("Welcome to Camelot, {}", user.email),
            text: format!(
                "Hello {},\n\nyour account is ready. Log in with this address and the password you chose.\n",
                user.email
            ),
            html: format!(
                "<p>Hello {},</p><p>your account is ready. Log in with this address and the password you chose.</p>",
                html_escape(&user.email)
            ),
        };
        self.mailer.send(&email).await?;
        tracing::info!(user_id = %user.id, "welcome email sent");
        Ok(())
    }

    async fn on_after_login(&self, user: &User, ctx: &RequestContext) -> Result<(), BoxError> {
        tracing::info!(
            target: "audit",
            user_id = %user.id,
            email = %user.email,
            client_ip = ?ctx.client_ip,
            "login succeeded"
        );
        Ok(())
    }

    async fn on_after_failed_login(
        &self,
        email: &str,
        user: Option<&User>,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        tracing::warn!(
            target: "audit",
            user_id = ?user.map(|u| u.id),
            email = %email,
            client_ip = ?ctx.client_ip,
            "login failed"
        );
        Ok(())
    }
}

/// Escapes the five HTML metacharacters (an email address may hold `&` or `'`).
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A route of the application's own, for any active user.
async fn authenticated_route(CurrentUser(user): CurrentUser) -> Json<Value> {
    Json(json!({ "message": format!("Hello {}!", user.email) }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file gets plain `key=value` fields.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let addr = env("EXAMPLE_ADDR", "127.0.0.1:8000");
    let database_url = env("DATABASE_URL", "sqlite://custom-hooks.db");
    let outbox = env("MAIL_OUTBOX", "mail-outbox");
    let secret = std::env::var("SECRET").unwrap_or_else(|_| axum_users::core::generate_token());

    let store = SqliteStore::<()>::connect(&database_url).await?;
    store.migrate().await?;
    let hooks = AppHooks {
        mailer: Arc::new(OutboxMailer::new(
            &outbox,
            "Camelot <no-reply@camelot.example>",
        )?),
    };
    let hasher = HashPool::new(Arc::new(Argon2Hasher::default()), HashPoolConfig::default());
    let manager = UserManager::new(Arc::new(store), hasher, Arc::new(hooks));
    let codec = JwtCodec::hs256(secret.as_bytes())?;
    let jwt = AuthBackend::bearer_jwt("jwt", JwtStrategy::new(codec, LIFETIME_SECONDS));
    let state = UsersState::new(manager, vec![jwt.clone()]);

    let app = Router::new()
        .nest("/auth/jwt", auth_router(jwt, AuthRouterOptions::default()))
        .nest("/auth", register_router::<(), _>())
        .nest(
            "/users",
            users_router::<(), _>(UsersRouterOptions::default()),
        )
        .route("/authenticated-route", get(authenticated_route))
        .fallback(not_found)
        .with_state(state);

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "custom-hooks listening on http://{} (emails in {outbox})",
        listener.local_addr()?
    );
    // With the peer address, hooks see the client's IP in `RequestContext::client_ip`.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
