"""Real-time scoring (issue #17, part 1): pinned context, restricted re-scans, state,
decisions and idempotency, on a small synthetic world."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from daybreak.engines.payments_realtime import (
    IdempotencyConflict,
    NoContext,
    RealtimeState,
    scan_with_context,
)
from daybreak.payments.config import ConfigError, default_pack_text, load_pack, parse_pack
from daybreak.payments.realtime import body_digest, decide

synth = pytest.importorskip("daybreak.synth")

TOL = 1e-6  # parallel float sums may differ in the last bits


@pytest.fixture(scope="module")
def world() -> tuple[pl.DataFrame, pl.DataFrame]:
    w = synth.generate_world(1200, 6, 9401)
    return w.transactions, w.customers


def _corridor(tx: pl.DataFrame) -> pl.DataFrame:
    pack = load_pack()
    return tx.filter(
        pl.col("receiver_country").is_in(list(pack.corridor_countries))
        & (pl.col("receiver_country") != pl.col("sender_country"))
        & ~pl.col("channel").is_in(["card", "cash"])
    )


def _scores(frame: pl.DataFrame, key: str) -> dict[str, float]:
    return dict(frame.select(key, "score").iter_rows())


def _close(a: dict[str, float], b: dict[str, float]) -> list[str]:
    keys = set(a) | set(b)
    return sorted(k for k in keys if k not in a or k not in b or abs(a[k] - b[k]) > TOL)


def test_a_scan_under_its_own_pinned_context_is_the_plain_scan(
    world: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    tx, cu = world
    plain, context = scan_with_context(tx, cu)
    pinned, same = scan_with_context(tx, cu, context=context)
    assert same is context
    assert set(context.tables) == {
        "pinned_word_spec",
        "pinned_peers",
        "pinned_period",
        "pinned_entities",
    }
    assert context.tables["pinned_peers"].height == plain.customer_scores.height > 50
    assert not _close(_scores(plain.customer_scores, "sender_id"),
                      _scores(pinned.customer_scores, "sender_id"))  # fmt: skip
    assert not _close(_scores(plain.beneficiary_scores, "receiver_id"),
                      _scores(pinned.beneficiary_scores, "receiver_id"))  # fmt: skip
    assert plain.alerts_table["subject_id"].to_list() == pinned.alerts_table["subject_id"].to_list()
    peer = pinned.customer_scores.select("sender_id", "peer_anomaly").join(
        plain.customer_scores.select("sender_id", "peer_anomaly"), on="sender_id"
    )
    assert (peer["peer_anomaly"] - peer["peer_anomaly_right"]).abs().max() <= TOL  # type: ignore[operator]


def test_a_half_world_scanned_under_the_whole_worlds_context_keeps_that_context(
    world: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """The pinned context really is read: half the senders scanned alone derive another
    context (their own word and peer statistics), pinned they keep the whole world's."""
    tx, cu = world
    full, context = scan_with_context(tx, cu)
    senders = _corridor(tx)["sender_id"].unique().sort()
    half = tx.filter(pl.col("sender_id").is_in(senders.gather_every(2).to_list()))
    own, own_context = scan_with_context(half, cu)
    pinned, _ = scan_with_context(half, cu, context=context)
    assert own_context.version != context.version
    peer_full = dict(full.customer_scores.select("sender_id", "peer_anomaly").iter_rows())
    peer_own = dict(own.customer_scores.select("sender_id", "peer_anomaly").iter_rows())
    peer_pinned = dict(pinned.customer_scores.select("sender_id", "peer_anomaly").iter_rows())
    assert all(abs(peer_pinned[s] - peer_full[s]) <= TOL for s in peer_pinned)
    assert any(abs(peer_own[s] - peer_full[s]) > 0.01 for s in peer_own)


