"""The reference: a minimal FastAPI Users 15 application, as its documentation's quickstart
builds it (SQLAlchemy on SQLite through aiosqlite, JWT bearer backend at /auth/jwt, the
register router and the users router), with the hashing parameters and the token lifetime
spelled out so that both servers do the same work.

Settings (environment):
  REF_DATABASE_URL   default sqlite+aiosqlite:///./reference.db
  REF_SECRET         the JWT secret (default: a fixed benchmark secret)
  REF_JWT_LIFETIME   default 3600
  REF_ARGON2_M, REF_ARGON2_T, REF_ARGON2_P   default 65536, 3, 4 (argon2-cffi's own defaults)

Run: uvicorn app:app --app-dir bench/reference --workers 1
"""

import os
import uuid
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import (
    AuthenticationBackend,
    BearerTransport,
    JWTStrategy,
)
from fastapi_users.db import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from fastapi_users.password import PasswordHelper
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

DATABASE_URL = os.environ.get("REF_DATABASE_URL", "sqlite+aiosqlite:///./reference.db")
SECRET = os.environ.get("REF_SECRET", "benchmark-secret-benchmark-secret-0123456789")
LIFETIME = int(os.environ.get("REF_JWT_LIFETIME", "3600"))
ARGON2 = {
    "memory_cost": int(os.environ.get("REF_ARGON2_M", "65536")),
    "time_cost": int(os.environ.get("REF_ARGON2_T", "3")),
    "parallelism": int(os.environ.get("REF_ARGON2_P", "4")),
}


# --- database (quickstart: db.py) --------------------------------------------------------
class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


engine = create_async_engine(DATABASE_URL)
async_session_maker = async_sessionmaker(engine, expire_on_commit=False)


async def create_db_and_tables() -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


async def get_async_session() -> AsyncGenerator[AsyncSession, None]:
    async with async_session_maker() as session:
        yield session


async def get_user_db(session: AsyncSession = Depends(get_async_session)):
    yield SQLAlchemyUserDatabase(session, User)


# --- schemas (quickstart: schemas.py) ----------------------------------------------------
class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


class UserUpdate(schemas.BaseUserUpdate):
    pass


# --- users (quickstart: users.py) --------------------------------------------------------
password_helper = PasswordHelper(PasswordHash((Argon2Hasher(**ARGON2), BcryptHasher())))


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = SECRET
    verification_token_secret = SECRET


async def get_user_manager(user_db: SQLAlchemyUserDatabase = Depends(get_user_db)):
    yield UserManager(user_db, password_helper)


bearer_transport = BearerTransport(tokenUrl="auth/jwt/login")


def get_jwt_strategy() -> JWTStrategy:
    return JWTStrategy(secret=SECRET, lifetime_seconds=LIFETIME)


auth_backend = AuthenticationBackend(
    name="jwt",
    transport=bearer_transport,
    get_strategy=get_jwt_strategy,
)

fastapi_users = FastAPIUsers[User, uuid.UUID](get_user_manager, [auth_backend])


# --- app (quickstart: app.py) ------------------------------------------------------------
@asynccontextmanager
async def lifespan(app: FastAPI):
    await create_db_and_tables()
    yield


app = FastAPI(lifespan=lifespan)
app.include_router(
    fastapi_users.get_auth_router(auth_backend), prefix="/auth/jwt", tags=["auth"]
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
