//! Scenario (e), the floor: a bare axum server whose `GET /users/me` returns a constant JSON
//! body of the size of a real `UserRead`, with no authentication, no database and no layers.
//! Whatever `/users/me` costs above this is axum-users' own work.
//!
//! Usage: `floor [ADDR]` (default 127.0.0.1:8300). Runs until killed.

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;

const BODY: &str = r#"{"id":"5f0d6c1e-8a4b-4c3e-9f51-2b7f0c6a9d10","email":"user0@bench.example","is_active":true,"is_superuser":false,"is_verified":false}"#;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8300".to_owned());
    let app = Router::new().route(
        "/users/me",
        get(|| async { ([(CONTENT_TYPE, "application/json")], BODY) }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("floor listening on {addr}");
    axum::serve(listener, app).await
}
