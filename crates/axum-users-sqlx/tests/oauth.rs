//! Linked OAuth accounts and spent OAuth states (migration `0003_oauth_account.sql`) on every
//! engine: the OAuth conformance suite, and a database whose `oauth_account` table FastAPI
//! Users made (its exact DDL), holding a provider account linked twice (which FastAPI Users
//! allows). The migration leaves that table exactly as it was (columns, indexes, keys: compared
//! before and after), links the row with the smallest id of each account in
//! `axum_users_oauth_link`, and from then on every row the store writes is linked, once per
//! provider account; rows FastAPI Users writes later are found and tolerated. SQLite runs on
//! fresh files; PostgreSQL (`TEST_DATABASE_URL`) and MariaDB (`TEST_MYSQL_URL`) in scratch
//! schemas/databases, skipped when the server is away unless `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::str::FromStr;
use std::time::SystemTime;

use async_trait::async_trait;
use axum_users_core::conformance::Profile;
use axum_users_core::oauth::{OAuthAccount, OAuthAccountStore, OAuthStateStore};
use axum_users_core::{StoreError, User, UserStore as _};
use axum_users_sqlx::{MySqlStore, PgStore, PoolSettings, SqliteStore, StoreKind, connect_any};
use sqlx::mysql::MySqlConnectOptions;
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, Connection as _, MySqlConnection, PgConnection};
use support::{Scratch, admin, scratch_name};
use uuid::Uuid;

#[async_trait]
impl<X, S> OAuthAccountStore<X> for Scratch<S>
where
    X: Send + Sync + 'static,
    S: OAuthAccountStore<X>,
{
    async fn get_oauth_account(
        &self,
        oauth_name: &str,
        account_id: &str,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        self.store.get_oauth_account(oauth_name, account_id).await
    }

    async fn add_oauth_account(&self, account: OAuthAccount) -> Result<OAuthAccount, StoreError> {
        self.store.add_oauth_account(account).await
    }

    async fn update_oauth_account(
        &self,
        account: OAuthAccount,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        self.store.update_oauth_account(account).await
    }

    async fn list_oauth_accounts(&self, user_id: Uuid) -> Result<Vec<OAuthAccount>, StoreError> {
        self.store.list_oauth_accounts(user_id).await
    }

    async fn delete_oauth_account(&self, id: Uuid) -> Result<bool, StoreError> {
        self.store.delete_oauth_account(id).await
    }
}

#[async_trait]
impl<S: OAuthStateStore> OAuthStateStore for Scratch<S> {
    async fn consume_oauth_state(
        &self,
        id: &str,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        self.store.consume_oauth_state(id, expires_at).await
    }
}

/// Plain SQL on the database under test, as FastAPI Users' SQLAlchemy adapter (or a person)
/// runs it: nothing of ours is written.
#[async_trait]
trait Raw: Send + Sync {
    /// Creates `user` and `oauth_account` with FastAPI Users' own DDL.
    async fn create_fastapi_users_tables(&self);
    /// Inserts a `user` row.
    async fn insert_user(&self, id: Uuid, email: &str);
    /// Inserts an `oauth_account` row as FastAPI Users' `add_oauth_account` does (no link):
    /// token `gho_legacy`, expiry 1700000000, no refresh token.
    async fn insert_row(&self, id: Uuid, user: Uuid, oauth_name: &str, account_id: &str);
    /// `oauth_account`'s definition: columns (type, nullability, default, key), indexes, keys.
    async fn oauth_account_schema(&self) -> Vec<String>;
    /// Every link: (`oauth_name`, `account_id`, `oauth_account_id`), sorted.
    async fn links(&self) -> Vec<(String, String, Uuid)>;
}

fn link(oauth_name: &str, account_id: &str, id: Uuid) -> (String, String, Uuid) {
    (oauth_name.to_owned(), account_id.to_owned(), id)
}

/// Two users, and three `oauth_account` rows as FastAPI Users writes them: `github`/`7` linked
/// to both users (the first row has the smaller id), `google`/`people/1` to the second.
struct Legacy {
    arthur: Uuid,
    mordred: Uuid,
    kept: Uuid,
    duplicate: Uuid,
    google: Uuid,
}

