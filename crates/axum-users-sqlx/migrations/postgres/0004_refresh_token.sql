-- Ours: refresh tokens (axum-users' opt-in; FastAPI Users has none). A family is one login
-- session; its tokens are kept as the lower-case hex of their SHA-256, never as the tokens
-- themselves. Each use of a token marks it rotated and adds its successor to the family; a
-- rotated token presented again revokes the family. Revoking a family deletes its row, and its
-- tokens go with it; deleting a user deletes their families. A rotation locks the family row
-- first (as a revocation does), so the two are serialised and a revocation always reaches the
-- successor of a token rotated at the same moment.
CREATE TABLE IF NOT EXISTS axum_users_refresh_family (
    family_id UUID NOT NULL PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    -- The latest expiry of its tokens: past it, the family is dead and purged.
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX IF NOT EXISTS axum_users_refresh_family_user_id
    ON axum_users_refresh_family (user_id);
CREATE INDEX IF NOT EXISTS axum_users_refresh_family_expires_at
    ON axum_users_refresh_family (expires_at);

CREATE TABLE IF NOT EXISTS axum_users_refresh_token (
    token_hash CHAR(64) NOT NULL PRIMARY KEY,
    family_id UUID NOT NULL
        REFERENCES axum_users_refresh_family (family_id) ON DELETE CASCADE,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    -- When it was exchanged for its successor; NULL while it is the family's newest.
    rotated_at TIMESTAMP WITH TIME ZONE NULL
);
CREATE INDEX IF NOT EXISTS axum_users_refresh_token_family_id
    ON axum_users_refresh_token (family_id);
CREATE INDEX IF NOT EXISTS axum_users_refresh_token_expires_at
    ON axum_users_refresh_token (expires_at);
