//! A real, local OAuth2 / OpenID Connect provider for the OAuth tests: an axum app on
//! `127.0.0.1:0` with an authorization endpoint that redirects back with a code, a token
//! endpoint that checks the client, the code (single use), the redirect URI and the PKCE
//! verifier (S256), a userinfo endpoint, GitHub's `/user` and `/user/emails`, and OpenID
//! Connect discovery with a JWKS and ES256-signed ID tokens carrying the nonce.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use axum_users_core::{JwtAlgorithm, JwtCodec, generate_token};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;

/// The client the provider knows.
pub(crate) const CLIENT_ID: &str = "axum-users-test";
/// Its secret.
pub(crate) const CLIENT_SECRET: &str = "s3cret-of-the-test-client";

/// Who signs in at the authorization endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    /// The account id (`sub`, GitHub's numeric `id`).
    pub(crate) sub: String,
    /// The email, if the provider has one.
    pub(crate) email: Option<String>,
    /// `email_verified`.
    pub(crate) email_verified: Option<bool>,
    /// GitHub's `/user/emails` (`email`, `primary`, `verified`).
    pub(crate) github_emails: Vec<(String, bool, bool)>,
}

impl Person {
    /// A person with this id and email, verified.
    pub(crate) fn new(sub: &str, email: &str) -> Self {
        Self {
            sub: sub.to_owned(),
            email: Some(email.to_owned()),
            email_verified: Some(true),
            github_emails: vec![(email.to_owned(), true, true)],
        }
    }
}

/// How the next ID token is spoiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spoil {
    /// A valid token.
    None,
    /// Another nonce than the authorization request's.
    Nonce,
    /// Another audience than the client.
    Audience,
    /// Expired a minute ago.
    Expired,
    /// A signature that does not verify.
    Signature,
    /// Another issuer.
    Issuer,
    /// No email claims (the client must ask userinfo).
    NoEmail,
}

struct Grant {
    person: Person,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    openid: bool,
}

struct Inner {
    base: String,
    codec: JwtCodec,
    person: Mutex<Person>,
    codes: Mutex<HashMap<String, Grant>>,
    tokens: Mutex<HashMap<String, Person>>,
    spoil: Mutex<Spoil>,
    exchanges: AtomicUsize,
}

/// The running provider.
#[derive(Clone)]
pub(crate) struct FakeProvider {
    inner: Arc<Inner>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl FakeProvider {
    /// Starts the provider on a free port of 127.0.0.1.
    pub(crate) async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let pem = include_bytes!("../../../axum-users-core/tests/keys/ec.pem");
        let inner = Arc::new(Inner {
            base,
            codec: JwtCodec::from_private_pem(JwtAlgorithm::ES256, pem).unwrap(),
            person: Mutex::new(Person::new("1001", "arthur@camelot.bt")),
            codes: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            spoil: Mutex::new(Spoil::None),
            exchanges: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            // GitLab's paths.
            .route("/oauth/authorize", get(authorize))
            .route("/oauth/token", post(token))
            .route("/api/v4/user", get(gitlab_user))
            // Microsoft Graph's.
            .route("/v1.0/me", get(graph_me))
            .route("/userinfo", get(userinfo))
            .route("/api/user", get(github_user))
            .route("/api/user/emails", get(github_emails))
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .with_state(Arc::clone(&inner));
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { inner }
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn base(&self) -> &str {
        &self.inner.base
    }

    /// The person who signs in next.
    pub(crate) fn sign_in_as(&self, person: Person) {
        *self.inner.person.lock().unwrap() = person;
    }

    /// Spoils the ID tokens issued from now on.
    pub(crate) fn spoil(&self, spoil: Spoil) {
        *self.inner.spoil.lock().unwrap() = spoil;
    }

    /// How many code exchanges the token endpoint has seen (successful or not).
    pub(crate) fn exchanges(&self) -> usize {
        self.inner.exchanges.load(Ordering::SeqCst)
    }

    /// Follows an authorization URL as a browser would, to the provider's redirect back:
    /// returns its `code` and `state`.
    pub(crate) async fn approve(&self, authorization_url: &str) -> (String, String) {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client.get(authorization_url).send().await.unwrap();
        assert_eq!(
            response.status(),
            reqwest::StatusCode::SEE_OTHER,
            "{:?}",
            response.text().await
        );
        let location = response.headers()[reqwest::header::LOCATION]
            .to_str()
            .unwrap()
            .to_owned();
        let url = url_of(&location);
        let pairs: HashMap<String, String> = url.query_pairs().into_owned().collect();
        (pairs["code"].clone(), pairs["state"].clone())
    }
}

fn url_of(s: &str) -> reqwest::Url {
    reqwest::Url::parse(s).unwrap()
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

async fn authorize(
    State(p): State<Arc<Inner>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID
        || get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || get("code_challenge").is_empty()
        || get("redirect_uri").is_empty()
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let openid = get("scope").split(' ').any(|s| s == "openid");
    let code = generate_token();
    let grant = Grant {
        person: p.person.lock().unwrap().clone(),
        redirect_uri: get("redirect_uri"),
        challenge: get("code_challenge"),
        nonce: q.get("nonce").cloned(),
        openid,
    };
    p.codes.lock().unwrap().insert(code.clone(), grant);
    let mut back = url_of(&get("redirect_uri"));
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &get("state"));
    Redirect::to(back.as_str()).into_response()
}

/// The client, from HTTP Basic or the form.
fn client_of(headers: &HeaderMap, form: &HashMap<String, String>) -> Option<(String, String)> {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic)
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let unescape = |s: &str| {
            form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        return Some((unescape(id), unescape(secret)));
    }
    Some((
        form.get("client_id")?.clone(),
        form.get("client_secret")?.clone(),
    ))
}

async fn token(
    State(p): State<Arc<Inner>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    p.exchanges.fetch_add(1, Ordering::SeqCst);
    if client_of(&headers, &form) != Some((CLIENT_ID.to_owned(), CLIENT_SECRET.to_owned())) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let Some(grant) = form
        .get("code")
        .and_then(|c| p.codes.lock().unwrap().remove(c))
    else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    if challenge != grant.challenge || form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let access_token = format!("at-{}", generate_token());
    p.tokens
        .lock()
        .unwrap()
        .insert(access_token.clone(), grant.person.clone());
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": format!("rt-{}", generate_token()),
    });
    if grant.openid {
        body["id_token"] = json!(id_token(&p, &grant));
    }
    Json(body).into_response()
}