impl Legacy {
    fn new() -> Self {
        let mut ids = [Uuid::new_v4(), Uuid::new_v4()];
        ids.sort_by_key(|id| id.hyphenated().to_string());
        Self {
            arthur: Uuid::new_v4(),
            mordred: Uuid::new_v4(),
            kept: ids[0],
            duplicate: ids[1],
            google: Uuid::new_v4(),
        }
    }

    /// FastAPI Users' tables and rows, our migration, then [`Self::check`]: the migration must
    /// not change `oauth_account`'s definition.
    async fn adopt<S: OAuthAccountStore<()>>(
        store: &S,
        raw: &dyn Raw,
        migrate: impl AsyncFnOnce(),
    ) {
        raw.create_fastapi_users_tables().await;
        let legacy = Self::new();
        raw.insert_user(legacy.arthur, "arthur@camelot.bt").await;
        raw.insert_user(legacy.mordred, "mordred@camelot.bt").await;
        raw.insert_row(legacy.kept, legacy.arthur, "github", "7")
            .await;
        raw.insert_row(legacy.duplicate, legacy.mordred, "github", "7")
            .await;
        raw.insert_row(legacy.google, legacy.mordred, "google", "people/1")
            .await;
        let before = raw.oauth_account_schema().await;
        assert!(
            before.iter().any(|line| line.contains("account_email")),
            "{before:?}"
        );
        migrate().await;
        assert_eq!(
            raw.oauth_account_schema().await,
            before,
            "the migration changed FastAPI Users' oauth_account"
        );
        legacy.check(store, raw).await;
    }

    /// After our migration: each account resolves to its row with the smallest id, now
    /// linked; both rows of the account linked twice stay listed; new links are unique; rows
    /// FastAPI Users writes later are found and tolerated, and linked by our next update.
    async fn check<S: OAuthAccountStore<()>>(&self, store: &S, raw: &dyn Raw) {
        assert_eq!(
            raw.links().await,
            {
                let mut expected = vec![
                    link("github", "7", self.kept),
                    link("google", "people/1", self.google),
                ];
                expected.sort();
                expected
            },
            "the migration links the smallest id of each account"
        );
        let found = store
            .get_oauth_account("github", "7")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, self.kept);
        assert_eq!(found.access_token, "gho_legacy");
        assert_eq!(found.expires_at, Some(1_700_000_000));
        assert_eq!(found.refresh_token, None);
        let (user, _) = store
            .get_by_oauth_account("github", "7")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.id, self.arthur);
        assert_eq!(
            store.list_oauth_accounts(self.mordred).await.unwrap().len(),
            2
        );
        let third = OAuthAccount {
            id: Uuid::new_v4(),
            user_id: self.mordred,
            oauth_name: "github".to_owned(),
            access_token: "t".to_owned(),
            expires_at: None,
            refresh_token: None,
            account_id: "7".to_owned(),
            account_email: "mordred@camelot.bt".to_owned(),
        };
        assert!(matches!(
            store.add_oauth_account(third.clone()).await,
            Err(StoreError::Conflict)
        ));

        // A new link works, once.
        let fresh = OAuthAccount {
            id: Uuid::new_v4(),
            account_id: "8".to_owned(),
            ..third.clone()
        };
        store.add_oauth_account(fresh.clone()).await.unwrap();
        assert!(matches!(
            store
                .add_oauth_account(OAuthAccount {
                    id: Uuid::new_v4(),
                    user_id: self.arthur,
                    ..fresh.clone()
                })
                .await,
            Err(StoreError::Conflict)
        ));
        assert!(raw.links().await.contains(&link("github", "8", fresh.id)));
        // FastAPI Users links it to another user too, under a smaller id: nothing of ours
        // stops it, and the lookup keeps resolving to our linked row.
        raw.insert_row(Uuid::from_u128(1), self.arthur, "github", "8")
            .await;
        assert_eq!(
            store.get_oauth_account("github", "8").await.unwrap(),
            Some(fresh.clone())
        );

        // An account FastAPI Users links after the migration: found through its index, not
        // linked again by us, and linked once we update it (a login through it).
        let later = Uuid::new_v4();
        raw.insert_row(later, self.arthur, "github", "9").await;
        let row = store
            .get_oauth_account("github", "9")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((row.id, row.user_id), (later, self.arthur));
        assert!(matches!(
            store
                .add_oauth_account(OAuthAccount {
                    id: Uuid::new_v4(),
                    account_id: "9".to_owned(),
                    ..third.clone()
                })
                .await,
            Err(StoreError::Conflict)
        ));
        let refreshed = OAuthAccount {
            access_token: "gho_new".to_owned(),
            ..row
        };
        assert_eq!(
            store.update_oauth_account(refreshed.clone()).await.unwrap(),
            Some(refreshed)
        );
        assert!(raw.links().await.contains(&link("github", "9", later)));

        // Deleting the kept row's user deletes it and its link: the other row is the
        // account's only one now, found (so a callback logs its user in rather than linking
        // the account anew) and linked by our next update.
        assert!(store.delete(self.arthur).await.unwrap());
        let left = store
            .get_oauth_account("github", "7")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((left.id, left.user_id), (self.duplicate, self.mordred));
        assert!(
            !raw.links()
                .await
                .iter()
                .any(|(name, account, _)| name == "github" && account == "7")
        );
        store.update_oauth_account(left.clone()).await.unwrap();
        assert!(
            raw.links()
                .await
                .contains(&link("github", "7", self.duplicate))
        );
        // Unlinked, the account is free for a new link.
        assert!(store.delete_oauth_account(self.duplicate).await.unwrap());
        store
            .add_oauth_account(OAuthAccount {
                id: Uuid::new_v4(),
                ..third
            })
            .await
            .unwrap();
    }
}

