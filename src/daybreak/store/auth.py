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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, bindparam, case, delete, insert, select, update

from daybreak.store.audit import utc
from daybreak.store.passwords import PasswordRejected
from daybreak.store.passwords import check_password as check_password_policy
from daybreak.store.tables import (
    DEFAULT_ORG,
    api_keys,
    organisations,
    sessions,
    users,
    web_sessions,
)

KEY_PREFIX = "dbk"
SESSION_HOURS = 12
# Sign-in lockout, shared by the API and the console through the users table: after
# MAX_FAILURES consecutive failures the account locks for LOCKOUT_SECONDS, and every
# further failure doubles the lock, up to MAX_LOCKOUT_SECONDS. A success resets the
# count; failures older than FAILURE_MEMORY are forgotten.
MAX_FAILURES = 5
LOCKOUT_SECONDS = 60
MAX_LOCKOUT_SECONDS = 3600
FAILURE_MEMORY = timedelta(hours=24)


class PasswordHashing(Protocol):
    """What the store needs of a password hasher (argon2-cffi's ``PasswordHasher``)."""

    def hash(self, password: str, /) -> str: ...

    def verify(self, stored: str, password: str, /) -> bool: ...


_hasher: PasswordHashing = PasswordHasher()
_dummy: list[str] = []


def password_hasher() -> PasswordHashing:
    """The hasher passwords are made and checked with now."""
    return _hasher


@contextmanager
def passwords_hashed_with(hasher: PasswordHashing) -> Iterator[None]:
    """Make and check passwords with ``hasher`` meanwhile (in this process): tests and
    benchmarks use cheap argon2 settings; production keeps argon2-cffi's defaults. A
    stored hash names its own parameters, so it verifies under either."""
    global _hasher
    previous, _hasher = _hasher, hasher
    try:
        yield
    finally:
        _hasher = previous


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
    """Who is acting: ``name`` is a username or ``key:<key_id>``; ``org_id`` the
    organisation of the user or key."""

    name: str
    role: Role
    rate_per_minute: int = 0  # API keys only; 0 = no limit
    org_id: str = DEFAULT_ORG

    @property
    def reads_cases(self) -> bool:
        return self.role in CASE_READERS


# The deployment's operator: whoever runs ``daybreak admin`` with the deployment's keys.
# The only actor that creates organisations and manages other organisations' accounts.
SYSTEM = Actor("system", Role.ADMIN)


def is_operator(actor: Actor) -> bool:
    return actor == SYSTEM


def operator_in(org_id: str) -> Actor:
    """The operator working on one organisation's data (``daybreak cases build --org``):
    it reads and writes that organisation's rows only, and is not :data:`SYSTEM` (it
    manages no accounts). The default organisation's is :data:`SYSTEM` itself."""
    return SYSTEM if org_id == DEFAULT_ORG else Actor(SYSTEM.name, SYSTEM.role, org_id=org_id)


def admin_of(org_id: str) -> Actor:
    """The operator acting as an admin of one organisation (``daybreak admin ... --org``):
    unlike :data:`SYSTEM` (and :func:`operator_in` of the default organisation), it
    lists, changes and deletes that organisation's accounts, keys and rows only."""
    return Actor(f"operator@{org_id}", Role.ADMIN, org_id=org_id)


_ORG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def validate_org_id(org_id: str) -> str:
    if not org_id or len(org_id) > 40 or not set(org_id) <= _ORG_CHARS:
        raise AuthError(f"organisation {org_id!r}: 1-40 characters of a-z, 0-9 and -")
    return org_id


def require_org(conn: Connection, org_id: str) -> None:
    validate_org_id(org_id)
    found = conn.execute(
        select(organisations.c.org_id).where(organisations.c.org_id == org_id)
    ).first()
    if found is None:
        raise AuthError(f"no organisation {org_id!r} (`daybreak admin orgs create`)")


