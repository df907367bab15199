//! [`Readers`]: the lookups on every request's path (`get` for `GET /users/me`,
//! `get_by_email` for login), run on the calling thread on a few read-only SQLite connections.
//!
//! A sqlx SQLite connection runs on a thread of its own, and every command is a round trip to
//! it: a channel send, a thread wake-up, a reply, another wake-up. Through the pool a lookup
//! costs three of them (a ping when the connection is acquired, the query, a ping when it is
//! returned). Profiled under load, those hand-offs were most of `/users/me`'s CPU time, while
//! the lookup itself (a primary-key or unique-index probe with the pages in SQLite's cache)
//! takes a few microseconds. So the store answers these two queries directly, through
//! `rusqlite` on the same linked SQLite library, without leaving the thread.
//!
//! What keeps this from stalling the executor:
//! - the connections are **read-only** and run single `SELECT`s in autocommit mode: in WAL mode
//!   a reader never waits for a writer, and each lookup is its own read transaction, so it sees
//!   every transaction committed before it, whichever connection wrote it;
//! - their **busy timeout is zero**: whatever would make SQLite wait (a WAL index being
//!   recovered, an exclusive lock taken by another program) is an error at once;
//! - a connection is taken with `try_lock` only: when every reader is in use, or on **any**
//!   error, the caller runs the same query through the pool ([`Readers::lookup`] answers
//!   `None`), so errors and edge cases are reported exactly as before.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use axum_users_core::{StoreError, User, UserExtra};
use rusqlite::{Connection, OpenFlags, OptionalExtension as _};

use crate::extra::{parse_id, read_extra};

/// A user row as read: id, email, hashed_password, is_active, is_superuser, is_verified, data.
type RawUser = (String, String, String, bool, bool, bool, Option<String>);

/// Read-only connections for single-row lookups on the calling thread.
pub(crate) struct Readers {
    conns: Box<[Mutex<Connection>]>,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("connections", &self.conns.len())
            .finish()
    }
}

impl Readers {
    /// Opens `n` (at least one) read-only connections to the database file at `path`, which
    /// must exist and be in WAL mode already (the pool's connections see to both).
    pub(crate) fn open(path: &Path, n: usize) -> rusqlite::Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conns = (0..n.max(1))
            .map(|_| {
                let conn = Connection::open_with_flags(path, flags)?;
                conn.busy_timeout(Duration::ZERO)?;
                Ok(Mutex::new(conn))
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Self {
            conns: conns.into_boxed_slice(),
        })
    }

    /// Runs a user query (`sql`, one text parameter, the store's seven columns) on a free
    /// reader. `None`: no reader was free or SQLite reported an error; run it through the
    /// pool instead.
    pub(crate) fn lookup<X: UserExtra>(
        &self,
        sql: &'static str,
        param: &str,
    ) -> Option<Result<Option<User<X>>, StoreError>> {
        let conn = self.conns.iter().find_map(|c| c.try_lock().ok())?;
        let row = conn.prepare_cached(sql).and_then(|mut statement| {
            statement
                .query_row([param], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })
                .optional()
        });
        drop(conn);
        match row {
            Ok(row) => Some(row.map(to_user).transpose()),
            Err(error) => {
                tracing::debug!(%error, "SQLite reader failed; using the pool");
                None
            }
        }
    }
}

fn to_user<X: UserExtra>(row: RawUser) -> Result<User<X>, StoreError> {
    let (id, email, hashed_password, is_active, is_superuser, is_verified, data) = row;
    Ok(User {
        id: parse_id(&id)?,
        email,
        hashed_password,
        is_active,
        is_superuser,
        is_verified,
        extra: read_extra(data.as_deref())?,
    })
}

#[cfg(test)]
mod tests {
    use axum_users_core::UserStore as _;

    use super::*;
    use crate::SqliteStore;

    const BY_EMAIL: &str = r#"SELECT u.id, u.email, u.hashed_password, u.is_active,
        u.is_superuser, u.is_verified, x.data FROM "user" u
        LEFT JOIN axum_users_user_extra x ON x.user_id = u.id
        WHERE lower(u.email) = lower(?1)"#;

    #[tokio::test]
    async fn reads_inline_and_steps_aside_when_busy_or_failing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.db");
        let store = SqliteStore::<()>::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let user = User {
            id: uuid::Uuid::new_v4(),
            email: "Lancelot@camelot.bt".to_owned(),
            hashed_password: "h".to_owned(),
            is_active: true,
            is_superuser: false,
            is_verified: true,
            extra: (),
        };
        store.create(user.clone()).await.unwrap();

        let readers = Readers::open(&path, 1).unwrap();
        // A write committed through the pool is seen at once, case-insensitively.
        let found = readers.lookup::<()>(BY_EMAIL, "lancelot@CAMELOT.bt");
        assert_eq!(found.unwrap().unwrap(), Some(user.clone()));
        assert_eq!(
            readers
                .lookup::<()>(BY_EMAIL, "nobody@camelot.bt")
                .unwrap()
                .unwrap(),
            None
        );
        // Every connection busy: the caller is sent to the pool.
        let held = readers.conns[0].lock().unwrap();
        assert!(
            readers
                .lookup::<()>(BY_EMAIL, "lancelot@camelot.bt")
                .is_none()
        );
        drop(held);
        // An SQLite error (here: no such table) also sends the caller to the pool.
        assert!(
            readers
                .lookup::<()>("SELECT * FROM nowhere WHERE x = ?1", "x")
                .is_none()
        );
        // The store answers through its own readers or the pool alike.
        assert_eq!(store.get(user.id).await.unwrap(), Some(user));
    }

    #[test]
    fn a_missing_file_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Readers::open(&dir.path().join("absent.db"), 1).is_err());
        assert!(!dir.path().join("absent.db").exists());
    }
}