mod sqlite {
    use super::*;

    fn fresh_url() -> String {
        let path = tempfile::tempdir().unwrap().keep().join("users.db");
        format!("sqlite://{}", path.display())
    }

    async fn fresh() -> SqliteStore<Profile> {
        let store = SqliteStore::connect(&fresh_url()).await.unwrap();
        store.migrate().await.unwrap();
        store
    }

    axum_users_core::oauth_store_tests!(fresh());

    /// The same suite through the store `connect_any` picks.
    mod via_connect_any {
        use super::*;

        async fn fresh() -> axum_users_sqlx::AnyUserStore<Profile> {
            let store = connect_any(&fresh_url(), PoolSettings::default())
                .await
                .unwrap();
            assert_eq!(store.kind(), StoreKind::Sqlite);
            store.migrate().await.unwrap();
            store
        }

        axum_users_core::oauth_store_tests!(fresh());
    }

    /// SQLAlchemy's DDL for fastapi-users-db-sqlalchemy 7's tables on SQLite.
    const FASTAPI_USERS_DDL: &[&str] = &[
        r#"CREATE TABLE user (id CHAR(36) NOT NULL, email VARCHAR(320) NOT NULL,
            hashed_password VARCHAR(1024) NOT NULL, is_active BOOLEAN NOT NULL,
            is_superuser BOOLEAN NOT NULL, is_verified BOOLEAN NOT NULL, PRIMARY KEY (id))"#,
        "CREATE UNIQUE INDEX ix_user_email ON user (email)",
        "CREATE TABLE oauth_account (id CHAR(36) NOT NULL, oauth_name VARCHAR(100) NOT NULL,
            access_token VARCHAR(1024) NOT NULL, expires_at INTEGER,
            refresh_token VARCHAR(1024), account_id VARCHAR(320) NOT NULL,
            account_email VARCHAR(320) NOT NULL, user_id CHAR(36) NOT NULL, PRIMARY KEY (id),
            FOREIGN KEY(user_id) REFERENCES user (id) ON DELETE cascade)",
        "CREATE INDEX ix_oauth_account_oauth_name ON oauth_account (oauth_name)",
        "CREATE INDEX ix_oauth_account_account_id ON oauth_account (account_id)",
    ];

    struct Raw(sqlx::SqlitePool);

    #[async_trait]
    impl super::Raw for Raw {
        async fn create_fastapi_users_tables(&self) {
            for &ddl in FASTAPI_USERS_DDL {
                sqlx::query(ddl).execute(&self.0).await.unwrap();
            }
        }

        async fn insert_user(&self, id: Uuid, email: &str) {
            sqlx::query("INSERT INTO user VALUES (?, ?, 'x', 1, 0, 0)")
                .bind(id.to_string())
                .bind(email)
                .execute(&self.0)
                .await
                .unwrap();
        }

        async fn insert_row(&self, id: Uuid, user: Uuid, oauth_name: &str, account_id: &str) {
            sqlx::query(
                "INSERT INTO oauth_account (id, oauth_name, access_token, expires_at,
                 refresh_token, account_id, account_email, user_id)
                 VALUES (?, ?, 'gho_legacy', 1700000000, NULL, ?, 'a@camelot.bt', ?)",
            )
            .bind(id.to_string())
            .bind(oauth_name)
            .bind(account_id)
            .bind(user.to_string())
            .execute(&self.0)
            .await
            .unwrap();
        }

        async fn oauth_account_schema(&self) -> Vec<String> {
            let mut lines: Vec<String> = sqlx::query_scalar(
                "SELECT name || ' ' || type || ' notnull=' || \"notnull\" || ' default='
                 || coalesce(dflt_value, '-') || ' pk=' || pk
                 FROM pragma_table_info('oauth_account') ORDER BY cid",
            )
            .fetch_all(&self.0)
            .await
            .unwrap();
            lines.extend(
                sqlx::query_scalar::<_, String>(
                    "SELECT type || ' ' || name || ': ' || coalesce(sql, '-') FROM sqlite_master
                     WHERE tbl_name = 'oauth_account' ORDER BY type, name",
                )
                .fetch_all(&self.0)
                .await
                .unwrap(),
            );
            lines
        }

        async fn links(&self) -> Vec<(String, String, Uuid)> {
            let rows: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT oauth_name, account_id, oauth_account_id FROM axum_users_oauth_link
                 ORDER BY oauth_name, account_id, oauth_account_id",
            )
            .fetch_all(&self.0)
            .await
            .unwrap();
            rows.into_iter()
                .map(|(name, account, id)| (name, account, id.parse().unwrap()))
                .collect()
        }
    }

    #[tokio::test]
    async fn adopts_fastapi_users_table_with_an_account_linked_twice() {
        let store = SqliteStore::<()>::connect(&fresh_url()).await.unwrap();
        let raw = Raw(store.pool().clone());
        Legacy::adopt(&store, &raw, async || store.migrate().await.unwrap()).await;
    }

    /// A link whose row another writer deleted without the cascade (FastAPI Users does not
    /// turn SQLite's foreign keys on) does not keep the account from being linked again.
    #[tokio::test]
    async fn a_dangling_link_does_not_block_the_account() {
        let store = SqliteStore::<()>::connect(&fresh_url()).await.unwrap();
        store.migrate().await.unwrap();
        let user = store
            .create(User {
                id: Uuid::new_v4(),
                email: "bors@camelot.bt".to_owned(),
                hashed_password: "x".to_owned(),
                is_active: true,
                is_superuser: false,
                is_verified: false,
                extra: (),
            })
            .await
            .unwrap();
        let account = OAuthAccount {
            id: Uuid::new_v4(),
            user_id: user.id,
            oauth_name: "github".to_owned(),
            access_token: "t".to_owned(),
            expires_at: None,
            refresh_token: None,
            account_id: "11".to_owned(),
            account_email: "bors@camelot.bt".to_owned(),
        };
        store.add_oauth_account(account.clone()).await.unwrap();
        let mut conn = store.pool().acquire().await.unwrap();
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query("DELETE FROM oauth_account WHERE id = ?")
            .bind(account.id.to_string())
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut *conn)
            .await
            .unwrap();
        drop(conn);
        assert_eq!(store.get_oauth_account("github", "11").await.unwrap(), None);
        let again = OAuthAccount {
            id: Uuid::new_v4(),
            ..account
        };
        store.add_oauth_account(again.clone()).await.unwrap();
        assert_eq!(
            store.get_oauth_account("github", "11").await.unwrap(),
            Some(again)
        );
    }
}

