"""``store.accounts``: analysts' user accounts, their lifecycle and signing in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from daybreak.store import auth
from daybreak.store.auth import SYSTEM, Account, Actor, Role
from daybreak.store.repositories.context import PermissionDenied, StoreContext, require
from daybreak.store.repositories.throttles import Throttles
from daybreak.store.tables import users
from daybreak.store.throttle import LoginGuard, LoginRefused

ADMINS = frozenset({Role.ADMIN})


def require_admin_of(actor: Actor, org_id: str, what: str) -> None:
    """An admin manages their own organisation only; the deployment's operator
    (:data:`~daybreak.store.auth.SYSTEM`, the ``daybreak admin`` CLI) manages any."""
    require(actor, ADMINS, what)
    if org_id != actor.org_id and not auth.is_operator(actor):
        raise PermissionDenied(f"an admin of {actor.org_id} may not {what} of {org_id}")


class AccountRepository:
    """User accounts: created, disabled, re-enabled, re-roled, revoked and reset by an
    admin (each audited), and checked at sign-in behind :attr:`login_guard`."""

    def __init__(self, ctx: StoreContext, throttles: Throttles) -> None:
        self._ctx = ctx
        self._throttles = throttles
        # The account lockout itself is in the users table. No hashing budget until a
        # server sets its limits with use_login_limits (every app does, from Settings):
        # tools and tests sign in back to back.
        self.login_guard = self._guard(hashes_per_minute=0)

    def _guard(
        self, *, max_hashing: int = 2, per_address_per_minute: int = 30, hashes_per_minute: int
    ) -> LoginGuard:
        return LoginGuard(
            max_hashing=max_hashing,
            per_address_per_minute=per_address_per_minute,
            hashes_per_minute=hashes_per_minute,
            addresses=self._throttles.limiter("login-address"),
            budget=self._throttles.limiter("login-hashing"),
        )

    def use_login_limits(
        self,
        *,
        max_hashing: int,
        per_address_per_minute: int,
        hashes_per_minute: int = 60,
    ) -> None:
        """Replace :attr:`login_guard`: at most ``max_hashing`` password checks at once
        in this process, ``per_address_per_minute`` attempts per client address and
        ``hashes_per_minute`` password checks for all addresses together (both in every
        process together on PostgreSQL: the store's shared buckets; per process on
        SQLite)."""
        self.close()
        self.login_guard = self._guard(
            max_hashing=max_hashing,
            per_address_per_minute=per_address_per_minute,
            hashes_per_minute=hashes_per_minute,
        )

    def close(self) -> None:
        self._audit_refusals(force=True)
        self.login_guard.close()

    def create(
        self,
        username: str,
        password: str,
        role: Role,
        actor: Actor = SYSTEM,
        *,
        org_id: str | None = None,
    ) -> None:
        """A new account in ``org_id`` (default: the acting admin's organisation)."""
        org = org_id or actor.org_id
        require_admin_of(actor, org, "create users")
        self._ctx.audited(
            actor,
            "user.create",
            "principal",
            username,
            lambda c: auth.create_user(c, username, password, role, org),
        )

    def set_password(self, username: str, password: str, actor: Actor = SYSTEM) -> None:
        """Reset a password (policy checked); the lock is lifted and every session ends."""
        self._require_admin_of_user(actor, username, "reset passwords")
        self._ctx.audited(
            actor,
            "user.password_reset",
            "principal",
            username,
            lambda c: auth.set_password(c, username, password),
        )

    def set_disabled(self, username: str, disabled: bool, actor: Actor = SYSTEM) -> None:
        self._require_admin_of_user(actor, username, "disable or enable users")
        action = "user.disable" if disabled else "user.enable"
        self._ctx.audited(
            actor, action, "principal", username, lambda c: auth.set_disabled(c, username, disabled)
        )

    def set_role(self, username: str, role: Role, actor: Actor = SYSTEM) -> None:
        self._require_admin_of_user(actor, username, "change roles")
        ctx = self._ctx
        with ctx.writing() as conn:
            auth.set_role(conn, username, role)
            ctx.audit(conn, actor, "user.role", "principal", username, {"role": role.value})

    def revoke(self, username: str, actor: Actor = SYSTEM) -> tuple[int, int]:
        """End every session of ``username`` and revoke the API keys they own:
        (sessions ended, keys revoked). Effective at once in every process."""
        self._require_admin_of_user(actor, username, "revoke users")
        ctx = self._ctx
        with ctx.writing() as conn:
            ended, revoked = auth.revoke_user(conn, username)
            detail = {"sessions": ended, "keys": revoked}
            ctx.audit(conn, actor, "user.revoke", "principal", username, detail)
        return ended, revoked

    def _require_admin_of_user(self, actor: Actor, username: str, what: str) -> None:
        """The organisation's admin, or the operator, manages a user (an unknown user
        is the store's error, raised by the change itself). A user of another
        organisation is, to an organisation's admin, unknown like a missing one."""
        require(actor, ADMINS, what)
        with self._ctx.reading() as conn:
            org = conn.execute(select(users.c.org_id).where(users.c.username == username)).scalar()
        if org is not None and org != actor.org_id and not auth.is_operator(actor):
            raise auth.AuthError(f"no user {username!r}")

    def listing(self, actor: Actor = SYSTEM) -> list[Account]:
        """The accounts an admin manages, disabled ones too: their organisation's (the
        operator's: every organisation's, ``admin users list``)."""
        require(actor, ADMINS, "list users")
        with self._ctx.reading() as conn:
            return auth.list_accounts(conn, None if auth.is_operator(actor) else actor.org_id)

    def active(self, actor: Actor = SYSTEM) -> list[Actor]:
        """The users who can sign in, of the actor's organisation (to assign cases to;
        the operator: of every organisation)."""
        with self._ctx.reading() as conn:
            return auth.list_users(conn, None if auth.is_operator(actor) else actor.org_id)

    def authenticate(self, username: str, password: str) -> Actor | None:
        """Check a password with no throttle (for tools and tests); sign-in pages and
        routes use :meth:`login`."""
        with self._ctx.reading() as conn:
            return auth.check_password(conn, username, password)

    def login(
        self, username: str, password: str, *, client: str = "", channel: str = "api"
    ) -> Actor | None:
        """Check a password behind the sign-in throttles (:attr:`login_guard`): the
        per-address limit, the hashing budget for all addresses, the account lockout
        kept in the database (which every process shares) and this process's cap on
        concurrent hashing. None: wrong user name or password, audited as
        ``login.failed`` (and ``login.locked`` when the failure locks the account).
        Raises :class:`LoginRefused` (address, budget, locked or busy) without checking
        the password; refusals are audited as a tally, ``login.refused``, at most once
        a minute."""
        self._audit_refusals()
        try:
            return self._login(username, password, client, channel)
        except LoginRefused as exc:
            self.login_guard.tally(exc.reason, channel)
            raise

    def refused_early(self, channel: str = "api") -> LoginRefused | None:
        """The refusal of a sign-in while the hashing budget is known to be spent,
        decided without a thread, the database or the request's body (tallied like any
        refusal); None: go through :meth:`login`, which also does when the tally's
        audit entry is due."""
        guard = self.login_guard
        if guard.tally_due():
            return None
        refused = guard.refusal_while_spent()
        if refused is not None:
            guard.tally(refused.reason, channel)
        return refused

    def _login(self, username: str, password: str, client: str, channel: str) -> Actor | None:
        self.login_guard.admit(client)
        ctx = self._ctx
        with ctx.reading() as conn:
            record = auth.password_record(conn, username)
        now = datetime.now(UTC)
        if record.locked_until is not None and record.locked_until > now:
            wait = (record.locked_until - now).total_seconds()
            raise LoginRefused(
                "locked",
                "too many failed sign-ins for this account; try again later",
                int(wait) + 1,
            )
        actor = self.login_guard.check(lambda: auth.verify_password(record, password))
        if actor is None:
            self._login_failed(record.username, username, client, channel, now)
        elif record.failed_logins:
            with ctx.writing() as conn:
                auth.record_success(conn, actor.name)
        return actor

    def _audit_refusals(self, *, force: bool = False) -> None:
        """One audit entry for the sign-ins refused since the last (counts by reason
        and channel): a flood of refusals costs the trail a write a minute, not one
        per attempt. Failures that were checked are audited one by one
        (``login.failed``); the hashing budget bounds how many there can be."""
        counts = self.login_guard.take_tally(force=force)
        if counts:
            with self._ctx.writing() as conn:
                self._ctx.audit(conn, "system", "login.refused", "principal", "*", counts)

    def _login_failed(
        self, known: str | None, typed: str, client: str, channel: str, now: datetime
    ) -> None:
        """Count the failure (known users) and audit it. The audit names a known user;
        an unknown name is kept only as a keyed hash (people type passwords into the
        user name field), and so is the client address: repeated attempts still link."""
        ctx = self._ctx
        oid = known or "?" + ctx.keys.index(f"login-name:{typed}")[:16]
        detail: dict[str, Any] = {
            "channel": channel,
            "client": ctx.keys.index(f"client:{client}")[:16],
        }
        with ctx.writing() as conn:
            until = None
            if known is not None:
                detail["failures"], until = auth.record_failure(conn, known, now)
            ctx.audit(conn, "anonymous", "login.failed", "principal", oid, detail)
            if until is not None:
                locked = {"until": until.isoformat(), "failures": detail["failures"]}
                ctx.audit(conn, "system", "login.locked", "principal", oid, locked)
