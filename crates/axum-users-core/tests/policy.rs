//! The password policy: every rule with its reason, the boundaries, the embedded list, the
//! hooks, and (feature `hibp`) the online check against a local fake of the range API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum_users_core::policy::{
    MIN_LOCAL_PART_CHARS_FOR_CONTAINS, PasswordPolicy, REASON_COMMON, REASON_CONTAINS_EMAIL,
    REASON_IS_EMAIL, WithPolicy, common_password_count, is_common_password, reason_too_long,
    reason_too_short,
};
use axum_users_core::{
    BoxError, InvalidPassword, NoHooks, PasswordSubject, RequestContext, User, UserCreate,
    UserHooks, UserUpdate,
};
use uuid::Uuid;

const EMAIL: &str = "King.Arthur@camelot.example";
const GOOD: &str = "violet tractor umbrella quietly";

fn reason(result: Result<(), InvalidPassword>) -> String {
    result.expect_err("refused").reason
}

#[test]
fn default_is_the_contract() {
    let policy = PasswordPolicy::default();
    assert_eq!(policy.min_chars, 8);
    assert_eq!(policy.max_chars, 1024);
    assert!(policy.forbid_email_local_part);
    assert!(policy.common_passwords);
    assert!(policy.check(GOOD, EMAIL).is_ok());
}

#[test]
fn minimum_length_boundary() {
    let policy = PasswordPolicy::default();
    let too_short = reason(policy.check("xq7#vLp", EMAIL));
    assert_eq!(too_short, "Password should be at least 8 characters");
    assert_eq!(too_short, reason_too_short(8));
    assert!(policy.check("xq7#vLp2", EMAIL).is_ok());
    assert_eq!(
        reason(policy.check("", EMAIL)),
        "Password should be at least 8 characters"
    );
}

#[test]
fn maximum_length_boundary() {
    let policy = PasswordPolicy::default();
    let at_max = "ab".repeat(512);
    assert!(policy.check(&at_max, EMAIL).is_ok());
    let over = format!("{at_max}c");
    assert_eq!(
        reason(policy.check(&over, EMAIL)),
        "Password should be at most 1024 characters"
    );
    assert_eq!(
        reason_too_long(1024),
        "Password should be at most 1024 characters"
    );
}

#[test]
fn lengths_count_characters_not_bytes() {
    let policy = PasswordPolicy::default();
    // 'é' is two bytes, '🦀' four, '中' three: each counts one.
    assert_eq!(
        reason(policy.check("ééééééé", EMAIL)),
        reason_too_short(8),
        "7 characters, 14 bytes"
    );
    assert!(policy.check("éééééééé", EMAIL).is_ok());
    assert!(policy.check("🦀🦀🦀🦀🦀🦀🦀🦀", EMAIL).is_ok());
    assert!(
        policy.check(&"中".repeat(1024), EMAIL).is_ok(),
        "3072 bytes"
    );
    assert_eq!(
        reason(policy.check(&"中".repeat(1025), EMAIL)),
        reason_too_long(1024)
    );
    // A decomposed 'é' (e + U+0301) is two scalar values.
    assert!(
        policy
            .check("e\u{301}e\u{301}e\u{301}e\u{301}", EMAIL)
            .is_ok()
    );
}

#[test]
fn custom_bounds_and_singular_reason() {
    let policy = PasswordPolicy {
        min_chars: 12,
        max_chars: 16,
        ..PasswordPolicy::default()
    };
    assert_eq!(
        reason(policy.check("xq7#vLp2abc", EMAIL)),
        "Password should be at least 12 characters"
    );
    assert!(policy.check("xq7#vLp2abcd", EMAIL).is_ok());
    assert_eq!(
        reason(policy.check("xq7#vLp2abcdefghi", EMAIL)),
        "Password should be at most 16 characters"
    );
    assert_eq!(
        reason_too_short(1),
        "Password should be at least 1 character"
    );
}