mod postgres {
    use super::*;

    const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

    async fn drop_schema(url: String, name: String) {
        let Ok(mut conn) = PgConnection::connect(&url).await else {
            return;
        };
        let _ = sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&name)
        .execute(&mut conn)
        .await;
        let _ = sqlx::query(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE"
        )))
        .execute(&mut conn)
        .await;
    }

    /// A store on a fresh schema, not migrated; `None` when skipping.
    async fn scratch<X>() -> Option<Scratch<PgStore<X>>> {
        let (url, mut conn) =
            admin::<PgConnection>("PostgreSQL", "TEST_DATABASE_URL", DEFAULT_URL).await?;
        let name = scratch_name();
        sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let options = PgConnectOptions::from_str(&url)
            .unwrap()
            .options([("search_path", name.as_str())])
            .application_name(&name);
        let store = PgStore::connect_with(options, PoolSettings::default())
            .await
            .unwrap();
        Some(Scratch::new(store, move || drop_schema(url, name)))
    }

    async fn fresh() -> Option<Scratch<PgStore<Profile>>> {
        let store = scratch().await?;
        store.store.migrate().await.unwrap();
        Some(store)
    }

    axum_users_core::oauth_store_tests!(std::future::ready(match fresh().await {
        Some(store) => store,
        None => return,
    }));

    struct Raw(sqlx::PgPool);

    #[async_trait]
    impl super::Raw for Raw {
        async fn create_fastapi_users_tables(&self) {
            for ddl in [
                r#"CREATE TABLE "user" (id UUID NOT NULL, email VARCHAR(320) NOT NULL,
                    hashed_password VARCHAR(1024) NOT NULL, is_active BOOLEAN NOT NULL,
                    is_superuser BOOLEAN NOT NULL, is_verified BOOLEAN NOT NULL,
                    PRIMARY KEY (id))"#,
                r#"CREATE UNIQUE INDEX ix_user_email ON "user" (email)"#,
                r#"CREATE TABLE oauth_account (id UUID NOT NULL, oauth_name VARCHAR(100) NOT NULL,
                    access_token VARCHAR(1024) NOT NULL, expires_at INTEGER,
                    refresh_token VARCHAR(1024), account_id VARCHAR(320) NOT NULL,
                    account_email VARCHAR(320) NOT NULL, user_id UUID NOT NULL,
                    PRIMARY KEY (id),
                    FOREIGN KEY(user_id) REFERENCES "user" (id) ON DELETE cascade)"#,
                "CREATE INDEX ix_oauth_account_oauth_name ON oauth_account (oauth_name)",
                "CREATE INDEX ix_oauth_account_account_id ON oauth_account (account_id)",
            ] {
                sqlx::query(ddl).execute(&self.0).await.unwrap();
            }
        }

        async fn insert_user(&self, id: Uuid, email: &str) {
            sqlx::query(r#"INSERT INTO "user" VALUES ($1, $2, 'x', true, false, false)"#)
                .bind(id)
                .bind(email)
                .execute(&self.0)
                .await
                .unwrap();
        }

        async fn insert_row(&self, id: Uuid, user: Uuid, oauth_name: &str, account_id: &str) {
            sqlx::query(
                "INSERT INTO oauth_account (id, oauth_name, access_token, expires_at,
                 refresh_token, account_id, account_email, user_id)
                 VALUES ($1, $2, 'gho_legacy', 1700000000, NULL, $3, 'a@camelot.bt', $4)",
            )
            .bind(id)
            .bind(oauth_name)
            .bind(account_id)
            .bind(user)
            .execute(&self.0)
            .await
            .unwrap();
        }

        async fn oauth_account_schema(&self) -> Vec<String> {
            let mut lines = Vec::new();
            for query in [
                "SELECT column_name || ' ' || data_type || ' '
                 || coalesce(character_maximum_length::text, '-') || ' nullable=' || is_nullable
                 || ' default=' || coalesce(column_default, '-')
                 FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = 'oauth_account'
                 ORDER BY ordinal_position",
                "SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes
                 WHERE schemaname = current_schema() AND tablename = 'oauth_account'
                 ORDER BY indexname",
                "SELECT 'constraint ' || conname || ': ' || pg_get_constraintdef(oid)
                 FROM pg_constraint WHERE conrelid = 'oauth_account'::regclass ORDER BY conname",
                "SELECT 'trigger ' || tgname FROM pg_trigger
                 WHERE tgrelid = 'oauth_account'::regclass AND NOT tgisinternal ORDER BY tgname",
            ] {
                lines.extend(
                    sqlx::query_scalar::<_, String>(query)
                        .fetch_all(&self.0)
                        .await
                        .unwrap(),
                );
            }
            lines
        }

        async fn links(&self) -> Vec<(String, String, Uuid)> {
            sqlx::query_as(
                "SELECT oauth_name, account_id, oauth_account_id FROM axum_users_oauth_link
                 ORDER BY oauth_name, account_id, oauth_account_id",
            )
            .fetch_all(&self.0)
            .await
            .unwrap()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn adopts_fastapi_users_table_with_an_account_linked_twice() {
        let Some(store) = scratch::<()>().await else {
            return;
        };
        let raw = Raw(store.store.pool().clone());
        Legacy::adopt(&store, &raw, async || store.store.migrate().await.unwrap()).await;
    }
}

