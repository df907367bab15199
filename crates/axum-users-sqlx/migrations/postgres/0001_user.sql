-- The `user` table exactly as fastapi-users-db-sqlalchemy 7 creates it on PostgreSQL, so an
-- existing FastAPI Users database is served as it is (IF NOT EXISTS leaves it untouched).
CREATE TABLE IF NOT EXISTS "user" (
    id UUID NOT NULL,
    email VARCHAR(320) NOT NULL,
    hashed_password VARCHAR(1024) NOT NULL,
    is_active BOOLEAN NOT NULL,
    is_superuser BOOLEAN NOT NULL,
    is_verified BOOLEAN NOT NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS ix_user_email ON "user" (email);

-- Ours: uniqueness without regard to case is the database's job, so two concurrent
-- registrations of one address cannot both succeed. Lookups by email use
-- `lower(email) = lower($1)`, which this expression index serves.
CREATE UNIQUE INDEX IF NOT EXISTS axum_users_user_email_lower ON "user" (lower(email));

-- Ours: custom user fields, as JSON, beside (not inside) the reference's table.
CREATE TABLE IF NOT EXISTS axum_users_user_extra (
    user_id UUID NOT NULL PRIMARY KEY REFERENCES "user" (id) ON DELETE CASCADE,
    data JSONB NOT NULL
);
