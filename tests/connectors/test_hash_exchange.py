"""Banks synced from hash exchanges (daybreak.connectors.hash_exchange) against local
servers of NCMEC hash sharing and Meta ThreatExchange (tests/connectors/exchange_servers.py):
incremental sync with a checkpoint that survives a failure mid-page, updates and
deletions applied, opinions delivered (and dead-lettered), credentials never in logs or
the store, and each organisation's exchanges and banks apart."""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import signal
import sqlite3
import subprocess
import sys
import time
import types
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from threatexchange.exchanges.impl import ncmec_api

from daybreak.connectors import hash_exchange
from daybreak.connectors.hash_exchange import (
    MAX_ATTEMPTS,
    ExchangeSyncError,
    send_opinions,
    sync_exchange,
)
from daybreak.model.alerts import Alert, HashMatch
from daybreak.model.cases import Case
from daybreak.store import TiplineStore
from daybreak.store.auth import Actor, Role
from daybreak.store.repositories.exchanges import ExchangeError
from daybreak.store.store import DB_FILE

from .exchange_servers import (
    NCMEC_PREFIX,
    REASON_GUID,
    STOPNCII_PREFIX,
    TX_PREFIX,
    Exchange,
    NcmecEntry,
    NcmecHandler,
    StopNciiHandler,
    StopNciiRecord,
    TxHandler,
    TxUpdate,
    _ts,
    descriptor,
    serve,
)

NCMEC_SECRET = "espuser:correct-horse-battery"
TX_SECRET = "123456789|abcdefghijklmnopqrstuvwxyz012345"
T0 = 1_760_000_000  # the fake clock's start (NCMEC's client windows by time.time())
ADMIN = Actor("admin", Role.ADMIN)


def pdq(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def md5(seed: str) -> str:
    return hashlib.md5(seed.encode()).hexdigest()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """NCMEC's fetch windows end 5 s before "now": a clock the test moves."""
    now = [T0]
    monkeypatch.setattr(ncmec_api, "time", types.SimpleNamespace(time=lambda: now[0]))
    monkeypatch.setenv("TZ", "UTC")  # the client formats times in local time
    time.tzset()
    return now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TiplineStore]:
    with TiplineStore.open(tmp_path / "data", dev=True) as s:
        yield s


def ncmec_entries() -> list[NcmecEntry]:
    """Four images and a video listed in the same second: NCMEC's client narrows its
    time windows until one second is left, which it then reads page by page."""
    images = [
        NcmecEntry(42, f"img{i}", "image", T0 - 3000, {"md5": md5(f"i{i}"), "pdq": pdq(f"i{i}")})
        for i in range(4)
    ]
    video = NcmecEntry(43, "vid0", "video", T0 - 3000, {"md5": md5("v0"), "sha1": "ab" * 20})
    return [*images, video]


def add_ncmec(store: TiplineStore, base: str, actor: Actor = ADMIN, name: str = "ncmec") -> None:
    config = {"environment": "test_Industry", "endpoint": base}
    store.exchanges.add(actor, name, "ncmec", "ncmec-csam", config, "TEST_NCMEC_CREDS")


def bank_hashes(store: TiplineStore, root: Path, bank: str, actor: Actor = ADMIN) -> set[str]:
    banks = store.banks.open(root, actor)
    return set(banks.entries(bank)["hash"].to_list()) if bank in {b.name for b in banks.banks()} else set()  # fmt: skip


def sync(
    store: TiplineStore, root: Path, name: str, env: dict[str, str], actor: Actor = ADMIN
) -> Any:
    return sync_exchange(store.exchanges, actor, store.banks.open(root, actor), name, env)


