//! `GET /.well-known/jwks.json`: the public keys access tokens are signed with.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum_users_core::JwtCodec;

/// `GET /.well-known/jwks.json`: the codec's public keys (current and retired) as a JWK Set,
/// so other services verify access tokens offline. Mount it only for asymmetric keys: an HS256
/// codec publishes an empty set (its secret is never shown).
///
/// ```
/// use axum::Router;
/// use axum_users::jwks_router;
/// use axum_users_core::{JwtAlgorithm, JwtCodec};
/// # let pem = include_bytes!("../../../axum-users-core/tests/keys/ec.pem");
/// let codec = JwtCodec::from_private_pem(JwtAlgorithm::ES256, pem).unwrap();
/// let app: Router = Router::new().merge(jwks_router(&codec));
/// ```
pub fn jwks_router<S>(codec: &JwtCodec) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let body = serde_json::to_vec(&codec.jwks()).unwrap_or_else(|_| b"{\"keys\":[]}".to_vec());
    let body = bytes::Bytes::from(body);
    Router::new()
        .route(
            "/.well-known/jwks.json",
            get(move || {
                let body = body.clone();
                async move {
                    (
                        [
                            (
                                header::CONTENT_TYPE,
                                HeaderValue::from_static("application/json"),
                            ),
                            (
                                header::CACHE_CONTROL,
                                HeaderValue::from_static("public, max-age=300"),
                            ),
                        ],
                        body,
                    )
                        .into_response()
                }
            }),
        )
        .method_not_allowed_fallback(super::method_not_allowed)
}
