"""``store.sessions``: signed-in users' sessions (tokens stored hashed)."""

from __future__ import annotations

from daybreak.store import auth
from daybreak.store.auth import Actor
from daybreak.store.repositories.context import StoreContext


class SessionRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self._ctx = ctx

    def start(self, actor: Actor) -> str:
        """A new session token for ``actor`` (audited)."""
        ctx = self._ctx
        with ctx.writing() as conn:
            token = auth.start_session(conn, actor.name, org_id=actor.org_id)
            ctx.audit(conn, actor, "session.start", "principal", actor.name)
        return token

    def check(self, token: str) -> Actor | None:
        with self._ctx.reading() as conn:
            return auth.check_session(conn, token)

    def end(self, token: str) -> None:
        with self._ctx.writing() as conn:
            auth.end_session(conn, token)

    def epoch(self, username: str) -> int | None:
        """The user's session epoch (None: disabled or gone); a process holding sessions
        in memory compares it on each use, so revocation reaches them at once."""
        with self._ctx.reading() as conn:
            return auth.session_epoch(conn, username)
