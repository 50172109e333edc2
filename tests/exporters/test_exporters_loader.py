"""Bundles from a world folder: hand-written files and a small synthetic world."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from daybreak.exporters import ExportError, bundle_from_world, export_case, load_cases, load_org
from daybreak.exporters.bundle import CaseBundle
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case, Evidence
from exporters.conftest import TEST_ORG, make_bundle, write_world


def _carrying_alerts(bundle: CaseBundle) -> Case:
    """The bundle's case as `daybreak cases build` writes it: with its own alerts."""
    return bundle.case.model_copy(update={"alerts": list(bundle.alerts)})


def test_bundle_from_hand_written_world(tmp_path: Path) -> None:
    source = make_bundle()
    world = write_world(source, tmp_path / "world")
    b = bundle_from_world(_carrying_alerts(source), world, generated_at=source.generated_at)
    assert [a.alert_id for a in b.alerts] == ["A1", "A2"]
    assert sorted(t["txn_id"] for t in b.transactions) == ["T1", "T2"]  # T2 via the case's entities
    assert sorted(c["customer_id"] for c in b.customers) == ["C1", "C2"]
    assert [r["report_id"] for r in b.reports] == ["R1"]
    assert [e["event_id"] for e in b.platform_events] == ["E1"]  # account named in R1
    assert sorted(m["sighting_id"] for m in b.media_sightings) == ["M1", "M2", "M3"]
    assert {(i["source"], i["source_id"]) for i in b.identifiers} == {
        ("customers", "C1"),
        ("reports", "R1"),
    }
    assert b.notes == ()
    for fmt in ("stix", "ftm"):
        assert export_case(fmt, b)
    capped = bundle_from_world(_carrying_alerts(source), world, max_rows=1)
    assert len(capped.transactions) == 1
    assert any(n.startswith("transactions: only the first 1") for n in capped.notes)
    from daybreak.exporters import get_exporter

    assert get_exporter("ftm").notes(capped) == list(capped.notes)


def test_bundle_from_polars_frames() -> None:
    source = make_bundle()
    b = CaseBundle.from_frames(
        source.case,
        transactions=pl.DataFrame(list(source.transactions)),
        reports=pl.DataFrame(list(source.reports)),
        identifiers=pl.DataFrame(list(source.identifiers)),
        generated_at=source.generated_at,
    )
    assert [t["txn_id"] for t in b.transactions] == ["T1", "T2"]
    assert b.identifiers_of("reports", "R1")[0]["kind"] == "payment_handle"
    assert b"Payment" in export_case("ftm", b)


@pytest.mark.shared
def test_synthetic_world_exports_validate(tmp_path: Path, standards: Path) -> None:
    synth = pytest.importorskip("daybreak.synth")
    world = synth.generate_world(customers=40, months=1, seed=11)
    out = tmp_path / "world"
    synth.write_world(world, out, fmt="csv")
    txns = pl.read_csv(out / "transactions.csv")
    top = txns.group_by("receiver_id").len().sort("len", descending=True).row(0)[0]
    ids = txns.filter(pl.col("receiver_id") == top)["txn_id"].head(5).to_list()
    # The case carries its payments alert: goAML needs an indicator, and a case without
    # any alert or report gives none (the export says so rather than invent one).
    alert = Alert(alert_id="A-SYN", detector="payments", subject_type="beneficiary",
                  subject_id=top, score=0.5, typologies=("low_value_frequent_corridor",),
                  explanation="test", evidence_ids=tuple(ids))  # fmt: skip
    case = Case(
        case_id="CASE-SYN",
        title=f"Payments to {top}",
        priority=0.5,
        evidence=[Evidence(source="transactions", record_id=i) for i in ids],
        alert_ids=[alert.alert_id],
        alerts=[alert],
    )
    b = bundle_from_world(case, out, org=TEST_ORG)
    assert sorted(t["txn_id"] for t in b.transactions) == sorted(ids)
    assert {t["sender_id"] for t in b.transactions} == {c["customer_id"] for c in b.customers}
    goaml = standards / "goaml"
    for xsd in (
        goaml / "uae_fiu_5.0.2/goAMLSchema.xsd",
        goaml / "srilanka_fiu_v2.0/goAMLSchema-Version_2.0.xsd",
    ):
        assert export_case("goaml", b, xsd).startswith(b"<?xml")
    assert export_case("stix", b) and export_case("ftm", b)


