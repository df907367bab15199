//! The password policy (CONTRACT §5): length bounds, not the email, not a common password, and
//! optionally not a breached password (Have I Been Pwned, feature `hibp`).
//!
//! | item | use |
//! |---|---|
//! | [`PasswordPolicy`] | the offline rules; [`PasswordPolicy::check`], or as a [`UserHooks`] of its own |
//! | [`WithPolicy`] | wraps other hooks: the policy first, then everything delegated to them |
//! | [`is_common_password`] | the embedded list of 30,000 common passwords |
//! | `PwnedCheck` (feature `hibp`) | the online check against the Pwned Passwords range API |
//!
//! # Order of the rules
//!
//! The first rule that fails gives the reason ([`InvalidPassword::reason`], shown to the client
//! in the `*_INVALID_PASSWORD` 400):
//!
//! 1. at least [`min_chars`](PasswordPolicy::min_chars) characters — [`reason_too_short`];
//! 2. at most [`max_chars`](PasswordPolicy::max_chars) characters — [`reason_too_long`];
//! 3. not the email's local part, nor containing it or the whole address
//!    ([`forbid_email_local_part`](PasswordPolicy::forbid_email_local_part)) —
//!    [`REASON_IS_EMAIL`], [`REASON_CONTAINS_EMAIL`];
//! 4. not in the common-password list ([`common_passwords`](PasswordPolicy::common_passwords))
//!    — [`REASON_COMMON`];
//! 5. with feature `hibp` and a `PwnedCheck` given (`WithPolicy::with_pwned_check` or
//!    `PasswordPolicy::check_online`): not in Have I Been Pwned's corpus. Last, since it is the
//!    only rule that costs a network round trip.
//!
//! Lengths are counted in characters (Unicode scalar values, [`str::chars`]), not bytes: a
//! precomposed `é` (U+00E9, two bytes in UTF-8) counts one, an emoji (four bytes) counts one,
//! a decomposed `e` + U+0301 counts two. Nothing is trimmed or normalised.
//!
//! # Why [`check`](PasswordPolicy::check) is synchronous
//!
//! The offline rules need no I/O, so `check` is a plain function that callers outside async
//! code can use too. The online rule is a separate `async fn check_online` (feature `hibp`),
//! which runs `check` first and makes the request only for a password that passed it.
//!
//! # Example: the server's default hooks
//!
//! ```
//! use std::sync::Arc;
//! use axum_users_core::{NoHooks, UserHooks};
//! use axum_users_core::policy::{PasswordPolicy, WithPolicy};
//!
//! let mail_hooks: Arc<dyn UserHooks<()>> = Arc::new(NoHooks);
//! let hooks: Arc<dyn UserHooks<()>> =
//!     Arc::new(WithPolicy::new(PasswordPolicy::default(), mail_hooks));
//! # let _ = hooks;
//! ```

mod common;
#[cfg(feature = "hibp")]
mod pwned;

use std::{fmt, ops::Deref};

use async_trait::async_trait;

use crate::{
    BoxError, InvalidPassword, PasswordSubject, RequestContext, User, UserHooks, UserUpdate,
};

pub use common::{common_password_count, is_common_password};
#[cfg(feature = "hibp")]
pub use pwned::{
    HIBP_BASE_URL, PwnedCheck, PwnedError, PwnedSettings, REASON_PWNED, REASON_UNCHECKED,
};

/// The reason when the password equals the email's local part (any case).
pub const REASON_IS_EMAIL: &str = "Password should not be the same as the email address";
/// The reason when the password contains the email's local part or the whole address.
pub const REASON_CONTAINS_EMAIL: &str = "Password should not contain the email address";
/// The reason when the password is in the common-password list.
pub const REASON_COMMON: &str = "This password is too common";

/// Local parts shorter than this (in characters) are not looked for *inside* passwords.
///
/// A one- or two-character local part (`a@example.com`, `jo@example.com`) occurs by chance in
/// a large share of perfectly good passwords, so refusing every password that contains it would
/// refuse passwords for no gain in security, and the reason would baffle the user. Equality with
/// the local part, and containing the whole address, are refused whatever the length.
pub const MIN_LOCAL_PART_CHARS_FOR_CONTAINS: usize = 3;

/// The reason for a password shorter than `min` characters.
///
/// ```
/// assert_eq!(
///     axum_users_core::policy::reason_too_short(8),
///     "Password should be at least 8 characters",
/// );
/// ```
#[must_use]
pub fn reason_too_short(min: usize) -> String {
    format!("Password should be at least {min} {}", characters(min))
}

/// The reason for a password longer than `max` characters.
///
/// ```
/// assert_eq!(
///     axum_users_core::policy::reason_too_long(1024),
///     "Password should be at most 1024 characters",
/// );
/// ```
#[must_use]
pub fn reason_too_long(max: usize) -> String {
    format!("Password should be at most {max} {}", characters(max))
}

