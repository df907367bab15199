//! Picking a store from the database URL's scheme.

use crate::config::ConfigError;

/// The engines the server can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// `sqlite:` URLs (the embedded default).
    Sqlite,
}

impl DatabaseKind {
    /// The kind a URL names.
    ///
    /// # Errors
    /// A [`ConfigError`] on `AXUM_USERS_DATABASE_URL` for an unknown scheme.
    pub fn from_url(url: &str) -> Result<Self, ConfigError> {
        let setting = "AXUM_USERS_DATABASE_URL";
        let Some((scheme, _)) = url.split_once(':') else {
            return Err(ConfigError::new(
                setting,
                format!("{url:?} is not a database URL (expected e.g. sqlite://axum-users.db)"),
            ));
        };
        match scheme {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" | "mysql" | "mariadb" => Err(ConfigError::new(
                setting,
                format!("{scheme}: is not supported by this build yet (only sqlite:)"),
            )),
            _ => Err(ConfigError::new(
                setting,
                format!("unknown scheme {scheme:?} in {url:?} (expected sqlite:)"),
            )),
        }
    }
}