def test_bad_world_and_case_files_are_named(tmp_path: Path) -> None:
    case = make_bundle().case
    with pytest.raises(ExportError, match="world folder not found"):
        bundle_from_world(case, tmp_path / "absent")
    world = tmp_path / "w"
    world.mkdir()
    pl.DataFrame({"txn_id": ["T1"]}).write_parquet(world / "transactions.parquet")
    with pytest.raises(ExportError, match=r"transactions\.parquet: missing column"):
        bundle_from_world(case, world)
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        case.model_dump_json() + "\n" + '{"case_id": "X", "title": "t", "priority": 7}\n'
    )
    with pytest.raises(ExportError, match=r"cases\.jsonl, line 2, field priority"):
        load_cases(cases)
    org = tmp_path / "org.yaml"
    org.write_text("tlp: purple\n")
    with pytest.raises(ExportError, match=r"org\.yaml, field tlp"):
        load_org(org)


@pytest.mark.shared
@pytest.mark.slow
def test_cases_built_by_the_graph_export(tmp_path: Path, standards: Path) -> None:
    """End to end: synthetic world -> payment alert -> graph case -> every export."""
    synth = pytest.importorskip("daybreak.synth")
    pipeline = pytest.importorskip("daybreak.graph.pipeline")
    from daybreak.model.alerts import Alert

    out = tmp_path / "world"
    synth.write_world(synth.generate_world(customers=40, months=1, seed=5), out)
    txns = pl.read_parquet(out / "transactions.parquet")
    top, ids = (
        txns.group_by("receiver_id")
        .agg(pl.col("txn_id").head(10), pl.col("sender_id").n_unique().alias("n"))
        .sort("n", descending=True)
        .select("receiver_id", "txn_id")
        .row(0)
    )
    alert = Alert(
        alert_id="A1", detector="payments", subject_type="beneficiary", subject_id=top,
        score=0.9, typologies=("facilitator_hub",), explanation="many unrelated payers",
        evidence_ids=tuple(ids),
    )  # fmt: skip
    cases = pipeline.build_cases(out, [alert], probabilistic=False)
    assert cases
    # No alerts passed: the case carries its own, so CLI, demo and console agree.
    b = bundle_from_world(cases[0], out, org=TEST_ORG)
    assert [a.alert_id for a in b.alerts] == ["A1"]
    assert set(ids) <= {t["txn_id"] for t in b.transactions}
    uae = standards / "goaml/uae_fiu_5.0.2/goAMLSchema.xsd"
    assert b"<indicator>FOWNB</indicator>" in export_case("goaml", b, uae)
    for fmt in ("stix", "ftm"):
        assert export_case(fmt, b)


def test_only_the_cases_own_alerts_enter_the_bundle(tmp_path: Path) -> None:
    """Defect 2: the demo passed every alert of the run into the top case's bundle.
    Alerts of other cases are ignored whatever the caller passes; a case written
    before cases carried alerts takes its own from the caller's, by id, and no more."""
    from daybreak.model.alerts import Alert

    source = make_bundle()
    world = write_world(source, tmp_path / "world")
    stranger = Alert(
        alert_id="OTHER-CASE", detector="payments", subject_type="customer", subject_id="C9",
        score=0.9, explanation="another case's payer", evidence_ids=("T9",),
    )  # fmt: skip
    b = bundle_from_world(_carrying_alerts(source), world, alerts=[stranger])
    assert [a.alert_id for a in b.alerts] == ["A1", "A2"]
    assert "T9" not in {t["txn_id"] for t in b.transactions}
    legacy = bundle_from_world(source.case, world, alerts=[stranger, *source.alerts])
    assert [a.alert_id for a in legacy.alerts] == ["A1", "A2"]
    assert legacy.notes == ()
    bare = bundle_from_world(source.case, world)
    assert bare.alerts == () and "2 of the case's 2 alert(s) are not available" in bare.notes[0]
