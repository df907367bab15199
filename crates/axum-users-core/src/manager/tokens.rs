//! Reset-password and verification tokens (FastAPI Users' `forgot_password`,
//! `reset_password`, `request_verify`, `verify`).
//!
//! - Reset: `{"sub", "password_fgpt", "aud": "fastapi-users:reset", "exp"}`. `password_fgpt` is
//!   an argon2 hash of the current password hash, so any password change (reset, PATCH, rehash)
//!   kills every outstanding reset token: single use.
//! - Verify: `{"sub", "email", "aud": "fastapi-users:verify", "exp"}`. The user is found by the
//!   token's email and must have the token's id, so an email change kills older tokens.

use base64::Engine as _;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{UserManager, log_hook};
use crate::jwt::now;
use crate::{
    AUDIENCE_RESET, AUDIENCE_VERIFY, HashError, JwtCodec, JwtError, ManagerError, PasswordSubject,
    RequestContext, User, UserExtra, UserPatch,
};

/// Secrets and lifetimes of the reset and verification tokens (HS256, as FastAPI Users).
#[derive(Debug, Clone)]
pub struct TokenSettings {
    reset: JwtCodec,
    /// Reset token lifetime (default 3600 s).
    pub reset_lifetime_seconds: u64,
    verify: JwtCodec,
    /// Verification token lifetime (default 3600 s).
    pub verify_lifetime_seconds: u64,
}

impl TokenSettings {
    /// Tokens signed with these secrets, valid for an hour.
    ///
    /// # Errors
    /// [`JwtError::Key`] for an empty secret.
    pub fn new(reset_secret: &[u8], verify_secret: &[u8]) -> Result<Self, JwtError> {
        Ok(Self {
            reset: JwtCodec::hs256(reset_secret)?,
            reset_lifetime_seconds: 3600,
            verify: JwtCodec::hs256(verify_secret)?,
            verify_lifetime_seconds: 3600,
        })
    }

    /// Random secrets: tokens are valid only within this process. Used when none are given.
    #[must_use]
    pub fn ephemeral() -> Self {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        rand::rng().fill_bytes(&mut a);
        rand::rng().fill_bytes(&mut b);
        let e = base64::engine::general_purpose::STANDARD;
        // Non-empty by construction.
        Self::new(e.encode(a).as_bytes(), e.encode(b).as_bytes()).unwrap_or_else(|_| unreachable!())
    }
}

#[derive(Serialize, Deserialize)]
struct ResetClaims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    password_fgpt: Option<String>,
    #[serde(default, skip_deserializing)]
    aud: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct VerifyClaims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default, skip_deserializing)]
    aud: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
}

impl<X: UserExtra> UserManager<X> {
    /// Mints a reset token for an active user and hands it to `on_after_forgot_password`.
    ///
    /// # Errors
    /// [`ManagerError::UserInactive`]; [`ManagerError::Busy`] when the hashing pool is full.
    pub async fn forgot_password(
        &self,
        user: &User<X>,
        ctx: &RequestContext,
    ) -> Result<String, ManagerError> {
        if !user.is_active {
            return Err(ManagerError::UserInactive);
        }
        let fingerprint = self.hasher().hash(user.hashed_password.clone()).await?;
        let tokens = self.tokens();
        let claims = ResetClaims {
            sub: Some(user.id.to_string()),
            password_fgpt: Some(fingerprint),
            aud: AUDIENCE_RESET.to_owned(),
            exp: Some(now() + tokens.reset_lifetime_seconds),
        };
        let token = tokens
            .reset
            .encode(&claims)
            .map_err(|e| ManagerError::Hook(Box::new(e)))?;
        log_hook(
            "on_after_forgot_password",
            user.id,
            self.hooks()
                .on_after_forgot_password(user, &token, ctx)
                .await,
        );
        Ok(token)
    }

