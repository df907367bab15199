//! OAuth callbacks (FastAPI Users' `oauth_callback` and `oauth_associate_callback`).

use uuid::Uuid;

use super::{UserManager, log_hook};
use crate::email::{normalize, unique_key};
use crate::oauth::{
    MAX_ACCOUNT_ID_CHARS, MAX_OAUTH_NAME_CHARS, OAuthAccounts, OAuthCallbackOptions, OAuthError,
    OAuthIdentity, OAuthLogin,
};
use crate::{
    ManagerError, RequestContext, StoreError, User, UserExtra, UserPatch, UserUpdate,
    generate_password,
};

/// How many times a callback starts over after losing a race (an account linked, an email
/// registered meanwhile) before giving up.
const ATTEMPTS: usize = 3;

/// The provider's email, normalised; an invalid address counts as none.
fn usable_email(identity: &OAuthIdentity) -> Result<String, ManagerError> {
    identity
        .email
        .as_deref()
        .and_then(|e| normalize(e).ok())
        .ok_or(ManagerError::OAuthNotAvailableEmail)
}

/// The provider name and account id fit the `oauth_account` columns.
fn check_ids(oauth_name: &str, identity: &OAuthIdentity) -> Result<(), ManagerError> {
    if oauth_name.is_empty() || oauth_name.chars().count() > MAX_OAUTH_NAME_CHARS {
        return Err(ManagerError::OAuthProvider(OAuthError::Config(format!(
            "the provider name must have 1 to {MAX_OAUTH_NAME_CHARS} characters"
        ))));
    }
    let n = identity.account_id.chars().count();
    if n == 0 || n > MAX_ACCOUNT_ID_CHARS {
        return Err(ManagerError::OAuthProvider(OAuthError::Provider(format!(
            "the account id must have 1 to {MAX_ACCOUNT_ID_CHARS} characters"
        ))));
    }
    Ok(())
}

/// The custom fields of a user created by OAuth: what `{}` deserialises to (fields with
/// `#[serde(default)]` get their defaults), as for a user FastAPI Users created.
fn default_extra<X: UserExtra>() -> Result<X, ManagerError> {
    serde_json::from_value(serde_json::json!({}))
        .or_else(|_| serde_json::from_value(serde_json::Value::Null))
        .map_err(|e| {
            ManagerError::OAuthProvider(OAuthError::Config(format!(
                "OAuth sign-up needs custom user fields that all have defaults: {e}"
            )))
        })
}

impl<X: UserExtra> UserManager<X> {
    /// A login callback, after the provider identified the account. The three outcomes of
    /// FastAPI Users:
    ///
    /// 1. the provider account is linked: its tokens and email are refreshed, its user logs in;
    /// 2. else a user has the provider's email: with
    ///    [`associate_by_email`](OAuthCallbackOptions::associate_by_email) the account is
    ///    linked to them and they log in, otherwise [`ManagerError::UserAlreadyExists`];
    /// 3. else a user is created with the provider's email, a random password and
    ///    `is_verified = is_verified_by_default` (or the provider's trusted
    ///    `email_verified`), the account is linked, and `on_after_register` fires.
    ///
    /// The user is returned whether active or not: the caller refuses inactive ones. A race
    /// lost to a concurrent callback (the same account linked, the email registered meanwhile)
    /// starts over, so the database's unique indexes decide; a user created for an account
    /// that could then not be linked is deleted again.
    ///
    /// # Errors
    /// [`ManagerError::OAuthNotAvailableEmail`] (no email, or an invalid one),
    /// [`ManagerError::UserAlreadyExists`], [`ManagerError::Busy`], store failures.
    pub async fn oauth_callback(
        &self,
        accounts: &OAuthAccounts<X>,
        oauth_name: &str,
        identity: &OAuthIdentity,
        options: OAuthCallbackOptions,
        ctx: &RequestContext,
    ) -> Result<OAuthLogin<X>, ManagerError> {
        let email = usable_email(identity)?;
        check_ids(oauth_name, identity)?;
        let vouched = options.trust_email_verified && identity.email_verified == Some(true);
        let account_id = identity.account_id.as_str();
        let store = accounts.store();
        for _ in 0..ATTEMPTS {
            if let Some((user, account)) =
                store.get_by_oauth_account(oauth_name, account_id).await?
            {
                let row = accounts.row(
                    account.id,
                    account.user_id,
                    oauth_name,
                    account_id,
                    &email,
                    &identity.token,
                )?;
                store.update_oauth_account(row).await?;
                let user = self.vouch(user, &email, vouched, ctx).await?;
                return Ok(OAuthLogin {
                    user,
                    created: false,
                });
            }

            if let Some(user) = self.store().get_by_email(&email).await? {
                if !options.associate_by_email || identity.email_verified == Some(false) {
                    return Err(ManagerError::UserAlreadyExists);
                }
                let row = accounts.row(
                    Uuid::new_v4(),
                    user.id,
                    oauth_name,
                    account_id,
                    &email,
                    &identity.token,
                )?;
                match store.add_oauth_account(row).await {
                    Ok(_) => {}
                    // Linked meanwhile by a concurrent callback: start over.
                    Err(StoreError::Conflict) => continue,
                    Err(e) => return Err(e.into()),
                }
                let user = self.vouch(user, &email, vouched, ctx).await?;
                return Ok(OAuthLogin {
                    user,
                    created: false,
                });
            }

            let hashed_password = self.hasher().hash(generate_password()).await?;
            let user = User {
                id: Uuid::new_v4(),
                email: email.clone(),
                hashed_password,
                is_active: true,
                is_superuser: false,
                is_verified: options.is_verified_by_default || vouched,
                extra: default_extra()?,
            };
            let user = match self.store().create(user).await {
                Ok(user) => user,
                // The email was registered meanwhile: start over.
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            };
            let row = accounts.row(
                Uuid::new_v4(),
                user.id,
                oauth_name,
                account_id,
                &email,
                &identity.token,
            )?;
            if let Err(e) = store.add_oauth_account(row).await {
                // The user exists for this account only: undo it.
                if let Err(error) = self.store().delete(user.id).await {
                    tracing::error!(user_id = %user.id, %error, "could not delete the user of an OAuth account that failed to link");
                }
                match e {
                    StoreError::Conflict => continue,
                    e => return Err(e.into()),
                }
            }
            log_hook(
                "on_after_register",
                user.id,
                self.hooks().on_after_register(&user, ctx).await,
            );
            return Ok(OAuthLogin {
                user,
                created: true,
            });
        }
        Err(ManagerError::OAuthAccountAlreadyLinked)
    }

