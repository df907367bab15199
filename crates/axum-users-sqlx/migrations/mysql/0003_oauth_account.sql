-- The `oauth_account` table of fastapi-users-db-sqlalchemy 7 (SQLAlchemyBaseOAuthAccountTableUUID)
-- on MySQL/MariaDB, with its own two indexes and nothing else, so an existing FastAPI Users
-- database is served as it is (IF NOT EXISTS leaves it untouched). Indexes are declared in the
-- table because MySQL has no CREATE INDEX IF NOT EXISTS; InnoDB indexes `user_id` for the
-- foreign key by itself.
CREATE TABLE IF NOT EXISTS oauth_account (
    id CHAR(36) NOT NULL,
    oauth_name VARCHAR(100) NOT NULL,
    access_token VARCHAR(1024) NOT NULL,
    expires_at INTEGER,
    refresh_token VARCHAR(1024),
    account_id VARCHAR(320) NOT NULL,
    account_email VARCHAR(320) NOT NULL,
    user_id CHAR(36) NOT NULL,
    PRIMARY KEY (id),
    INDEX ix_oauth_account_oauth_name (oauth_name),
    INDEX ix_oauth_account_account_id (account_id),
    FOREIGN KEY (user_id) REFERENCES `user` (id) ON DELETE CASCADE
) ENGINE = InnoDB;

-- Ours, in a table of its own (FastAPI Users' table keeps its exact schema): a provider account
-- is linked to one user at most. Every row axum-users inserts into or updates in
-- `oauth_account` gets its link here, in the same transaction; the primary key refuses a
-- second link of one (oauth_name, account_id), so the database holds that rule for every row
-- we write. Rows FastAPI Users writes have no link until axum-users updates them (a login
-- through that account); an account it linked to several users keeps all its rows. Lookups
-- prefer the linked row, then the row with the smallest id. Deleting an `oauth_account` row
-- (or its user) deletes its link.
--
-- The pair is `utf8mb4_bin`, so it is unique on bytes whatever `oauth_account`'s collation (two
-- provider ids that differ only in case are two accounts); `oauth_account_id` takes the
-- database's default character set and collation, as `oauth_account.id` does (a foreign key
-- needs both the same).
CREATE TABLE IF NOT EXISTS axum_users_oauth_link (
    oauth_name VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    account_id VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    oauth_account_id CHAR(36) NOT NULL,
    PRIMARY KEY (oauth_name, account_id),
    UNIQUE INDEX axum_users_oauth_link_oauth_account_id (oauth_account_id),
    CONSTRAINT axum_users_oauth_link_oauth_account_id_fkey
        FOREIGN KEY (oauth_account_id) REFERENCES oauth_account (id) ON DELETE CASCADE
) ENGINE = InnoDB;
-- The rows already there: each (oauth_name, account_id), told apart on bytes as the link's key
-- does, links its row with the smallest id (ids are random, so no row is the oldest; this one
-- is deterministic). MySQL's DDL is not transactional, so this migration may be run again
-- after a failure: IGNORE keeps a pair already linked as it is.
INSERT IGNORE INTO axum_users_oauth_link (oauth_name, account_id, oauth_account_id)
    SELECT oauth_name, account_id, id FROM (
        SELECT oauth_name, account_id, id, ROW_NUMBER() OVER (
            PARTITION BY CAST(oauth_name AS BINARY), CAST(account_id AS BINARY)
            ORDER BY id) AS n
        FROM oauth_account) AS ranked
    WHERE n = 1;

-- Ours: spent OAuth states (each is good once), until they expire (seconds since the epoch).
CREATE TABLE IF NOT EXISTS axum_users_oauth_state (
    id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (id),
    INDEX axum_users_oauth_state_expires_at (expires_at)
) ENGINE = InnoDB;
