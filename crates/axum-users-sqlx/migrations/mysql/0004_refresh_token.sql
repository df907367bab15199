-- Ours: refresh tokens (axum-users' opt-in; FastAPI Users has none). A family is one login
-- session; its tokens are kept as the lower-case hex of their SHA-256 (ASCII, compared on
-- bytes), never as the tokens themselves. Each use of a token marks it rotated and adds its
-- successor to the family; a rotated token presented again revokes the family. Revoking a
-- family deletes its row, and its tokens go with it; deleting a user deletes their families.
-- A rotation locks the family row first (as a revocation does), so the two are serialised.
-- Times are UTC wall-clock times to the microsecond (the session time zone is +00:00). Indexes
-- are declared inside the tables: MySQL has no CREATE INDEX IF NOT EXISTS (InnoDB indexes the
-- foreign keys by itself).
CREATE TABLE IF NOT EXISTS axum_users_refresh_family (
    family_id CHAR(36) NOT NULL,
    user_id CHAR(36) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    -- The latest expiry of its tokens: past it, the family is dead and purged.
    expires_at DATETIME(6) NOT NULL,
    PRIMARY KEY (family_id),
    INDEX axum_users_refresh_family_expires_at (expires_at),
    CONSTRAINT axum_users_refresh_family_user_id_fkey
        FOREIGN KEY (user_id) REFERENCES `user` (id) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS axum_users_refresh_token (
    token_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    family_id CHAR(36) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    -- When it was exchanged for its successor; NULL while it is the family's newest.
    rotated_at DATETIME(6) NULL,
    PRIMARY KEY (token_hash),
    INDEX axum_users_refresh_token_expires_at (expires_at),
    CONSTRAINT axum_users_refresh_token_family_id_fkey
        FOREIGN KEY (family_id) REFERENCES axum_users_refresh_family (family_id)
        ON DELETE CASCADE
) ENGINE = InnoDB;
