"""``store.api_keys``: the API keys platforms (and users' tools) authenticate with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from daybreak.store import auth
from daybreak.store.auth import SYSTEM, Actor, Role
from daybreak.store.repositories.accounts import require_admin_of
from daybreak.store.repositories.context import StoreContext
from daybreak.store.tables import api_keys


class ApiKeyRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self._ctx = ctx

    def create(
        self,
        name: str,
        role: Role,
        rate_per_minute: int = 6000,
        actor: Actor = SYSTEM,
        *,
        expires_at: datetime | None = None,
        owner: str | None = None,
        org_id: str | None = None,
    ) -> str:
        """A new key's full secret (shown once). ``owner``: the user it acts for;
        ``org_id``: the organisation it acts in (default: the acting admin's)."""
        org = org_id or actor.org_id
        require_admin_of(actor, org, "create API keys")
        return self._ctx.audited(
            actor,
            "apikey.create",
            "principal",
            name[:80],
            lambda c: auth.create_api_key(
                c, name, role, rate_per_minute, expires_at=expires_at, owner=owner, org_id=org
            ),
        )

    def revoke(self, key_id: str, actor: Actor = SYSTEM) -> bool:
        with self._ctx.reading() as conn:
            org = conn.execute(
                select(api_keys.c.org_id).where(api_keys.c.key_id == key_id)
            ).scalar()
        require_admin_of(actor, actor.org_id, "revoke API keys")
        if org is not None and org != actor.org_id and not auth.is_operator(actor):
            return False  # another organisation's key: unknown, like a missing one
        return self._ctx.audited(
            actor, "apikey.revoke", "principal", key_id, lambda c: auth.revoke_api_key(c, key_id)
        )

    def check(self, presented: str) -> Actor | None:
        """The key's actor, or None (unknown, wrong secret, revoked, expired, or its
        owner disabled). Read on every request: a revocation holds at once."""
        with self._ctx.reading() as conn:
            return auth.check_api_key(conn, presented)