mod mysql {
    use super::*;

    const DEFAULT_URL: &str = "mysql://root@127.0.0.1:3306/test";

    async fn drop_database(url: String, name: String) {
        let Ok(mut conn) = MySqlConnection::connect(&url).await else {
            return;
        };
        let ids: Vec<u64> = sqlx::query_scalar(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
        )
        .bind(&name)
        .fetch_all(&mut conn)
        .await
        .unwrap_or_default();
        for id in ids {
            let _ = sqlx::query(AssertSqlSafe(format!("KILL CONNECTION {id}")))
                .execute(&mut conn)
                .await;
        }
        let _ = sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
            .execute(&mut conn)
            .await;
    }

    /// A store on a fresh database (the server's default collation, case-insensitive here),
    /// not migrated; `None` when skipping.
    async fn scratch<X>() -> Option<Scratch<MySqlStore<X>>> {
        let (url, mut conn) =
            admin::<MySqlConnection>("MariaDB", "TEST_MYSQL_URL", DEFAULT_URL).await?;
        let name = scratch_name();
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let options = MySqlConnectOptions::from_str(&url).unwrap().database(&name);
        let store = MySqlStore::connect_with(options, PoolSettings::default())
            .await
            .unwrap();
        Some(Scratch::new(store, move || drop_database(url, name)))
    }

