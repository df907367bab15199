//! Where a database's schema stands against the migrations this build embeds: a database
//! migrated by a newer axum-users is refused with [`SqlStoreError::NewerSchema`], whether the
//! store migrates ([`migrate`](crate::AnyUserStore::migrate)) or not
//! ([`schema_version`](crate::AnyUserStore::schema_version) + [`SchemaVersion::check`]).

use sqlx::migrate::{MigrateError, Migrator};

use crate::SqlStoreError;

/// The highest migration recorded (sqlx's table; the same SQL on every engine).
pub(crate) const LATEST_APPLIED: &str = "SELECT MAX(version) FROM _sqlx_migrations";

/// Where a database's schema stands against the migrations this build embeds.
///
/// ```
/// use axum_users_sqlx::SchemaVersion;
///
/// let v = SchemaVersion { applied: Some(7), known: 4 };
/// assert!(v.is_newer());
/// assert_eq!(
///     v.check().unwrap_err().to_string(),
///     "database schema is at migration 7, newer than this build of axum-users knows (4): \
///      upgrade axum-users"
/// );
/// assert!(SchemaVersion { applied: None, known: 4 }.is_behind());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaVersion {
    /// The highest migration recorded in the database (`_sqlx_migrations`); `None` for a
    /// database never migrated.
    pub applied: Option<i64>,
    /// The highest migration this build embeds.
    pub known: i64,
}

impl SchemaVersion {
    /// Whether a newer build migrated the database (it holds migrations this build lacks).
    #[must_use]
    pub fn is_newer(&self) -> bool {
        self.applied.is_some_and(|applied| applied > self.known)
    }

    /// Whether migrations of this build are still to be applied.
    #[must_use]
    pub fn is_behind(&self) -> bool {
        self.applied.is_none_or(|applied| applied < self.known)
    }

    /// Itself, unless the database is newer than this build.
    ///
    /// # Errors
    /// [`SqlStoreError::NewerSchema`] when [`is_newer`](Self::is_newer).
    pub fn check(self) -> Result<Self, SqlStoreError> {
        match self.applied {
            Some(applied) if self.is_newer() => Err(SqlStoreError::NewerSchema {
                applied,
                known: self.known,
            }),
            _ => Ok(self),
        }
    }
}

/// The highest migration a migrator embeds.
pub(crate) fn known(migrator: &Migrator) -> i64 {
    migrator.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The error of a failed `Migrator::run`. sqlx reports a recorded migration it does not
/// embed as `VersionMissing` (the lowest such version); when that version is beyond every
/// embedded one, a newer build migrated the database, said so plainly with the highest
/// recorded version (`latest`, when it could be read).
pub(crate) fn migrate_error(
    e: MigrateError,
    migrator: &Migrator,
    latest: Option<i64>,
) -> SqlStoreError {
    let known = known(migrator);
    match e {
        MigrateError::VersionMissing(version) if version > known => SqlStoreError::NewerSchema {
            applied: latest.map_or(version, |latest| latest.max(version)),
            known,
        },
        other => SqlStoreError::Migrate(other),
    }
}