    /// Resets a password with a token. The new password is validated before anything changes,
    /// so a refused password does not consume the token.
    ///
    /// # Errors
    /// [`ManagerError::InvalidResetPasswordToken`] (bad, expired, used, wrong audience),
    /// [`ManagerError::UserNotExists`], [`ManagerError::UserInactive`],
    /// [`ManagerError::InvalidPassword`], [`ManagerError::Busy`].
    pub async fn reset_password(
        &self,
        token: &str,
        password: &str,
        ctx: &RequestContext,
    ) -> Result<User<X>, ManagerError> {
        let claims: ResetClaims = self
            .tokens()
            .reset
            .decode(token, AUDIENCE_RESET)
            .map_err(|_| ManagerError::InvalidResetPasswordToken)?;
        let (Some(sub), Some(fingerprint)) = (claims.sub, claims.password_fgpt) else {
            return Err(ManagerError::InvalidResetPasswordToken);
        };
        let id = Uuid::parse_str(&sub).map_err(|_| ManagerError::InvalidResetPasswordToken)?;
        let user = self.get(id).await?;
        let matches = match self
            .hasher()
            .verify_and_update(user.hashed_password.clone(), fingerprint)
            .await
        {
            Ok(v) => v.valid,
            Err(HashError::UnknownHash) => false,
            Err(e) => return Err(e.into()),
        };
        if !matches {
            return Err(ManagerError::InvalidResetPasswordToken);
        }
        if !user.is_active {
            return Err(ManagerError::UserInactive);
        }
        self.hooks()
            .validate_password(password, PasswordSubject::Existing(&user))
            .await
            .map_err(|e| ManagerError::InvalidPassword { reason: e.reason })?;
        let hashed = self.hasher().hash(password.to_owned()).await?;
        let patch = UserPatch {
            hashed_password: Some(hashed),
            ..UserPatch::default()
        };
        let updated = self
            .store()
            .update(user.id, patch)
            .await?
            .ok_or(ManagerError::UserNotExists)?;
        log_hook(
            "on_after_reset_password",
            updated.id,
            self.hooks().on_after_reset_password(&updated, ctx).await,
        );
        Ok(updated)
    }

    /// Mints a verification token for an active, unverified user and hands it to
    /// `on_after_request_verify`.
    ///
    /// # Errors
    /// [`ManagerError::UserInactive`], [`ManagerError::UserAlreadyVerified`].
    pub async fn request_verify(
        &self,
        user: &User<X>,
        ctx: &RequestContext,
    ) -> Result<String, ManagerError> {
        if !user.is_active {
            return Err(ManagerError::UserInactive);
        }
        if user.is_verified {
            return Err(ManagerError::UserAlreadyVerified);
        }
        let tokens = self.tokens();
        let claims = VerifyClaims {
            sub: Some(user.id.to_string()),
            email: Some(user.email.clone()),
            aud: AUDIENCE_VERIFY.to_owned(),
            exp: Some(now() + tokens.verify_lifetime_seconds),
        };
        let token = tokens
            .verify
            .encode(&claims)
            .map_err(|e| ManagerError::Hook(Box::new(e)))?;
        log_hook(
            "on_after_request_verify",
            user.id,
            self.hooks()
                .on_after_request_verify(user, &token, ctx)
                .await,
        );
        Ok(token)
    }

    /// Verifies a user with a token.
    ///
    /// # Errors
    /// [`ManagerError::InvalidVerifyToken`] (bad, expired, wrong audience, email changed since,
    /// user gone), [`ManagerError::UserAlreadyVerified`].
    pub async fn verify(&self, token: &str, ctx: &RequestContext) -> Result<User<X>, ManagerError> {
        let claims: VerifyClaims = self
            .tokens()
            .verify
            .decode(token, AUDIENCE_VERIFY)
            .map_err(|_| ManagerError::InvalidVerifyToken)?;
        let (Some(sub), Some(email)) = (claims.sub, claims.email) else {
            return Err(ManagerError::InvalidVerifyToken);
        };
        let user = self
            .store()
            .get_by_email(&email)
            .await?
            .ok_or(ManagerError::InvalidVerifyToken)?;
        let id = Uuid::parse_str(&sub).map_err(|_| ManagerError::InvalidVerifyToken)?;
        if id != user.id {
            return Err(ManagerError::InvalidVerifyToken);
        }
        if user.is_verified {
            return Err(ManagerError::UserAlreadyVerified);
        }
        let patch = UserPatch {
            is_verified: Some(true),
            ..UserPatch::default()
        };
        let updated = self
            .store()
            .update(user.id, patch)
            .await?
            .ok_or(ManagerError::InvalidVerifyToken)?;
        log_hook(
            "on_after_verify",
            updated.id,
            self.hooks().on_after_verify(&updated, ctx).await,
        );
        Ok(updated)
    }
}