#[test]
fn the_email_local_part_is_refused() {
    let policy = PasswordPolicy::default();
    // Equal, in any case.
    assert_eq!(reason(policy.check("king.arthur", EMAIL)), REASON_IS_EMAIL);
    assert_eq!(reason(policy.check("KING.ARTHUR", EMAIL)), REASON_IS_EMAIL);
    assert_eq!(
        REASON_IS_EMAIL,
        "Password should not be the same as the email address"
    );
    // Contained, in any case.
    assert_eq!(
        reason(policy.check("xx-King.Arthur-42", EMAIL)),
        REASON_CONTAINS_EMAIL
    );
    assert_eq!(
        reason(policy.check("1king.ARTHUR", EMAIL)),
        REASON_CONTAINS_EMAIL
    );
    // The whole address.
    assert_eq!(
        reason(policy.check("king.arthur@camelot.example", EMAIL)),
        REASON_CONTAINS_EMAIL
    );
    assert_eq!(
        REASON_CONTAINS_EMAIL,
        "Password should not contain the email address"
    );
    // Parts of the local part, or the domain, are fine.
    assert!(policy.check("arthur-of-camelot-1", EMAIL).is_ok());
    // Non-ASCII local parts are compared case-insensitively too.
    assert_eq!(
        reason(policy.check("über-ÉLODIE-42", "élodie@example.fr")),
        REASON_CONTAINS_EMAIL
    );
}

#[test]
fn short_local_parts_are_only_refused_when_equal_or_whole() {
    assert_eq!(MIN_LOCAL_PART_CHARS_FOR_CONTAINS, 3);
    let policy = PasswordPolicy {
        min_chars: 1,
        ..PasswordPolicy::default()
    };
    // Two characters: contained is fine (it would refuse most passwords), equal is not.
    assert!(
        policy
            .check("major tom to ground", "jo@example.com")
            .is_ok()
    );
    assert!(policy.check("joyful-rhinoceros", "jo@example.com").is_ok());
    assert_eq!(
        reason(policy.check("JO", "jo@example.com")),
        REASON_IS_EMAIL
    );
    assert_eq!(reason(policy.check("a", "a@example.com")), REASON_IS_EMAIL);
    assert_eq!(
        reason(policy.check("my a@example.com pass", "a@example.com")),
        REASON_CONTAINS_EMAIL
    );
    // Three characters: contained is refused.
    assert_eq!(
        reason(policy.check("bobcat-meadow", "bob@example.com")),
        REASON_CONTAINS_EMAIL
    );
}

#[test]
fn the_email_rule_can_be_off() {
    let policy = PasswordPolicy {
        forbid_email_local_part: false,
        ..PasswordPolicy::default()
    };
    assert!(policy.check("king.arthur", EMAIL).is_ok());
    assert!(policy.check(EMAIL, EMAIL).is_ok());
}

#[test]
fn the_common_list() {
    assert!(common_password_count() >= 10_000);
    let policy = PasswordPolicy::default();
    for common in [
        "password",
        "PassWord",
        "PASSWORD",
        "12345678",
        "123456789",
        "qwertyuiop",
        "iloveyou",
        "sunshine",
        "football",
        "baseball",
        "Trustno1",
    ] {
        assert!(is_common_password(common), "{common}");
        assert_eq!(
            reason(policy.check(common, EMAIL)),
            REASON_COMMON,
            "{common}"
        );
    }
    assert_eq!(REASON_COMMON, "This password is too common");
    assert!(is_common_password("123456"));
    // Shorter than 8: the length rule answers first.
    assert_eq!(reason(policy.check("123456", EMAIL)), reason_too_short(8));
    // Compared whole.
    for fine in [
        GOOD,
        "password with more words",
        " password",
        "password ",
        "7f3k9Qz!mW2p",
    ] {
        assert!(!is_common_password(fine), "{fine}");
        assert!(policy.check(fine, EMAIL).is_ok(), "{fine}");
    }
    let off = PasswordPolicy {
        common_passwords: false,
        ..PasswordPolicy::default()
    };
    assert!(off.check("password", EMAIL).is_ok());
}

#[test]
fn rules_are_checked_in_order() {
    let policy = PasswordPolicy::default();
    // Too short and common: length first.
    assert_eq!(
        reason(policy.check("pass", "pass@x.example")),
        reason_too_short(8)
    );
    // The local part and common: the email rule first.
    assert_eq!(
        reason(policy.check("password", "password@x.example")),
        REASON_IS_EMAIL
    );
    assert_eq!(
        reason(policy.check("superman", "super@x.example")),
        REASON_CONTAINS_EMAIL
    );
}

fn user(email: &str) -> User {
    User {
        id: Uuid::new_v4(),
        email: email.to_owned(),
        hashed_password: String::new(),
        is_active: true,
        is_superuser: false,
        is_verified: false,
        extra: (),
    }
}