def test_ncmec_sync_resumes_mid_page_after_a_failure(
    store: TiplineStore, tmp_path: Path, clock: list[int]
) -> None:
    ex = Exchange(NCMEC_SECRET, page_size=2, entries=ncmec_entries())
    env = {"TEST_NCMEC_CREDS": NCMEC_SECRET}
    root = tmp_path / "banks"
    with serve(NcmecHandler, ex, NCMEC_PREFIX) as base:
        add_ncmec(store, base)
        ex.fail_paged = 5  # the second page fails every retry of the client
        with pytest.raises(ExchangeSyncError, match="resumes from the last page"):
            sync(store, root, "ncmec", env)
        first = bank_hashes(store, root, "ncmec-csam")
        assert len(first) == 2  # the first page (two images' PDQ) is in the bank
        saved = store.exchanges.get(ADMIN, "ncmec").checkpoint
        assert saved is not None and "paging_url" in saved  # mid-page
        failed_url = ex.requests[-1]
        assert "start=2" in failed_url
        before = len(ex.requests)
        report = sync(store, root, "ncmec", env)
        assert ex.requests[before] == failed_url  # resumed at the page that failed
        # no page before it was fetched again: no request starts the window afresh
        resumed = ex.requests[before:]
        assert all("start=0" not in r for r in resumed)
    expected = {pdq(f"i{i}") for i in range(4)} | {md5("v0")}  # image PDQ, video MD5
    assert bank_hashes(store, root, "ncmec-csam") == expected
    assert report.hashes_added == 3 and report.hashes_removed == 0
    checkpoint = store.exchanges.get(ADMIN, "ncmec").checkpoint
    assert checkpoint is not None and '"paging_info": null' in checkpoint
    syncs = [a for a in store.audit.trail(ADMIN) if a.action == "exchange.sync"]
    assert "error" in syncs[0].detail and syncs[0].detail["items_updated"] == 2
    assert syncs[1].detail["hashes_added"] == 3 and "error" not in syncs[1].detail


def test_ncmec_updates_and_deletions_reach_the_bank(
    store: TiplineStore, tmp_path: Path, clock: list[int]
) -> None:
    entries = ncmec_entries()
    ex = Exchange(NCMEC_SECRET, page_size=10, entries=entries)
    env = {"TEST_NCMEC_CREDS": NCMEC_SECRET}
    root = tmp_path / "banks"
    with serve(NcmecHandler, ex, NCMEC_PREFIX) as base:
        add_ncmec(store, base)
        sync(store, root, "ncmec", env)
        assert pdq("i1") in bank_hashes(store, root, "ncmec-csam")
        clock[0] += 600
        entries[1].deleted, entries[1].timestamp = True, T0 + 100  # withdrawn by NCMEC
        entries[2].fingerprints["pdq"], entries[2].timestamp = pdq("i2-new"), T0 + 200
        asked = len(ex.requests)
        report = sync(store, root, "ncmec", env)
        # incremental: only the window since the checkpoint was asked for
        since = "from=" + urllib.parse.quote(_ts(T0 - 5), safe="")
        assert since in ex.requests[asked]
    hashes = bank_hashes(store, root, "ncmec-csam")
    assert pdq("i1") not in hashes and pdq("i2") not in hashes
    assert pdq("i2-new") in hashes and pdq("i0") in hashes
    assert (report.items_updated, report.items_deleted) == (1, 1)
    assert (report.hashes_added, report.hashes_removed) == (1, 2)


def test_a_hash_two_items_list_stays_until_both_are_gone(
    store: TiplineStore, tmp_path: Path, clock: list[int]
) -> None:
    shared = pdq("shared")
    entries = [
        NcmecEntry(42, "a", "image", T0 - 100, {"pdq": shared}),
        NcmecEntry(43, "b", "image", T0 - 90, {"pdq": shared}),
    ]
    ex = Exchange(NCMEC_SECRET, page_size=10, entries=entries)
    env = {"TEST_NCMEC_CREDS": NCMEC_SECRET}
    root = tmp_path / "banks"
    with serve(NcmecHandler, ex, NCMEC_PREFIX) as base:
        add_ncmec(store, base)
        sync(store, root, "ncmec", env)
        clock[0] += 600
        entries[0].deleted, entries[0].timestamp = True, T0 + 10
        sync(store, root, "ncmec", env)
        assert bank_hashes(store, root, "ncmec-csam") == {shared}  # b still lists it
        clock[0] += 600
        entries[1].deleted, entries[1].timestamp = True, T0 + 700
        sync(store, root, "ncmec", env)
    assert bank_hashes(store, root, "ncmec-csam") == set()


