//! [`UserManager`]: FastAPI Users' `BaseUserManager`, as a struct composed of plug-ins rather
//! than a class to subclass.

mod oauth;
mod tokens;

use std::sync::Arc;

use uuid::Uuid;

pub use self::tokens::TokenSettings;
use crate::{
    HashError, HashPool, ManagerError, PasswordSubject, RequestContext, User, UserCreate,
    UserExtra, UserHooks, UserPatch, UserStore, UserUpdate,
};

/// Whether a create or update may set the privileged flags (`is_active`, `is_superuser`,
/// `is_verified`). Replaces FastAPI Users' `safe: bool`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateMode {
    /// A user acting on themself (register, `PATCH /users/me`): the flags are ignored.
    Public,
    /// A superuser or the application: the flags apply.
    Privileged,
}

/// The business rules: create, authenticate, update, delete, with hooks on every event.
///
/// Cheap to clone (an `Arc` inside). Password hashing always goes through the [`HashPool`].
pub struct UserManager<X = ()> {
    inner: Arc<Inner<X>>,
}

struct Inner<X> {
    store: Arc<dyn UserStore<X>>,
    hasher: HashPool,
    hooks: Arc<dyn UserHooks<X>>,
    tokens: TokenSettings,
}

impl<X> Clone for UserManager<X> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<X> std::fmt::Debug for UserManager<X> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserManager")
            .field("hasher", &self.inner.hasher)
            .finish_non_exhaustive()
    }
}

/// Logs a failed after-the-fact hook: the change it follows is committed, so the client still
/// gets its success.
pub(crate) fn log_hook(hook: &'static str, user: Uuid, result: Result<(), crate::BoxError>) {
    if let Err(error) = result {
        tracing::error!(hook, user_id = %user, error = %error, "user hook failed");
    }
}

impl<X: UserExtra> UserManager<X> {
    /// A manager over a store, a hashing pool and hooks.
    #[must_use]
    pub fn new(
        store: Arc<dyn UserStore<X>>,
        hasher: HashPool,
        hooks: Arc<dyn UserHooks<X>>,
    ) -> Self {
        let tokens = TokenSettings::ephemeral();
        Self {
            inner: Arc::new(Inner {
                store,
                hasher,
                hooks,
                tokens,
            }),
        }
    }

    /// The same manager with these reset/verification token secrets and lifetimes (by
    /// default, random secrets valid only within this process).
    #[must_use]
    pub fn with_tokens(self, tokens: TokenSettings) -> Self {
        let i = &self.inner;
        Self {
            inner: Arc::new(Inner {
                store: Arc::clone(&i.store),
                hasher: i.hasher.clone(),
                hooks: Arc::clone(&i.hooks),
                tokens,
            }),
        }
    }

    /// The same manager with other hooks.
    #[must_use]
    pub fn with_hooks(self, hooks: Arc<dyn UserHooks<X>>) -> Self {
        let i = &self.inner;
        Self {
            inner: Arc::new(Inner {
                store: Arc::clone(&i.store),
                hasher: i.hasher.clone(),
                hooks,
                tokens: i.tokens.clone(),
            }),
        }
    }

