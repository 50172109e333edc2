"""What the "Hash banks & rules" page manages: hash lists and the payments typology pack.

Hash banks are the media module's :class:`~daybreak.media.banks.BankStore` (the same
banks the matcher reads; over the case store's tables when the console runs on a store,
:meth:`Manage.over_store`), so a hash added here is validated by the same rules as an
import. The typology pack is a YAML file validated by :mod:`daybreak.payments.config`
before it is saved: an invalid pack is never written, and the page lists every problem
with its line.
"""

from __future__ import annotations

import functools
import os
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from daybreak.media.banks import BankEntry, BankStore, media_home, normalize_hash
from daybreak.model import DEFAULT_ORG
from daybreak.payments.config import ConfigError, Pack, default_pack_text, parse_pack
from daybreak.store import TiplineStore
from daybreak.store.auth import Actor, Role

# The console changes banks for supervisors and admins (require_manager checks each
# request); each change is audited under the signed-in user (``console:<user>``).
CONSOLE_BANKS = Actor("console", Role.SUPERVISOR)


@dataclass(frozen=True, slots=True)
class EntryView:
    hash_type: str
    value: str  # the hash, never the media
    labels: str
    added_at: datetime | None


def bank_entries(banks: BankStore, name: str, limit: int) -> list[EntryView]:
    frame = banks.entries(name).head(limit)
    return [
        EntryView(row["hash_type"], row["hash"], " ".join(row["labels"] or []), row["added_at"])
        for row in frame.iter_rows(named=True)
    ]


def add_hash(
    banks: BankStore, name: str, hash_type: str, value: str, labels: str, actor: str
) -> int:
    """Add one hash (validated by the media module); returns 1 if new, 0 if present."""
    kind, hexed = normalize_hash(hash_type, value, "hash")
    tags = tuple(t for t in labels.replace(";", " ").split() if t)
    added, _ = banks.add(name, [BankEntry(kind, hexed, tags)], actor=actor)
    return added


@dataclass
class Manage:
    """The banks and the typology pack the page shows. ``banks``: the default
    organisation's banks (without a store, the only ones). Over a store (``store`` and
    ``banks_dir`` set) every organisation has its own, opened on first use: a signed-in
    user sees and changes their organisation's banks only (:meth:`banks_of`)."""

    banks: BankStore | None = None
    rules_path: Path | None = None  # None: show the built-in pack, read-only
    store: TiplineStore | None = None
    banks_dir: Path | None = None
    _opened: dict[str, BankStore] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_environment(cls) -> Manage:
        """The banks the media API matches against ($DAYBREAK_MEDIA_HOME/banks, else
        ./daybreak-media/banks), when that folder exists; nothing is created."""
        banks = media_home() / "banks"
        return cls(banks=BankStore(banks) if banks.is_dir() else None)

    @classmethod
    def over_store(cls, store: TiplineStore, banks_dir: Path | None = None) -> Manage:
        """The banks of ``banks_dir`` (default $DAYBREAK_MEDIA_HOME/banks) with their
        metadata in ``store``: the rows the media API and the CLI read and change. An
        old ``banks.json`` there is imported on this first open."""
        root = banks_dir or media_home() / "banks"
        made = cls(store=store, banks_dir=root)
        made.banks = made.banks_of(DEFAULT_ORG)
        return made

    def banks_of(self, org_id: str) -> BankStore | None:
        """The banks of organisation ``org_id`` (None: it has none here). Changes are
        made as the console (a supervisor of that organisation; require_manager checks
        the signed-in user on each request) and audited under the user's name."""
        if self.store is None or self.banks_dir is None:
            return self.banks if org_id == DEFAULT_ORG else None
        with self._lock:
            banks = self._opened.get(org_id)
            if banks is None:
                actor = Actor(CONSOLE_BANKS.name, CONSOLE_BANKS.role, org_id=org_id)
                banks = self.store.banks.open(self.banks_dir, actor, audit_name="console")
                self._opened[org_id] = banks
            return banks


@dataclass(frozen=True, slots=True)
class RulesView:
    text: str
    source: str
    pack: Pack | None
    problems: list[str]
    editable: bool
    save_to: str  # where an edited pack is written ("" when read-only)


@functools.lru_cache(maxsize=8)
def _parse(text: str, source: str) -> tuple[Pack | None, tuple[str, ...]]:
    """Validating a pack compiles its rules (~0.5 s); packs are immutable, so cache."""
    try:
        return parse_pack(text, source), ()
    except ConfigError as exc:
        return None, tuple(exc.problems)


def read_rules(path: Path | None) -> RulesView:
    if path is None or not path.exists():
        text, source = default_pack_text(), "built-in default.yaml"
    else:
        text, source = path.read_text("utf-8"), str(path)
    pack, problems = _parse(text, source)
    return RulesView(text, source, pack, list(problems), path is not None, str(path or ""))


def save_rules(path: Path, text: str) -> Pack:
    """Validate, then replace the file atomically. Raises ConfigError when invalid."""
    pack = parse_pack(text, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".typologies-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return pack