def test_ncmec_opinions_are_received_and_seen_is_not_sent(
    store: TiplineStore, tmp_path: Path, clock: list[int]
) -> None:
    ex = Exchange(NCMEC_SECRET, page_size=10, entries=ncmec_entries())
    env = {"TEST_NCMEC_CREDS": NCMEC_SECRET}
    with serve(NcmecHandler, ex, NCMEC_PREFIX) as base:
        add_ncmec(store, base)
        sync(store, tmp_path / "banks", "ncmec", env)
        assert store.exchanges.queue_opinion(ADMIN, "pdq", pdq("i0"), "true_positive", "C-1") == ["ncmec"]  # fmt: skip
        store.exchanges.queue_opinion(ADMIN, "pdq", pdq("i3"), "false_positive", "C-2")
        store.exchanges.queue_opinion(ADMIN, "md5", md5("v0"), "seen", "C-3")
        assert store.exchanges.queue_opinion(ADMIN, "pdq", pdq("elsewhere"), "seen") == []
        report = send_opinions(store.exchanges, ADMIN, env)
    errors = [o.last_error for o in store.exchanges.opinions(ADMIN)]
    assert (report.sent, report.unsupported) == (2, 1), errors
    up, down = ex.feedback
    assert up[0] == "/v2/entries/42/img0/PDQ/feedback" and "<affirmative" in up[1]
    assert down[0] == "/v2/entries/42/img3/PDQ/feedback"
    assert "<negative>" in down[1] and REASON_GUID in down[1]
    states = {o.verdict: o.state for o in store.exchanges.opinions(ADMIN)}
    assert states == {"true_positive": "sent", "false_positive": "sent", "seen": "unsupported"}
    store.exchanges.remove(ADMIN, "ncmec")  # the exchange goes; its bank stays
    assert store.exchanges.all(ADMIN) == [] and store.exchanges.opinions(ADMIN) == []
    assert store.exchanges.refs(ADMIN, "pdq", pdq("i0")) == []
    assert pdq("i0") in bank_hashes(store, tmp_path / "banks", "ncmec-csam")
    assert "exchange.remove" in [a.action for a in store.audit.trail(ADMIN)]


def tx_updates() -> list[TxUpdate]:
    return [
        TxUpdate(100 + i, pdq(f"t{i}"), "HASH_PDQ", T0 - 500 + i, [descriptor(900 + i, 555)])
        for i in range(5)
    ]


def add_tx(store: TiplineStore, base: str, actor: Actor = ADMIN) -> None:
    config = {"privacy_group": 1234, "endpoint": base}
    store.exchanges.add(actor, "tx", "fb_threatexchange", "tx-pdq", config, "TEST_TX_TOKEN")