class AuthError(ValueError):
    """Bad credentials or an invalid user/key request (message safe to show)."""


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def validate_username(name: str) -> str:
    if not name or len(name) > 80 or not all(c.isalnum() or c in "._-@" for c in name):
        raise AuthError("username: 1-80 characters of letters, digits and . _ - @")
    return name


def _policy(password: str, username: str) -> None:
    try:
        check_password_policy(password, username)
    except PasswordRejected as exc:
        raise AuthError(str(exc)) from exc


def create_user(
    conn: Connection, username: str, password: str, role: Role, org_id: str = DEFAULT_ORG
) -> None:
    validate_username(username)
    require_org(conn, org_id)
    _policy(password, username)
    if conn.execute(select(users.c.username).where(users.c.username == username)).first():
        raise AuthError(f"user {username!r} already exists")
    conn.execute(
        insert(users).values(
            username=username,
            password_hash=_hasher.hash(password),
            role=Role(role).value,
            created_at=datetime.now(UTC),
            disabled=False,
            org_id=org_id,
        )
    )


def _require_user(conn: Connection, username: str) -> None:
    if conn.execute(select(users.c.username).where(users.c.username == username)).first() is None:
        raise AuthError(f"no user {username!r}")


def _end_sessions(conn: Connection, username: str) -> int:
    """Delete the user's stored sessions (the API's and the console's) and bump their
    epoch, which ends sessions a process holds in memory on their next use."""
    done = conn.execute(delete(sessions).where(sessions.c.username == username))
    web = conn.execute(delete(web_sessions).where(web_sessions.c.username == username))
    conn.execute(
        update(users)
        .where(users.c.username == username)
        .values(session_epoch=users.c.session_epoch + 1)
    )
    return int(done.rowcount or 0) + int(web.rowcount or 0)


def _clear_failures(conn: Connection, username: str) -> None:
    conn.execute(
        update(users)
        .where(users.c.username == username)
        .values(failed_logins=0, last_failed_at=None, locked_until=None)
    )


def set_password(conn: Connection, username: str, password: str) -> None:
    """Reset a password: the policy applies, the lock is lifted, every session ends."""
    _require_user(conn, username)
    _policy(password, username)
    conn.execute(
        update(users)
        .where(users.c.username == username)
        .values(password_hash=_hasher.hash(password))
    )
    _clear_failures(conn, username)
    _end_sessions(conn, username)


def set_disabled(conn: Connection, username: str, disabled: bool) -> None:
    """Disable (sessions end, owned API keys are refused while disabled) or enable (the
    sign-in lock is lifted too)."""
    _require_user(conn, username)
    conn.execute(update(users).where(users.c.username == username).values(disabled=disabled))
    if disabled:
        _end_sessions(conn, username)
    else:
        _clear_failures(conn, username)


def set_role(conn: Connection, username: str, role: Role) -> None:
    """Change a user's role; their sessions end so no page keeps the old role."""
    _require_user(conn, username)
    conn.execute(update(users).where(users.c.username == username).values(role=Role(role).value))
    _end_sessions(conn, username)


