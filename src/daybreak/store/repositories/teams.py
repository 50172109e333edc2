"""``store.teams``: which analysts form which team of their organisation (payments,
platform, hotline ...). A team exists while it has members; cases are sent to a team
(:meth:`daybreak.store.repositories.cases.CaseRepository.send_to_team`) and wait in its
inbox until a member takes one. Membership is an admin's change, audited."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, insert, select

from daybreak.store.auth import CASE_READERS, MANAGERS, Actor, AuthError
from daybreak.store.repositories.context import StoreContext, require
from daybreak.store.tables import of_org, team_members, users

_TEAM_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def validate_team(team: str) -> str:
    """A team name: 1-40 of a-z, 0-9 and - (AuthError naming the name otherwise)."""
    if not team or len(team) > 40 or not set(team) <= _TEAM_CHARS:
        raise AuthError(f"team {team!r}: 1-40 characters of a-z, 0-9 and -")
    return team


def team_names(conn: Connection, org_id: str, username: str | None = None) -> list[str]:
    """The organisation's teams (those ``username`` belongs to), sorted."""
    q = select(team_members.c.team).where(of_org(team_members, org_id)).distinct()
    if username is not None:
        q = q.where(team_members.c.username == username)
    return sorted(conn.execute(q).scalars())


class TeamRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self._ctx = ctx

    def add(self, team: str, username: str, actor: Actor) -> None:
        """Put a user of the actor's organisation in a team (admins and supervisors)."""
        require(actor, MANAGERS, "manage teams")
        validate_team(team)

        def write(conn: Connection) -> None:
            _require_member_of_org(conn, username, actor.org_id)
            if username in self._members(conn, actor.org_id, team):
                raise AuthError(f"{username} is already in team {team}")
            conn.execute(
                insert(team_members).values(
                    org_id=actor.org_id, team=team, username=username, added_at=datetime.now(UTC)
                )
            )

        self._ctx.audited(actor, "team.add", "team", team, write)

    def remove(self, team: str, username: str, actor: Actor) -> None:
        """Take a user out of a team (the team's cases stay where they are)."""
        require(actor, MANAGERS, "manage teams")

        def write(conn: Connection) -> None:
            done = conn.execute(
                delete(team_members).where(
                    of_org(team_members, actor.org_id),
                    team_members.c.team == team,
                    team_members.c.username == username,
                )
            )
            if not done.rowcount:
                raise AuthError(f"{username} is not in team {team}")

        self._ctx.audited(actor, "team.remove", "team", team, write)

    def listing(self, actor: Actor) -> dict[str, list[str]]:
        """Every team of the actor's organisation with its members."""
        require(actor, CASE_READERS, "list teams")
        with self._ctx.reading() as conn:
            rows = conn.execute(
                select(team_members.c.team, team_members.c.username)
                .where(of_org(team_members, actor.org_id))
                .order_by(team_members.c.team, team_members.c.username)
            )
            out: dict[str, list[str]] = {}
            for team, username in rows:
                out.setdefault(team, []).append(username)
        return out

    def of(self, username: str, actor: Actor) -> list[str]:
        """The teams ``username`` (of the actor's organisation) belongs to."""
        require(actor, CASE_READERS, "list teams")
        with self._ctx.reading() as conn:
            return team_names(conn, actor.org_id, username)

    @staticmethod
    def _members(conn: Connection, org_id: str, team: str) -> Iterable[str]:
        q = select(team_members.c.username).where(
            of_org(team_members, org_id), team_members.c.team == team
        )
        return set(conn.execute(q).scalars())


def _require_member_of_org(conn: Connection, username: str, org_id: str) -> None:
    found = conn.execute(
        select(users.c.username).where(users.c.username == username, of_org(users, org_id))
    ).first()
    if found is None:
        raise AuthError(f"no user {username!r} in organisation {org_id!r}")