fn characters(n: usize) -> &'static str {
    if n == 1 { "character" } else { "characters" }
}

/// The password policy: the server's default `validate_password` (CONTRACT §5).
///
/// The rules and their order are in the [module documentation](self). `Default` is the
/// contract's: 8 to 1024 characters, the email forbidden, the common list on.
///
/// ```
/// use axum_users_core::policy::PasswordPolicy;
///
/// let policy = PasswordPolicy::default();
/// assert!(policy.check("correct horse battery staple", "arthur@camelot.example").is_ok());
///
/// let refused = policy.check("short", "arthur@camelot.example").unwrap_err();
/// assert_eq!(refused.reason, "Password should be at least 8 characters");
/// let refused = policy.check("Arthur2024!", "arthur@camelot.example").unwrap_err();
/// assert_eq!(refused.reason, "Password should not contain the email address");
/// let refused = policy.check("PassWord1", "arthur@camelot.example").unwrap_err();
/// assert_eq!(refused.reason, "This password is too common");
///
/// // Looser or stricter settings:
/// let strict = PasswordPolicy { min_chars: 12, ..PasswordPolicy::default() };
/// assert!(strict.check("Tr0ub4dor&3", "arthur@camelot.example").is_err());
/// ```
///
/// With `min_chars > max_chars` every password is refused (as too short or too long).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// The fewest characters accepted. Default 8.
    pub min_chars: usize,
    /// The most characters accepted. Default 1024.
    pub max_chars: usize,
    /// Refuse a password that equals the email's local part (compared case-insensitively), or
    /// contains it (when it has at least [`MIN_LOCAL_PART_CHARS_FOR_CONTAINS`] characters), or
    /// contains the whole address. Default `true`.
    pub forbid_email_local_part: bool,
    /// Refuse a password in the embedded common-password list ([`is_common_password`]).
    /// Default `true`.
    pub common_passwords: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_chars: 8,
            max_chars: 1024,
            forbid_email_local_part: true,
            common_passwords: true,
        }
    }
}

impl PasswordPolicy {
    /// Checks `password` for the user with `email` against the offline rules, in the order of
    /// the [module documentation](self).
    ///
    /// # Errors
    /// [`InvalidPassword`] with the first failing rule's reason.
    pub fn check(&self, password: &str, email: &str) -> Result<(), InvalidPassword> {
        let chars = password.chars().count();
        if chars < self.min_chars {
            return Err(InvalidPassword::new(reason_too_short(self.min_chars)));
        }
        if chars > self.max_chars {
            return Err(InvalidPassword::new(reason_too_long(self.max_chars)));
        }
        if self.forbid_email_local_part {
            check_email(password, email)?;
        }
        if self.common_passwords && is_common_password(password) {
            return Err(InvalidPassword::new(REASON_COMMON));
        }
        Ok(())
    }

    /// [`check`](Self::check), then, for a password that passed, `pwned` (one request to the
    /// Pwned Passwords API; see [`PwnedCheck::check`] for what happens when it cannot answer).
    ///
    /// # Errors
    /// [`InvalidPassword`] with the first failing rule's reason.
    #[cfg(feature = "hibp")]
    pub async fn check_online(
        &self,
        password: &str,
        email: &str,
        pwned: &PwnedCheck,
    ) -> Result<(), InvalidPassword> {
        self.check(password, email)?;
        pwned.check(password).await
    }
}

/// Rule 3. The email's local part is what precedes its last `@` (the whole string when there
/// is none); an empty one is ignored.
fn check_email(password: &str, email: &str) -> Result<(), InvalidPassword> {
    let local = email.rsplit_once('@').map_or(email, |(local, _)| local);
    if local.is_empty() {
        return Ok(());
    }
    if lowercase_eq(password, local) {
        return Err(InvalidPassword::new(REASON_IS_EMAIL));
    }
    let password = password.to_lowercase();
    let long_enough = local.chars().count() >= MIN_LOCAL_PART_CHARS_FOR_CONTAINS;
    if (long_enough && password.contains(&local.to_lowercase()))
        || password.contains(&email.to_lowercase())
    {
        return Err(InvalidPassword::new(REASON_CONTAINS_EMAIL));
    }
    Ok(())
}

fn lowercase_eq(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// The policy alone as the hooks: only [`validate_password`](UserHooks::validate_password)
/// (the subject's email), every other hook the default no-op. To keep other hooks, use
/// [`WithPolicy`].
#[async_trait]
impl<X: Send + Sync + 'static> UserHooks<X> for PasswordPolicy {
    async fn validate_password(
        &self,
        password: &str,
        subject: PasswordSubject<'_, X>,
    ) -> Result<(), InvalidPassword> {
        self.check(password, subject.email())
    }
}

