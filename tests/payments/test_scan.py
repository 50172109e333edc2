"""Scanning the tiny hand-made world: who is alerted, why, and what is written."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from daybreak.engines.payments import scan_frames
from daybreak.payments.config import load_pack
from daybreak.payments.scan import ScanResult, write_results
from payments.tiny import tiny_world


@pytest.fixture(scope="module")
def result() -> ScanResult:
    tx, cu = tiny_world()
    return scan_frames(tx, cu)


def _alert(result: ScanResult, sid: str):  # type: ignore[no-untyped-def]
    return next(a for a in result.alerts if a.subject_id == sid)


def test_payers_are_alerted_and_the_diaspora_remitter_is_not(result: ScanResult) -> None:
    customers = {a.subject_id for a in result.alerts if a.subject_type == "customer"}
    assert {"C1", "C2"} <= customers
    assert "C3" not in customers  # pays relatives (shared surname) at midday
    assert "C4" not in customers  # one wire


def test_known_offender_raises_the_score(result: ScanResult) -> None:
    c5 = result.customer_scores.filter(pl.col("sender_id") == "C5").row(0, named=True)
    assert c5["known_offender"] == 1
    assert c5["s__known_offender"] == 1.0


def test_explanation_reads_like_the_issue_example(result: ScanResult) -> None:
    c1 = _alert(result, "C1")
    assert c1.explanation.startswith(
        "Paid 3 unrelated women in the Philippines 30 times in 87 days, median AUD 61, "
        "100% between 22:00 and 06:00 local time; amounts rose from 28 to 95."
    )
    assert {"multiple_unrelated_beneficiaries", "night_time", "cover_words", "escalation",
            "male_to_women_abroad"} <= set(c1.typologies)  # fmt: skip


def test_evidence_is_the_subjects_own_transactions(result: ScanResult) -> None:
    tx, _ = tiny_world()
    c1 = _alert(result, "C1")
    own = set(tx.filter(pl.col("sender_id") == "C1")["txn_id"].to_list())
    assert set(c1.evidence_ids) <= own
    assert 0 < len(c1.evidence_ids) <= 50
    assert "T00031" in c1.evidence_ids  # the VPN purchase near the payments
    hub = _alert(result, "gcash:+639170000001")
    paid_in = tx.filter(pl.col("receiver_id") == "gcash:+639170000001")["txn_id"].to_list()
    assert set(hub.evidence_ids) <= set(paid_in)
    assert hub.subject_type == "beneficiary"


def test_night_share_uses_the_customers_own_time_zone() -> None:
    tx, cu = tiny_world()
    # the same UTC instants, but the customer lives in New York: 12:00 UTC is 07:00 there
    moved = cu.with_columns(
        pl.when(pl.col("customer_id") == "C1").then(pl.lit("America/New_York"))
        .otherwise(pl.col("timezone")).alias("timezone")
    )  # fmt: skip
    c1 = scan_frames(tx, moved).customer_scores.filter(pl.col("sender_id") == "C1")
    assert c1["night_share"][0] == 0.0


def test_write_results_files(result: ScanResult, tmp_path: Path) -> None:
    write_results(result, tmp_path)
    lines = (tmp_path / "alerts.jsonl").read_text().splitlines()
    assert len(lines) == len(result.alerts)
    first = json.loads(lines[0])
    assert set(first) >= {"subject_type", "subject_id", "score", "typologies", "explanation",
                          "evidence_txn_ids", "first_seen", "last_seen"}  # fmt: skip
    assert first["first_seen"].endswith("Z")
    parquet = pl.read_parquet(tmp_path / "alerts.parquet")
    assert parquet["subject_id"].to_list() == [json.loads(x)["subject_id"] for x in lines]
    assert json.loads((tmp_path / "summary.json").read_text())["alerts"] == len(lines)


def test_calibrated_scores_order_like_raw_scores(result: ScanResult) -> None:
    frame = result.customer_scores.sort("raw_score")
    assert frame["score"].is_sorted()
    assert all(0.0 <= s <= 1.0 for s in frame["score"])


def test_a_scan_without_alerts_writes_empty_files_of_the_same_form(tmp_path: Path) -> None:
    tx, cu = tiny_world()
    quiet = load_pack().model_copy(update={"alert_threshold": 1.01})  # no score reaches it
    result = scan_frames(tx, cu, pack=quiet)
    assert result.alerts == [] and result.summary["alerts"] == 0
    assert result.customer_scores.height > 0
    write_results(result, tmp_path)
    assert (tmp_path / "alerts.jsonl").read_text() == ""
    written = pl.read_parquet(tmp_path / "alerts.parquet")
    assert written.height == 0
    assert written.schema == scan_frames(tx, cu).alerts_table.schema


def test_opening_sentences_read_only_the_declared_fields(result: ScanResult) -> None:
    """Alerts render from a selection of columns: a field a lead reads must be listed."""
    from daybreak.payments.explain import LEAD_FIELDS, beneficiary_lead, customer_lead

    class Recording(dict[str, object]):
        def get(self, key: str, default: object = None) -> object:
            read.add(key)
            return super().get(key, default)

    for subject, frame, lead in (("customer", result.customer_scores, customer_lead),
                                 ("beneficiary", result.beneficiary_scores, beneficiary_lead)):  # fmt: skip
        read: set[str] = set()
        lead(Recording(frame.row(0, named=True)))
        assert read <= {*LEAD_FIELDS[subject], "currency"}, subject


def test_sentences_written_per_column_read_as_those_written_per_row() -> None:
    """``render_rows`` formats a field over many rows at once; each row's text is what
    ``render`` writes for that row alone (nulls, NaN, missing fields and money in each
    row's own currency included)."""
    from daybreak.payments.explain import render, render_rows

    template = "{n:int} payments ({share:pct}), median {m:money}, {x:num} {tag} {absent:int}."
    columns: dict[str, list[object]] = {
        "n": [3, None, 1234.6, float("nan"), 0],
        "share": [0.25, 0.005, None, 1.0, 0.125],
        "m": [48.0, 7.5, None, 12345.4, float("nan")],
        "currency": ["AUD", "USD", "GBP", None, "EUR"],
        "x": [0.123, None, 2.0, 3.14159, -1.0],
        "tag": ["a", "b", None, "d", "e"],
    }
    rows = [4, 0, 3, 1]
    expected = [render(template, {k: v[i] for k, v in columns.items()}) for i in rows]
    assert render_rows(template, columns, rows) == expected
    assert expected[1] == "3 payments (25%), median AUD 48, 0.12 a unknown."
    assert (
        render_rows("no field here {{at all}}", columns, rows[:2]) == ["no field here {at all}"] * 2
    )
    assert render_rows(template, columns, []) == []


def test_alert_explanations_are_the_typologies_sentences_row_by_row(result: ScanResult) -> None:
    """The scan writes sentences per typology over the rows it fires on; each alert's
    explanation is its lead and then, strongest first, each fired typology's sentence
    rendered from its own row."""
    from daybreak.payments.compiler import strength_column
    from daybreak.payments.explain import beneficiary_lead, customer_lead, render

    pack = load_pack()
    checked = 0
    for subject, frame, key, lead in (
        ("customer", result.customer_scores, "sender_id", customer_lead),
        ("beneficiary", result.beneficiary_scores, "receiver_id", beneficiary_lead),
    ):
        by_id = {row[key]: row for row in frame.iter_rows(named=True)}
        for alert in (a for a in result.alerts if a.subject_type == subject):
            row = by_id[alert.subject_id]
            fired = sorted(
                (
                    -t.weight * float(row.get(strength_column(t)) or 0.0),
                    t.id,
                    render(t.explain, row),
                )
                for t in pack.typologies_for(subject)
                if t.weight > 0 and float(row.get(strength_column(t)) or 0.0) >= t.fires_at
            )
            assert alert.typologies == tuple(f[1] for f in fired)
            assert alert.explanation == " ".join([lead(row), *(f[2] for f in fired)])
            checked += 1
    assert checked >= 4