    /// An associate callback: links the provider account to `user` (or refreshes it when it
    /// is theirs already), then fires `on_after_update` with an empty update, as FastAPI Users
    /// does. Unlike FastAPI Users, an account linked to another user is refused.
    ///
    /// # Errors
    /// [`ManagerError::OAuthNotAvailableEmail`], [`ManagerError::OAuthAccountAlreadyLinked`],
    /// [`ManagerError::UserNotExists`] (deleted meanwhile), store failures.
    pub async fn oauth_associate_callback(
        &self,
        accounts: &OAuthAccounts<X>,
        user: &User<X>,
        oauth_name: &str,
        identity: &OAuthIdentity,
        options: OAuthCallbackOptions,
        ctx: &RequestContext,
    ) -> Result<User<X>, ManagerError> {
        let email = usable_email(identity)?;
        check_ids(oauth_name, identity)?;
        let vouched = options.trust_email_verified && identity.email_verified == Some(true);
        let account_id = identity.account_id.as_str();
        let store = accounts.store();
        match store.get_oauth_account(oauth_name, account_id).await? {
            Some(existing) if existing.user_id != user.id => {
                return Err(ManagerError::OAuthAccountAlreadyLinked);
            }
            Some(existing) => {
                let row = accounts.row(
                    existing.id,
                    user.id,
                    oauth_name,
                    account_id,
                    &email,
                    &identity.token,
                )?;
                store.update_oauth_account(row).await?;
            }
            None => {
                let row = accounts.row(
                    Uuid::new_v4(),
                    user.id,
                    oauth_name,
                    account_id,
                    &email,
                    &identity.token,
                )?;
                match store.add_oauth_account(row).await {
                    Ok(_) => {}
                    Err(StoreError::Conflict) => {
                        // Linked meanwhile: fine if by this very user (a double submit).
                        let now = store.get_oauth_account(oauth_name, account_id).await?;
                        if now.is_none_or(|a| a.user_id != user.id) {
                            return Err(ManagerError::OAuthAccountAlreadyLinked);
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let current = self.get(user.id).await?;
        let current = self.vouch(current, &email, vouched, ctx).await?;
        log_hook(
            "on_after_update",
            current.id,
            self.hooks()
                .on_after_update(&current, &UserUpdate::default(), ctx)
                .await,
        );
        Ok(current)
    }

    /// Marks `user` verified when the provider vouched for `email` and it is theirs.
    async fn vouch(
        &self,
        user: User<X>,
        email: &str,
        vouched: bool,
        ctx: &RequestContext,
    ) -> Result<User<X>, ManagerError> {
        if !vouched || user.is_verified || unique_key(&user.email) != unique_key(email) {
            return Ok(user);
        }
        let patch = UserPatch {
            is_verified: Some(true),
            ..UserPatch::default()
        };
        let updated = self
            .store()
            .update(user.id, patch)
            .await?
            .ok_or(ManagerError::UserNotExists)?;
        log_hook(
            "on_after_verify",
            updated.id,
            self.hooks().on_after_verify(&updated, ctx).await,
        );
        Ok(updated)
    }
}

#[cfg(all(test, feature = "memory"))]
mod tests;