#[tokio::test]
async fn the_policy_is_hooks() {
    let policy = PasswordPolicy::default();
    let create = UserCreate::<()>::new(EMAIL.to_owned(), "king.arthur".to_owned());
    let refused = UserHooks::<()>::validate_password(
        &policy,
        &create.password,
        PasswordSubject::New(&create),
    )
    .await;
    assert_eq!(reason(refused), REASON_IS_EMAIL);
    let existing = user("guinevere@camelot.example");
    let refused = UserHooks::<()>::validate_password(
        &policy,
        "Guinevere1",
        PasswordSubject::Existing(&existing),
    )
    .await;
    assert_eq!(reason(refused), REASON_CONTAINS_EMAIL);
    let ok =
        UserHooks::<()>::validate_password(&policy, GOOD, PasswordSubject::Existing(&existing))
            .await;
    assert!(ok.is_ok());
}

/// Inner hooks that record every call and refuse one password.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
}

impl Recorder {
    fn push(&self, call: &str) {
        self.calls.lock().unwrap().push(call.to_owned());
    }
}

#[async_trait]
impl UserHooks<()> for Recorder {
    async fn validate_password(
        &self,
        password: &str,
        _subject: PasswordSubject<'_, ()>,
    ) -> Result<(), InvalidPassword> {
        self.push(&format!("validate_password {password}"));
        if password.contains("excalibur") {
            return Err(InvalidPassword::new("no swords"));
        }
        Ok(())
    }
    async fn on_after_register(&self, _: &User, _: &RequestContext) -> Result<(), BoxError> {
        self.push("on_after_register");
        Ok(())
    }
    async fn on_after_login(&self, _: &User, _: &RequestContext) -> Result<(), BoxError> {
        self.push("on_after_login");
        Ok(())
    }
    async fn on_after_failed_login(
        &self,
        email: &str,
        user: Option<&User>,
        _: &RequestContext,
    ) -> Result<(), BoxError> {
        self.push(&format!("on_after_failed_login {email} {}", user.is_some()));
        Ok(())
    }
    async fn on_after_update(
        &self,
        _: &User,
        _: &UserUpdate,
        _: &RequestContext,
    ) -> Result<(), BoxError> {
        self.push("on_after_update");
        Ok(())
    }
    async fn on_after_forgot_password(
        &self,
        _: &User,
        token: &str,
        _: &RequestContext,
    ) -> Result<(), BoxError> {
        self.push(&format!("on_after_forgot_password {token}"));
        Ok(())
    }
    async fn on_after_reset_password(&self, _: &User, _: &RequestContext) -> Result<(), BoxError> {
        self.push("on_after_reset_password");
        Ok(())
    }
    async fn on_after_request_verify(
        &self,
        _: &User,
        token: &str,
        _: &RequestContext,
    ) -> Result<(), BoxError> {
        self.push(&format!("on_after_request_verify {token}"));
        Ok(())
    }
    async fn on_after_verify(&self, _: &User, _: &RequestContext) -> Result<(), BoxError> {
        self.push("on_after_verify");
        Ok(())
    }
    async fn on_before_delete(&self, _: &User, _: &RequestContext) -> Result<(), BoxError> {
        self.push("on_before_delete");
        Err("kept".into())
    }
    async fn on_after_delete(&self, _: &User, _: &RequestContext) -> Result<(), BoxError> {
        self.push("on_after_delete");
        Ok(())
    }
}

