"""The example plug-in passes Daybreak's shipped kits and is found by entry point."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from daybreak_example.detector import RoundAmountsDetector
from daybreak_example.exporter import CaseJsonExporter
from daybreak_example.info import CASE_JSON, LEDGER, ROUND_AMOUNTS

from daybreak.detectors import DetectorError
from daybreak.detectors.info import detectors
from daybreak.exporters import export_case, exporters
from daybreak.exporters.bundle import CaseBundle
from daybreak.model.cases import Case
from daybreak.plugins import source_for, sources
from daybreak.testing import (
    check_detector,
    check_detector_info,
    check_exporter,
    check_exporter_info,
    check_source,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _tx(n_round: int, sender: str = "C1") -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for i in range(n_round):  # round amounts abroad: these count
        rows.append(dict(txn_id=f"{sender}-R{i}", amount=100.0 + 50 * i, receiver_country="PH"))
    rows.append(dict(txn_id=f"{sender}-X", amount=123.45, receiver_country="PH"))  # not round
    rows.append(dict(txn_id=f"{sender}-D", amount=500.0, receiver_country="AU"))  # domestic
    for i, row in enumerate(rows):
        row.update(sender_id=sender, sender_country="AU", timestamp=T0 + timedelta(days=i))
    return rows


def _frame(*senders: tuple[str, int]) -> pl.DataFrame:
    return pl.DataFrame([r for s, n in senders for r in _tx(n, s)])


def test_detector_passes_the_kit() -> None:
    data = _frame(("C1", 6), ("C2", 9), ("C3", 2))
    alerts = check_detector(RoundAmountsDetector(), data, set(data["txn_id"]))
    assert [a.subject_id for a in alerts] == ["C2", "C1"]  # C3 has too few; more scores higher
    assert alerts[1].evidence_ids == tuple(f"C1-R{i}" for i in range(6))


def test_detector_threshold_is_an_option() -> None:
    data = _frame(("C3", 2))
    assert RoundAmountsDetector(min_payments=2).detect(data)
    assert not RoundAmountsDetector().detect(data)
    with pytest.raises(DetectorError, match="min_payments"):
        RoundAmountsDetector(min_payments=0)


def test_registered_detector_runs_on_a_world(tmp_path: Path) -> None:
    from daybreak.synth import generate_world, write_world

    world = generate_world(200, 2, 11)
    write_world(world, tmp_path)
    ids = set(world.transactions["txn_id"].to_list())
    alerts = check_detector_info(ROUND_AMOUNTS, tmp_path, ids, expect_alerts=False)
    assert detectors()["round_amounts"] == ROUND_AMOUNTS  # found by its entry point
    assert all(a.subject_type == "customer" for a in alerts)


def _bundle() -> CaseBundle:
    case = Case(case_id="CASE-1", title="example", priority=0.5, alert_ids=["a1"])
    return CaseBundle(case=case)


def _damage(data: bytes) -> bytes:
    return data.replace(b'"priority": 0.5', b'"priority": 7.0')


def test_exporter_passes_the_kit() -> None:
    check_exporter(CaseJsonExporter(), _bundle(), _damage)
    data = check_exporter_info(CASE_JSON, _bundle(), _damage)
    assert export_case("case_json", _bundle()) == data
    assert exporters()["case_json"] == CASE_JSON  # found by its entry point
    assert CASE_JSON.filename("CASE-1") == "CASE-1.case_json.json"


LEDGER_LINES = [
    "Booked;Ref;Payer;PayerName;PayerCountry;Payee;PayeeName;PayeeCountry;Amount;Ccy;Channel;Memo",
    "2026-03-01 12:00:00;L1;C1;Ann Lee;AU;gcash:+639170000001;Maria;PH;150,00;AUD;remittance;",
    "2026-03-02 08:30:00;L2;C1;Ann Lee;AU;gcash:+639170000001;Maria;PH;99,50;AUD;wallet;gift",
]


def test_source_passes_the_kit_and_is_registered(tmp_path: Path) -> None:
    sample = tmp_path / "day.ledger"
    sample.write_text("\n".join(LEDGER_LINES) + "\n", "utf-8")
    other = tmp_path / "other.ledger"
    other.write_text("a;b\n1;2\n", "utf-8")
    frame = check_source(LEDGER, sample, other)
    assert frame["amount"].to_list() == [150.0, 99.5]  # the decimal comma is read
    assert sources()["ledger"] == LEDGER
    assert source_for(tmp_path / "DAY.LEDGER", "transactions") == LEDGER