    async fn fresh() -> Option<Scratch<MySqlStore<Profile>>> {
        let store = scratch().await?;
        store.store.migrate().await.unwrap();
        Some(store)
    }

    axum_users_core::oauth_store_tests!(std::future::ready(match fresh().await {
        Some(store) => store,
        None => return,
    }));

    struct Raw(sqlx::MySqlPool);

    #[async_trait]
    impl super::Raw for Raw {
        async fn create_fastapi_users_tables(&self) {
            for ddl in [
                "CREATE TABLE `user` (id CHAR(36) NOT NULL, email VARCHAR(320) NOT NULL,
                    hashed_password VARCHAR(1024) NOT NULL, is_active BOOL NOT NULL,
                    is_superuser BOOL NOT NULL, is_verified BOOL NOT NULL, PRIMARY KEY (id),
                    UNIQUE INDEX ix_user_email (email))",
                "CREATE TABLE oauth_account (id CHAR(36) NOT NULL,
                    oauth_name VARCHAR(100) NOT NULL, access_token VARCHAR(1024) NOT NULL,
                    expires_at INTEGER, refresh_token VARCHAR(1024),
                    account_id VARCHAR(320) NOT NULL, account_email VARCHAR(320) NOT NULL,
                    user_id CHAR(36) NOT NULL, PRIMARY KEY (id),
                    FOREIGN KEY(user_id) REFERENCES `user` (id) ON DELETE cascade,
                    INDEX ix_oauth_account_oauth_name (oauth_name),
                    INDEX ix_oauth_account_account_id (account_id))",
            ] {
                sqlx::query(ddl).execute(&self.0).await.unwrap();
            }
        }

        async fn insert_user(&self, id: Uuid, email: &str) {
            sqlx::query("INSERT INTO `user` VALUES (?, ?, 'x', 1, 0, 0)")
                .bind(id.to_string())
                .bind(email)
                .execute(&self.0)
                .await
                .unwrap();
        }

        async fn insert_row(&self, id: Uuid, user: Uuid, oauth_name: &str, account_id: &str) {
            sqlx::query(
                "INSERT INTO oauth_account (id, oauth_name, access_token, expires_at,
                 refresh_token, account_id, account_email, user_id)
                 VALUES (?, ?, 'gho_legacy', 1700000000, NULL, ?, 'a@camelot.bt', ?)",
            )
            .bind(id.to_string())
            .bind(oauth_name)
            .bind(account_id)
            .bind(user.to_string())
            .execute(&self.0)
            .await
            .unwrap();
        }

        async fn oauth_account_schema(&self) -> Vec<String> {
            // The whole definition: columns, indexes, keys, engine, charset.
            let (_, create): (String, String) = sqlx::query_as("SHOW CREATE TABLE oauth_account")
                .fetch_one(&self.0)
                .await
                .unwrap();
            let mut lines: Vec<String> = create.lines().map(str::to_owned).collect();
            lines.extend(
                sqlx::query_scalar::<_, String>(
                    "SELECT CONCAT('trigger ', TRIGGER_NAME) FROM information_schema.TRIGGERS
                     WHERE EVENT_OBJECT_SCHEMA = DATABASE()
                     AND EVENT_OBJECT_TABLE = 'oauth_account' ORDER BY TRIGGER_NAME",
                )
                .fetch_all(&self.0)
                .await
                .unwrap(),
            );
            lines
        }

        async fn links(&self) -> Vec<(String, String, Uuid)> {
            let rows: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT oauth_name, account_id, oauth_account_id FROM axum_users_oauth_link",
            )
            .fetch_all(&self.0)
            .await
            .unwrap();
            let mut links: Vec<_> = rows
                .into_iter()
                .map(|(name, account, id)| (name, account, id.parse().unwrap()))
                .collect();
            links.sort();
            links
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn adopts_fastapi_users_table_with_an_account_linked_twice() {
        let Some(store) = scratch::<()>().await else {
            return;
        };
        let raw = Raw(store.store.pool().clone());
        Legacy::adopt(&store, &raw, async || store.store.migrate().await.unwrap()).await;
        // Lookups compare bytes: under this case-insensitive collation, `GitHub`/`7` is not
        // `github`/`7`.
        assert_eq!(store.get_oauth_account("GitHub", "7").await.unwrap(), None);
        // The link's key compares bytes too: provider ids that differ only in case are two
        // accounts, each linked once.
        let mordred = store
            .get_by_email("mordred@camelot.bt")
            .await
            .unwrap()
            .unwrap();
        let account = |account_id: &str| OAuthAccount {
            id: Uuid::new_v4(),
            user_id: mordred.id,
            oauth_name: "gitlab".to_owned(),
            access_token: "t".to_owned(),
            expires_at: None,
            refresh_token: None,
            account_id: account_id.to_owned(),
            account_email: "mordred@camelot.bt".to_owned(),
        };
        let upper = account("AbC");
        let lower = account("abc");
        store.add_oauth_account(upper.clone()).await.unwrap();
        store.add_oauth_account(lower.clone()).await.unwrap();
        assert!(matches!(
            store.add_oauth_account(account("abc")).await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(
            store.get_oauth_account("gitlab", "AbC").await.unwrap(),
            Some(upper)
        );
        assert_eq!(
            store.get_oauth_account("gitlab", "abc").await.unwrap(),
            Some(lower)
        );
        assert_eq!(
            store.get_oauth_account("gitlab", "ABC").await.unwrap(),
            None
        );
    }
}
