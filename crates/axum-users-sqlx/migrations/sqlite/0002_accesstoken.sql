-- The `accesstoken` table of fastapi-users-db-sqlalchemy 7 (SQLAlchemyBaseAccessTokenTableUUID)
-- on SQLite, so an existing FastAPI Users database is served as it is (IF NOT EXISTS leaves it
-- untouched). `created_at` holds the text SQLAlchemy writes: 'YYYY-MM-DD HH:MM:SS.ffffff' in
-- UTC, without offset, whose text order is the order of time (the index serves both the
-- `created_at >= ?` of a lookup and the purge of expired rows). The cascade needs
-- `PRAGMA foreign_keys = ON`, which every connection of SqliteStore sets.
CREATE TABLE IF NOT EXISTS accesstoken (
    token VARCHAR(43) NOT NULL PRIMARY KEY,
    created_at DATETIME NOT NULL,
    user_id CHAR(36) NOT NULL REFERENCES "user" (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ix_accesstoken_created_at ON accesstoken (created_at);

-- Ours: revoking every token of a user (a password change) and the cascade of a user's
-- deletion find the user's rows without reading the whole table.
CREATE INDEX IF NOT EXISTS axum_users_accesstoken_user_id ON accesstoken (user_id);