    /// The reset/verification token settings.
    #[must_use]
    pub fn tokens(&self) -> &TokenSettings {
        &self.inner.tokens
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn UserStore<X>> {
        &self.inner.store
    }

    /// The hashing pool.
    #[must_use]
    pub fn hasher(&self) -> &HashPool {
        &self.inner.hasher
    }

    /// The hooks.
    #[must_use]
    pub fn hooks(&self) -> &Arc<dyn UserHooks<X>> {
        &self.inner.hooks
    }

    /// The user with this id.
    ///
    /// # Errors
    /// [`ManagerError::UserNotExists`], or a store failure.
    pub async fn get(&self, id: Uuid) -> Result<User<X>, ManagerError> {
        self.inner
            .store
            .get(id)
            .await?
            .ok_or(ManagerError::UserNotExists)
    }

    /// The user with this email (any case).
    ///
    /// # Errors
    /// [`ManagerError::UserNotExists`], or a store failure.
    pub async fn get_by_email(&self, email: &str) -> Result<User<X>, ManagerError> {
        self.inner
            .store
            .get_by_email(email)
            .await?
            .ok_or(ManagerError::UserNotExists)
    }

    async fn validate_password(
        &self,
        password: &str,
        subject: PasswordSubject<'_, X>,
    ) -> Result<(), ManagerError> {
        self.inner
            .hooks
            .validate_password(password, subject)
            .await
            .map_err(|e| ManagerError::InvalidPassword { reason: e.reason })
    }

    /// Registers a user: validates the password (before anything else, as the reference does),
    /// hashes it on the pool and inserts; the database refuses a duplicate email.
    ///
    /// # Errors
    /// [`ManagerError::InvalidPassword`], [`ManagerError::UserAlreadyExists`],
    /// [`ManagerError::Busy`], or an infrastructure failure.
    pub async fn create(
        &self,
        create: UserCreate<X>,
        mode: CreateMode,
        ctx: &RequestContext,
    ) -> Result<User<X>, ManagerError> {
        self.validate_password(&create.password, PasswordSubject::New(&create))
            .await?;
        // Cheap early answer; the unique index still decides under concurrency.
        if self
            .inner
            .store
            .get_by_email(&create.email)
            .await?
            .is_some()
        {
            return Err(ManagerError::UserAlreadyExists);
        }
        let hashed_password = self.inner.hasher.hash(create.password.clone()).await?;
        let privileged = mode == CreateMode::Privileged;
        let flag = |v: Option<bool>, default| {
            if privileged {
                v.unwrap_or(default)
            } else {
                default
            }
        };
        let user = User {
            id: Uuid::new_v4(),
            email: create.email,
            hashed_password,
            is_active: flag(create.is_active, true),
            is_superuser: flag(create.is_superuser, false),
            is_verified: flag(create.is_verified, false),
            extra: create.extra,
        };
        let user = self.inner.store.create(user).await?;
        log_hook(
            "on_after_register",
            user.id,
            self.inner.hooks.on_after_register(&user, ctx).await,
        );
        Ok(user)
    }

    /// Checks credentials. Returns the user (active or not: the caller decides) when the
    /// password matches, `None` otherwise. An unknown email still costs one hash, so timing does
    /// not tell which emails exist; an outdated hash is replaced; an unrecognised stored hash is
    /// logged and counts as a wrong password.
    ///
    /// # Errors
    /// [`ManagerError::Busy`] when the hashing pool is saturated, or an infrastructure failure.
    pub async fn authenticate(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Option<User<X>>, ManagerError> {
        let Some(user) = self.inner.store.get_by_email(email).await? else {
            self.inner.hasher.hash(password.to_owned()).await?;
            return Ok(None);
        };
        let verified = match self
            .inner
            .hasher
            .verify_and_update(password.to_owned(), user.hashed_password.clone())
            .await
        {
            Ok(v) => v,
            Err(HashError::UnknownHash) => {
                tracing::error!(user_id = %user.id, "stored password hash has an unrecognised format");
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        if !verified.valid {
            return Ok(None);
        }
        let Some(new_hash) = verified.new_hash else {
            return Ok(Some(user));
        };
        let patch = UserPatch {
            hashed_password: Some(new_hash),
            ..UserPatch::default()
        };
        match self.inner.store.update(user.id, patch).await {
            Ok(Some(updated)) => Ok(Some(updated)),
            Ok(None) => Ok(None),
            Err(error) => {
                tracing::warn!(user_id = %user.id, %error, "could not store the upgraded password hash");
                Ok(Some(user))
            }
        }
    }

    /// Fires `on_after_login` (the HTTP layer calls this once the login response is built).
    pub async fn on_after_login(&self, user: &User<X>, ctx: &RequestContext) {
        log_hook(
            "on_after_login",
            user.id,
            self.inner.hooks.on_after_login(user, ctx).await,
        );
    }

    /// Updates a user. In [`CreateMode::Public`] the privileged flags are ignored. The password
    /// is validated first, then the email: changing it resets `is_verified` (unless a privileged
    /// update sets `is_verified` too); another case of one's own email is no conflict.
    ///
    /// # Errors
    /// [`ManagerError::InvalidPassword`], [`ManagerError::UserAlreadyExists`],
    /// [`ManagerError::UserNotExists`] (deleted meanwhile), [`ManagerError::Busy`], or an
    /// infrastructure failure.
    pub async fn update(
        &self,
        user: &User<X>,
        update: UserUpdate<X>,
        mode: CreateMode,
        ctx: &RequestContext,
    ) -> Result<User<X>, ManagerError> {
        let mut patch = UserPatch::default();
        if let Some(password) = &update.password {
            self.validate_password(password, PasswordSubject::Existing(user))
                .await?;
            patch.hashed_password = Some(self.inner.hasher.hash(password.clone()).await?);
        }
        if let Some(email) = update.email.as_ref().filter(|e| **e != user.email) {
            let taken = self.inner.store.get_by_email(email).await?;
            if taken.is_some_and(|other| other.id != user.id) {
                return Err(ManagerError::UserAlreadyExists);
            }
            patch.email = Some(email.clone());
            patch.is_verified = Some(false);
        }
        if mode == CreateMode::Privileged {
            patch.is_active = update.is_active;
            patch.is_superuser = update.is_superuser;
            if update.is_verified.is_some() {
                patch.is_verified = update.is_verified;
            }
        }
        patch.extra.clone_from(&update.extra);
        let updated = if patch.is_empty() {
            self.get(user.id).await?
        } else {
            self.inner
                .store
                .update(user.id, patch)
                .await?
                .ok_or(ManagerError::UserNotExists)?
        };
        log_hook(
            "on_after_update",
            updated.id,
            self.inner
                .hooks
                .on_after_update(&updated, &update, ctx)
                .await,
        );
        Ok(updated)
    }

    /// Deletes a user; `on_before_delete` may refuse.
    ///
    /// # Errors
    /// [`ManagerError::Hook`] when `on_before_delete` refuses, [`ManagerError::UserNotExists`],
    /// or a store failure.
    pub async fn delete(&self, user: &User<X>, ctx: &RequestContext) -> Result<(), ManagerError> {
        self.inner
            .hooks
            .on_before_delete(user, ctx)
            .await
            .map_err(ManagerError::Hook)?;
        if !self.inner.store.delete(user.id).await? {
            return Err(ManagerError::UserNotExists);
        }
        log_hook(
            "on_after_delete",
            user.id,
            self.inner.hooks.on_after_delete(user, ctx).await,
        );
        Ok(())
    }
}