@pytest.fixture(scope="module")
def loaded(
    world: tuple[pl.DataFrame, pl.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> RealtimeState:
    tx, cu = world
    state = RealtimeState(tmp_path_factory.mktemp("rt") / "state.duckdb")
    with pytest.raises(NoContext):
        state.scores_now("C0000001", None)
    assert state.load(tx, cu) > 0
    state.refresh_context()
    return state


def test_a_context_pinned_by_an_earlier_version_is_refused_until_refreshed(
    world: tuple[pl.DataFrame, pl.DataFrame], tmp_path: Path
) -> None:
    """A state pinned before an input was added (here: ``pinned_entities``, new in pack
    2026.12.8) must not score with a partial context, and the refusal must say what to
    run; a refresh pins the full context again."""
    tx, cu = world
    path = tmp_path / "state.duckdb"
    with RealtimeState(path) as state:
        assert state.load(tx, cu) > 0
        state.refresh_context()
        state._con.execute("DROP TABLE st.pinned_entities")
    sender = str(tx["sender_id"][0])
    with RealtimeState(path) as state:
        with pytest.raises(NoContext, match=r"earlier version.*pinned_entities.*refresh"):
            state.scores_now(sender, None)
        state.refresh_context()
        payer, _ = state.scores_now(sender, None)
        assert payer.subject_id == sender


def test_restricted_rescans_give_the_full_scans_scores(
    world: tuple[pl.DataFrame, pl.DataFrame], loaded: RealtimeState
) -> None:
    tx, cu = world
    full, _ = scan_with_context(tx, cu)
    customers = _scores(full.customer_scores, "sender_id")
    beneficiaries = _scores(full.beneficiary_scores, "receiver_id")
    corridor = _corridor(tx)
    alerted = full.alerts_table.filter(pl.col("subject_type") == "customer")["subject_id"]
    sample = pl.concat([
        corridor.sample(12, seed=3),
        corridor.filter(pl.col("sender_id").is_in(alerted.head(6).to_list())).unique(
            "sender_id", keep="first", maintain_order=True),
        corridor.filter(pl.col("receiver_id").is_in(full.beneficiary_scores["receiver_id"]
                                                    .head(4).to_list())).head(4),
    ])  # fmt: skip
    seen_scored_beneficiary = False
    for sender, receiver in sample.select("sender_id", "receiver_id").iter_rows():
        payer, beneficiary = loaded.scores_now(sender, receiver)
        assert beneficiary is not None
        assert payer.scored == (sender in customers)
        assert abs(payer.score - customers.get(sender, 0.0)) <= TOL, sender
        assert beneficiary.scored == (receiver in beneficiaries)
        assert abs(beneficiary.score - beneficiaries.get(receiver, 0.0)) <= TOL, receiver
        seen_scored_beneficiary |= beneficiary.scored
    assert seen_scored_beneficiary


def test_an_alerted_payers_answer_explains_itself_with_its_own_evidence(
    world: tuple[pl.DataFrame, pl.DataFrame], loaded: RealtimeState
) -> None:
    tx, cu = world
    full, _ = scan_with_context(tx, cu)
    alert = full.alerts_table.filter(pl.col("subject_type") == "customer").row(0, named=True)
    payer, _ = loaded.scores_now(alert["subject_id"], None)
    assert payer.typologies == tuple(alert["typologies"])
    assert payer.explanation == alert["explanation"]
    assert payer.evidence_ids == tuple(alert["evidence_txn_ids"])
    own = set(tx.filter(pl.col("sender_id") == alert["subject_id"])["txn_id"].to_list())
    assert set(payer.evidence_ids) <= own


def _payment(txn_id: str, **changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "txn_id": txn_id,
        "timestamp": "2026-11-30T23:30:00Z",
        "sender_id": "C-NEW-1",
        "sender_name": "Neutral Sender",
        "sender_country": "AU",
        "receiver_id": "gcash:+639000000001",
        "receiver_name": "Neutral Receiver",
        "receiver_country": "PH",
        "amount": 40.0,
        "currency": "AUD",
        "channel": "remittance",
        "reference": "gift",
    }
    return {**base, **changes}


def _frame(record: dict[str, object]) -> pl.DataFrame:
    from daybreak.schema.validate import validate_records

    checked = validate_records([record], "transactions", ["payment"])
    assert not checked.problems
    return checked.frame


def test_decisions_are_stored_by_idempotency_key_and_history_grows(tmp_path: Path,
        world: tuple[pl.DataFrame, pl.DataFrame]) -> None:  # fmt: skip
    tx, cu = world
    with RealtimeState(tmp_path / "s.duckdb") as state:
        state.load(tx.head(20000), cu)
        state.refresh_context()
        rows = state.history_rows()
        first = _payment("RT-1")
        answer = state.score(_frame(first), "key-1", body_digest(first))
        assert not answer.replayed
        assert answer.answer["decision"] in ("allow", "review", "hold")
        assert answer.answer["context_version"] == state.context.version  # type: ignore[union-attr]
        assert state.history_rows() == rows + 1
        again = state.score(_frame(first), "key-1", body_digest(first))
        assert again.replayed and again.answer == answer.answer
        assert state.history_rows() == rows + 1
        changed = _payment("RT-1", amount=41.0)
        with pytest.raises(IdempotencyConflict):
            state.score(_frame(changed), "key-1", body_digest(changed))
        # a second payment of the same new sender: now two corridor payments, scored
        second = _payment("RT-2", timestamp="2026-12-01T00:30:00Z")
        scored = state.score(_frame(second), "key-2", body_digest(second)).answer
        assert scored["payer"]["scored"] is True
        assert scored["score"] == max(scored["payer"]["score"], scored["beneficiary"]["score"])
    with RealtimeState(tmp_path / "s.duckdb") as reopened:  # the state is on disk
        assert reopened.history_rows() == rows + 2
        assert reopened.context is not None and reopened.context.version == answer.answer[
            "context_version"]  # fmt: skip
        replay = reopened.score(_frame(first), "key-1", body_digest(first))
        assert replay.replayed and replay.answer == answer.answer
        json.dumps(replay.answer)


def test_decisions_follow_the_packs_thresholds() -> None:
    assert decide(0.1, 0.2, 0.6) == "allow"
    assert decide(0.2, 0.2, 0.6) == "review"
    assert decide(0.6, 0.2, 0.6) == "hold"
    pack = load_pack()
    assert (pack.realtime.review, pack.realtime.hold) == (0.2, 0.6)
    text = default_pack_text().replace("  review: 0.2\n  hold: 0.6", "  review: 0.7\n  hold: 0.6")
    with pytest.raises(ConfigError, match=r"realtime.*hold \(0.6\) must not be below review"):
        parse_pack(text, "rules.yaml")
    typo = default_pack_text().replace("  hold: 0.6", "  hodl: 0.6")
    with pytest.raises(ConfigError, match="unknown key 'hodl'; did you mean 'hold'"):
        parse_pack(typo, "rules.yaml")


def test_the_cli_loads_refreshes_and_reports_the_state(
    world: tuple[pl.DataFrame, pl.DataFrame], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from daybreak.cli.main import app

    tx, cu = world
    files = tmp_path / "world"
    files.mkdir()
    tx.write_parquet(files / "transactions.parquet")
    cu.write_parquet(files / "customers.parquet")
    data = tmp_path / "data"
    runner = CliRunner()
    empty = runner.invoke(app, ["payments", "realtime", "status", "--data-dir", str(data)])
    assert empty.exit_code == 1 and "No real-time state" in empty.output
    loaded = runner.invoke(
        app, ["payments", "realtime", "load", "-t", str(files), "--data-dir", str(data)]
    )
    assert loaded.exit_code == 0, loaded.output
    again = runner.invoke(
        app, ["payments", "realtime", "load", "-t", str(files), "--data-dir", str(data)]
    )
    assert "Added 0 relevant" in again.output  # a batch loaded twice is held once
    refreshed = runner.invoke(
        app,
        [
            "payments",
            "realtime",
            "refresh",
            "--data-dir",
            str(data),
            "--out",
            str(tmp_path / "res"),
        ],
    )
    assert refreshed.exit_code == 0, refreshed.output
    assert (tmp_path / "res" / "alerts.jsonl").exists()
    shown = runner.invoke(app, ["payments", "realtime", "status", "--data-dir", str(data)])
    status = json.loads(shown.output)
    assert status["customers"] == cu.height
    assert status["context_version"] in refreshed.output.replace("\n", "")
    missing = runner.invoke(app, ["payments", "realtime", "load", "-t", str(tmp_path / "nope.csv"),
                                  "--data-dir", str(data)])  # fmt: skip
    assert missing.exit_code != 0 and "nope.csv" in missing.output


def test_a_scoring_run_stops_before_a_payment_sharing_an_earlier_ones_neighbourhood() -> None:
    from daybreak.payments.realtime import runs_of

    hoods = {0: frozenset({"A", "B"}), 1: frozenset({"C"}), 2: frozenset({"D", "B"})}
    three = [("k0", "A", "R1"), ("k1", "C", None), ("k2", "D", "R2")]
    assert runs_of(three, hoods) == 2  # D's neighbourhood holds B, in A's
    assert runs_of(three[:2], hoods) == 2
    disjoint = {**hoods, 2: frozenset({"D"})}
    assert runs_of(three, disjoint) == 3
    assert runs_of([*three[:2], ("k2", "D", "R1")], disjoint) == 2  # A's beneficiary
    assert runs_of([*three[:2], ("k0", "D", None)], disjoint) == 2  # A's key
    assert runs_of([("k0", "A", None), ("k1", "A", None)], {}) == 1  # one payer
    assert runs_of([("k0", "A", None)], {}) == 1
