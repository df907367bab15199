"""A FastAPI Users 15 application, set up as FastAPI Users' documentation shows (SQLAlchemy
database adapter, bearer transport, a JWT backend and a database-strategy backend), used by
the compatibility test `crates/axum-users-server/tests/fastapi_users_compat.rs` to create and
fill a database that axum-users must then serve as it is.

Needs `fastapi-users[sqlalchemy]==15.0.5`, `aiosqlite`, `asyncpg`, `uvicorn` and `httpx`
(`.ci/run` installs them into `target/ci-python`).

Environment:
    FASTAPI_USERS_DATABASE_URL  a SQLAlchemy URL (`sqlite+aiosqlite:///file.db`,
                                `postgresql+asyncpg://user@host/db`) or an axum-users one
                                (`sqlite://file.db`, `postgres://user@host/db`), converted
    FASTAPI_USERS_SECRET        the JWT secret (also signs reset and verification tokens)

Commands:
    create-tables                         `Base.metadata.create_all` (FastAPI Users' own DDL)
    serve --port N [--host H]             runs the app with uvicorn; port 0 picks a free port.
                                          Prints `LISTENING <port>` once the socket is bound.
    drive --base URL --out FILE --user EMAIL:PASSWORD [--user ...]
                                          against a running app: registers each user, logs
                                          each in through /auth/jwt and /auth/database, checks
                                          both tokens at /users/me and writes them as JSON.
    link-oauth --email E --oauth-name N --account-id A
                                          links a provider account to the user with that email
                                          through the SQLAlchemy adapter's add_oauth_account,
                                          as FastAPI Users' OAuth callbacks do (no provider
                                          needed). FastAPI Users does not check whether another
                                          user already has that account, so this may make a
                                          duplicate, as a real FastAPI Users database may hold.
"""

import argparse
import asyncio
import json
import os
import socket
import sys
import uuid
from collections.abc import AsyncGenerator