fn id_token(p: &Inner, grant: &Grant) -> String {
    let spoil = *p.spoil.lock().unwrap();
    let mut claims = json!({
        "iss": p.base,
        "sub": grant.person.sub,
        "aud": CLIENT_ID,
        "iat": now(),
        "exp": now() + 300,
    });
    if let Some(nonce) = &grant.nonce {
        claims["nonce"] = json!(nonce);
    }
    if spoil != Spoil::NoEmail {
        if let Some(email) = &grant.person.email {
            claims["email"] = json!(email);
        }
        if let Some(v) = grant.person.email_verified {
            claims["email_verified"] = json!(v);
        }
    }
    match spoil {
        Spoil::Nonce => claims["nonce"] = json!("another nonce"),
        Spoil::Audience => claims["aud"] = json!("another-client"),
        Spoil::Expired => claims["exp"] = json!(now() - 60),
        Spoil::Issuer => claims["iss"] = json!("https://evil.example"),
        _ => {}
    }
    let token = p.codec.encode(&claims).unwrap();
    if spoil == Spoil::Signature {
        // The header and claims of a valid token, with another token's signature.
        let other = p.codec.encode(&json!({ "sub": "x" })).unwrap();
        let (head, _) = token.rsplit_once('.').unwrap();
        let (_, sig) = other.rsplit_once('.').unwrap();
        return format!("{head}.{sig}");
    }
    token
}

/// The person an `Authorization: Bearer` token was issued to.
fn person_of(p: &Inner, headers: &HeaderMap) -> Option<Person> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    p.tokens.lock().unwrap().get(token).cloned()
}

async fn userinfo(State(p): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let Some(person) = person_of(&p, &headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let mut body = json!({ "sub": person.sub });
    if let Some(email) = person.email {
        body["email"] = json!(email);
    }
    if let Some(v) = person.email_verified {
        body["email_verified"] = json!(v);
    }
    Json(body).into_response()
}

async fn github_user(State(p): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let Some(person) = person_of(&p, &headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let id: u64 = person.sub.parse().unwrap_or(0);
    // GitHub's `email` is the public one, often null: the client must use /user/emails.
    Json(json!({ "id": id, "login": "arthur", "email": null })).into_response()
}

async fn github_emails(State(p): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let Some(person) = person_of(&p, &headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let emails: Vec<Value> = person
        .github_emails
        .iter()
        .map(|(email, primary, verified)| {
            json!({ "email": email, "primary": primary, "verified": verified, "visibility": null })
        })
        .collect();
    Json(Value::Array(emails)).into_response()
}

async fn gitlab_user(State(p): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let Some(person) = person_of(&p, &headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let id: u64 = person.sub.parse().unwrap_or(0);
    let confirmed = person
        .email_verified
        .unwrap_or(false)
        .then_some("2021-03-04T05:06:07.000Z");
    Json(
        json!({ "id": id, "username": "arthur", "email": person.email, "confirmed_at": confirmed }),
    )
    .into_response()
}

async fn graph_me(State(p): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let Some(person) = person_of(&p, &headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    Json(json!({
        "id": person.sub,
        "mail": person.email,
        "userPrincipalName": format!("upn.{}@contoso.onmicrosoft.com", person.sub),
    }))
    .into_response()
}

async fn discovery(State(p): State<Arc<Inner>>) -> Response {
    let base = &p.base;
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    }))
    .into_response()
}

async fn jwks(State(p): State<Arc<Inner>>) -> Response {
    Json(p.codec.jwks()).into_response()
}
