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


def test_a_block_replaces_items_and_says_what_the_bank_gains_and_loses(
    store: TiplineStore,
) -> None:
    """``store_block`` (a sync's block of pages in one transaction, compared with the
    stored items in SQL through staging tables), on SQLite and PostgreSQL alike."""
    H3, H4 = "c" * 64, "d" * 64
    store.exchanges.add(ADMIN, "tx", "fb_threatexchange", "tx-pdq", {"privacy_group": 1}, "T")
    first = {"i1": [ItemHash("pdq", H1, "901")], "i2": [ItemHash("pdq", H2, "902")],
             "i3": [ItemHash("pdq", H2, "903"), ItemHash("md5", H3[:32], "903")]}  # fmt: skip
    got = store.exchanges.store_block(ADMIN, "tx", first, '{"update_time": 5}')
    assert got.added == [("md5", H3[:32]), ("pdq", H1), ("pdq", H2)] and got.removed == []
    assert (got.updated, got.deleted) == (3, 0)
    # i1 now lists H4 instead of H1; i2 is deleted (H2 stays: i3 lists it); i9 never existed
    second = {"i1": [ItemHash("pdq", H4, "901")], "i2": None, "i9": None}
    got = store.exchanges.store_block(ADMIN, "tx", second, '{"update_time": 9}')
    assert got.added == [("pdq", H4)] and got.removed == [("pdq", H1)]
    assert (got.updated, got.deleted) == (1, 1)
    assert store.exchanges.listed(ADMIN, "tx") == {("pdq", H4), ("pdq", H2), ("md5", H3[:32])}
    assert store.exchanges.refs(ADMIN, "pdq", H2) == [("tx", "903")]
    assert store.exchanges.get(ADMIN, "tx").checkpoint == '{"update_time": 9}'
    # the last item listing H2 goes: it leaves the bank; a block of nothing changes nothing
    got = store.exchanges.store_block(ADMIN, "tx", {"i3": []}, '{"update_time": 10}')
    assert got.removed == [("md5", H3[:32]), ("pdq", H2)] and got.added == []
    assert store.exchanges.store_block(ADMIN, "tx", {}, '{"update_time": 11}').added == []
    assert store.exchanges.fetch_state(ADMIN, "tx").items == 1
