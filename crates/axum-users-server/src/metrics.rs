//! `GET /metrics`: the server's counters and histograms in the Prometheus text format.
//!
//! | series | type | labels | what |
//! |---|---|---|---|
//! | `axum_users_http_requests_total` | counter | `method`, `route`, `status` | answered requests |
//! | `axum_users_http_request_duration_seconds` | histogram | `method`, `route`, `status` | time to the response head |
//! | `axum_users_logins_total` | counter | `result` = `success` \| `failure` | credential checks (`on_after_login`, `on_after_failed_login`) |
//! | `axum_users_lockouts_total` | counter | | accounts locked after repeated failed logins (with rate limits on) |
//! | `axum_users_emails_total` | counter | `kind` = `reset_password` \| `verify`, `result` = `sent` \| `failed` | account emails, after the mailer's retries |
//! | `axum_users_hash_queue_depth` | gauge | | hashing jobs waiting for a worker |
//! | `axum_users_hash_workers` | gauge | | hashing threads |
//! | `axum_users_hash_queue_wait_seconds` | histogram | | how long a job waits for a worker (sampled every second) |
//!
//! `route` is the route's pattern (`/users/{id}`, never the id itself), or `unmatched` for
//! requests no route took, so the number of series stays bounded whatever clients send.
//! `method` is one of the standard methods or `other`.
//!
//! Each [`Metrics`] owns its recorder (nothing is installed globally), so two servers in one
//! process count separately. Recording is lock-free on the request path: counters and
//! histograms are atomics in a sharded registry; histogram samples are folded into buckets by
//! an upkeep task every few seconds and at each scrape.
//!
//! **Lockouts.** The rate limits lock an account without a callback; but a locked account's
//! logins are refused before their credentials are checked, so a failed credential check after
//! which the account is locked is the one that locked it ([`Metrics::failed_login`] asks the
//! limits' store once per failed login). Failures racing into the same lockout may each count.
//!
//! **Hashing wait.** The pool does not time its jobs, so a probe (a job that does nothing) is
//! queued once a second and the time until a worker runs it is recorded: what a login arriving
//! at that moment waited before its hash started. While the queue is full the probe is refused
//! like any job and no sample is taken (the depth gauge shows it full).

use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_users::UsersState;
use axum_users::limits::RateLimits;
use axum_users_core::HashPool;
use axum_users_core::mail::EmailKind;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

/// Requests answered, by method, route and status.
pub const HTTP_REQUESTS: &str = "axum_users_http_requests_total";
/// Time to the response head, by method, route and status.
pub const HTTP_DURATION: &str = "axum_users_http_request_duration_seconds";
/// Credential checks, by `result` (`success`, `failure`).
pub const LOGINS: &str = "axum_users_logins_total";
/// Accounts locked after repeated failed logins.
pub const LOCKOUTS: &str = "axum_users_lockouts_total";
/// Account emails, by `kind` and `result` (`sent`, `failed`).
pub const EMAILS: &str = "axum_users_emails_total";
/// Hashing jobs waiting for a worker.
pub const HASH_QUEUE_DEPTH: &str = "axum_users_hash_queue_depth";
/// Hashing threads.
pub const HASH_WORKERS: &str = "axum_users_hash_workers";
/// Sampled wait of a hashing job before a worker runs it.
pub const HASH_QUEUE_WAIT: &str = "axum_users_hash_queue_wait_seconds";

