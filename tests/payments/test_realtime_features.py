"""The second implementation of a customer's score (issue #17, part 1): the first
stage from the customer's own rows (``payments.realtime_features``) and the network
rounds over cached first stages (``payments.realtime_graph``) equal the compiled
scan's, for every scored customer of development worlds, and stay equal when payments
are added one at a time and only the payer's first stage is recomputed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from daybreak.engines.payments_realtime import RealtimeState, scan_with_context
from daybreak.payments.compiler import strength_column
from daybreak.payments.config import Pack, load_pack
from daybreak.payments.features import EXPLAIN_ONLY
from daybreak.payments.realtime import PinnedContext
from daybreak.payments.realtime_features import FirstStage, FirstStageContext, first_stage
from daybreak.payments.realtime_graph import Entities, beneficiary_score, customer_score, reach

synth = pytest.importorskip("daybreak.synth")

TOL = 1e-6  # float sums in SQL run in another order


def _context(pack: Pack, customers: pl.DataFrame, pinned: PinnedContext) -> FirstStageContext:
    t = pinned.tables
    return FirstStageContext.of(
        pack,
        customers.to_dicts(),
        t["pinned_word_spec"].to_dicts(),
        t["pinned_peers"].to_dicts(),
        t["pinned_period"].to_dicts()[0],
    )


def _by_sender(tx: pl.DataFrame) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in tx.to_dicts():
        out.setdefault(r["sender_id"], []).append(r)
    return out


def _index(stages: Mapping[str, FirstStage]) -> dict[str, set[str]]:
    senders_of: dict[str, set[str]] = {}
    for s, st in stages.items():
        for r in st.pairs:
            senders_of.setdefault(r.receiver_id, set()).add(s)
    return senders_of


def _beneficiary_rows(
    stages: Mapping[str, FirstStage],
    senders_of: Mapping[str, set[str]],
    pack: Pack,
    word_spec: Mapping[str, float],
    entities: Entities,
) -> dict[str, dict[str, Any]]:
    """Every beneficiary the real-time scorer scores, with its row."""
    rows = {
        r: beneficiary_score(r, stages, senders_of, pack, word_spec, entities=entities)
        for r in senders_of
    }
    return {r: row for r, row in rows.items() if row is not None}


def _differences(sql: Mapping[str, Any], py: Mapping[str, Any]) -> list[str]:
    out = []
    for k, v in py.items():
        x = sql[k]
        if isinstance(v, (int, float)) and not isinstance(v, bool) and x is not None:
            if abs(float(x) - float(v)) > TOL * max(1.0, abs(float(x))):
                out.append(f"{k}: sql {x!r}, python {v!r}")
        elif x != v:
            out.append(f"{k}: sql {x!r}, python {v!r}")
    return out


@pytest.mark.parametrize(("customers", "seed"), [(1200, 9401), (4000, 9402)])
def test_every_customer_and_beneficiary_scores_as_the_compiled_scan(
    customers: int, seed: int
) -> None:
    world = synth.generate_world(customers, 6, seed)
    pack = load_pack()
    result, pinned = scan_with_context(world.transactions, world.customers, pack=pack)
    c = _context(pack, world.customers, pinned)
    entities = Entities.of(pinned.tables["pinned_entities"].to_dicts())
    rows = _by_sender(world.transactions)
    stages = {s: first_stage(s, rs, c) for s, rs in rows.items()}
    senders_of = _index(stages)
    sql = {r["sender_id"]: r for r in result.customer_scores.to_dicts()}
    assert {s for s, st in stages.items() if st.row is not None} == set(sql)
    assert len(sql) > 100
    fired: set[str] = set()
    for s, expected in sql.items():
        got = customer_score(s, stages, senders_of, pack, entities=entities)
        assert got is not None
        # Peer ranks count peers strictly below: two customers whose values are equal
        # in exact arithmetic may differ in the last bit in SQL, so a rank may move by
        # one peer (a few customers in a thousand); every other column is exact.
        compared = {k: v for k, v in got.items() if not k.startswith("peer_")}
        assert not _differences(expected, compared), (s, _differences(expected, compared))
        assert abs(got["score"] - expected["score"]) <= TOL, s
        fired |= {
            t.id
            for t in pack.typologies_for("customer")
            if t.weight > 0 and got[strength_column(t)] >= t.fires_at
        }
    # The worlds exercise the typologies, the network ones included.
    assert {"network_propagation"} <= fired
    assert len(fired) >= 8, sorted(fired)
    assert not (set(got) & EXPLAIN_ONLY) - set(expected)

    beneficiaries = {r["receiver_id"]: r for r in result.beneficiary_scores.to_dicts()}
    mine = _beneficiary_rows(stages, senders_of, pack, c.word_spec, entities)
    assert set(mine) == set(beneficiaries)
    assert len(mine) >= 9
    for receiver, row in mine.items():
        assert not _differences(beneficiaries[receiver], row), receiver


def _walk_from(
    seed: str,
    stages: Mapping[str, FirstStage],
    senders_of: Mapping[str, set[str]],
    iterations: int,
    entities: Entities,
) -> set[str]:
    """The senders within ``iterations`` steps of one seed, every pair followed."""
    level, seen = {seed}, {seed}
    for _ in range(iterations):
        nxt: set[str] = set()
        for s in level:
            for r in stages[s].pairs if s in stages else ():
                nxt |= entities.senders(r.receiver_id, senders_of)
        nxt -= seen
        seen |= nxt
        level = nxt
    return seen


def test_one_walk_from_many_seeds_reaches_what_their_own_walks_reach() -> None:
    """``reach`` walks from all the seeds at once, each person's senders gathered once:
    the same senders as one walk per seed, every pair followed, put together."""
    world = synth.generate_world(4000, 6, 9402)
    pack = load_pack()
    _, pinned = scan_with_context(world.transactions, world.customers, pack=pack)
    c = _context(pack, world.customers, pinned)
    entities = Entities.of(pinned.tables["pinned_entities"].to_dicts())
    assert any(len(a) > 1 for a in entities.accounts.values())  # persons with accounts
    stages = {s: first_stage(s, rs, c) for s, rs in _by_sender(world.transactions).items()}
    senders_of = _index(stages)
    grew = 0
    for receiver in sorted(senders_of):
        seeds = entities.senders(receiver, senders_of)
        for iterations in (1, 2, 3):
            expected = set().union(
                *(_walk_from(s, stages, senders_of, iterations, entities) for s in seeds)
            )
            assert reach(seeds, stages, senders_of, iterations, entities) == expected
            grew += len(expected) > len(seeds)
    assert grew > 20, grew  # the walks go beyond the seeds


def test_adding_payments_recomputes_only_the_payer() -> None:
    """Payments appended one at a time: the payer's first stage is recomputed, every
    other sender's cached one is kept, and the payer's score equals the scan of the
    history so far under the pinned context."""
    world = synth.generate_world(1200, 6, 9401)
    pack = load_pack()
    tx = world.transactions.sort(["timestamp", "txn_id"])
    corridor = tx.filter(
        pl.col("receiver_country").is_in(list(pack.corridor_countries))
        & (pl.col("receiver_country") != pl.col("sender_country"))
        & ~pl.col("channel").is_in(["card", "cash"])
    )
    tail = corridor.tail(6)
    history = tx.filter(~pl.col("txn_id").is_in(tail["txn_id"].to_list()))
    _, pinned = scan_with_context(history, world.customers, pack=pack)
    c = _context(pack, world.customers, pinned)
    entities = Entities.of(pinned.tables["pinned_entities"].to_dicts())
    rows = _by_sender(history)
    stages = {s: first_stage(s, rs, c) for s, rs in rows.items()}
    senders_of = _index(stages)
    for payment in tail.to_dicts():
        s = payment["sender_id"]
        rows.setdefault(s, []).append(payment)
        stages[s] = first_stage(s, rows[s], c)
        senders_of.setdefault(payment["receiver_id"], set()).add(s)
        history = pl.concat([history, pl.DataFrame([payment], schema=history.schema)])
        scanned, _ = scan_with_context(history, world.customers, pack=pack, context=pinned)
        expected = scanned.customer_scores.filter(pl.col("sender_id") == s).to_dicts()
        got = customer_score(s, stages, senders_of, pack, entities=entities)
        if not expected:
            assert got is None
            continue
        assert got is not None
        assert abs(got["score"] - expected[0]["score"]) <= TOL, payment["txn_id"]
        assert abs(got["network_evidence"] - expected[0]["network_evidence"]) <= TOL


def test_incremental_answers_equal_the_restricted_scans_with_their_explanations(
    tmp_path: Path,
) -> None:
    """The same payments scored by two states, one incremental and one by restricted
    scans: the same answers, explanation and evidence ids included (scores within the
    tolerance). Covers payments whose payer or beneficiary is alerted."""
    world = synth.generate_world(1200, 6, 9401)
    pack = load_pack()
    tx = world.transactions.sort(["timestamp", "txn_id"])
    relevant = tx.filter(
        (
            pl.col("receiver_country").is_in(list(pack.corridor_countries))
            & (pl.col("receiver_country") != pl.col("sender_country"))
        )
        | (pl.col("channel") == "card")
    )
    tail = relevant.tail(40)
    history = tx.filter(~pl.col("txn_id").is_in(tail["txn_id"].to_list()))
    _, pinned = scan_with_context(tx, world.customers, pack=pack)
    answers: dict[bool, list[dict[str, Any]]] = {}
    for incremental in (True, False):
        with RealtimeState(tmp_path / f"{incremental}.duckdb", incremental=incremental) as st:
            st.load(history, world.customers)
            st.pin(pinned)
            answers[incremental] = [
                st.score(tail.slice(i, 1), f"k{i}", str(i)).answer for i in range(tail.height)
            ]
    alerted = 0
    for fast, slow in zip(answers[True], answers[False], strict=True):
        assert abs(fast["score"] - slow["score"]) <= TOL, fast["txn_id"]
        for side in ("payer", "beneficiary"):
            a, b = fast[side], slow[side]
            if b is None:
                assert a is None
                continue
            assert abs(a["score"] - b["score"]) <= TOL
            assert {k: v for k, v in a.items() if k != "score"} == {
                k: v for k, v in b.items() if k != "score"
            }, fast["txn_id"]
            alerted += b["score"] >= pack.alert_threshold
        assert fast["decision"] == slow["decision"]
    assert alerted > 0


RULES = [
    "a + b * 2 - c",
    "a / b",
    "a % b",
    "power(a, 2) / 10",
    "CASE WHEN a > b THEN 1 WHEN a = b THEN 0.5 ELSE c END",
    "greatest(a, b, c) - least(a, b)",
    "coalesce(a, b, 0.25) / 4",
    "(a >= 1 AND b < 3) OR NOT c <= 0",
    "a BETWEEN b AND c",
    "ln(a) + sqrt(b) - abs(c)",
    "power(a, b) / 8",
    "power(a, 0.5) + ln(b - a)",
    "ramp(a, b, b)",
    "ramp(a, 1, 3)",
]


@pytest.mark.parametrize("text", RULES)
def test_a_rule_evaluates_in_python_as_its_sql_does(text: str) -> None:
    """The real-time path evaluates the pack's rules in Python; on every operator a rule
    may use, with NULLs, zeros and negatives, it must give DuckDB's value of the same
    rule's compiled SQL."""
    import duckdb

    from daybreak.payments.realtime_features import evaluate_rule
    from daybreak.payments.rules import compile_rule, parse_rule

    values = [None, -2.0, 0.0, 0.5, 1.0, 2.0, 3.0, 7.0]
    rows = [
        {"a": a, "b": b, "c": c}
        for i, a in enumerate(values)
        for j, b in enumerate(values)
        for c in values[(i + j) % 4 :: 3]
    ]
    tree = parse_rule(text, ["a", "b", "c"])
    sql = compile_rule(tree, "duckdb")
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, a DOUBLE, b DOUBLE, c DOUBLE)")
    con.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?)",
        [(i, r["a"], r["b"], r["c"]) for i, r in enumerate(rows)],
    )
    expected = [v for (v,) in con.execute(f"SELECT {sql} FROM t ORDER BY i").fetchall()]
    con.close()
    got = [evaluate_rule(tree, r) for r in rows]
    assert got == pytest.approx(expected, abs=1e-12), text
