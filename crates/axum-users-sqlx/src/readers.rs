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
