-- The `oauth_account` table of fastapi-users-db-sqlalchemy 7 (SQLAlchemyBaseOAuthAccountTableUUID)
-- on MySQL/MariaDB, so an existing FastAPI Users database is served as it is (IF NOT EXISTS
-- leaves it untouched). Indexes are declared in the table because MySQL has no CREATE INDEX IF
-- NOT EXISTS; InnoDB indexes `user_id` for the foreign key by itself.
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

-- Ours: a provider account is linked to one user at most (FastAPI Users does not check, so an
-- existing database may hold duplicates). Rows of a pair (oauth_name, account_id) beyond the
-- first (smallest id) are marked with their own id in `axum_users_legacy_duplicate`; every
-- other row, FastAPI Users' future ones included (the column defaults to ''), is unique on
-- the pair. Lookups prefer the unmarked row and compare the pair on bytes, whatever the
-- table's collation.
ALTER TABLE oauth_account
    ADD COLUMN axum_users_legacy_duplicate VARCHAR(36) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
        NOT NULL DEFAULT '';
UPDATE oauth_account o
    JOIN (SELECT oauth_name, account_id, MIN(id) AS kept
          FROM oauth_account GROUP BY oauth_name, account_id) k
      ON o.oauth_name = k.oauth_name AND o.account_id = k.account_id
    SET o.axum_users_legacy_duplicate = o.id
    WHERE o.id <> k.kept;
ALTER TABLE oauth_account
    ADD UNIQUE INDEX axum_users_oauth_account_unique
        (oauth_name, account_id, axum_users_legacy_duplicate);

-- Ours: spent OAuth states (each is good once), until they expire (seconds since the epoch).
CREATE TABLE IF NOT EXISTS axum_users_oauth_state (
    id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (id),
    INDEX axum_users_oauth_state_expires_at (expires_at)
) ENGINE = InnoDB;