/// Hooks that apply a [`PasswordPolicy`] and then delegate to other hooks.
///
/// [`validate_password`](UserHooks::validate_password) runs the policy (and the online check,
/// when one was given), and only for a password that passed, the inner hooks'
/// `validate_password`. Every other hook goes to the inner hooks unchanged. `H` is anything
/// that dereferences to hooks: an `Arc<dyn UserHooks<X>>`, an `Arc<MyHooks>`, a `Box<_>`.
///
/// ```
/// use std::sync::Arc;
/// use axum_users_core::{NoHooks, PasswordSubject, UserCreate, UserHooks};
/// use axum_users_core::policy::{PasswordPolicy, WithPolicy};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let hooks = WithPolicy::new(PasswordPolicy::default(), Arc::new(NoHooks));
/// let create = UserCreate::<()>::new("arthur@camelot.example".into(), "123456789".into());
/// let refused = hooks
///     .validate_password(&create.password, PasswordSubject::New(&create))
///     .await
///     .unwrap_err();
/// assert_eq!(refused.reason, "This password is too common");
/// # });
/// ```
pub struct WithPolicy<H> {
    policy: PasswordPolicy,
    #[cfg(feature = "hibp")]
    pwned: Option<PwnedCheck>,
    inner: H,
}

impl<H> WithPolicy<H> {
    /// `policy` in front of `inner`.
    #[must_use]
    pub fn new(policy: PasswordPolicy, inner: H) -> Self {
        Self {
            policy,
            #[cfg(feature = "hibp")]
            pwned: None,
            inner,
        }
    }

    /// Adds the online check, run after the offline rules (feature `hibp`).
    #[cfg(feature = "hibp")]
    #[must_use]
    pub fn with_pwned_check(mut self, check: PwnedCheck) -> Self {
        self.pwned = Some(check);
        self
    }

    /// The policy applied.
    #[must_use]
    pub fn policy(&self) -> &PasswordPolicy {
        &self.policy
    }

    /// The hooks delegated to.
    #[must_use]
    pub fn inner(&self) -> &H {
        &self.inner
    }

    /// The policy's check, and the online check when one was given.
    async fn check(&self, password: &str, email: &str) -> Result<(), InvalidPassword> {
        #[cfg(feature = "hibp")]
        if let Some(pwned) = &self.pwned {
            return self.policy.check_online(password, email, pwned).await;
        }
        self.policy.check(password, email)
    }
}

impl<H> fmt::Debug for WithPolicy<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("WithPolicy");
        s.field("policy", &self.policy);
        #[cfg(feature = "hibp")]
        s.field("pwned", &self.pwned);
        s.finish_non_exhaustive()
    }
}

// Every method of `UserHooks` is forwarded here: one left out would silently fall back to the
// trait's no-op default. When the trait gains a method, add it here and to the recording hooks
// of `tests/policy.rs`.
#[async_trait]
impl<X, H> UserHooks<X> for WithPolicy<H>
where
    X: Send + Sync + 'static,
    H: Deref + Send + Sync + 'static,
    H::Target: UserHooks<X>,
{
    async fn validate_password(
        &self,
        password: &str,
        subject: PasswordSubject<'_, X>,
    ) -> Result<(), InvalidPassword> {
        self.check(password, subject.email()).await?;
        self.inner.validate_password(password, subject).await
    }

    async fn on_after_register(
        &self,
        user: &User<X>,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        self.inner.on_after_register(user, ctx).await
    }

    async fn on_after_login(&self, user: &User<X>, ctx: &RequestContext) -> Result<(), BoxError> {
        self.inner.on_after_login(user, ctx).await
    }

    async fn on_after_failed_login(
        &self,
        email: &str,
        user: Option<&User<X>>,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        self.inner.on_after_failed_login(email, user, ctx).await
    }

    async fn on_after_update(
        &self,
        user: &User<X>,
        update: &UserUpdate<X>,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        self.inner.on_after_update(user, update, ctx).await
    }

    async fn on_after_forgot_password(
        &self,
        user: &User<X>,
        token: &str,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        self.inner.on_after_forgot_password(user, token, ctx).await
    }

    async fn on_after_reset_password(
        &self,
        user: &User<X>,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        self.inner.on_after_reset_password(user, ctx).await
    }

    async fn on_after_request_verify(
        &self,
        user: &User<X>,
        token: &str,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        self.inner.on_after_request_verify(user, token, ctx).await
    }

    async fn on_after_verify(&self, user: &User<X>, ctx: &RequestContext) -> Result<(), BoxError> {
        self.inner.on_after_verify(user, ctx).await
    }

    async fn on_before_delete(&self, user: &User<X>, ctx: &RequestContext) -> Result<(), BoxError> {
        self.inner.on_before_delete(user, ctx).await
    }

    async fn on_after_delete(&self, user: &User<X>, ctx: &RequestContext) -> Result<(), BoxError> {
        self.inner.on_after_delete(user, ctx).await
    }
}