def revoke_user(conn: Connection, username: str) -> tuple[int, int]:
    """End every session of the user and revoke every API key they own: (sessions, keys)."""
    _require_user(conn, username)
    keys = conn.execute(
        update(api_keys)
        .where(api_keys.c.owner == username, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return _end_sessions(conn, username), int(keys.rowcount or 0)


def session_epoch(conn: Connection, username: str) -> int | None:
    """The user's session epoch, or None when they are gone or disabled."""
    row = conn.execute(
        select(users.c.session_epoch, users.c.disabled).where(users.c.username == username)
    ).first()
    return None if row is None or row.disabled else int(row.session_epoch)


# ---- sign-in throttling ---------------------------------------------------------------


def lock_seconds(failures: int) -> int:
    """How long ``failures`` consecutive failures lock an account (0: not locked)."""
    if failures < MAX_FAILURES:
        return 0
    doublings = min(failures - MAX_FAILURES, 12)
    return int(min(LOCKOUT_SECONDS * 2**doublings, MAX_LOCKOUT_SECONDS))


def record_failure(conn: Connection, username: str, now: datetime) -> tuple[int, datetime | None]:
    """Count a failed sign-in of an existing user: (consecutive failures, the lock's end
    if this failure locked the account). The increment is one UPDATE, so processes
    failing at once all count."""
    fresh = users.c.last_failed_at.is_(None) | (users.c.last_failed_at < now - FAILURE_MEMORY)
    conn.execute(
        update(users)
        .where(users.c.username == username)
        .values(
            failed_logins=case((fresh, 1), else_=users.c.failed_logins + 1),
            last_failed_at=now,
        )
    )
    failures = conn.execute(
        select(users.c.failed_logins).where(users.c.username == username)
    ).scalar_one_or_none()
    if failures is None:
        return 0, None
    seconds = lock_seconds(int(failures))
    if not seconds:
        return int(failures), None
    until = now + timedelta(seconds=seconds)
    conn.execute(update(users).where(users.c.username == username).values(locked_until=until))
    return int(failures), until


def record_success(conn: Connection, username: str) -> None:
    _clear_failures(conn, username)


@dataclass(frozen=True, slots=True)
class PasswordRecord:
    """What checking a password needs, read in one short query (the hash is verified
    after the connection is back in the pool: argon2 takes a noticeable time)."""

    username: str | None  # None: no such user (a dummy hash is verified instead)
    password_hash: str
    role: Role
    disabled: bool
    locked_until: datetime | None
    failed_logins: int = 0
    org_id: str = DEFAULT_ORG


def password_record(conn: Connection, username: str) -> PasswordRecord:
    row = conn.execute(select(users).where(users.c.username == username)).first()
    if row is None:  # verify_password checks the dummy hash instead
        return PasswordRecord(None, "", Role.ANALYST, True, None)
    until = utc(row.locked_until) if row.locked_until is not None else None
    return PasswordRecord(
        row.username,
        row.password_hash,
        Role(row.role),
        bool(row.disabled),
        until,
        int(row.failed_logins),
        row.org_id,
    )


def verify_password(record: PasswordRecord, password: str) -> Actor | None:
    """The actor when ``password`` is right and the account usable, else None (the
    hash is verified either way, so timing does not reveal which; an unknown user's
    dummy hash is made here, in the caller's thread: the sign-in guard's hashing
    thread, not a request's)."""
    try:
        _hasher.verify(record.password_hash or _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if record.username is None or record.disabled:
        return None
    return Actor(record.username, record.role, org_id=record.org_id)


def check_password(conn: Connection, username: str, password: str) -> Actor | None:
    return verify_password(password_record(conn, username), password)


def list_users(conn: Connection, org_id: str | None = None) -> list[Actor]:
    """The users who can sign in (of ``org_id``; None: of every organisation)."""
    q = select(users).where(users.c.disabled.is_(False)).order_by(users.c.username)
    rows = conn.execute(q if org_id is None else q.where(users.c.org_id == org_id))
    return [Actor(r.username, Role(r.role), org_id=r.org_id) for r in rows]


@dataclass(frozen=True, slots=True)
class Account:
    """A user as ``admin users list`` shows it."""

    username: str
    role: Role
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    org_id: str = DEFAULT_ORG


def list_accounts(conn: Connection, org_id: str | None = None) -> list[Account]:
    """Every account (of ``org_id``; None: of every organisation)."""
    q = select(users).order_by(users.c.username)
    rows = conn.execute(q if org_id is None else q.where(users.c.org_id == org_id))
    return [
        Account(
            r.username,
            Role(r.role),
            bool(r.disabled),
            int(r.failed_logins),
            utc(r.locked_until) if r.locked_until is not None else None,
            r.org_id,
        )
        for r in rows
    ]


def create_api_key(
    conn: Connection,
    name: str,
    role: Role,
    rate_per_minute: int = 6000,
    *,
    expires_at: datetime | None = None,
    owner: str | None = None,
    org_id: str = DEFAULT_ORG,
) -> str:
    """Create a key and return the full secret, ``dbk_<key_id>_<secret>`` (shown once).
    ``expires_at``: refused from then on. ``owner``: the user the key acts for, who
    must belong to ``org_id``, the organisation the key acts in."""
    if not name or len(name) > 120:
        raise AuthError("key name: 1-120 characters")
    if rate_per_minute < 0:
        raise AuthError("rate_per_minute must be >= 0")
    if expires_at is not None and expires_at.tzinfo is None:
        raise AuthError("expires_at needs a time zone")
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise AuthError(f"expiry {expires_at:%Y-%m-%d %H:%M} UTC is already past")
    require_org(conn, org_id)
    if owner is not None:
        _require_user(conn, owner)
        owner_org = conn.execute(select(users.c.org_id).where(users.c.username == owner)).scalar()
        if owner_org != org_id:
            raise AuthError(f"user {owner!r} is not of organisation {org_id!r}")
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
            expires_at=expires_at,
            owner=owner,
            org_id=org_id,
        )
    )
    return f"{KEY_PREFIX}_{key_id}_{secret}"


def revoke_api_key(conn: Connection, key_id: str) -> bool:
    done = conn.execute(
        update(api_keys).where(api_keys.c.key_id == key_id).values(revoked_at=datetime.now(UTC))
    )
    return bool(done.rowcount)


# Built once: every request checks its key, and building and caching-keying this
# statement cost about twice as much as running it (3.3 ms against 1.0 ms a check).
_KEY_CHECK = (
    select(
        api_keys.c.secret_hash,
        api_keys.c.role,
        api_keys.c.rate_per_minute,
        api_keys.c.revoked_at,
        api_keys.c.expires_at,
        api_keys.c.org_id,
        users.c.disabled.label("owner_disabled"),
    )
    .select_from(api_keys.outerjoin(users, users.c.username == api_keys.c.owner))
    .where(api_keys.c.key_id == bindparam("key_id"))
)


def check_api_key(conn: Connection, presented: str) -> Actor | None:
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    _, key_id, secret = parts
    row = conn.execute(_KEY_CHECK, {"key_id": key_id}).first()
    if row is None or row.revoked_at is not None or row.owner_disabled:
        return None
    if row.expires_at is not None and utc(row.expires_at) <= datetime.now(UTC):
        return None
    if not hmac.compare_digest(row.secret_hash, _sha256(secret)):
        return None
    return Actor(f"key:{key_id}", Role(row.role), int(row.rate_per_minute), row.org_id)


def start_session(
    conn: Connection, username: str, hours: int = SESSION_HOURS, org_id: str = DEFAULT_ORG
) -> str:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    conn.execute(delete(sessions).where(sessions.c.expires_at < now))
    conn.execute(
        insert(sessions).values(
            token_hash=_sha256(token),
            username=username,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
            org_id=org_id,
        )
    )
    return token


def check_session(conn: Connection, token: str) -> Actor | None:
    row = conn.execute(
        select(
            sessions.c.expires_at, users.c.username, users.c.role, users.c.disabled, users.c.org_id
        )
        .join(users, users.c.username == sessions.c.username)
        .where(sessions.c.token_hash == _sha256(token))
    ).first()
    if row is None or row.disabled or utc(row.expires_at) < datetime.now(UTC):
        return None
    return Actor(row.username, Role(row.role), org_id=row.org_id)


def end_session(conn: Connection, token: str) -> None:
    conn.execute(delete(sessions).where(sessions.c.token_hash == _sha256(token)))
