-- The `accesstoken` table exactly as fastapi-users-db-sqlalchemy 7 creates it on PostgreSQL
-- (SQLAlchemyBaseAccessTokenTableUUID: `created_at` is TIMESTAMPAware(timezone=True)), so an
-- existing FastAPI Users database is served as it is (IF NOT EXISTS leaves it untouched).
CREATE TABLE IF NOT EXISTS accesstoken (
    token VARCHAR(43) NOT NULL PRIMARY KEY,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    user_id UUID NOT NULL REFERENCES "user" (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ix_accesstoken_created_at ON accesstoken (created_at);

-- Ours: revoking every token of a user (a password change) and the cascade of a user's
-- deletion find the user's rows without reading the whole table.
CREATE INDEX IF NOT EXISTS axum_users_accesstoken_user_id ON accesstoken (user_id);
