"""``POST /v1/payments/score`` on a real server (issue #17, part 1): answers, audit,
idempotency, bad input, pacs.008, and a replay of a world's last payments through the
API compared with the batch scan of the same history."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from api_server import Api

from daybreak.engines.payments import scan
from daybreak.engines.payments_realtime import (
    OtherOrganisation,
    RealtimeState,
    scan_with_context,
)
from daybreak.payments.compiler import relevant_filter
from daybreak.payments.config import load_pack
from daybreak.store.auth import SYSTEM, Role

synth = pytest.importorskip("daybreak.synth")

TOL = 1e-6
# Held back from the state and sent through the API in time order: the world's last
# corridor payments and last related card purchases.
CORRIDOR_REPLAYED, PURCHASES_REPLAYED = 8, 4


@pytest.fixture(scope="module")
def world() -> tuple[pl.DataFrame, pl.DataFrame]:
    w = synth.generate_world(900, 6, 9402)
    return w.transactions.sort(["timestamp", "txn_id"]), w.customers


def _relevant(tx: pl.DataFrame) -> pl.DataFrame:
    import duckdb

    from daybreak.detectors.dialect import DuckDBDialect

    where = relevant_filter(load_pack(), DuckDBDialect(), alias="")
    con = duckdb.connect()
    con.register("tx", tx.to_arrow())
    out = pl.from_arrow(con.sql(f"SELECT * FROM tx WHERE {where}").to_arrow_table())
    con.close()
    assert isinstance(out, pl.DataFrame)
    return out.sort(["timestamp", "txn_id"])


def test_without_a_state_scoring_is_unavailable_and_says_how_to_make_one(api: Api) -> None:
    with api.client(api.platform_key) as c:
        r = c.post("/v1/payments/score", json=_payment("NONE-1"))
    assert r.status_code == 503
    assert "daybreak payments realtime load" in r.json()["detail"]
    assert not (api.app.state.settings.data_dir / "payments-realtime.duckdb").exists()


@pytest.fixture(scope="module")
def scoring(
    api: Api, world: tuple[pl.DataFrame, pl.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RealtimeState, pl.DataFrame, Any]]:
    """A state holding the world but its last few relevant transactions, scoring under
    the whole world's context (as after a refresh once they are in)."""
    tx, cu = world
    relevant = _relevant(tx)
    spend = pl.col("channel").is_in(["card", "cash"])
    tail = pl.concat(
        [
            relevant.filter(~spend).tail(CORRIDOR_REPLAYED),
            relevant.filter(spend).tail(PURCHASES_REPLAYED),
        ]
    ).sort(["timestamp", "txn_id"])
    _, context = scan_with_context(tx, cu)
    state = RealtimeState(tmp_path_factory.mktemp("rt") / "state.duckdb")
    state.load(tx.filter(~pl.col("txn_id").is_in(tail["txn_id"].to_list())), cu)
    state.pin(context)
    api.app.state.payments_realtime = state
    try:
        yield state, tail, context
    finally:
        api.app.state.payments_realtime = None
        state.close()