#[tokio::test]
async fn with_policy_checks_then_delegates_everything() {
    let recorder = Arc::new(Recorder::default());
    let inner: Arc<dyn UserHooks<()>> = recorder.clone();
    let hooks: Arc<dyn UserHooks<()>> = Arc::new(WithPolicy::new(PasswordPolicy::default(), inner));
    let u = user(EMAIL);
    let ctx = RequestContext::default();

    // The policy refuses first; the inner hook is not asked.
    let refused = hooks
        .validate_password("password", PasswordSubject::Existing(&u))
        .await;
    assert_eq!(reason(refused), REASON_COMMON);
    // A password the policy accepts goes to the inner hook, which may still refuse.
    let refused = hooks
        .validate_password("excalibur-in-the-lake", PasswordSubject::Existing(&u))
        .await;
    assert_eq!(reason(refused), "no swords");
    assert!(
        hooks
            .validate_password(GOOD, PasswordSubject::Existing(&u))
            .await
            .is_ok()
    );

    hooks.on_after_register(&u, &ctx).await.unwrap();
    hooks.on_after_login(&u, &ctx).await.unwrap();
    hooks
        .on_after_failed_login("nobody@camelot.example", None, &ctx)
        .await
        .unwrap();
    hooks
        .on_after_failed_login(EMAIL, Some(&u), &ctx)
        .await
        .unwrap();
    hooks
        .on_after_update(&u, &UserUpdate::default(), &ctx)
        .await
        .unwrap();
    hooks
        .on_after_forgot_password(&u, "t1", &ctx)
        .await
        .unwrap();
    hooks.on_after_reset_password(&u, &ctx).await.unwrap();
    hooks.on_after_request_verify(&u, "t2", &ctx).await.unwrap();
    hooks.on_after_verify(&u, &ctx).await.unwrap();
    assert_eq!(
        hooks
            .on_before_delete(&u, &ctx)
            .await
            .unwrap_err()
            .to_string(),
        "kept"
    );
    hooks.on_after_delete(&u, &ctx).await.unwrap();

    assert_eq!(
        *recorder.calls.lock().unwrap(),
        [
            "validate_password excalibur-in-the-lake",
            &format!("validate_password {GOOD}"),
            "on_after_register",
            "on_after_login",
            "on_after_failed_login nobody@camelot.example false",
            &format!("on_after_failed_login {EMAIL} true"),
            "on_after_update",
            "on_after_forgot_password t1",
            "on_after_reset_password",
            "on_after_request_verify t2",
            "on_after_verify",
            "on_before_delete",
            "on_after_delete",
        ]
    );
}

#[tokio::test]
async fn with_policy_takes_any_pointer_to_hooks() {
    let boxed = WithPolicy::new(PasswordPolicy::default(), Box::new(NoHooks));
    let create = UserCreate::<()>::new(EMAIL.to_owned(), "sunshine".to_owned());
    let refused = boxed
        .validate_password(&create.password, PasswordSubject::New(&create))
        .await;
    assert_eq!(reason(refused), REASON_COMMON);
    assert_eq!(boxed.policy(), &PasswordPolicy::default());
    assert!(format!("{boxed:?}").starts_with("WithPolicy"));
}

#[cfg(feature = "hibp")]
mod hibp {
    //! The online check against a fake range API on 127.0.0.1 (the real one is never called).

    use std::{
        future::Future,
        net::SocketAddr,
        time::{Duration, Instant},
    };

