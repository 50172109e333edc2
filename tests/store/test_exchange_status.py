"""``store.exchanges``' fetch status, enable flag and opinions of one case (what HMA's
``/c/exchange/<name>/status`` and the console's match buttons read), on SQLite and on
PostgreSQL (migration 0016)."""

from __future__ import annotations

import pytest

from daybreak.store import PermissionDenied, TiplineStore
from daybreak.store.auth import Actor, Role
from daybreak.store.repositories.exchanges import ItemHash

ADMIN = Actor("adam", Role.ADMIN)
ANALYST = Actor("ana", Role.ANALYST)
PLATFORM = Actor("bot", Role.PLATFORM)
H1, H2 = "a" * 64, "b" * 64


def _exchange(store: TiplineStore) -> None:
    store.exchanges.add(ADMIN, "tx", "fb_threatexchange", "tx-pdq", {"privacy_group": 1}, "T")
    items = {"i1": [ItemHash("pdq", H1, "901")], "i2": [ItemHash("pdq", H2, "902")], "i3": []}
    store.exchanges.commit_page(ADMIN, "tx", items, '{"update_time": 5}')


def test_fetch_status_follows_a_sync_from_start_to_end(store: TiplineStore) -> None:
    _exchange(store)
    state = store.exchanges.fetch_state(ADMIN, "tx")
    assert (state.started_at, state.ended_at, state.succeeded) == (None, None, None)
    assert state.items == 2  # the items that list a hash (i3 lists none)
    store.exchanges.fetch_started(ADMIN, "tx")
    running = store.exchanges.fetch_state(ADMIN, "tx")
    assert running.started_at is not None and running.ended_at is None
    store.exchanges.record_sync(ADMIN, "tx", {"pages": 1, "error": "boom"})
    failed = store.exchanges.fetch_state(ADMIN, "tx")
    assert failed.started_at is None and failed.ended_at is not None and failed.succeeded is False
    assert store.exchanges.get(ADMIN, "tx").synced_at is None  # the last *successful* sync
    store.exchanges.fetch_started(ADMIN, "tx")
    store.exchanges.record_sync(ADMIN, "tx", {"pages": 1})
    assert store.exchanges.fetch_state(ADMIN, "tx").succeeded is True
    assert store.exchanges.get(ADMIN, "tx").synced_at is not None


def test_enable_flag_audited_and_for_managers_only(store: TiplineStore) -> None:
    _exchange(store)
    assert store.exchanges.set_enabled(ADMIN, "tx", False).enabled is False
    assert store.exchanges.set_enabled(ADMIN, "tx", False).enabled is False  # no change
    assert store.exchanges.set_enabled(ADMIN, "tx", True).enabled is True
    actions = [a.action for a in store.audit.trail(ADMIN) if a.object_id == "tx"]
    assert actions.count("exchange.disable") == 1 and actions.count("exchange.enable") == 1
    with pytest.raises(PermissionDenied):
        store.exchanges.set_enabled(ANALYST, "tx", False)


def test_opinions_of_one_case_and_who_may_give_them(store: TiplineStore) -> None:
    _exchange(store)
    assert store.exchanges.queue_opinion(ANALYST, "pdq", H1, "false_positive", "C-1") == ["tx"]
    assert store.exchanges.queue_opinion(ANALYST, "pdq", H2, "true_positive", "C-2") == ["tx"]
    assert store.exchanges.queue_opinion(ANALYST, "pdq", H1, "false_positive", "C-1") == []
    mine = store.exchanges.opinions(ADMIN, case_id="C-1")
    assert [(o.hash, o.verdict, o.actor) for o in mine] == [(H1, "false_positive", "ana")]
    with pytest.raises(PermissionDenied):
        store.exchanges.queue_opinion(PLATFORM, "pdq", H1, "true_positive", "C-1")