def _json(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["timestamp"] = row["timestamp"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {k: v for k, v in out.items() if v is not None}


def test_replaying_a_worlds_last_payments_gives_the_batch_scans_scores(
    api: Api,
    world: tuple[pl.DataFrame, pl.DataFrame],
    scoring: tuple[RealtimeState, pl.DataFrame, Any],
    tmp_path: Path,
) -> None:
    tx, cu = world
    state, tail, context = scoring
    answers = []
    with api.client(api.platform_key) as c:
        for row in tail.iter_rows(named=True):
            r = c.post("/v1/payments/score", json=_json(row))
            assert r.status_code == 200, r.text
            answers.append(r.json())
    assert state.history_rows() == _relevant(tx).height
    pack = load_pack()
    held = tail["txn_id"].to_list()
    corridor_seen = 0
    for k, (row, answer) in enumerate(zip(tail.iter_rows(named=True), answers, strict=True)):
        # the batch scan of the history when this payment came: the world but the
        # payments replayed after it, under the same context
        prefix = tx.filter(~pl.col("txn_id").is_in(held[k + 1 :]))
        batch, _ = scan_with_context(prefix, cu, context=context)
        customers = dict(batch.customer_scores.select("sender_id", "score").iter_rows())
        assert answer["context_version"] == context.version
        assert abs(answer["payer"]["score"] - customers.get(row["sender_id"], 0.0)) <= TOL
        if answer["beneficiary"] is not None:
            corridor_seen += 1
            bene = dict(batch.beneficiary_scores.select("receiver_id", "score").iter_rows())
            got = answer["beneficiary"]["score"]
            assert abs(got - bene.get(row["receiver_id"], 0.0)) <= TOL
        expected = "hold" if answer["score"] >= pack.realtime.hold else (
            "review" if answer["score"] >= pack.realtime.review else "allow")  # fmt: skip
        assert answer["decision"] == expected
    assert corridor_seen > 0
    # After the replay the history is the whole world: the last answers are what
    # `daybreak payments scan` gives on the world's files.
    files = tmp_path / "world"
    files.mkdir()
    tx.write_parquet(files / "transactions.parquet")
    cu.write_parquet(files / "customers.parquet")
    final = scan(files)
    customers = dict(final.customer_scores.select("sender_id", "score").iter_rows())
    last = tail.row(-1, named=True)
    assert abs(answers[-1]["payer"]["score"] - customers.get(last["sender_id"], 0.0)) <= TOL
    for sender in tail["sender_id"].unique().to_list():
        payer, _ = state.scores_now(sender, None)
        assert abs(payer.score - customers.get(sender, 0.0)) <= TOL


def _payment(txn_id: str, **changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "txn_id": txn_id,
        "timestamp": "2026-11-30T23:30:00Z",
        "sender_id": "C-API-1",
        "sender_name": "Neutral Sender",
        "sender_country": "AU",
        "receiver_id": "gcash:+639000000002",
        "receiver_name": "Neutral Receiver",
        "receiver_country": "PH",
        "amount": 40.0,
        "currency": "AUD",
        "channel": "remittance",
        "reference": "gift",
    }
    return {**base, **changes}


def test_an_answer_is_audited_and_replayed_by_its_idempotency_key(
    api: Api, scoring: tuple[RealtimeState, pl.DataFrame, Any]
) -> None:
    with api.client(api.platform_key) as c:
        first = c.post(
            "/v1/payments/score", json=_payment("API-1"), headers={"Idempotency-Key": "k-1"}
        )
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["decision"] in ("allow", "review", "hold")
        assert body["txn_id"] == "API-1" and body["payer"]["subject_id"] == "C-API-1"
        again = c.post(
            "/v1/payments/score", json=_payment("API-1"), headers={"Idempotency-Key": "k-1"}
        )
        assert again.status_code == 200 and again.json() == body
        assert again.headers["Idempotent-Replayed"] == "true"
        other = c.post("/v1/payments/score", json=_payment("API-1", amount=41),
                       headers={"Idempotency-Key": "k-1"})  # fmt: skip
        assert other.status_code == 409
        assert other.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
        # without a key the payment's id is the key
        assert c.post("/v1/payments/score", json=_payment("API-2")).status_code == 200
        assert c.post("/v1/payments/score", json=_payment("API-2", amount=9)).status_code == 409
    entries = [e for e in api.store.audit.trail(SYSTEM, "API-1") if e.action == "payments.score"]
    assert [e.detail["replayed"] for e in entries] == [False, True]
    assert entries[0].detail["decision"] == body["decision"]
    assert entries[0].detail["context_version"] == body["context_version"]
    assert entries[0].actor.startswith("key:")  # the platform key that asked


def test_bad_input_is_refused_naming_the_field(
    api: Api, scoring: tuple[RealtimeState, pl.DataFrame, Any]
) -> None:
    with api.client(api.platform_key) as c:
        r = c.post("/v1/payments/score", json=_payment("BAD-1", amount=-3, channel="pigeon"))
        assert r.status_code == 422
        locs = {tuple(d["loc"]) for d in r.json()["detail"]}
        assert locs == {("body", "amount"), ("body", "channel")}
        missing = _payment("BAD-2")
        del missing["sender_id"]
        r = c.post("/v1/payments/score", json=missing)
        assert r.status_code == 422 and "sender_id" in r.text
        r = c.post("/v1/payments/score", json=_payment("BAD-3", currency="XAF"))
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "currency"]
        r = c.post(
            "/v1/payments/score", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"]
        r = c.post("/v1/payments/score", content=b"x", headers={"Content-Type": "text/plain"})
        assert r.status_code == 415
        r = c.post(
            "/v1/payments/score",
            content=b"<Document/>",
            headers={"Content-Type": "application/xml"},
        )
        assert r.status_code == 422 and "got 0" in r.text
        doctype = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><Document/>'
        r = c.post(
            "/v1/payments/score", content=doctype, headers={"Content-Type": "application/xml"}
        )
        assert r.status_code == 422
        r = c.post("/v1/payments/score", json=_payment("BAD-5"), headers={"Idempotency-Key": "a b"})
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    with httpx.Client(base_url=api.url) as anonymous:
        assert anonymous.post("/v1/payments/score", json=_payment("BAD-4")).status_code == 401


def test_the_route_served_ahead_of_the_router_is_documented_in_openapi(api: Api) -> None:
    with httpx.Client(base_url=api.url) as c:
        spec = c.get("/openapi.json").json()
    op = spec["paths"]["/v1/payments/score"]["post"]
    assert {p["name"] for p in op["parameters"]} == {"Idempotency-Key"}
    assert set(op["requestBody"]["content"]) == {"application/json", "application/xml"}
    answer = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert answer.endswith("/ScoreAnswer")
    assert "decision" in spec["components"]["schemas"]["ScoreAnswer"]["properties"]
    assert op["security"] and {"409", "422", "503"} <= set(op["responses"])


def test_a_pacs008_message_is_scored_like_its_json(
    api: Api,
    world: tuple[pl.DataFrame, pl.DataFrame],
    scoring: tuple[RealtimeState, pl.DataFrame, Any],
    tmp_path: Path,
) -> None:
    from payments.pacs import write_pacs008

    tx, _ = world
    corridor = tx.filter((pl.col("receiver_country") == "PH") & (pl.col("channel") == "wire"))
    row = corridor.row(0, named=True)
    payment = pl.DataFrame([{**row, "txn_id": "PACS-1"}], schema=tx.schema)
    write_pacs008(payment, tmp_path / "one.xml")
    message = (tmp_path / "one.xml").read_bytes()
    with api.client(api.platform_key) as c:
        r = c.post(
            "/v1/payments/score", content=message, headers={"Content-Type": "application/xml"}
        )
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["txn_id"] == "PACS-1"
        assert answer["payer"]["subject_id"] == row["sender_id"]
        # the same payment as JSON (another id): the same parties, the same scores
        as_json = {**_json(row), "txn_id": "PACS-2", "receiver_id": answer["beneficiary"]["subject_id"],
                   "timestamp": "2030-01-01T00:00:00Z"}  # fmt: skip
        twin = c.post("/v1/payments/score", json=as_json).json()
    assert answer["beneficiary"]["subject_id"].endswith(row["receiver_id"].partition(":")[2])
    assert twin["payer"]["scored"] == answer["payer"]["scored"]


@pytest.mark.parametrize("incremental", [False, True], ids=["sql-runs", "incremental"])
def test_concurrent_payments_are_micro_batched_and_each_answer_is_the_batch_scans(
    api: Api, world: tuple[pl.DataFrame, pl.DataFrame], tmp_path: Path, incremental: bool
) -> None:
    """Many payments at once (two from one payer, one sent three times with one key):
    each answer is the batch scan of the history up to and including its payment, in
    the order the state took them. With the restricted scans, they are scored in shared
    runs, never two of one neighbourhood in one run; incrementally, one after the other
    from the in-memory state (their rows and answers written together). Replays and
    audit entries as for one at a time."""
    import threading
    from datetime import timedelta

    tx, cu = world
    relevant = _relevant(tx)
    spend = pl.col("channel").is_in(["card", "cash"])
    held = pl.concat([relevant.filter(~spend).tail(10), relevant.filter(spend).tail(2)])
    held = held.cast(dict(tx.schema))  # duckdb's Etc/UTC back to the world's UTC
    # a payer whose score moves with one more payment (T0000096138, C0000104: 3e-6
    # alone, 7e-6 with the next): scored in one run, the first answer would be wrong
    first = held.row(7, named=True)
    again = {**first, "txn_id": "RT-SAME-PAYER", "amount": first["amount"] + 1.0,
             "timestamp": first["timestamp"] + timedelta(minutes=1)}  # fmt: skip
    held = pl.concat([held, pl.DataFrame([again], schema=held.schema)])
    base = tx.filter(~pl.col("txn_id").is_in(held["txn_id"].to_list()))
    _, context = scan_with_context(tx, cu)
    state = RealtimeState(tmp_path / "state.duckdb", incremental=incremental)
    state.load(base, cu)
    state.pin(context)
    before = getattr(api.app.state, "payments_realtime", None)
    api.app.state.payments_realtime = state
    duplicated = _json(held.row(1, named=True))
    requests = [(_json(row), None) for row in held.iter_rows(named=True)]
    requests[1] = (duplicated, "dup-key")
    requests += [(duplicated, "dup-key")] * 2
    answers: list[httpx.Response | None] = [None] * len(requests)
    start = threading.Barrier(len(requests))

    def audited(txn: str) -> list[Any]:
        return [e for e in api.store.audit.trail(SYSTEM, txn) if e.action == "payments.score"]

    earlier = {txn: len(audited(txn)) for txn in held["txn_id"].to_list()}  # other tests'

    def send(i: int) -> None:
        body, key = requests[i]
        with api.client(api.platform_key) as c:
            start.wait()
            headers = {"Idempotency-Key": key} if key else {}
            answers[i] = c.post("/v1/payments/score", json=body, headers=headers)

    try:
        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with api.client(api.platform_key) as c:
            changed = {**duplicated, "amount": duplicated["amount"] + 5}
            conflict = c.post("/v1/payments/score", json=changed,
                              headers={"Idempotency-Key": "dup-key"})  # fmt: skip
        runs = list(state.runs)
    finally:
        api.app.state.payments_realtime = before
        state.close()
    assert conflict.status_code == 409
    assert all(r is not None and r.status_code == 200 for r in answers), answers
    bodies = [r.json() for r in answers if r is not None]
    replayed = [r.headers.get("Idempotent-Replayed") == "true" for r in answers if r is not None]
    # the payment sent three times with one key is scored once, replayed twice
    dup = [1, *range(held.height, len(requests))]
    assert [replayed[i] for i in range(held.height) if i != 1] == [False] * (held.height - 1)
    assert sorted(replayed[i] for i in dup) == [False, True, True]
    assert len({json.dumps(bodies[i], sort_keys=True) for i in dup}) == 1
    # shared runs, and the two payments of one payer never in the same run
    order = [txn for run in runs for txn in run]
    assert sorted(order) == sorted(held["txn_id"].to_list())
    if incremental:
        assert max(len(run) for run in runs) == 1, runs
    else:
        assert max(len(run) for run in runs) > 1, runs
        assert not any({first["txn_id"], "RT-SAME-PAYER"} <= set(run) for run in runs)
    # every answer is the batch scan of the history up to and including its payment
    by_txn = {b["txn_id"]: b for b in bodies[: held.height]}
    pack = load_pack()
    for k, txn in enumerate(order):
        history = pl.concat([base, held.filter(pl.col("txn_id").is_in(order[: k + 1]))])
        batch, _ = scan_with_context(history, cu, context=context)
        customers = dict(batch.customer_scores.select("sender_id", "score").iter_rows())
        answer = by_txn[txn]
        assert (
            abs(answer["payer"]["score"] - customers.get(answer["payer"]["subject_id"], 0.0)) <= TOL
        )
        if answer["beneficiary"] is not None:
            bene = dict(batch.beneficiary_scores.select("receiver_id", "score").iter_rows())
            got = answer["beneficiary"]["score"]
            assert abs(got - bene.get(answer["beneficiary"]["subject_id"], 0.0)) <= TOL, txn
        expected = "hold" if answer["score"] >= pack.realtime.hold else (
            "review" if answer["score"] >= pack.realtime.review else "allow")  # fmt: skip
        assert answer["decision"] == expected
    # audited as one at a time: one entry per answer, replays marked
    for txn in held["txn_id"].to_list():
        entries = audited(txn)[earlier[txn] :]
        expected_entries = 1 + 2 * (txn == duplicated["txn_id"])
        assert len(entries) == expected_entries, txn
        assert sum(e.detail["replayed"] for e in entries) == 2 * (txn == duplicated["txn_id"])


def test_a_full_queue_answers_503_with_retry_after(
    api: Api, scoring: tuple[RealtimeState, pl.DataFrame, Any]
) -> None:
    state, _, _ = scoring
    rows = state.history_rows()
    state.max_queue = 0  # no room: every payment is refused before it waits
    try:
        with api.client(api.platform_key) as c:
            r = c.post("/v1/payments/score", json=_payment("API-BUSY"))
    finally:
        state.max_queue = 256
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    assert "waiting to be scored" in r.json()["detail"]
    assert state.history_rows() == rows  # nothing appended
    with api.client(api.platform_key) as c:  # room again: scored
        assert c.post("/v1/payments/score", json=_payment("API-BUSY")).status_code == 200


def test_only_the_organisation_whose_payments_the_state_holds_may_score(
    api: Api, scoring: tuple[RealtimeState, pl.DataFrame, Any]
) -> None:
    """An answer's explanation names transactions of the history, so another
    organisation's key is refused (403) before anything is scored, audited or stored."""
    state, tail, _ = scoring
    assert state.org_id == "default"
    api.store.organisations.create("other-bank", "OTHER BANK")
    key = api.store.api_keys.create("other-platform", Role.PLATFORM, org_id="other-bank")
    rows_before = state.history_rows()
    with api.client(key) as c:
        r = c.post("/v1/payments/score", json=_payment("OTHER-ORG-1"))
    assert r.status_code == 403, r.text
    assert "belongs to organisation 'default'" in r.json()["detail"]
    assert state.history_rows() == rows_before
    with pytest.raises(OtherOrganisation, match="not 'other-bank'"):
        state.load(tail.head(1), org_id="other-bank")


@pytest.mark.parametrize("mode", ["memory", "sql"])
def test_the_server_opens_its_state_in_the_configured_scoring_mode(
    tmp_path: Path, mode: str
) -> None:
    """``serve --realtime-scoring sql`` keeps the scoring off the in-memory state (a
    bank with more customers than memory), ``memory`` (the default) uses it."""
    from types import SimpleNamespace

    from daybreak.api.payments_routes import state_of
    from daybreak.api.settings import Settings
    from daybreak.engines.payments_realtime import state_path

    RealtimeState(state_path(tmp_path)).close()
    app = SimpleNamespace(
        state=SimpleNamespace(
            settings=Settings(data_dir=tmp_path, realtime_scoring=mode), payments_realtime=None
        )
    )
    state = state_of(SimpleNamespace(app=app))  # type: ignore[arg-type]
    try:
        assert isinstance(state, RealtimeState)
        assert state.incremental is (mode == "memory")
        assert app.state.payments_realtime is state
    finally:
        state.close()