/// The label value of requests that matched no route.
pub const UNMATCHED: &str = "unmatched";

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const PROBE_INTERVAL: Duration = Duration::from_secs(1);
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// The server's metrics: cheap to clone (one `Arc`), shared by the request layer, the hooks
/// and the `/metrics` route.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    logins_succeeded: Counter,
    logins_failed: Counter,
    lockouts: Counter,
    /// `[kind][sent, failed]`, kinds in [`EmailKind::ALL`]'s order.
    emails: [[Counter; 2]; 2],
    hash_queue_depth: Gauge,
    hash_workers: Gauge,
    hash_queue_wait: Histogram,
    pool: OnceLock<HashPool>,
    limits: OnceLock<Arc<RateLimits>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("hash_pool", &self.inner.pool.get())
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn email_index(kind: EmailKind) -> usize {
    match kind {
        EmailKind::ResetPassword => 0,
        EmailKind::Verify => 1,
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    /// A fresh set of series, every fixed one registered at zero.
    #[must_use]
    pub fn new() -> Self {
        let builder = PrometheusBuilder::new();
        // Both matchers are non-empty bucket lists: `set_buckets_for_metric` cannot fail.
        let builder = builder
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), LATENCY_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(HASH_QUEUE_WAIT.to_owned()), LATENCY_BUCKETS)
            })
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        let describe = |name: &'static str, unit: Option<Unit>, text: &'static str| {
            (KeyName::from_const_str(name), unit, text.into())
        };
        for (name, unit, text) in [
            describe(
                HTTP_REQUESTS,
                None,
                "Requests answered, by method, route and status.",
            ),
            describe(
                LOGINS,
                None,
                "Credential checks, by result (success, failure).",
            ),
            describe(
                LOCKOUTS,
                None,
                "Accounts locked after repeated failed logins.",
            ),
            describe(
                EMAILS,
                None,
                "Account emails, by kind and result (sent, failed after retries).",
            ),
        ] {
            recorder.describe_counter(name, unit, text);
        }
        for (name, unit, text) in [
            describe(
                HTTP_DURATION,
                Some(Unit::Seconds),
                "Time from the request to the response head, by method, route and status.",
            ),
            describe(
                HASH_QUEUE_WAIT,
                Some(Unit::Seconds),
                "Wait of a password hashing job before a worker runs it (sampled every second).",
            ),
        ] {
            recorder.describe_histogram(name, unit, text);
        }
        for (name, unit, text) in [
            describe(
                HASH_QUEUE_DEPTH,
                None,
                "Password hashing jobs waiting for a worker.",
            ),
            describe(HASH_WORKERS, None, "Password hashing threads."),
        ] {
            recorder.describe_gauge(name, unit, text);
        }
        let counter = |name: &'static str, labels: &[(&'static str, &'static str)]| {
            let labels: Vec<Label> = labels.iter().map(|&(k, v)| Label::new(k, v)).collect();
            recorder.register_counter(&Key::from_parts(name, labels), &METADATA)
        };
        let email = |kind: EmailKind| {
            [
                counter(EMAILS, &[("kind", kind.stem()), ("result", "sent")]),
                counter(EMAILS, &[("kind", kind.stem()), ("result", "failed")]),
            ]
        };
        let inner = Inner {
            logins_succeeded: counter(LOGINS, &[("result", "success")]),
            logins_failed: counter(LOGINS, &[("result", "failure")]),
            lockouts: counter(LOCKOUTS, &[]),
            emails: EmailKind::ALL.map(email),
            hash_queue_depth: recorder
                .register_gauge(&Key::from_static_name(HASH_QUEUE_DEPTH), &METADATA),
            hash_workers: recorder.register_gauge(&Key::from_static_name(HASH_WORKERS), &METADATA),
            hash_queue_wait: recorder
                .register_histogram(&Key::from_static_name(HASH_QUEUE_WAIT), &METADATA),
            pool: OnceLock::new(),
            limits: OnceLock::new(),
            handle,
            recorder,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Counts a successful login.
    pub fn login_succeeded(&self) {
        self.inner.logins_succeeded.increment(1);
    }

    /// Counts a failed credential check.
    pub fn login_failed(&self) {
        self.inner.logins_failed.increment(1);
    }

    /// Counts a failed credential check for `email` and, when the watched rate limits lock
    /// accounts, a lockout if this failure locked it (see the [module documentation](self)).
    pub async fn failed_login(&self, email: &str) {
        self.login_failed();
        let Some(limits) = self.inner.limits.get().filter(|l| l.lockout().is_some()) else {
            return;
        };
        match limits.lockout_remaining(email).await {
            Ok(Some(_)) => self.lockout(),
            Ok(None) => {}
            Err(error) => tracing::debug!(%error, "lockout metric: the limits store failed"),
        }
    }

    /// Counts an account lockout.
    pub fn lockout(&self) {
        self.inner.lockouts.increment(1);
    }

    /// Counts an account email, sent or failed (after the mailer's retries).
    pub fn email(&self, kind: EmailKind, sent: bool) {
        self.inner.emails[email_index(kind)][usize::from(!sent)].increment(1);
    }

    /// Records one answered request. `route` is the matched route pattern, if any.
    pub fn observe_request(
        &self,
        method: &Method,
        route: Option<&str>,
        status: StatusCode,
        elapsed: Duration,
    ) {
        let labels = vec![
            Label::new("method", method_label(method)),
            Label::new("route", route.unwrap_or(UNMATCHED).to_owned()),
            Label::new("status", status.as_str().to_owned()),
        ];
        let r = &self.inner.recorder;
        let counter = Key::from_parts(HTTP_REQUESTS, labels.clone());
        r.register_counter(&counter, &METADATA).increment(1);
        let histogram = Key::from_parts(HTTP_DURATION, labels);
        r.register_histogram(&histogram, &METADATA)
            .record(elapsed.as_secs_f64());
    }

    /// Watches the application: its hashing pool (see [`watch_hash_pool`](Self::watch_hash_pool))
    /// and its rate limits (for lockouts). Call it once, from within the Tokio runtime.
    pub fn watch<X: axum_users_core::UserExtra>(&self, state: &UsersState<X>) {
        if let Some(limits) = state.limits() {
            let _ = self.inner.limits.set(Arc::clone(limits));
        }
        self.watch_hash_pool(state.manager().hasher().clone());
    }

    /// Watches the hashing pool: its depth at every scrape, and its wait sampled every second;
    /// also starts the upkeep of histograms. Both background tasks end once the last clone of
    /// these metrics is dropped. Call it once, from within the Tokio runtime; later calls do
    /// nothing.
    pub fn watch_hash_pool(&self, pool: HashPool) {
        #[allow(clippy::cast_precision_loss)] // a thread count
        self.inner.hash_workers.set(pool.workers() as f64);
        if self.inner.pool.set(pool).is_err() {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(probe_hash_queue(weak.clone()));
        tokio::spawn(upkeep(weak));
    }

    /// The current values in the Prometheus text format.
    #[must_use]
    pub fn render(&self) -> String {
        if let Some(pool) = self.inner.pool.get() {
            #[allow(clippy::cast_precision_loss)] // a queue length
            self.inner.hash_queue_depth.set(pool.queued() as f64);
        }
        self.inner.handle.render()
    }

    /// `GET /metrics`.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route("/metrics", get(scrape))
            .method_not_allowed_fallback(axum_users::method_not_allowed)
            .with_state(self.clone())
    }

    /// Middleware counting and timing every request: add it with `Router::layer` so that the
    /// matched route is known.
    pub async fn track(State(metrics): State<Self>, req: Request, next: Next) -> Response {
        let method = req.method().clone();
        let route = req.extensions().get::<MatchedPath>().cloned();
        let start = Instant::now();
        let response = next.run(req).await;
        metrics.observe_request(
            &method,
            route.as_ref().map(MatchedPath::as_str),
            response.status(),
            start.elapsed(),
        );
        response
    }
}

