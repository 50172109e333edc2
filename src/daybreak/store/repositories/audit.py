"""``store.audit``: reading the audit trail, recording what the faces do outside the
other repositories (console configuration, exports), checkpoints and verification."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import Any

from daybreak.store import checkpoints as cp
from daybreak.store import integrity
from daybreak.store.audit import AuditEntry, VerifyResult, head_for_checkpoint, iter_entries, verify
from daybreak.store.auth import CASE_READERS, MANAGERS, Actor, is_operator
from daybreak.store.keys import Keyring, private_dir
from daybreak.store.repositories.context import StoreContext, require


class AuditTrail:
    """The store's audit chain. ``checkpoint_path``: the checkpoint file written outside
    the database (None: none configured); ``checkpoint_every``: seconds between
    checkpoints (0: only on close and on demand)."""

    def __init__(
        self, ctx: StoreContext, checkpoint_path: Path | None, checkpoint_every: float
    ) -> None:
        self._ctx = ctx
        self.checkpoint_path = checkpoint_path
        self._checkpointer: cp.Checkpointer | None = None
        if checkpoint_path is not None:
            private_dir(checkpoint_path.parent)
            self._checkpointer = cp.Checkpointer(
                checkpoint_path, ctx.keys, self._head_for_checkpoint, checkpoint_every
            )
            self._checkpointer.checkpoint()

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()  # writes the final checkpoint
            self._checkpointer = None

    def trail(self, actor: Actor, object_id: str | None = None) -> list[AuditEntry]:
        """The entries about one object (case readers), or all of them (managers): of
        the actor's organisation (the operator's: of every organisation)."""
        require(actor, CASE_READERS if object_id else MANAGERS, "read the audit trail")
        org = None if is_operator(actor) else actor.org_id
        with self._ctx.reading() as conn:
            return list(iter_entries(conn, object_id, org))

    def record(
        self,
        actor: Actor,
        action: str,
        object_type: str,
        object_id: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Audit something a face did that no repository call covers (an export, a
        change of the console's configuration, an evidence record read); returns once
        the entry is committed (the group commit of reads)."""
        self._ctx.audit_read(actor, action, object_type, object_id, detail)

    def record_later(
        self,
        actor: Actor,
        action: str,
        object_type: str,
        object_id: str,
        detail: dict[str, Any] | None = None,
    ) -> Future[None]:
        """:meth:`record` without waiting: the future resolves once the entry is
        committed (``asyncio.wrap_future`` awaits it on an event loop)."""
        return self._ctx.audit_read_later(actor, action, object_type, object_id, detail)

    def _head_for_checkpoint(self) -> tuple[int, str] | str:
        with self._ctx.reading() as conn:
            return head_for_checkpoint(conn, self._ctx.keys)

    def checkpoint(self) -> cp.Checkpoint | None:
        """Append the audit head to the checkpoint file now (None: no file configured,
        or the head failed its checks, which is logged)."""
        if self._checkpointer is None:
            return None
        return self._checkpointer.checkpoint(force=True)

    def checkpoints(
        self, checkpoint_file: Path | None = None
    ) -> tuple[list[cp.Checkpoint] | None, list[str], str]:
        """The lines of ``checkpoint_file`` (default: the store's own file; None when
        there is none), the problems of lines that are not checkpoints, and the path."""
        path = checkpoint_file or self.checkpoint_path
        points: list[cp.Checkpoint] | None = None
        unreadable: list[str] = []
        if path is not None and (checkpoint_file is not None or path.exists()):
            try:
                points, unreadable = cp.read(path)
            except OSError as exc:
                unreadable = [f"{path}: cannot read the checkpoint file ({exc})"]
        return points, unreadable, str(path)

    def verify(
        self, checkpoint_file: Path | None = None, previous: Keyring | None = None
    ) -> VerifyResult:
        """The audit chain, its head, the checkpoints (of ``checkpoint_file``, e.g. the
        copy kept off the machine; default: the store's own file) and every row MAC.
        ``previous``: the keys before the last audit-key rotation, for the checkpoints
        signed with them."""
        points, unreadable, where = self.checkpoints(checkpoint_file)
        keys = self._ctx.keys
        with self._ctx.reading() as conn:
            chain = verify(conn, keys, points, where, previous=previous)
            rows = integrity.check_rows(conn, keys)
        problems = (*unreadable, *chain.problems, *rows.problems)
        if rows.bad > len(rows.problems):
            problems += (f"... {rows.bad} rows in all do not match their row MAC",)
        return VerifyResult(
            ok=not problems,
            entries=chain.entries,
            problems=problems,
            warnings=chain.warnings,
            checkpoints=chain.checkpoints,
            rows=rows.rows,
            bad_rows=rows.bad,
        )
