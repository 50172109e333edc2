"""`daybreak export ...`: writes only valid documents, exits non-zero with a clear message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from daybreak.cli.export import app
from exporters.conftest import make_bundle, write_world

pytestmark = pytest.mark.shared
runner = CliRunner()


@pytest.fixture()
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    b = make_bundle()
    w = write_world(b, tmp_path / "world")
    cases = tmp_path / "cases.jsonl"
    # A case carries its own alerts, as `daybreak cases build` writes it.
    cases.write_text(b.case.model_copy(update={"alerts": list(b.alerts)}).model_dump_json() + "\n")
    org = tmp_path / "org.yaml"
    org.write_text(json.dumps(b.org.model_dump(mode="json", exclude_none=True)))
    monkeypatch.setenv("DAYBREAK_ORG", str(org))
    return w, cases


@pytest.mark.parametrize("fmt", ["goaml", "cybertip"])
def test_refused_without_reporting_identity(
    world: tuple[Path, Path],
    uae_xsd: Path,
    ncmec_xsd: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    """No placeholder reporter: without org settings nothing is written (defect 3)."""
    w, cases = world
    monkeypatch.delenv("DAYBREAK_ORG")
    out = tmp_path / "out.xml"
    xsd = uae_xsd if fmt == "goaml" else ncmec_xsd
    args = [fmt, "--case", "CASE-TEST-1", "--cases", str(cases), "--world", str(w), "--xsd", str(xsd), "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert (
        "reporting organisation" in result.output and "rentity_id" in result.output
    ) or fmt == "cybertip"
    assert "esp_service" in result.output or fmt == "goaml"
    assert not out.exists()


def test_goaml_written_when_valid(world: tuple[Path, Path], uae_xsd: Path, tmp_path: Path) -> None:
    w, cases = world
    out = tmp_path / "out" / "case.xml"
    args = ["goaml", "--case", "CASE-TEST-1", "--cases", str(cases), "--world", str(w), "--xsd", str(uae_xsd), "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (
        out.read_bytes().startswith(b"<?xml") and "valid against goAMLSchema.xsd" in result.output
    )


def test_invalid_goaml_is_not_written(
    world: tuple[Path, Path], uae_xsd: Path, tmp_path: Path
) -> None:
    w, cases = world
    out = tmp_path / "case.xml"
    args = ["goaml", "--case", "CASE-TEST-1", "--cases", str(cases), "--world", str(w), "--xsd", str(uae_xsd), "--regex-dialect", "xsd", "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "/report/reporting_person/first_name" in result.output
    assert "nothing written" in result.output and not out.exists()


@pytest.mark.parametrize("fmt", ["stix", "ftm", "cybertip"])
def test_other_formats(fmt: str, world: tuple[Path, Path], ncmec_xsd: Path, tmp_path: Path) -> None:
    w, cases = world
    out = tmp_path / f"case.{fmt}"
    args = [
        fmt,
        "--case",
        "CASE-TEST-1",
        "--cases",
        str(cases),
        "--world",
        str(w),
        "--out",
        str(out),
    ]
    if fmt == "cybertip":
        args += ["--xsd", str(ncmec_xsd)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 100


def test_unknown_case_and_missing_source(world: tuple[Path, Path], tmp_path: Path) -> None:
    w, cases = world
    out = tmp_path / "x.json"
    result = runner.invoke(
        app, ["stix", "--case", "NOPE", "--cases", str(cases), "--world", str(w), "--out", str(out)]
    )
    assert result.exit_code == 2 and "case 'NOPE' not found" in result.output
    result = runner.invoke(app, ["stix", "--case", "NOPE", "--world", str(w), "--out", str(out)])
    assert result.exit_code == 2 and "--cases FILE" in result.output
    assert not out.exists()


def test_case_from_the_store(
    world: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_mod = pytest.importorskip("daybreak.store")
    monkeypatch.delenv("DAYBREAK_FIELD_KEY", raising=False)
    data_dir = tmp_path / "data"
    store = store_mod.TiplineStore.open(data_dir, dev=True)
    try:
        store.cases.upsert([make_bundle().case])
    finally:
        store.close()
    w, _ = world
    out = tmp_path / "store.ftm"
    url = f"sqlite:///{data_dir / 'daybreak.db'}"
    args = ["ftm", "--case", "CASE-TEST-1", "--db", url, "--data-dir", str(data_dir), "--dev", "--world", str(w), "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert b'"Payment"' in out.read_bytes()


def test_kyc_file_makes_the_payer_my_client(
    world: tuple[Path, Path], uae_xsd: Path, tmp_path: Path
) -> None:
    w, cases = world
    kyc = tmp_path / "kyc.jsonl"
    record = {
        "customer_id": "C1", "birthdate": "1970-05-01", "id_number": "PA1234567",
        "nationality": "AU", "tax_reg_number": "Y",
        "identifications": [{"type": "passport", "number": "PA1234567", "issue_date": "2020-01-01",
                             "expiry_date": "2030-01-01", "issue_country": "AU"}],
    }  # fmt: skip
    kyc.write_text(json.dumps(record) + "\n")
    out = tmp_path / "kyc.xml"
    base = ["goaml", "--case", "CASE-TEST-1", "--cases", str(cases), "--world", str(w), "--xsd", str(uae_xsd)]  # fmt: skip
    result = runner.invoke(app, [*base, "--kyc", str(kyc), "--out", str(out)])
    assert result.exit_code == 0, result.output
    root = etree.fromstring(out.read_bytes())
    assert root.findtext("transaction/t_from_my_client/from_person/identification/type") == "PASSP"
    assert "1 of 2 payer(s)" in result.output  # C2 still lacks KYC
    kyc.write_text(json.dumps({**record, "nationality": "Australia"}) + "\n")
    result = runner.invoke(app, [*base, "--kyc", str(kyc), "--out", str(out)])
    assert result.exit_code == 2 and "kyc.jsonl, line 1, field nationality" in result.output


def test_a_plugin_format_exports_from_the_cli(world: tuple[Path, Path], tmp_path: Path) -> None:
    """`daybreak export FORMAT` works for any registered format: here the example
    plug-in's case_json, with the shared options and --check."""
    w, cases = world
    out = tmp_path / "case.json"
    args = ["case_json", "--case", make_bundle().case.case_id, "--cases", str(cases),
            "--world", str(w)]  # fmt: skip
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "valid against daybreak.model.cases.Case" in result.output
    assert json.loads(out.read_text())["case_id"] == make_bundle().case.case_id
    checked = runner.invoke(app, [*args, "--check"])
    assert checked.exit_code == 0, checked.output
    unknown = runner.invoke(app, ["pdf", "--case", "X"])
    assert unknown.exit_code == 2 and "No such command 'pdf'" in unknown.output
