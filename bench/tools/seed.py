"""Seeds a users database for the benchmark, through SQLite directly (hashing 10k passwords
over HTTP would take minutes). Both servers use FastAPI Users' `user` table
(id CHAR(36), email, hashed_password, is_active, is_superuser, is_verified), so one script
serves both.

The first user, user0@bench.example, must already exist: it was registered over HTTP, so its
password hash was made by the server under test with its own parameters. Users 1..N-1 get a
copy of that hash (same password), so logging in as any of them costs the server one full
verification.

Usage: seed.py DB_PATH COUNT
"""

import sqlite3
import sys
import uuid


def main() -> None:
    path, count = sys.argv[1], int(sys.argv[2])
    db = sqlite3.connect(path, timeout=30)
    row = db.execute(
        'SELECT hashed_password FROM "user" WHERE email = ?', ("user0@bench.example",)
    ).fetchone()
    if row is None:
        sys.exit("seed.py: user0@bench.example is not registered")
    rows = [
        (str(uuid.uuid4()), f"user{i}@bench.example", row[0], 1, 0, 0)
        for i in range(1, count)
    ]
    with db:
        db.executemany(
            'INSERT INTO "user" (id, email, hashed_password, is_active, is_superuser, '
            "is_verified) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
    total = db.execute('SELECT count(*) FROM "user"').fetchone()[0]
    print(f"seeded {path}: {total} users")


if __name__ == "__main__":
    main()
