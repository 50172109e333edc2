"""`daybreak demo --no-serve` runs every stage on a small world, and re-runs update."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from daybreak.cli.main import app
from daybreak.exporters import bundle_from_world
from daybreak.model.cases import Case
from daybreak.store import SYSTEM, TiplineStore

runner = CliRunner()


@pytest.mark.slow
def test_demo_runs_every_stage_and_reruns_without_duplicates(tmp_path: Path) -> None:
    args = [
        "demo",
        "--workdir",
        str(tmp_path),
        "--customers",
        "2000",
        "--months",
        "3",
        "--no-serve",
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    for stage in (
        "synthetic world",
        "payments scan",
        "media hash matching",
        "stream-payment coincidence (DuckDB)",
        "grooming contact patterns (DuckDB)",
        "financial sextortion (DuckDB)",
        "recruitment ads (DuckDB)",
        "tipline intake",
        "entity graph and fused cases",
        "estimate of what nobody sees",
        "exports of CASE-",
    ):
        assert stage in first.output
    assert "What nobody sees" in first.output
    lines = (tmp_path / "results" / "alerts.jsonl").read_text().splitlines()
    alerts = [json.loads(line) for line in lines]
    assert alerts and all(a["explanation"] and a["evidence_txn_ids"] for a in alerts)
    assert "average precision" in first.output
    found = re.search(r"(\d+) of (\d+) planted show-payment pairs found", first.output)
    assert found and 0 < int(found[1]) <= int(found[2]), first.output
    assert re.search(r"detector stream_payment .*: [1-9]\d* alert\(s\)", first.output)
    groomers = re.search(r"(\d+) of (\d+) planted groomer accounts found", first.output)
    assert groomers and 0 < int(groomers[1]) <= int(groomers[2]), first.output
    assert re.search(r"detector grooming .*: [1-9]\d* alert\(s\)", first.output)
    handles = re.search(r"(\d+) of (\d+) planted extortion handles found", first.output)
    assert handles and 0 < int(handles[1]) <= int(handles[2]), first.output
    reused = re.search(r"(\d+) of (\d+) phones, handles and photos", first.output)
    assert reused and 0 < int(reused[1]) <= int(reused[2]), first.output

    store = TiplineStore.open(tmp_path / "data", dev=True)
    try:
        cases = store.cases.query(SYSTEM)
        assert cases, "the demo stores fused cases"
        fused = [c for c in cases if {"payments", "reports", "media"} <= set(c.sources)]
        assert fused, "some case fuses payments, a tipline report and a media match"
        assert all("independent sources" in c.explanation for c in fused)
        # stream-payment alerts reach the cases as the platform family, with their shows
        platform = [c for c in cases if "platform" in c.sources]
        assert platform, "some case holds a stream-payment alert"
        shows = [a for c in platform for a in c.alerts if a.detector == "stream_payment"]
        assert shows and all(a.evidence_source == "platform_events" for a in shows)
        assert any(e.source == "platform_events" for c in platform for e in c.evidence)
        # grooming alerts too, on the groomer's platform account
        groomed = [a for c in platform for a in c.alerts if a.detector == "grooming"]
        assert groomed and all(a.subject_type == "account" for a in groomed)
        # and sextortion alerts, on the handle the families paid
        extorted = [a for c in platform for a in c.alerts if a.detector == "sextortion"]
        assert extorted and all(a.subject_type == "beneficiary" for a in extorted)
        assert store.reports.count() > 0
        # the estimate per role, from who the sources saw on the graph, is kept
        stored = store.estimates.latest(SYSTEM)
        assert stored is not None
        assert [s.label for s in stored.report.strata][1:] == [
            f"role={r}" for r in ("facilitator", "other", "payer", "victim")
        ]
        payer = next(s.estimate for s in stored.report.strata if s.label == "role=payer")
        assert payer is not None and "payments" in payer.lists
    finally:
        store.close()
    seen = pl.read_csv(tmp_path / "sightings.csv")
    assert seen.select("person", "list").is_unique().all()
    # each list's people are those its alerts name: the payments list holds the alerted
    # customers' people, and every payments row names the payments alerts behind it
    payments = seen.filter(pl.col("list") == "payments")
    cited = {a for ids in payments["alerts"] for a in ids.split(" ")}
    assert cited == {a["alert_id"] for a in alerts}
    subjects = {f"customer:{a['subject_id']}" for a in alerts if a["subject_type"] == "customer"}
    assert subjects <= {k for keys in payments["seen_as"] for k in keys.split(" ")}
    exports = sorted(p.name.split(".")[1] for p in (tmp_path / "exports").iterdir())
    assert {"stix", "ftm"} <= set(exports)
    # the installed example plug-in (a dev dependency) runs beside the built-ins
    assert "round_amounts detector (plug-in)" in first.output
    assert re.search(r"detector round_amounts .*: \d+ alert\(s\)", first.output)
    assert "case_json" in exports
    # the registered sources are listed, the example plug-in's too
    assert re.search(r"source pacs008 .*: \.xml -> transactions", first.output)
    assert re.search(r"source ledger .*: \.ledger -> transactions", first.output)
    assert "hash types pdq, md5, sha256" in first.output
    _exports_hold_only_their_case(tmp_path, cases)

    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    store = TiplineStore.open(tmp_path / "data", dev=True)
    try:
        assert sorted(c.case_id for c in store.cases.query(SYSTEM)) == sorted(
            c.case_id for c in cases
        )
    finally:
        store.close()


def _exports_hold_only_their_case(workdir: Path, cases: list[Case]) -> None:
    """#14 defect 2: the demo exported every report and payment of the run with the top
    case. Every record id in every export file must belong to that case's bundle."""
    files = sorted((workdir / "exports").iterdir())
    case_id = files[0].name.split(".")[0]
    case = next(c for c in cases if c.case_id == case_id)
    assert case.alerts, "the stored case carries its own alerts"
    bundle = bundle_from_world(case, workdir / "world")
    own = {
        "report": {str(r["report_id"]) for r in bundle.reports},
        "transaction": {str(t["txn_id"]) for t in bundle.transactions},
        "sighting": {str(m["sighting_id"]) for m in bundle.media_sightings},
    }
    patterns = {"report": r"\bR\d{8}\b", "transaction": r"\bT\d{10}\b", "sighting": r"\bM\d{9}\b"}
    for path in files:
        body = path.read_text(encoding="utf-8")
        for what, pattern in patterns.items():
            stray = set(re.findall(pattern, body)) - own[what]
            assert not stray, f"{path.name}: {what} ids of other cases: {sorted(stray)[:5]}"
        # Reports to receivers say they come from the demo, not a real reporter.
        assert "DEMONSTRATION ONLY" in body or path.suffix != ".xml", (
            f"{path.name}: demo not marked"
        )


def test_demo_refuses_an_unknown_profile(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["demo", "--workdir", str(tmp_path), "--profile", "nowhere", "--no-serve"]
    )
    assert result.exit_code == 2
    assert "nowhere" in result.output
