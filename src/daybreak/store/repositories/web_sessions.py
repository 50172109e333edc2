"""``store.web_sessions``: the console's server-side sessions, in the database.

Every server process on the database knows every session: a session started through one
is used through any other (several servers behind a load balancer, or ``serve --workers
N``), and ending it (signing out, or revoking, disabling, re-roling the account or
resetting its password) holds at once everywhere. The token is stored as its SHA-256,
so a database dump signs nobody in; the face's own state (its CSRF token, messages to
show, a search in force, which may name an identifier) is encrypted, bound to the row.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, or_, select, update

from daybreak.store.auth import Role
from daybreak.store.keys import bound
from daybreak.store.repositories.context import StoreContext
from daybreak.store.tables import users, web_sessions

# ``seen`` is written back at most this often (seconds): a page view is then a read
# only, and the idle timeout is exact to within this.
TOUCH_SECONDS = 60.0
_STATE = "web_sessions.state_enc"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class WebSession:
    """A stored session: who, the account's session epoch at sign-in, when it started
    and was last seen (seconds since the epoch), and the face's state."""

    username: str
    role: Role
    org_id: str
    epoch: int
    created: float
    seen: float
    state: dict[str, Any]


class WebSessionRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self._ctx = ctx

    def start(
        self,
        username: str,
        role: Role,
        epoch: int,
        state: dict[str, Any],
        now: float,
        *,
        idle: float,
        absolute: float,
    ) -> str:
        """A new session's token (shown once) for ``username`` acting as ``role``, in the
        account's organisation; sessions past ``idle`` seconds unseen or ``absolute``
        seconds old are deleted on the way."""
        token = secrets.token_urlsafe(32)
        token_hash = _hash(token)
        with self._ctx.writing_in_turn() as conn:
            conn.execute(
                delete(web_sessions).where(
                    or_(web_sessions.c.seen < now - idle, web_sessions.c.created < now - absolute)
                )
            )
            org = select(users.c.org_id).where(users.c.username == username).scalar_subquery()
            conn.execute(
                insert(web_sessions).values(
                    token_hash=token_hash,
                    username=username,
                    role=Role(role).value,
                    org_id=org,
                    epoch=epoch,
                    created=now,
                    seen=now,
                    state_enc=self._seal(token_hash, state),
                )
            )
        return token

    def get(self, token: str, now: float, *, idle: float, absolute: float) -> WebSession | None:
        """The session of ``token`` (its ``seen`` moved to ``now``), or None when unknown,
        ended or expired (an expired one is deleted)."""
        token_hash = _hash(token)
        ctx = self._ctx
        with ctx.reading() as conn:
            row = conn.execute(
                select(web_sessions).where(web_sessions.c.token_hash == token_hash)
            ).first()
        if row is None:
            return None
        if now - row.seen > idle or now - row.created > absolute:
            self.end(token)
            return None
        if now - row.seen > TOUCH_SECONDS:
            with ctx.writing_in_turn() as conn:
                conn.execute(
                    update(web_sessions)
                    .where(web_sessions.c.token_hash == token_hash)
                    .values(seen=now)
                )
        state = json.loads(ctx.keys.decrypt_text(row.state_enc, bound(_STATE, token_hash)))
        return WebSession(
            row.username, Role(row.role), row.org_id, row.epoch, row.created, now, state
        )

    def save(self, token: str, state: dict[str, Any]) -> None:
        """Store the face's changed state (nothing when the session has ended)."""
        token_hash = _hash(token)
        with self._ctx.writing_in_turn() as conn:
            conn.execute(
                update(web_sessions)
                .where(web_sessions.c.token_hash == token_hash)
                .values(state_enc=self._seal(token_hash, state))
            )

    def end(self, token: str) -> None:
        with self._ctx.writing_in_turn() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == _hash(token)))

    def _seal(self, token_hash: str, state: dict[str, Any]) -> bytes:
        text = json.dumps(state, separators=(",", ":"))
        return self._ctx.keys.encrypt_text(text, bound(_STATE, token_hash))
