"""``store.organisations``: the organisations one deployment serves (created by the
deployment's operator; every tenant-owned row names one, see migration 0005)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select

from daybreak.store import auth
from daybreak.store.auth import SYSTEM, Actor, AuthError
from daybreak.store.repositories.context import PermissionDenied, StoreContext
from daybreak.store.tables import organisations


@dataclass(frozen=True, slots=True)
class Organisation:
    org_id: str
    name: str
    created_at: datetime


class OrganisationRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self._ctx = ctx

    def create(self, org_id: str, name: str, actor: Actor = SYSTEM) -> Organisation:
        """A new organisation (the operator only; audited)."""
        if not auth.is_operator(actor):
            raise PermissionDenied("only the deployment's operator creates organisations")
        auth.validate_org_id(org_id)
        if not name.strip() or len(name) > 120:
            raise AuthError("organisation name: 1-120 characters")
        made = Organisation(org_id, name.strip(), datetime.now(UTC))

        def write(conn: Connection) -> None:
            found = conn.execute(
                select(organisations.c.org_id).where(organisations.c.org_id == org_id)
            ).first()
            if found is not None:
                raise AuthError(f"organisation {org_id!r} already exists")
            conn.execute(
                insert(organisations).values(
                    org_id=made.org_id, name=made.name, created_at=made.created_at
                )
            )

        self._ctx.audited(actor, "org.create", "organisation", org_id, write)
        return made

    def listing(self) -> list[Organisation]:
        with self._ctx.reading() as conn:
            rows = conn.execute(select(organisations).order_by(organisations.c.org_id))
            return [Organisation(r.org_id, r.name, r.created_at) for r in rows]
