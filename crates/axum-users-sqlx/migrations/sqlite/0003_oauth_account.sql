-- The `oauth_account` table of fastapi-users-db-sqlalchemy 7 (SQLAlchemyBaseOAuthAccountTableUUID)
-- on SQLite, with its own two indexes and nothing else, so an existing FastAPI Users database
-- is served as it is (IF NOT EXISTS leaves it untouched). The cascades need
-- `PRAGMA foreign_keys = ON`, which every connection of SqliteStore sets.
CREATE TABLE IF NOT EXISTS oauth_account (
    id CHAR(36) NOT NULL,
    oauth_name VARCHAR(100) NOT NULL,
    access_token VARCHAR(1024) NOT NULL,
    expires_at INTEGER,
    refresh_token VARCHAR(1024),
    account_id VARCHAR(320) NOT NULL,
    account_email VARCHAR(320) NOT NULL,
    user_id CHAR(36) NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS ix_oauth_account_oauth_name ON oauth_account (oauth_name);
CREATE INDEX IF NOT EXISTS ix_oauth_account_account_id ON oauth_account (account_id);

-- Ours, in a table of its own (FastAPI Users' table keeps its exact schema): a provider account
-- is linked to one user at most. Every row axum-users inserts into or updates in
-- `oauth_account` gets its link here, in the same transaction; the primary key refuses a
-- second link of one (oauth_name, account_id), so the database holds that rule for every row
-- we write. Rows FastAPI Users writes have no link until axum-users updates them (a login
-- through that account); an account it linked to several users keeps all its rows. Lookups
-- prefer the linked row, then the row with the smallest id. Deleting an `oauth_account` row
-- (or its user) deletes its link.
CREATE TABLE IF NOT EXISTS axum_users_oauth_link (
    oauth_name VARCHAR(100) NOT NULL,
    account_id VARCHAR(320) NOT NULL,
    oauth_account_id CHAR(36) NOT NULL REFERENCES oauth_account (id) ON DELETE CASCADE,
    PRIMARY KEY (oauth_name, account_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS axum_users_oauth_link_oauth_account_id
    ON axum_users_oauth_link (oauth_account_id);
-- The rows already there: each (oauth_name, account_id) links its row with the smallest id
-- (ids are random, so no row is the oldest; this one is deterministic).
INSERT INTO axum_users_oauth_link (oauth_name, account_id, oauth_account_id)
    SELECT oauth_name, account_id, MIN(id) FROM oauth_account GROUP BY oauth_name, account_id;

-- Ours: spent OAuth states (each is good once), until they expire (seconds since the epoch).
CREATE TABLE IF NOT EXISTS axum_users_oauth_state (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS axum_users_oauth_state_expires_at ON axum_users_oauth_state (expires_at);
