-- Ours: refresh tokens (axum-users' opt-in; FastAPI Users has none). A family is one login
-- session; its tokens are kept as the lower-case hex of their SHA-256, never as the tokens
-- themselves. Each use of a token marks it rotated and adds its successor to the family; a
-- rotated token presented again revokes the family. Revoking a family deletes its row, and its
-- tokens go with it; deleting a user deletes their families. Times are UTC text
-- 'YYYY-MM-DD HH:MM:SS.ffffff' (as in accesstoken), whose text order is the order of time. The
-- cascades need `PRAGMA foreign_keys = ON`, which every connection of SqliteStore sets.
CREATE TABLE IF NOT EXISTS axum_users_refresh_family (
    family_id CHAR(36) NOT NULL PRIMARY KEY,
    user_id CHAR(36) NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
    created_at DATETIME NOT NULL,
    -- The latest expiry of its tokens: past it, the family is dead and purged.
    expires_at DATETIME NOT NULL
);
CREATE INDEX IF NOT EXISTS axum_users_refresh_family_user_id
    ON axum_users_refresh_family (user_id);
CREATE INDEX IF NOT EXISTS axum_users_refresh_family_expires_at
    ON axum_users_refresh_family (expires_at);

CREATE TABLE IF NOT EXISTS axum_users_refresh_token (
    token_hash CHAR(64) NOT NULL PRIMARY KEY,
    family_id CHAR(36) NOT NULL
        REFERENCES axum_users_refresh_family (family_id) ON DELETE CASCADE,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    -- When it was exchanged for its successor; NULL while it is the family's newest.
    rotated_at DATETIME NULL
);
CREATE INDEX IF NOT EXISTS axum_users_refresh_token_family_id
    ON axum_users_refresh_token (family_id);
CREATE INDEX IF NOT EXISTS axum_users_refresh_token_expires_at
    ON axum_users_refresh_token (expires_at);
