"""Principals: analysts (argon2 passwords, server-side sessions) and API keys.

API keys are 256-bit random secrets shown once at creation; the store keeps only their
SHA-256 (a slow password hash adds nothing for a secret that cannot be guessed, and the
intake path must stay fast). Passwords are argon2id hashes. Session tokens are random
and stored hashed, so a database dump logs nobody in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, delete, insert, select, update

from daybreak.store.audit import utc
from daybreak.store.tables import api_keys, sessions, users

KEY_PREFIX = "dbk"
SESSION_HOURS = 12
_hasher = PasswordHasher()
_dummy: list[str] = []


def _dummy_hash() -> str:
    """Verified against when the user does not exist, so timing does not reveal
    usernames (computed on first use: hashing takes a noticeable time)."""
    if not _dummy:
        _dummy.append(_hasher.hash("not a password of anyone"))
    return _dummy[0]


class Role(StrEnum):
    PLATFORM = "platform"  # reporting platform: may submit reports, read its own receipts
    ANALYST = "analyst"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


CASE_READERS = frozenset({Role.ANALYST, Role.SUPERVISOR, Role.ADMIN})
MANAGERS = frozenset({Role.SUPERVISOR, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: ``name`` is a username or ``key:<key_id>``."""

    name: str
    role: Role
    rate_per_minute: int = 0  # API keys only; 0 = no limit

    @property
    def reads_cases(self) -> bool:
        return self.role in CASE_READERS


SYSTEM = Actor("system", Role.ADMIN)


class AuthError(ValueError):
    """Bad credentials or an invalid user/key request (message safe to show)."""


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def validate_username(name: str) -> str:
    if not name or len(name) > 80 or not all(c.isalnum() or c in "._-@" for c in name):
        raise AuthError("username: 1-80 characters of letters, digits and . _ - @")
    return name


def create_user(conn: Connection, username: str, password: str, role: Role) -> None:
    validate_username(username)
    if len(password) < 12:
        raise AuthError("password: at least 12 characters")
    if conn.execute(select(users.c.username).where(users.c.username == username)).first():
        raise AuthError(f"user {username!r} already exists")
    conn.execute(
        insert(users).values(
            username=username,
            password_hash=_hasher.hash(password),
            role=Role(role).value,
            created_at=datetime.now(UTC),
            disabled=False,
        )
    )


def set_password(conn: Connection, username: str, password: str) -> None:
    if len(password) < 12:
        raise AuthError("password: at least 12 characters")
    done = conn.execute(
        update(users)
        .where(users.c.username == username)
        .values(password_hash=_hasher.hash(password))
    )
    if not done.rowcount:
        raise AuthError(f"no user {username!r}")


def check_password(conn: Connection, username: str, password: str) -> Actor | None:
    row = conn.execute(select(users).where(users.c.username == username)).first()
    stored = row.password_hash if row is not None else _dummy_hash()
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled:
        return None
    return Actor(row.username, Role(row.role))


def list_users(conn: Connection) -> list[Actor]:
    rows = conn.execute(select(users).where(users.c.disabled.is_(False)).order_by(users.c.username))
    return [Actor(r.username, Role(r.role)) for r in rows]


def create_api_key(conn: Connection, name: str, role: Role, rate_per_minute: int = 6000) -> str:
    """Create a key and return the full secret, ``dbk_<key_id>_<secret>`` (shown once)."""
    if not name or len(name) > 120:
        raise AuthError("key name: 1-120 characters")
    if rate_per_minute < 0:
        raise AuthError("rate_per_minute must be >= 0")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    conn.execute(
        insert(api_keys).values(
            key_id=key_id,
            secret_hash=_sha256(secret),
            name=name,
            role=Role(role).value,
            rate_per_minute=rate_per_minute,
            created_at=datetime.now(UTC),
            revoked_at=None,
        )
    )
    return f"{KEY_PREFIX}_{key_id}_{secret}"


def revoke_api_key(conn: Connection, key_id: str) -> bool:
    done = conn.execute(
        update(api_keys).where(api_keys.c.key_id == key_id).values(revoked_at=datetime.now(UTC))
    )
    return bool(done.rowcount)


def check_api_key(conn: Connection, presented: str) -> Actor | None:
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    _, key_id, secret = parts
    row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash, _sha256(secret)):
        return None
    return Actor(f"key:{key_id}", Role(row.role), int(row.rate_per_minute))


def start_session(conn: Connection, username: str, hours: int = SESSION_HOURS) -> str:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    conn.execute(delete(sessions).where(sessions.c.expires_at < now))
    conn.execute(
        insert(sessions).values(
            token_hash=_sha256(token),
            username=username,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    return token


def check_session(conn: Connection, token: str) -> Actor | None:
    row = conn.execute(
        select(sessions.c.expires_at, users.c.username, users.c.role, users.c.disabled)
        .join(users, users.c.username == sessions.c.username)
        .where(sessions.c.token_hash == _sha256(token))
    ).first()
    if row is None or row.disabled or utc(row.expires_at) < datetime.now(UTC):
        return None
    return Actor(row.username, Role(row.role))


def end_session(conn: Connection, token: str) -> None:
    conn.execute(delete(sessions).where(sessions.c.token_hash == _sha256(token)))
