"""Reports in the store: durability API, idempotency, clustering, encryption at rest."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest
from sqlalchemy import select, text
from store_samples import report, sub

from daybreak.store import Actor, IdempotencyConflict, Role, TiplineStore
from daybreak.store.tables import report_identifiers, reports

ANALYST = Actor("ana", Role.ANALYST)
PLATFORM = Actor("key:acme", Role.PLATFORM)


def test_reports_round_trip_and_are_triaged(store: TiplineStore) -> None:
    rec = store.reports.add_many([sub(report(live=True), who=PLATFORM.name)])[0]
    assert rec.tier == 1 and "WCPC" in rec.agency
    got = store.reports.get(rec.report_id, ANALYST)
    assert got is not None
    assert got.report.reported_accounts[0].account_id == "u-1"
    assert got.country == "PH" and got.route_basis == "victim_location"
    assert got.reasons[0].startswith("tier 1")
    # A platform reads its own report, nobody else's.
    assert store.reports.get(rec.report_id, PLATFORM) is not None
    assert store.reports.get(rec.report_id, Actor("key:other", Role.PLATFORM)) is None


def test_sensitive_fields_are_encrypted_at_rest(store: TiplineStore) -> None:
    store.reports.add_many([sub(report(phone="+639171234567"))])
    with store.engine.connect() as conn:
        payloads = [bytes(r[0]) for r in conn.execute(select(reports.c.payload_enc))]
        values = [bytes(r[0]) for r in conn.execute(select(report_identifiers.c.value_enc))]
        indexes = [r[0] for r in conn.execute(select(report_identifiers.c.value_index))]
    blob = b"".join(payloads + values)
    assert b"7731" not in blob and b"639171234567" not in blob and b"u-1" not in blob
    assert not any("639171234567" in i for i in indexes)


def test_idempotency_key_never_creates_a_second_report(store: TiplineStore) -> None:
    r = report()
    a = store.reports.add_many([sub(r, key="k-1")])[0]
    b = store.reports.add_many([sub(r, key="k-1")])[0]
    assert (b.report_id, b.duplicate, a.duplicate) == (a.report_id, True, False)
    # Same key in one batch, and the same key from another principal is separate.
    c, d = store.reports.add_many([sub(r, key="k-2"), sub(r, key="k-2")])
    assert c.report_id == d.report_id and d.duplicate
    e = store.reports.add_many([sub(r, who="key:someone-else", key="k-1")])[0]
    assert e.report_id != a.report_id
    with pytest.raises(IdempotencyConflict):
        store.reports.add_many([sub(report(live=True), key="k-1")])
    assert store.reports.count() == 3


def test_clusters_merge_across_batches_and_raise_priority(store: TiplineStore) -> None:
    first = store.reports.add_many([sub(report("a"))])[0]
    second = store.reports.add_many([sub(report("b", phone="+639170000001"))])[0]
    assert first.cluster_id != second.cluster_id
    # A report naming account a and the phone of b joins both clusters into one.
    bridge = store.reports.add_many([sub(report("a", phone="+639170000001"))])[0]
    assert bridge.cluster_id == min(first.cluster_id, second.cluster_id)
    queue = store.reports.queue(ANALYST)
    assert len(queue) == 1
    assert set(queue[0].report_ids) == {first.report_id, second.report_id, bridge.report_id}
    assert queue[0].report_count == 3
    assert any("earlier report" in r for r in store.reports.get(bridge.report_id, ANALYST).reasons)  # type: ignore[union-attr]
    # Later, reports about either side land in the merged cluster.
    later = store.reports.add_many([sub(report("b"))])[0]
    assert later.cluster_id == bridge.cluster_id


def test_queue_orders_by_tier_then_score(store: TiplineStore) -> None:
    store.reports.add_many(
        [sub(report("x")), sub(report("y", live=True)), sub(report("z", incident_type="other"))]
    )
    tiers = [c.tier for c in store.reports.queue(ANALYST)]
    assert tiers == sorted(tiers) and tiers[0] == 1
    with pytest.raises(PermissionError):
        store.reports.queue(PLATFORM)


def test_alerted_identifiers_raise_the_score(store: TiplineStore) -> None:
    plain = store.reports.add_many([sub(report("p"))])[0]
    store.reports.mark_alerted(["account:examplestream:q"], "payments", "alert-1")
    store.reports.mark_alerted(["hash:md5:" + "a" * 32], "media")
    linked = store.reports.add_many(
        [sub(report("q", media_hashes=[{"type": "md5", "value": "a" * 32}]))]
    )[0]
    assert linked.score > plain.score
    reasons = store.reports.get(linked.report_id, ANALYST).reasons  # type: ignore[union-attr]
    assert any("alert" in r for r in reasons) and any("hash match" in r for r in reasons)


def test_group_commit_writer_batches_concurrent_reports(store: TiplineStore) -> None:
    futures: list[Future[object]] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        for i in range(25):
            f = store.reports.submit(sub(report(f"t{n}-{i}"), key=f"{n}-{i}"))
            with lock:
                futures.append(f)  # type: ignore[arg-type]

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = {f.result(timeout=30).report_id for f in futures}  # type: ignore[attr-defined]
    assert len(ids) == 200 == store.reports.count()
    assert (
        store.reports.writer.batches < store.reports.writer.items
    )  # several reports shared a commit
    assert store.audit.verify().ok


def test_search_by_identifier_is_normalised(store: TiplineStore) -> None:
    rec = store.reports.add_many([sub(report("s", phone="+639171234567"))])[0]
    hit = store.reports.search("phone", "+63 917 123 4567", ANALYST)
    assert hit.report_ids == (rec.report_id,)
    assert store.reports.search("account", "ExampleStream:s", ANALYST).report_ids == (
        rec.report_id,
    )


def test_sqlite_runs_in_wal_mode(tmp_path: object, keys: object) -> None:
    s = TiplineStore(f"sqlite+pysqlite:///{tmp_path}/w.db", keys)  # type: ignore[arg-type]
    try:
        with s.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    finally:
        s.close()