from fastapi import Depends, FastAPI
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import (
    AuthenticationBackend,
    BearerTransport,
    JWTStrategy,
)
from fastapi_users.authentication.strategy.db import (
    AccessTokenDatabase,
    DatabaseStrategy,
)
from fastapi_users.db import (
    SQLAlchemyBaseOAuthAccountTableUUID,
    SQLAlchemyBaseUserTableUUID,
    SQLAlchemyUserDatabase,
)
from fastapi_users_db_sqlalchemy.access_token import (
    SQLAlchemyAccessTokenDatabase,
    SQLAlchemyBaseAccessTokenTableUUID,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

JWT_LIFETIME_SECONDS = 3600


def database_url() -> str:
    """The SQLAlchemy URL of the database, from FASTAPI_USERS_DATABASE_URL."""
    url = os.environ.get("FASTAPI_USERS_DATABASE_URL", "")
    if not url:
        sys.exit("FASTAPI_USERS_DATABASE_URL is not set")
    if url.startswith("sqlite://") and not url.startswith("sqlite+"):
        # axum-users/sqlx: `sqlite://<path>`; SQLAlchemy: `sqlite+aiosqlite:///<path>`.
        path = url[len("sqlite://") :].split("?", 1)[0]
        return "sqlite+aiosqlite:///" + path
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+asyncpg://" + url[len(scheme) :]
    return url


def secret() -> str:
    value = os.environ.get("FASTAPI_USERS_SECRET", "")
    if not value:
        sys.exit("FASTAPI_USERS_SECRET is not set")
    return value


# --- the database models (FastAPI Users' documented SQLAlchemy setup) -------------------


class Base(DeclarativeBase):
    pass


class OAuthAccount(SQLAlchemyBaseOAuthAccountTableUUID, Base):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    oauth_accounts: Mapped[list[OAuthAccount]] = relationship(
        "OAuthAccount", lazy="joined"
    )


class AccessToken(SQLAlchemyBaseAccessTokenTableUUID, Base):
    pass


class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


class UserUpdate(schemas.BaseUserUpdate):
    pass


# --- the application ----------------------------------------------------------------------


def build_app() -> FastAPI:
    """The FastAPI app: register, users, and login/logout through two backends."""
    SECRET = secret()
    engine = create_async_engine(database_url())
    async_session_maker = async_sessionmaker(engine, expire_on_commit=False)

    async def get_async_session() -> AsyncGenerator[AsyncSession, None]:
        async with async_session_maker() as session:
            yield session

    async def get_user_db(session: AsyncSession = Depends(get_async_session)):
        yield SQLAlchemyUserDatabase(session, User, OAuthAccount)

    async def get_access_token_db(session: AsyncSession = Depends(get_async_session)):
        yield SQLAlchemyAccessTokenDatabase(session, AccessToken)

    class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
        reset_password_token_secret = SECRET
        verification_token_secret = SECRET

    async def get_user_manager(user_db=Depends(get_user_db)):
        yield UserManager(user_db)

    def get_jwt_strategy() -> JWTStrategy:
        return JWTStrategy(secret=SECRET, lifetime_seconds=JWT_LIFETIME_SECONDS)

    def get_database_strategy(
        access_token_db: AccessTokenDatabase[AccessToken] = Depends(get_access_token_db),
    ) -> DatabaseStrategy:
        return DatabaseStrategy(access_token_db, lifetime_seconds=JWT_LIFETIME_SECONDS)

    jwt_backend = AuthenticationBackend(
        name="jwt",
        transport=BearerTransport(tokenUrl="auth/jwt/login"),
        get_strategy=get_jwt_strategy,
    )
    database_backend = AuthenticationBackend(
        name="database",
        transport=BearerTransport(tokenUrl="auth/database/login"),
        get_strategy=get_database_strategy,
    )

    fastapi_users = FastAPIUsers[User, uuid.UUID](
        get_user_manager, [jwt_backend, database_backend]
    )

    app = FastAPI()
    app.include_router(
        fastapi_users.get_auth_router(jwt_backend), prefix="/auth/jwt", tags=["auth"]
    )
    app.include_router(
        fastapi_users.get_auth_router(database_backend),
        prefix="/auth/database",
        tags=["auth"],
    )
    app.include_router(
        fastapi_users.get_register_router(UserRead, UserCreate),
        prefix="/auth",
        tags=["auth"],
    )
    app.include_router(
        fastapi_users.get_users_router(UserRead, UserUpdate),
        prefix="/users",
        tags=["users"],
    )
    return app


# --- commands ------------------------------------------------------------------------------


async def create_tables() -> None:
    engine = create_async_engine(database_url())
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await engine.dispose()


async def link_oauth(email: str, oauth_name: str, account_id: str) -> None:
    engine = create_async_engine(database_url())
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        user_db = SQLAlchemyUserDatabase(session, User, OAuthAccount)
        user = await user_db.get_by_email(email)
        if user is None:
            sys.exit(f"link-oauth: no user {email}")
        await user_db.add_oauth_account(
            user,
            {
                "oauth_name": oauth_name,
                "access_token": f"access-{uuid.uuid4()}",
                "expires_at": 1700000000,
                "refresh_token": None,
                "account_id": account_id,
                "account_email": user.email,
            },
        )
    await engine.dispose()


def serve(host: str, port: int) -> None:
    import uvicorn

    app = build_app()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    # The caller reads this line to learn the port; the socket already accepts connections
    # (they wait in the backlog until uvicorn serves them).
    print(f"LISTENING {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    asyncio.run(server.serve(sockets=[sock]))


def drive(base: str, out: str, users: list[str]) -> None:
    import httpx

    results = []
    with httpx.Client(base_url=base, timeout=60.0) as client:
        for spec in users:
            email, sep, password = spec.partition(":")
            if not sep:
                sys.exit(f"--user {spec!r}: expected EMAIL:PASSWORD")
            r = client.post("/auth/register", json={"email": email, "password": password})
            if r.status_code != 201:
                sys.exit(f"register {email}: {r.status_code} {r.text}")
            # FastAPI Users stores the address as its validator normalised it (the domain
            # lower-cased): record that one.
            user_id, stored_email = r.json()["id"], r.json()["email"]
            tokens = {}
            for backend in ("jwt", "database"):
                r = client.post(
                    f"/auth/{backend}/login",
                    data={"username": email, "password": password},
                )
                if r.status_code != 200:
                    sys.exit(f"{backend} login {email}: {r.status_code} {r.text}")
                token = r.json()["access_token"]
                r = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
                if r.status_code != 200 or r.json()["id"] != user_id:
                    sys.exit(f"{backend} token of {email} at /users/me: {r.status_code} {r.text}")
                tokens[backend] = token
            results.append(
                {
                    "id": user_id,
                    "email": stored_email,
                    "password": password,
                    "jwt": tokens["jwt"],
                    "database": tokens["database"],
                }
            )
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"users": results}, f, indent=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("create-tables", help="create FastAPI Users' tables (create_all)")
    p = commands.add_parser("serve", help="run the app with uvicorn")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="0: a free port, printed")
    p = commands.add_parser("drive", help="register users and log them in; write the tokens")
    p.add_argument("--base", required=True, help="the running app, e.g. http://127.0.0.1:8000")
    p.add_argument("--out", required=True, help="the JSON file to write")
    p.add_argument("--user", action="append", required=True, metavar="EMAIL:PASSWORD")
    p = commands.add_parser("link-oauth", help="link a provider account to a user")
    p.add_argument("--email", required=True)
    p.add_argument("--oauth-name", required=True)
    p.add_argument("--account-id", required=True)
    args = parser.parse_args()
    if args.command == "create-tables":
        asyncio.run(create_tables())
    elif args.command == "serve":
        serve(args.host, args.port)
    elif args.command == "drive":
        drive(args.base, args.out, args.user)
    else:
        asyncio.run(link_oauth(args.email, args.oauth_name, args.account_id))


if __name__ == "__main__":
    main()
