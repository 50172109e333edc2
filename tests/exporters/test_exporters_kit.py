"""Every exporter passes the shared kit against its real schema or validator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from daybreak.exporters import ExportError, export_case, get_exporter, register
from daybreak.exporters.base import Exporter, ValidationProblem
from daybreak.exporters.bundle import CaseBundle
from daybreak.exporters.info import exporters, unregister
from daybreak.model.cases import Case
from daybreak.testing import check_exporter


def _swap(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def damage(data: bytes) -> bytes:
        assert old in data, f"{old!r} not in the document"
        return data.replace(old, new, 1)

    return damage


@pytest.mark.parametrize(
    ("schema", "dialect"),
    [("uae", "auto"), ("uae_patched", "xsd"), ("srilanka", "auto")],
)
@pytest.mark.shared
def test_goaml_passes_the_kit(
    schema: str,
    dialect: str,
    bundle: CaseBundle,
    uae_xsd: Path,
    uae_patched_xsd: Path,
    srilanka_xsd: Path,
) -> None:
    xsd = {"uae": uae_xsd, "uae_patched": uae_patched_xsd, "srilanka": srilanka_xsd}[schema]
    exporter = get_exporter("goaml", xsd, regex_dialect=dialect)
    check_exporter(exporter, bundle, _swap(b"<transmode_code>", b"<transmode_kode>"))


@pytest.mark.shared
def test_cybertip_passes_the_kit(bundle: CaseBundle, ncmec_xsd: Path) -> None:
    exporter = get_exporter("cybertip", ncmec_xsd)
    check_exporter(
        exporter, bundle, _swap(b"<incidentType>Child Pornography", b"<incidentType>Other")
    )


def test_stix_passes_the_kit(bundle: CaseBundle) -> None:
    check_exporter(
        get_exporter("stix"), bundle, _swap(b'"spec_version": "2.1"', b'"spec_version": "2.0"')
    )


def test_ftm_passes_the_kit(bundle: CaseBundle) -> None:
    check_exporter(
        get_exporter("ftm"), bundle, _swap(b'"schema": "Payment"', b'"schema": "Paymant"')
    )


class CaseJson(Exporter):
    """An extension: the case record as JSON, validated by the Case model."""

    name = "case_record"
    media_type = "application/json"
    suffix = "json"
    validates_against = "daybreak.model.cases.Case"

    def export(self, bundle: CaseBundle) -> bytes:
        return bundle.case.model_dump_json().encode()

    def validate(self, data: bytes) -> list[ValidationProblem]:
        try:
            Case.model_validate_json(data)
        except ValidationError as exc:
            return [ValidationProblem(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
        return []


def test_an_extension_registers_and_passes_the_kit(bundle: CaseBundle) -> None:
    with pytest.raises(ValueError, match="'case_json' is already installed"):
        register("case_json", CaseJson)  # the example plug-in's name
    register("case_record", CaseJson)
    try:
        exporter = get_exporter("case_record")
        check_exporter(exporter, bundle, _swap(b'"priority":0.93', b'"priority":7'))
        assert export_case("case_record", bundle) == exporter.export(bundle)
    finally:
        unregister("case_record")
    assert "case_record" not in exporters()


def test_wrong_call_is_a_clear_error(bundle: CaseBundle) -> None:
    with pytest.raises(ExportError, match=r"export_case\(fmt, bundle"):
        export_case(bundle.case, "goaml")  # type: ignore[arg-type]
    with pytest.raises(ExportError, match="unknown export format 'pdf'"):
        export_case("pdf", bundle)


def test_unavailable_reason(bundle: CaseBundle, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from daybreak.exporters import unavailable_reason

    monkeypatch.delenv("DAYBREAK_STANDARDS_DIR", raising=False)
    monkeypatch.delenv("DAYBREAK_NCMEC_XSD", raising=False)
    monkeypatch.setenv("DAYBREAK_GOAML_XSD", __file__)  # any existing file counts as configured
    assert unavailable_reason("stix", bundle) is None
    assert unavailable_reason("goaml", bundle) is None
    assert "no cybertip schema" in (unavailable_reason("cybertip", bundle) or "")
    # without reports, a case is still reportable when a hash matched a known list
    assert "no tipline reports and no media that matched" in (
        unavailable_reason("cybertip", replace(bundle, reports=(), alerts=())) or ""
    )
