-- The `oauth_account` table exactly as fastapi-users-db-sqlalchemy 7 creates it on PostgreSQL
-- (SQLAlchemyBaseOAuthAccountTableUUID), so an existing FastAPI Users database is served as it
-- is (IF NOT EXISTS leaves it untouched).
CREATE TABLE IF NOT EXISTS oauth_account (
    id UUID NOT NULL,
    oauth_name VARCHAR(100) NOT NULL,
    access_token VARCHAR(1024) NOT NULL,
    expires_at INTEGER,
    refresh_token VARCHAR(1024),
    account_id VARCHAR(320) NOT NULL,
    account_email VARCHAR(320) NOT NULL,
    user_id UUID NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS ix_oauth_account_oauth_name ON oauth_account (oauth_name);
CREATE INDEX IF NOT EXISTS ix_oauth_account_account_id ON oauth_account (account_id);

-- Ours: a provider account is linked to one user at most (FastAPI Users does not check, so an
-- existing database may hold duplicates). Rows of a pair (oauth_name, account_id) beyond the
-- first (smallest id) are marked with their own id in `axum_users_legacy_duplicate`; every
-- other row, FastAPI Users' future ones included (the column defaults to ''), is unique on
-- the pair. Lookups prefer the unmarked row.
ALTER TABLE oauth_account
    ADD COLUMN IF NOT EXISTS axum_users_legacy_duplicate VARCHAR(36) NOT NULL DEFAULT '';
UPDATE oauth_account SET axum_users_legacy_duplicate = id::text
    WHERE id::text NOT IN (
        SELECT MIN(id::text) FROM oauth_account GROUP BY oauth_name, account_id
    );
CREATE UNIQUE INDEX IF NOT EXISTS axum_users_oauth_account_unique
    ON oauth_account (oauth_name, account_id, axum_users_legacy_duplicate);
-- Ours: a user's accounts (listing, the cascade) without reading the whole table.
CREATE INDEX IF NOT EXISTS axum_users_oauth_account_user_id ON oauth_account (user_id);

-- Ours: spent OAuth states (each is good once), until they expire (seconds since the epoch).
CREATE TABLE IF NOT EXISTS axum_users_oauth_state (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS axum_users_oauth_state_expires_at ON axum_users_oauth_state (expires_at);
