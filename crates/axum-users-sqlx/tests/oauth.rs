//! Linked OAuth accounts and spent OAuth states (migration `0003_oauth_account.sql`) on every
//! engine: the OAuth conformance suite, and a database whose `oauth_account` table FastAPI
//! Users made, holding a provider account linked twice (which FastAPI Users allows): the
//! migration keeps both rows, marks the later one, and from then on the account is linked
//! once. SQLite runs on fresh files; PostgreSQL (`TEST_DATABASE_URL`) and MariaDB
//! (`TEST_MYSQL_URL`) in scratch schemas/databases, skipped when the server is away unless
//! `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::str::FromStr;
use std::time::SystemTime;

use async_trait::async_trait;
use axum_users_core::StoreError;
use axum_users_core::conformance::Profile;
use axum_users_core::oauth::{OAuthAccount, OAuthAccountStore, OAuthStateStore};
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

/// Two users, and three `oauth_account` rows as FastAPI Users writes them: `github`/`7` linked
/// to both users (the first row has the smaller id), `google`/`people/1` to the second.
struct Legacy {
    arthur: Uuid,
    mordred: Uuid,
    kept: Uuid,
    duplicate: Uuid,
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
        }
    }

    /// `(id, user_id, oauth_name, account_id)` of each row.
    fn rows(&self) -> [(Uuid, Uuid, &'static str, &'static str); 3] {
        [
            (self.kept, self.arthur, "github", "7"),
            (self.duplicate, self.mordred, "github", "7"),
            (Uuid::new_v4(), self.mordred, "google", "people/1"),
        ]
    }

    /// After our migration: the account resolves to the kept row, both rows are still listed,
    /// a third link is refused, a new account links once, and once the kept row's user is
    /// deleted the account resolves to the marked row.
    async fn check<S: OAuthAccountStore<()>>(&self, store: &S) {
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
        let fresh = OAuthAccount {
            id: Uuid::new_v4(),
            account_id: "8".to_owned(),
            ..third
        };
        store.add_oauth_account(fresh.clone()).await.unwrap();
        assert!(matches!(
            store
                .add_oauth_account(OAuthAccount {
                    id: Uuid::new_v4(),
                    ..fresh
                })
                .await,
            Err(StoreError::Conflict)
        ));
        assert!(store.delete(self.arthur).await.unwrap());
        let left = store
            .get_oauth_account("github", "7")
            .await
            .unwrap()
            .unwrap();
        // The marked row is the account's only link now: lookups find it (so a callback logs
        // its user in rather than linking the account anew).
        assert_eq!(left.id, self.duplicate);
        assert_eq!(left.user_id, self.mordred);
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

    #[tokio::test]
    async fn adopts_fastapi_users_table_with_an_account_linked_twice() {
        let store = SqliteStore::<()>::connect(&fresh_url()).await.unwrap();
        let pool = store.pool().clone();
        for &ddl in FASTAPI_USERS_DDL {
            sqlx::query(ddl).execute(&pool).await.unwrap();
        }
        let legacy = Legacy::new();
        for (id, email) in [
            (legacy.arthur, "arthur@camelot.bt"),
            (legacy.mordred, "mordred@camelot.bt"),
        ] {
            sqlx::query("INSERT INTO user VALUES (?, ?, 'x', 1, 0, 0)")
                .bind(id.to_string())
                .bind(email)
                .execute(&pool)
                .await
                .unwrap();
        }
        for (id, user, name, account) in legacy.rows() {
            sqlx::query(
                "INSERT INTO oauth_account (id, oauth_name, access_token, expires_at,
                 refresh_token, account_id, account_email, user_id)
                 VALUES (?, ?, 'gho_legacy', 1700000000, NULL, ?, 'a@camelot.bt', ?)",
            )
            .bind(id.to_string())
            .bind(name)
            .bind(account)
            .bind(user.to_string())
            .execute(&pool)
            .await
            .unwrap();
        }
        store.migrate().await.unwrap();
        legacy.check(&store).await;
        // FastAPI Users' own INSERT (without our column) is held to the same rule.
        let again = sqlx::query(
            "INSERT INTO oauth_account (id, oauth_name, access_token, expires_at, refresh_token,
             account_id, account_email, user_id) VALUES (?, 'google', 't', NULL, NULL,
             'people/1', 'm@camelot.bt', ?)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(legacy.mordred.to_string())
        .execute(&pool)
        .await;
        assert!(again.is_err(), "a second link by FastAPI Users is refused");
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn adopts_fastapi_users_table_with_an_account_linked_twice() {
        let Some(store) = scratch::<()>().await else {
            return;
        };
        let pool = store.store.pool().clone();
        for ddl in [
            r#"CREATE TABLE "user" (id UUID NOT NULL, email VARCHAR(320) NOT NULL,
                hashed_password VARCHAR(1024) NOT NULL, is_active BOOLEAN NOT NULL,
                is_superuser BOOLEAN NOT NULL, is_verified BOOLEAN NOT NULL, PRIMARY KEY (id))"#,
            r#"CREATE UNIQUE INDEX ix_user_email ON "user" (email)"#,
            r#"CREATE TABLE oauth_account (id UUID NOT NULL, oauth_name VARCHAR(100) NOT NULL,
                access_token VARCHAR(1024) NOT NULL, expires_at INTEGER,
                refresh_token VARCHAR(1024), account_id VARCHAR(320) NOT NULL,
                account_email VARCHAR(320) NOT NULL, user_id UUID NOT NULL, PRIMARY KEY (id),
                FOREIGN KEY(user_id) REFERENCES "user" (id) ON DELETE cascade)"#,
            "CREATE INDEX ix_oauth_account_oauth_name ON oauth_account (oauth_name)",
            "CREATE INDEX ix_oauth_account_account_id ON oauth_account (account_id)",
        ] {
            sqlx::query(ddl).execute(&pool).await.unwrap();
        }
        let legacy = Legacy::new();
        for (id, email) in [
            (legacy.arthur, "arthur@camelot.bt"),
            (legacy.mordred, "mordred@camelot.bt"),
        ] {
            sqlx::query(r#"INSERT INTO "user" VALUES ($1, $2, 'x', true, false, false)"#)
                .bind(id)
                .bind(email)
                .execute(&pool)
                .await
                .unwrap();
        }
        for (id, user, name, account) in legacy.rows() {
            sqlx::query(
                "INSERT INTO oauth_account (id, oauth_name, access_token, expires_at,
                 refresh_token, account_id, account_email, user_id)
                 VALUES ($1, $2, 'gho_legacy', 1700000000, NULL, $3, 'a@camelot.bt', $4)",
            )
            .bind(id)
            .bind(name)
            .bind(account)
            .bind(user)
            .execute(&pool)
            .await
            .unwrap();
        }
        store.store.migrate().await.unwrap();
        legacy.check(&store).await;
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn adopts_fastapi_users_table_with_an_account_linked_twice() {
        let Some(store) = scratch::<()>().await else {
            return;
        };
        let pool = store.store.pool().clone();
        for ddl in [
            "CREATE TABLE `user` (id CHAR(36) NOT NULL, email VARCHAR(320) NOT NULL,
                hashed_password VARCHAR(1024) NOT NULL, is_active BOOL NOT NULL,
                is_superuser BOOL NOT NULL, is_verified BOOL NOT NULL, PRIMARY KEY (id),
                UNIQUE INDEX ix_user_email (email))",
            "CREATE TABLE oauth_account (id CHAR(36) NOT NULL, oauth_name VARCHAR(100) NOT NULL,
                access_token VARCHAR(1024) NOT NULL, expires_at INTEGER,
                refresh_token VARCHAR(1024), account_id VARCHAR(320) NOT NULL,
                account_email VARCHAR(320) NOT NULL, user_id CHAR(36) NOT NULL,
                PRIMARY KEY (id), FOREIGN KEY(user_id) REFERENCES `user` (id) ON DELETE cascade,
                INDEX ix_oauth_account_oauth_name (oauth_name),
                INDEX ix_oauth_account_account_id (account_id))",
        ] {
            sqlx::query(ddl).execute(&pool).await.unwrap();
        }
        let legacy = Legacy::new();
        for (id, email) in [
            (legacy.arthur, "arthur@camelot.bt"),
            (legacy.mordred, "mordred@camelot.bt"),
        ] {
            sqlx::query("INSERT INTO `user` VALUES (?, ?, 'x', 1, 0, 0)")
                .bind(id.to_string())
                .bind(email)
                .execute(&pool)
                .await
                .unwrap();
        }
        for (id, user, name, account) in legacy.rows() {
            sqlx::query(
                "INSERT INTO oauth_account (id, oauth_name, access_token, expires_at,
                 refresh_token, account_id, account_email, user_id)
                 VALUES (?, ?, 'gho_legacy', 1700000000, NULL, ?, 'a@camelot.bt', ?)",
            )
            .bind(id.to_string())
            .bind(name)
            .bind(account)
            .bind(user.to_string())
            .execute(&pool)
            .await
            .unwrap();
        }
        store.store.migrate().await.unwrap();
        legacy.check(&store).await;
        // Lookups compare bytes: under this case-insensitive collation, `GitHub`/`7` is not
        // `github`/`7`.
        assert_eq!(store.get_oauth_account("GitHub", "7").await.unwrap(), None);
    }
}
