//! Refresh tokens on the auth router ([`AuthBackend::with_refresh`]): `POST /refresh`, and
//! logout's revocation of the session's family. (The login answer with a refresh token is
//! [`AuthBackend::login_response`].)

use axum::extract::Request;
use axum::response::Response;
use axum_users_core::{RefreshError, RefreshTokens, StrategyError, UserExtra};

use crate::backend::AuthBackend;
use crate::body::{decode_json, read_bytes};
use crate::error::ApiError;
use crate::limits::LimitedRoute;
use crate::state::UsersState;
use crate::validation::{Fields, embedded};

/// Logout: revokes the refresh-token family the access token was issued with (its `sid`),
/// when this backend has refresh tokens and the token names one. The access token itself stays
/// valid until it expires.
pub(super) async fn end_session<X: UserExtra>(
    backend: &AuthBackend<X>,
    access_token: &str,
) -> Result<(), ApiError> {
    let Some(tokens) = backend.refresh() else {
        return Ok(());
    };
    let Some(family) = backend.strategy().token_session(access_token) else {
        return Ok(());
    };
    tokens
        .revoke_family(family)
        .await
        .map_err(StrategyError::Store)?;
    Ok(())
}

/// `POST /refresh`: JSON `{"refresh_token"}` → 200 with a new access token and a new refresh
/// token (the one presented is rotated). 422 for a malformed body (one that is not an object
/// reports `refresh_token` missing); 401 for a rotated, revoked, expired or unknown token, and
/// for a user who is gone, inactive, or unverified where verification is required (their
/// family is revoked then); 503 when a store is away.
pub(super) async fn refresh<X: UserExtra>(
    users: &UsersState<X>,
    backend: &AuthBackend<X>,
    tokens: &RefreshTokens,
    requires_verification: bool,
    req: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    users.limit_request(LimitedRoute::Refresh, &parts).await?;
    let bytes = read_bytes(body).await?;
    let obj = embedded(decode_json(&parts.headers, &bytes)?, &["refresh_token"])?;
    let mut f = Fields::new(&obj);
    let Some(token) = f
        .required_str("refresh_token")
        .filter(|_| f.errors.is_empty())
    else {
        return Err(ApiError::Validation(f.errors));
    };
    let rotated = match tokens.rotate(token).await {
        Ok(rotated) => rotated,
        Err(RefreshError::Store(e)) => return Err(StrategyError::Store(e).into()),
        // Invalid, or reuse (the family is revoked already and logged).
        Err(_) => return Err(ApiError::Unauthorized),
    };
    let user = users
        .manager()
        .store()
        .get(rotated.user_id)
        .await
        .map_err(StrategyError::Store)?;
    let eligible = user.filter(|u| u.is_active && (u.is_verified || !requires_verification));
    let Some(user) = eligible else {
        tracing::info!(
            user_id = %rotated.user_id,
            family_id = %rotated.family_id,
            "refresh for a user who is gone, inactive or unverified: session revoked"
        );
        tokens
            .revoke_family(rotated.family_id)
            .await
            .map_err(StrategyError::Store)?;
        return Err(ApiError::Unauthorized);
    };
    let access = backend
        .strategy()
        .write_session_token(&user, rotated.family_id)
        .await?;
    Ok(backend
        .transport()
        .refresh_login_response(access, rotated.token))
}