async fn scrape(State(metrics): State<Metrics>) -> Response {
    // Rendering walks every series: keep it off the executor's worker for the request path.
    match tokio::task::spawn_blocking(move || metrics.render()).await {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            )],
            body,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "rendering the metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn probe_hash_queue(inner: Weak<Inner>) {
    let mut tick = tokio::time::interval(PROBE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let Some(pool) = inner.pool.get().cloned() else {
            return;
        };
        #[allow(clippy::cast_precision_loss)] // a queue length
        inner.hash_queue_depth.set(pool.queued() as f64);
        let start = Instant::now();
        // Do not keep the metrics alive while the probe waits in a long queue.
        let wait = inner.hash_queue_wait.clone();
        drop(inner);
        if pool.run(|_| ()).await.is_ok() {
            wait.record(start.elapsed().as_secs_f64());
        }
    }
}

async fn upkeep(inner: Weak<Inner>) {
    let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        inner.handle.run_upkeep();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fixed_series_show_at_zero_and_requests_by_route() {
        let m = Metrics::new();
        let text = m.render();
        for line in [
            "axum_users_logins_total{result=\"success\"} 0",
            "axum_users_logins_total{result=\"failure\"} 0",
            "axum_users_lockouts_total 0",
            "axum_users_emails_total{kind=\"reset_password\",result=\"sent\"} 0",
            "axum_users_emails_total{kind=\"verify\",result=\"failed\"} 0",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
        m.login_succeeded();
        m.login_failed();
        m.login_failed();
        m.email(EmailKind::Verify, false);
        m.observe_request(
            &Method::POST,
            Some("/auth/jwt/login"),
            StatusCode::OK,
            Duration::from_millis(3),
        );
        m.observe_request(
            &Method::from_bytes(b"BREW").unwrap(),
            None,
            StatusCode::NOT_FOUND,
            Duration::from_millis(1),
        );
        let text = m.render();
        for line in [
            "axum_users_logins_total{result=\"success\"} 1",
            "axum_users_logins_total{result=\"failure\"} 2",
            "axum_users_emails_total{kind=\"verify\",result=\"failed\"} 1",
            "axum_users_http_requests_total{method=\"POST\",route=\"/auth/jwt/login\",status=\"200\"} 1",
            "axum_users_http_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"} 1",
            "axum_users_http_request_duration_seconds_bucket{method=\"POST\",route=\"/auth/jwt/login\",status=\"200\",le=\"0.005\"} 1",
            "# TYPE axum_users_http_request_duration_seconds histogram",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
    }
}
