//! Extractors that guard handlers: [`CurrentUser`], [`VerifiedUser`], [`Superuser`] and
//! [`AuthenticatedUser`], each also usable as `Option<_>` (which is `None` wherever the plain
//! extractor would refuse).

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum_users_core::{User, UserExtra};

use crate::authenticator::Requirement;
use crate::error::ApiError;
use crate::state::UsersState;

macro_rules! user_extractor {
    ($(#[$doc:meta])* $name:ident, $req:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name<X = ()>(pub User<X>);

        impl<X, S> FromRequestParts<S> for $name<X>
        where
            X: UserExtra,
            S: Send + Sync,
            UsersState<X>: FromRef<S>,
        {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
                let users = UsersState::<X>::from_ref(state);
                Ok(Self(users.authorize(parts, $req).await?.user))
            }
        }

        impl<X, S> OptionalFromRequestParts<S> for $name<X>
        where
            X: UserExtra,
            S: Send + Sync,
            UsersState<X>: FromRef<S>,
        {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &S,
            ) -> Result<Option<Self>, ApiError> {
                let users = UsersState::<X>::from_ref(state);
                match users.authorize(parts, $req).await {
                    Ok(auth) => Ok(Some(Self(auth.user))),
                    Err(ApiError::Unauthorized | ApiError::Forbidden) => Ok(None),
                    Err(other) => Err(other),
                }
            }
        }

        impl<X> std::ops::Deref for $name<X> {
            type Target = User<X>;
            fn deref(&self) -> &User<X> {
                &self.0
            }
        }
    };
}

user_extractor!(
    /// An authenticated, active user; otherwise 401.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use axum_users::{CurrentUser, UsersState};
    ///
    /// async fn hello(CurrentUser(user): CurrentUser) -> String {
    ///     format!("Hello, {}", user.email)
    /// }
    /// let app: Router<UsersState> = Router::new().route("/hello", get(hello));
    /// ```
    CurrentUser,
    Requirement::ACTIVE
);
user_extractor!(
    /// An authenticated, active, verified user; 401 or 403 otherwise.
    VerifiedUser,
    Requirement::ACTIVE.verified_if(true)
);
user_extractor!(
    /// An authenticated, active superuser; 401 or 403 otherwise.
    Superuser,
    Requirement::ACTIVE.superuser()
);
user_extractor!(
    /// Any authenticated user, inactive ones included; 401 otherwise.
    AuthenticatedUser,
    Requirement::default()
);