def test_threatexchange_sync_resume_deletions_and_reactions(
    store: TiplineStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3 logs every request line at DEBUG
    updates = tx_updates()
    ex = Exchange(TX_SECRET, page_size=2, entries=updates)
    env = {"TEST_TX_TOKEN": TX_SECRET}
    root = tmp_path / "banks"
    with serve(TxHandler, ex, TX_PREFIX) as base:
        add_tx(store, base)
        ex.fail_paged = 1  # the client does not retry: one failure stops the sync
        with pytest.raises(ExchangeSyncError) as failed:
            sync(store, root, "tx", env)
        assert TX_SECRET not in str(failed.value) and "***" in str(failed.value)
        assert bank_hashes(store, root, "tx-pdq") == {pdq("t0"), pdq("t1")}
        sync(store, root, "tx", env)
        assert bank_hashes(store, root, "tx-pdq") == {pdq(f"t{i}") for i in range(5)}
        # the resumed sync started at the checkpoint's update time, not from the start
        resumed = [r for r in ex.requests if "threat_updates" in r and "after=" not in r]
        assert f"start_time={T0 - 499}" in resumed[-1]
        updates[3].should_delete, updates[3].last_updated = True, T0 + 10
        report = sync(store, root, "tx", env)
        assert report.hashes_removed == 1 and pdq("t3") not in bank_hashes(store, root, "tx-pdq")
        for verdict in ("seen", "true_positive", "false_positive"):
            store.exchanges.queue_opinion(ADMIN, "pdq", pdq("t1"), verdict, "C-9")
        sent = send_opinions(store.exchanges, ADMIN, env)
    assert sent.sent == 3
    reactions = sorted(body for path, body in ex.feedback)
    assert [p for p, _ in ex.feedback] == ["/901/"] * 3
    assert reactions == ["reactions=HELPFUL", "reactions=NOT_HELPFUL", "reactions=SAW_THIS_TOO"]
    assert ex.auth_seen and all(a == TX_SECRET for a in ex.auth_seen)
    # the token travelled in every URL, and is in no log record, audit entry or row
    assert any("threat_updates" in r.getMessage() for r in caplog.records)
    assert TX_SECRET.split("|")[1] not in caplog.text
    trail = repr([(a.action, a.detail) for a in store.audit.trail(ADMIN)])
    assert TX_SECRET.split("|")[1] not in trail and "exchange.sync" in trail
    assert TX_SECRET not in repr(store.exchanges.get(ADMIN, "tx"))


def test_failing_opinions_are_retried_then_dead_lettered(
    store: TiplineStore, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    ex = Exchange(TX_SECRET, page_size=10, entries=tx_updates())
    env = {"TEST_TX_TOKEN": TX_SECRET}
    with serve(TxHandler, ex, TX_PREFIX) as base:
        add_tx(store, base)
        sync(store, tmp_path / "banks", "tx", env)
        store.exchanges.queue_opinion(ADMIN, "pdq", pdq("t0"), "true_positive", "C-1")
        ex.fail_feedback = 100
        later = datetime.now(UTC)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            report = send_opinions(store.exchanges, ADMIN, env, now=later)
            (opinion,) = store.exchanges.opinions(ADMIN)
            assert opinion.attempts == attempt
            assert report.retrying + report.dead == 1
            later += timedelta(days=1)  # past any retry time
        assert opinion.state == "dead" and "JSONDecodeError" in opinion.last_error
        assert send_opinions(store.exchanges, ADMIN, env, now=later).sent == 0  # dead stays
        ex.fail_feedback = 0
        store.exchanges.requeue(ADMIN, opinion.id)
        assert send_opinions(store.exchanges, ADMIN, env, now=later).sent == 1
    assert [p for p, _ in ex.feedback] == ["/900/"]


def test_credentials_come_from_a_private_file_or_the_environment(
    store: TiplineStore, tmp_path: Path, clock: list[int]
) -> None:
    ex = Exchange(NCMEC_SECRET, page_size=10, entries=ncmec_entries())
    secret_file = tmp_path / "ncmec.secret"
    secret_file.write_text(NCMEC_SECRET + "\n")
    secret_file.chmod(0o644)
    with serve(NcmecHandler, ex, NCMEC_PREFIX) as base:
        store.exchanges.add(
            ADMIN, "ncmec", "ncmec", "ncmec-csam",
            {"environment": "test_Industry", "endpoint": base}, "UNSET_VAR", str(secret_file),
        )  # fmt: skip
        with pytest.raises(ExchangeSyncError, match="readable by others; chmod 600"):
            sync(store, tmp_path / "banks", "ncmec", {})
        secret_file.chmod(0o600)
        assert sync(store, tmp_path / "banks", "ncmec", {}).hashes_added == 5
        with pytest.raises(ExchangeSyncError, match="no credentials: set OTHER"):
            store.exchanges.add(ADMIN, "bare", "ncmec", "x", {"environment": "test_Industry"}, "OTHER")  # fmt: skip
            sync(store, tmp_path / "banks", "bare", {})
        ex.secret = "espuser:another-password"  # the exchange no longer accepts ours
        clock[0] += 600
        with pytest.raises(ExchangeSyncError, match="401") as refused:
            sync(store, tmp_path / "banks", "ncmec", {})
    assert "correct-horse-battery" not in str(refused.value)


def test_each_organisation_has_its_own_exchanges_and_banks(
    store: TiplineStore, tmp_path: Path, clock: list[int]
) -> None:
    a = Actor("admin-a", Role.ADMIN, org_id="org-a")
    b = Actor("admin-b", Role.ADMIN, org_id="org-b")
    ex = Exchange(NCMEC_SECRET, page_size=10, entries=ncmec_entries())
    env = {"TEST_NCMEC_CREDS": NCMEC_SECRET}
    root = tmp_path / "banks"
    with serve(NcmecHandler, ex, NCMEC_PREFIX) as base:
        add_ncmec(store, base, actor=a)
        sync(store, root, "ncmec", env, actor=a)
        assert store.exchanges.all(b) == []
        with pytest.raises(ExchangeError, match="no exchange named 'ncmec'"):
            sync(store, root, "ncmec", env, actor=b)
        assert store.exchanges.refs(b, "pdq", pdq("i0")) == []
        assert store.exchanges.queue_opinion(b, "pdq", pdq("i0"), "true_positive") == []
        add_ncmec(store, base, actor=b, name="ncmec")  # the same name, another organisation
    assert len(bank_hashes(store, root, "ncmec-csam", actor=a)) == 5
    assert bank_hashes(store, root, "ncmec-csam", actor=b) == set()
    assert store.exchanges.get(b, "ncmec").checkpoint is None
    analyst = Actor("ana", Role.ANALYST, org_id="org-a")
    with pytest.raises(Exception, match="may not add hash exchanges"):
        add_ncmec(store, "http://127.0.0.1:9", actor=analyst, name="other")


STOPNCII_SECRET = "fetch-key-0001,subscription-key-0002,feedback-key-0003"


def test_stopncii_sync_withdrawals_and_feedback(
    store: TiplineStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    records = [
        StopNciiRecord(pdq("n0"), "ImagePDQ", 100),
        StopNciiRecord(pdq("n1"), "ImagePDQ", 101),
        StopNciiRecord(md5("n2"), "VideoMD5", 102),
        StopNciiRecord("some words", "Text", 103),  # not a media hash: not banked
    ]
    ex = Exchange(STOPNCII_SECRET, page_size=2, entries=records)
    env = {"TEST_STOPNCII": STOPNCII_SECRET}
    root = tmp_path / "banks"
    with serve(StopNciiHandler, ex, STOPNCII_PREFIX) as base:
        store.exchanges.add(ADMIN, "ncii", "stop_ncii", "ncii", {"endpoint": base}, "TEST_STOPNCII")
        ex.fail_paged = 5  # the second page fails every retry
        with pytest.raises(ExchangeSyncError):
            sync(store, root, "ncii", env)
        assert bank_hashes(store, root, "ncii") == {pdq("n0"), pdq("n1")}
        sync(store, root, "ncii", env)
        assert bank_hashes(store, root, "ncii") == {pdq("n0"), pdq("n1"), md5("n2")}
        assert "startTimestamp=101" in ex.requests[-2]  # resumed at the checkpoint
        records[0].status, records[0].modified = "Withdrawn", 200  # the person withdrew it
        report = sync(store, root, "ncii", env)
        assert (report.items_deleted, report.hashes_removed) == (1, 1)
        store.exchanges.queue_opinion(ADMIN, "pdq", pdq("n1"), "true_positive", "C-4")
        store.exchanges.queue_opinion(ADMIN, "md5", md5("n2"), "false_positive", "C-5")
        assert send_opinions(store.exchanges, ADMIN, env).sent == 2
    assert bank_hashes(store, root, "ncii") == {pdq("n1"), md5("n2")}
    sent = [json.loads(body)["hashFeedbacks"][0] for _, body in ex.feedback]
    assert [(f["hashValue"], f["feedbackValue"]) for f in sent] == [
        (pdq("n1"), "Blocked"), (md5("n2"), "NotBlocked"),
    ]  # fmt: skip
    for part in STOPNCII_SECRET.split(","):
        assert part not in caplog.text


def test_a_sync_that_died_before_writing_the_bank_is_reconciled(
    store: TiplineStore, tmp_path: Path, clock: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from daybreak.connectors import hash_exchange

    ex = Exchange(NCMEC_SECRET, page_size=10, entries=ncmec_entries())
    env = {"TEST_NCMEC_CREDS": NCMEC_SECRET}
    root = tmp_path / "banks"

    def killed(self: object) -> None:
        raise SystemExit("killed before the bank was written")

    with serve(NcmecHandler, ex, NCMEC_PREFIX) as base:
        add_ncmec(store, base)
        with monkeypatch.context() as m:
            m.setattr(hash_exchange._BankChanges, "flush", killed)
            with pytest.raises(SystemExit):
                sync(store, root, "ncmec", env)
        assert bank_hashes(store, root, "ncmec-csam") == set()  # pages stored, bank not
        assert not store.exchanges.get(ADMIN, "ncmec").bank_current
        report = sync(store, root, "ncmec", env)  # nothing new at NCMEC
    assert report.reconciled == 5 and report.hashes_added == 0
    assert len(bank_hashes(store, root, "ncmec-csam")) == 5
    assert store.exchanges.get(ADMIN, "ncmec").bank_current


def media_case(case_id: str, listed: str) -> Case:
    match = HashMatch(sighting_id="S1", hash_type="pdq", bank="tx-pdq", listed_hash=listed, distance=0)  # fmt: skip
    alert = Alert(
        alert_id=f"media:{case_id}", detector="media", subject_type="account",
        subject_id=f"svc:{case_id}", score=0.9, explanation="known material",
        evidence_source="media_sightings", evidence_ids=("S1",), hash_matches=(match,),
    )  # fmt: skip
    return Case(
        case_id=case_id, title="t", priority=0.5, alerts=[alert], alert_ids=[alert.alert_id]
    )


def test_referring_a_case_confirms_its_matches_once(store: TiplineStore, tmp_path: Path) -> None:
    from daybreak.connectors.hash_exchange import queue_case_verdicts
    from daybreak.model.cases import CaseStatus, Outcome

    ex = Exchange(TX_SECRET, page_size=10, entries=tx_updates())
    env = {"TEST_TX_TOKEN": TX_SECRET}
    with serve(TxHandler, ex, TX_PREFIX) as base:
        add_tx(store, base)
        sync(store, tmp_path / "banks", "tx", env)
        store.cases.upsert([media_case("C-1", pdq("t2")), media_case("C-2", pdq("t3"))])
        for case_id in ("C-1", "C-2"):
            store.cases.transition(case_id, CaseStatus.TRIAGED, ADMIN)
        store.cases.transition("C-1", CaseStatus.REFERRED, ADMIN)  # confirmed
        store.cases.transition("C-2", CaseStatus.CLOSED, ADMIN, outcome=Outcome.NO_ACTION)
        assert queue_case_verdicts(store, ADMIN) == 1
        assert queue_case_verdicts(store, ADMIN) == 0  # the cursor moved on
        store.cases.transition("C-1", CaseStatus.ESCALATED, ADMIN)
        store.cases.transition("C-1", CaseStatus.REFERRED, ADMIN)  # referred again
        assert queue_case_verdicts(store, ADMIN) == 0  # the same verdict of the same case
        assert send_opinions(store.exchanges, ADMIN, env).sent == 1
    assert ex.feedback == [("/902/", "reactions=HELPFUL")]


def test_the_collector_is_paused_while_syncs_run_and_restored_after() -> None:
    """Off while any sync runs (two overlapping: on again only after the second), on
    again after; left off if it was off before."""
    from daybreak.connectors.hash_exchange import _collector_paused

    assert gc.isenabled()
    first = _collector_paused()
    first.__enter__()
    assert not gc.isenabled()
    with _collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the first sync still runs
    first.__exit__(None, None, None)
    assert gc.isenabled()
    gc.disable()
    try:
        with _collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


KILLED_SYNC = """
import sys
from pathlib import Path
from daybreak.connectors import hash_exchange
from daybreak.store import TiplineStore
from daybreak.store.auth import Actor, Role
hash_exchange.BLOCK_ITEMS = 10  # two pages of five per transaction
admin = Actor("admin", Role.ADMIN)
with TiplineStore.open(Path(sys.argv[1]), dev=True) as store:
    banks = store.banks.open(Path(sys.argv[2]), admin)
    hash_exchange.sync_exchange(store.exchanges, admin, banks, "ncii", {"K": sys.argv[3]})
"""


def test_a_sync_killed_mid_block_resumes_with_nothing_lost_or_doubled(tmp_path: Path) -> None:
    """A sync in another process killed with SIGKILL while it gathers a block (several
    pages per transaction): the next sync starts at the last stored block's checkpoint,
    and every hash ends up in the bank and in the stored items exactly once."""
    records = [StopNciiRecord(pdq(f"k{i}"), "ImagePDQ", 100 + i) for i in range(60)]
    ex = Exchange(STOPNCII_SECRET, page_size=5, entries=records, page_delay=0.15)
    data, root = tmp_path / "data", tmp_path / "banks"
    with serve(StopNciiHandler, ex, STOPNCII_PREFIX) as base:
        with TiplineStore.open(data, dev=True) as store:
            store.exchanges.add(ADMIN, "ncii", "stop_ncii", "ncii", {"endpoint": base}, "K")
        args = [sys.executable, "-c", KILLED_SYNC, str(data), str(root), STOPNCII_SECRET]
        child = subprocess.Popen(args, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 300  # the child's imports may be slow
            while len(ex.requests) < 9 and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)  # past the first blocks (pages are slow to come)
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait()
            if child.stderr:
                child.stderr.close()
        asked = len(ex.requests)
        with TiplineStore.open(data, dev=True) as store:
            stored = store.exchanges.fetch_state(ADMIN, "ncii").items
            saved = json.loads(store.exchanges.get(ADMIN, "ncii").checkpoint or "{}")
            assert 10 <= stored < 60 and stored % 10 == 0  # whole blocks only
            assert saved["update_time"] == 100 + stored - 1  # the last stored block's
            report = sync(store, root, "ncii", {"K": STOPNCII_SECRET})
            assert f"startTimestamp={100 + stored - 1}" in ex.requests[asked]  # not from 0
            assert report.hashes_added + stored == 60  # none stored twice, none missed
            assert store.exchanges.fetch_state(ADMIN, "ncii").items == 60
            assert store.exchanges.listed(ADMIN, "ncii") == {("pdq", r.hash_value) for r in records}  # fmt: skip
            assert store.exchanges.get(ADMIN, "ncii").bank_current
            with sqlite3.connect(data / DB_FILE) as db:  # rows, not distinct items
                count = "SELECT COUNT(*), COUNT(DISTINCT hash) FROM media_exchange_items"
                assert db.execute(count).fetchone() == (60, 60)
            assert bank_hashes(store, root, "ncii") == {r.hash_value for r in records}


class _OddRecord(StopNciiRecord):
    """A record as given, whatever its shape (what the client skips or keeps)."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(str(data.get("hashValue")), str(data.get("signalType")), 100)
        self.data = data

    def json(self) -> dict[str, Any]:
        return self.data


def test_stopncii_pages_read_directly_equal_the_clients_fetch_iter(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A sync reads StopNCII's pages straight from the answer; what it stores must be what
    the client's fetch_iter, delta mapping, merge and conversion make of the same pages:
    withdrawn and deleted records, types Daybreak does not bank, invalid hashes, the
    same hash twice, and records the client's dataclasses refuse (skipped, logged)."""
    good = StopNciiRecord(pdq("d0"), "ImagePDQ", 100).json()
    records: list[StopNciiRecord] = [
        StopNciiRecord(pdq("d0"), "ImagePDQ", 100),
        StopNciiRecord(pdq("d1"), "ImagePDQ", 101, "Withdrawn"),
        StopNciiRecord(md5("d2"), "VideoMD5", 102),
        StopNciiRecord(md5("d3"), "VideoMD5", 103, "Deleted"),
        StopNciiRecord("some words", "Text", 104),
        StopNciiRecord("http://example.org/x", "URL", 105),
        StopNciiRecord("not-a-pdq", "ImagePDQ", 106),
        StopNciiRecord(pdq("d7").upper(), "ImagePDQ", 107),  # upstream refuses upper case
        StopNciiRecord(pdq("d0"), "ImagePDQ", 108, "Deleted"),  # d0 again, later page
        _OddRecord({**good, "hashValue": pdq("d9"), "signalType": "Audio"}),
        _OddRecord({**good, "hashValue": pdq("d10"), "hashStatus": "Gone"}),
        _OddRecord({**good, "hashValue": pdq("d11"), "lastModtimestamp": "109"}),
        _OddRecord({**good, "hashValue": pdq("d12"), "CSPFeedbacks": [{"feedbackValue": "?"}]}),
        _OddRecord({**good, "hashValue": pdq("d13"), "caseNumbers": {"c": "Nope"}}),
        _OddRecord({**good, "hashValue": pdq("d14"), "caseNumbers": []}),
        _OddRecord({**good, "hashValue": pdq("d15"), "caseNumbers": ["c"]}),
        _OddRecord({k: v for k, v in good.items() if k != "signalType"}),
        _OddRecord({**good, "hashValue": pdq("d17"), "CSPFeedbacks": None}),
        StopNciiRecord(pdq("d18"), "ImagePDQ", 110),
    ]
    caplog.set_level(logging.WARNING)
    ex = Exchange(STOPNCII_SECRET, page_size=4, entries=records)
    with serve(StopNciiHandler, ex, STOPNCII_PREFIX) as base:
        kind = hash_exchange.exchange_api("stop_ncii")
        client = kind.open("ncii", {"endpoint": base}, STOPNCII_SECRET)
        assert kind.pages is not None
        direct = list(kind.pages(kind, client, None))
        direct_log = sorted(r.getMessage() for r in caplog.records)
        caplog.clear()
        deltas = client.fetch_iter(hash_exchange.SIGNAL_TYPES, None)
        upstream = list(hash_exchange._converted(kind, client, deltas))
        upstream_log = sorted(r.getMessage() for r in caplog.records)
    assert [p.updates for p in direct] == [p.updates for p in upstream]
    cp = [[json.loads(p.checkpoint)["update_time"] for p in ps] for ps in (direct, upstream)]
    assert cp[0] == cp[1] and len(cp[0]) == 5
    assert direct_log == upstream_log and len(direct_log) >= 8
    items = {k: v for p in direct for k, v in p.updates.items()}
    assert items[hash_exchange._key(("pdq", pdq("d1")))] is None  # withdrawn: deleted
    assert [i.hash for i in items[hash_exchange._key(("pdq", pdq("d18")))] or ()] == [pdq("d18")]
    video = items[hash_exchange._key(("video_md5", md5("d2")))] or []
    assert [(i.hash_type, i.hash, i.ref) for i in video] == [
        ("md5", md5("d2"), f"VideoMD5:{md5('d2')}")
    ]


def test_blocks_grow_with_the_items_stored(
    store: TiplineStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A block closes at BLOCK_ITEMS items, or at 1/BLOCK_SHARE of the items stored
    before it (at most MAX_BLOCK_ITEMS), and every item is stored once."""
    monkeypatch.setattr(hash_exchange, "BLOCK_ITEMS", 10)
    monkeypatch.setattr(hash_exchange, "BLOCK_SHARE", 2)
    monkeypatch.setattr(hash_exchange, "MAX_BLOCK_ITEMS", 40)
    sizes: list[int] = []
    real = type(store.exchanges).store_block

    def counted(self: Any, actor: Actor, name: str, updates: Any, checkpoint: str) -> Any:
        sizes.append(len(updates))
        return real(self, actor, name, updates, checkpoint)

    monkeypatch.setattr(type(store.exchanges), "store_block", counted)
    records = [StopNciiRecord(pdq(f"g{i}"), "ImagePDQ", 100 + i) for i in range(120)]
    ex = Exchange(STOPNCII_SECRET, page_size=5, entries=records)
    with serve(StopNciiHandler, ex, STOPNCII_PREFIX) as base:
        store.exchanges.add(ADMIN, "ncii", "stop_ncii", "ncii", {"endpoint": base}, "TEST_STOPNCII")
        report = sync(store, tmp_path / "banks", "ncii", {"TEST_STOPNCII": STOPNCII_SECRET})
    # stored 0, 10, 20 -> 10 each; 30 -> 15; 45 -> 22 (pages of 5: 25); 70 -> 35; 105 -> 40
    assert sizes == [10, 10, 10, 15, 25, 35, 15]
    assert report.hashes_added == 120 and store.exchanges.fetch_state(ADMIN, "ncii").items == 120
    assert bank_hashes(store, tmp_path / "banks", "ncii") == {r.hash_value for r in records}
