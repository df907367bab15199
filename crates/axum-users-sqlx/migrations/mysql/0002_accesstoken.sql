-- The `accesstoken` table of fastapi-users-db-sqlalchemy 7 (SQLAlchemyBaseAccessTokenTableUUID)
-- on MySQL/MariaDB, so an existing FastAPI Users database is served as it is (IF NOT EXISTS
-- leaves it untouched). `created_at` is a UTC wall-clock time to the microsecond. The index
-- is declared inside the table because MySQL has no CREATE INDEX IF NOT EXISTS; InnoDB
-- indexes `user_id` for the foreign key by itself.
CREATE TABLE IF NOT EXISTS accesstoken (
    token VARCHAR(43) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    user_id CHAR(36) NOT NULL,
    PRIMARY KEY (token),
    INDEX ix_accesstoken_created_at (created_at),
    FOREIGN KEY (user_id) REFERENCES `user` (id) ON DELETE CASCADE
) ENGINE = InnoDB;
