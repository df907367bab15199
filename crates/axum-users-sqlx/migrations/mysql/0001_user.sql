-- The `user` table as fastapi-users-db-sqlalchemy 7 creates it on MySQL/MariaDB (CHAR(36)
-- ids, BOOL flags, the unique index ix_user_email), so an existing FastAPI Users database is
-- served as it is. IF NOT EXISTS leaves an existing table untouched; the index is declared
-- inside the table because MySQL has no CREATE INDEX IF NOT EXISTS.
CREATE TABLE IF NOT EXISTS `user` (
    id CHAR(36) NOT NULL,
    email VARCHAR(320) NOT NULL,
    hashed_password VARCHAR(1024) NOT NULL,
    is_active BOOL NOT NULL,
    is_superuser BOOL NOT NULL,
    is_verified BOOL NOT NULL,
    PRIMARY KEY (id),
    UNIQUE INDEX ix_user_email (email)
) ENGINE = InnoDB;

-- Ours: uniqueness without regard to case is the database's job, so two concurrent
-- registrations of one address cannot both succeed. MariaDB has no functional indexes, so
-- the lower-cased email is a stored generated column (the database computes it for every
-- writer, FastAPI Users included) with a binary collation, so that the unique index compares
-- exactly `lower(email)` whatever the table's collation. Lookups by email use
-- `email_lower = lower(?)`, which this index serves.
ALTER TABLE `user`
    ADD COLUMN email_lower VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
        GENERATED ALWAYS AS (lower(email)) STORED,
    ADD UNIQUE INDEX axum_users_user_email_lower (email_lower);

-- Ours: custom user fields, as JSON, beside (not inside) the reference's table.
CREATE TABLE IF NOT EXISTS axum_users_user_extra (
    user_id CHAR(36) NOT NULL,
    data JSON NOT NULL,
    PRIMARY KEY (user_id),
    CONSTRAINT axum_users_user_extra_user_id_fkey
        FOREIGN KEY (user_id) REFERENCES `user` (id) ON DELETE CASCADE
) ENGINE = InnoDB;
