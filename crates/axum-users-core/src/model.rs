//! The user and the shapes that create and change one.

use std::fmt;

use serde::{Serialize, de::DeserializeOwned};
use uuid::Uuid;

/// The custom fields of a user (FastAPI Users' extra ORM columns).
///
/// Any `Clone + Debug + Serialize + DeserializeOwned` struct qualifies; `()` means "no custom
/// fields". Stores persist it as JSON, the HTTP layer flattens it into the user's JSON objects.
///
/// ```
/// #[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
/// struct Profile {
///     first_name: String,
///     #[serde(default)]
///     newsletter: bool,
/// }
/// fn assert_extra<X: axum_users_core::UserExtra>() {}
/// assert_extra::<Profile>();
/// assert_extra::<()>();
/// ```
pub trait UserExtra:
    Clone + fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
}

impl<T> UserExtra for T where
    T: Clone + fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
}

/// A stored user: FastAPI Users' `user` table plus custom fields.
///
/// `Debug` never prints the password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct User<X = ()> {
    /// Primary key, a random (v4) UUID.
    pub id: Uuid,
    /// The email, stored with its domain lower-cased; unique without regard to case.
    pub email: String,
    /// The PHC-encoded password hash (argon2id, or a legacy bcrypt hash).
    pub hashed_password: String,
    /// Inactive users cannot log in or use a token.
    pub is_active: bool,
    /// Superusers may manage other users.
    pub is_superuser: bool,
    /// Whether the email was verified.
    pub is_verified: bool,
    /// Custom fields.
    pub extra: X,
}

impl<X: fmt::Debug> fmt::Debug for User<X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("hashed_password", &"[redacted]")
            .field("is_active", &self.is_active)
            .field("is_superuser", &self.is_superuser)
            .field("is_verified", &self.is_verified)
            .field("extra", &self.extra)
            .finish()
    }
}

/// What a new user is made of (FastAPI Users' `UserCreate`), before hashing.
///
/// With [`CreateMode::Public`](crate::CreateMode::Public) the three flags are ignored and the
/// defaults (active, not superuser, not verified) apply.
#[derive(Clone)]
pub struct UserCreate<X = ()> {
    /// A normalised email (see [`email::normalize`](crate::email::normalize)).
    pub email: String,
    /// The plaintext password.
    pub password: String,
    /// Defaults to `true`.
    pub is_active: Option<bool>,
    /// Defaults to `false`.
    pub is_superuser: Option<bool>,
    /// Defaults to `false`.
    pub is_verified: Option<bool>,
    /// Custom fields.
    pub extra: X,
}

impl<X: Default> UserCreate<X> {
    /// A plain user with default flags and default custom fields.
    #[must_use]
    pub fn new(email: String, password: String) -> Self {
        Self {
            email,
            password,
            is_active: None,
            is_superuser: None,
            is_verified: None,
            extra: X::default(),
        }
    }
}

impl<X: fmt::Debug> fmt::Debug for UserCreate<X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserCreate")
            .field("email", &self.email)
            .field("password", &"[redacted]")
            .field("is_active", &self.is_active)
            .field("is_superuser", &self.is_superuser)
            .field("is_verified", &self.is_verified)
            .field("extra", &self.extra)
            .finish()
    }
}

/// A change requested of a user (FastAPI Users' `UserUpdate`): only `Some` fields apply.
///
/// It reaches [`UserHooks::on_after_update`](crate::UserHooks::on_after_update), plaintext
/// password included (as in FastAPI Users), so a hook can tell that the password changed.
#[derive(Clone)]
pub struct UserUpdate<X = ()> {
    /// A new, normalised email.
    pub email: Option<String>,
    /// A new plaintext password.
    pub password: Option<String>,
    /// Privileged: applied only in [`CreateMode::Privileged`](crate::CreateMode::Privileged).
    pub is_active: Option<bool>,
    /// Privileged.
    pub is_superuser: Option<bool>,
    /// Privileged.
    pub is_verified: Option<bool>,
    /// The complete new custom fields (the HTTP layer merges a partial body into the current
    /// value before it gets here).
    pub extra: Option<X>,
}

impl<X> Default for UserUpdate<X> {
    fn default() -> Self {
        Self {
            email: None,
            password: None,
            is_active: None,
            is_superuser: None,
            is_verified: None,
            extra: None,
        }
    }
}

impl<X: fmt::Debug> fmt::Debug for UserUpdate<X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserUpdate")
            .field("email", &self.email)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("is_active", &self.is_active)
            .field("is_superuser", &self.is_superuser)
            .field("is_verified", &self.is_verified)
            .field("extra", &self.extra)
            .finish()
    }
}

/// A change as a store applies it: the password is already hashed.
#[derive(Clone)]
pub struct UserPatch<X = ()> {
    /// New email.
    pub email: Option<String>,
    /// New password hash.
    pub hashed_password: Option<String>,
    /// New active flag.
    pub is_active: Option<bool>,
    /// New superuser flag.
    pub is_superuser: Option<bool>,
    /// New verified flag.
    pub is_verified: Option<bool>,
    /// New custom fields, whole.
    pub extra: Option<X>,
}

impl<X> Default for UserPatch<X> {
    fn default() -> Self {
        Self {
            email: None,
            hashed_password: None,
            is_active: None,
            is_superuser: None,
            is_verified: None,
            extra: None,
        }
    }
}

impl<X: fmt::Debug> fmt::Debug for UserPatch<X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserPatch")
            .field("email", &self.email)
            .field(
                "hashed_password",
                &self.hashed_password.as_ref().map(|_| "[redacted]"),
            )
            .field("is_active", &self.is_active)
            .field("is_superuser", &self.is_superuser)
            .field("is_verified", &self.is_verified)
            .field("extra", &self.extra)
            .finish()
    }
}

impl<X: Clone> UserPatch<X> {
    /// The user as it is after this patch.
    #[must_use]
    pub fn apply_to(&self, user: &User<X>) -> User<X> {
        let mut u = user.clone();
        if let Some(v) = &self.email {
            u.email.clone_from(v);
        }
        if let Some(v) = &self.hashed_password {
            u.hashed_password.clone_from(v);
        }
        if let Some(v) = self.is_active {
            u.is_active = v;
        }
        if let Some(v) = self.is_superuser {
            u.is_superuser = v;
        }
        if let Some(v) = self.is_verified {
            u.is_verified = v;
        }
        if let Some(v) = &self.extra {
            u.extra = v.clone();
        }
        u
    }

    /// Whether the patch changes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.email.is_none()
            && self.hashed_password.is_none()
            && self.is_active.is_none()
            && self.is_superuser.is_none()
            && self.is_verified.is_none()
            && self.extra.is_none()
    }
}