    use axum_users_core::policy::{
        PasswordPolicy, PwnedCheck, PwnedError, PwnedSettings, REASON_COMMON, REASON_PWNED,
        REASON_UNCHECKED, WithPolicy,
    };
    use axum_users_core::{NoHooks, PasswordSubject, User, UserHooks};
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpListener,
        sync::mpsc,
    };

    use super::{EMAIL, GOOD, reason, user};

    /// SHA-1("correct horse battery staple") = ABF7AAD6438836DBE526AA231ABDE2D0EEF74D42.
    const PWNED: &str = "correct horse battery staple";
    const PWNED_PREFIX: &str = "ABF7A";
    const PWNED_SUFFIX: &str = "AD6438836DBE526AA231ABDE2D0EEF74D42";

    async fn bounded<F: Future>(future: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(20), future)
            .await
            .expect("test took over 20 s")
    }

    /// What the fake server saw of one request: the request line and the headers, lower-cased.
    type Seen = mpsc::UnboundedReceiver<String>;

    /// A fake range API: answers every `GET /range/<prefix>` with padded lines, including the
    /// pwned suffix (count 3861493) when the prefix is its one, and a padding line (count 0)
    /// for GOOD's suffix whatever the prefix.
    async fn fake_api(status: &'static str) -> (SocketAddr, Seen) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let request = String::from_utf8_lossy(&request).to_lowercase();
                    let _ = tx.send(request.clone());
                    let mut body = String::new();
                    body.push_str("0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n");
                    if request.starts_with(&format!("get /range/{} ", PWNED_PREFIX.to_lowercase()))
                    {
                        body.push_str(&format!("{PWNED_SUFFIX}:3861493\r\n"));
                    }
                    body.push_str(&format!("{}:0\r\n", good_suffix()));
                    body.push_str("FFFFF6E1B5E2A1A1E7C2B6C47D7E6F7D9A2:0");
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        (addr, rx)
    }

    /// A server that accepts connections and never answers.
    async fn silent_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        addr
    }

    /// An address where nothing listens.
    async fn closed_port() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
        // dropped here: connections are refused
    }

    /// SHA-1(GOOD) = 96AEC43BBB0335E39C1CC201949A46BB8E4B2D39 (computed with Python's
    /// hashlib, independently of the crate): the suffix after its prefix `96AEC`.
    fn good_suffix() -> &'static str {
        "43BBB0335E39C1CC201949A46BB8E4B2D39"
    }

    fn check(addr: SocketAddr, fail_open: bool, timeout: Duration) -> PwnedCheck {
        PwnedCheck::new(PwnedSettings {
            base_url: format!("http://{addr}/"),
            fail_open,
            timeout,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn found_is_refused_with_k_anonymity_and_padding() {
        bounded(async {
            let (addr, mut seen) = fake_api("200 OK").await;
            let pwned = check(addr, true, Duration::from_secs(5));
            assert_eq!(pwned.breach_count(PWNED).await.unwrap(), 3_861_493);
            let request = seen.recv().await.unwrap();
            // Only the 5-character prefix leaves the process, with padding asked for.
            assert!(
                request.starts_with("get /range/abf7a http/1.1\r\n"),
                "{request}"
            );
            assert!(request.contains("\r\nadd-padding: true\r\n"), "{request}");
            assert!(!request.contains(&PWNED_SUFFIX.to_lowercase()));
            assert_eq!(reason(pwned.check(PWNED).await), REASON_PWNED);
        })
        .await;
    }

    #[tokio::test]
    async fn not_found_and_padding_lines_are_accepted() {
        bounded(async {
            let (addr, _seen) = fake_api("200 OK").await;
            let pwned = check(addr, false, Duration::from_secs(5));
            assert_eq!(pwned.breach_count(GOOD).await.unwrap(), 0);
            assert!(pwned.check(GOOD).await.is_ok());
            assert!(pwned.check("another fine passphrase").await.is_ok());
        })
        .await;
    }

    #[tokio::test]
    async fn a_server_that_is_down_lets_fail_open_decide() {
        bounded(async {
            let addr = closed_port().await;
            let open = check(addr, true, Duration::from_secs(5));
            assert!(matches!(
                open.breach_count(PWNED).await,
                Err(PwnedError::Request(_))
            ));
            assert!(open.check(PWNED).await.is_ok());
            let closed = check(addr, false, Duration::from_secs(5));
            assert_eq!(reason(closed.check(GOOD).await), REASON_UNCHECKED);
        })
        .await;
    }

    #[tokio::test]
    async fn an_error_status_lets_fail_open_decide() {
        bounded(async {
            let (addr, _seen) = fake_api("503 Service Unavailable").await;
            let open = check(addr, true, Duration::from_secs(5));
            assert!(matches!(
                open.breach_count(PWNED).await,
                Err(PwnedError::Status(503))
            ));
            assert!(open.check(PWNED).await.is_ok());
            let closed = check(addr, false, Duration::from_secs(5));
            assert_eq!(reason(closed.check(GOOD).await), REASON_UNCHECKED);
        })
        .await;
    }

    #[tokio::test]
    async fn a_silent_server_is_bounded_by_the_timeout() {
        bounded(async {
            let addr = silent_server().await;
            for fail_open in [true, false] {
                let pwned = check(addr, fail_open, Duration::from_millis(300));
                let started = Instant::now();
                let result = pwned.check(PWNED).await;
                let took = started.elapsed();
                assert!(took >= Duration::from_millis(250), "{took:?}");
                assert!(took < Duration::from_secs(3), "{took:?}");
                assert_eq!(result.is_ok(), fail_open);
            }
        })
        .await;
    }

    #[tokio::test]
    async fn the_policy_runs_the_online_check_last() {
        bounded(async {
            let (addr, mut seen) = fake_api("200 OK").await;
            let pwned = check(addr, false, Duration::from_secs(5));
            let policy = PasswordPolicy::default();
            // An offline refusal makes no request.
            assert_eq!(
                reason(policy.check_online("password", EMAIL, &pwned).await),
                REASON_COMMON
            );
            assert!(seen.try_recv().is_err());
            assert_eq!(
                reason(policy.check_online(PWNED, EMAIL, &pwned).await),
                REASON_PWNED
            );
            assert!(policy.check_online(GOOD, EMAIL, &pwned).await.is_ok());

            let hooks = WithPolicy::new(policy, Box::new(NoHooks)).with_pwned_check(pwned);
            let u: User = user(EMAIL);
            assert_eq!(
                reason(
                    hooks
                        .validate_password(PWNED, PasswordSubject::Existing(&u))
                        .await
                ),
                REASON_PWNED
            );
            assert!(
                hooks
                    .validate_password(GOOD, PasswordSubject::Existing(&u))
                    .await
                    .is_ok()
            );
        })
        .await;
    }
}
