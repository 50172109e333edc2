"""Every exporter passes the shared kit against its real schema or validator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from daybreak.exporters import get_exporter
from daybreak.exporters.bundle import CaseBundle
from exporters.kit import check_exporter

pytestmark = pytest.mark.shared


def _swap(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def damage(data: bytes) -> bytes:
        assert old in data, f"{old!r} not in the document"
        return data.replace(old, new, 1)

    return damage


@pytest.mark.parametrize(
    ("schema", "dialect"),
    [("uae", "auto"), ("uae_patched", "xsd"), ("srilanka", "auto")],
)
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


def test_cybertip_passes_the_kit(bundle: CaseBundle, ncmec_xsd: Path) -> None:
    exporter = get_exporter("cybertip", ncmec_xsd)
    check_exporter(
        exporter, bundle, _swap(b"<incidentType>Child Sex Trafficking", b"<incidentType>Other")
    )


def test_stix_passes_the_kit(bundle: CaseBundle) -> None:
    check_exporter(
        get_exporter("stix"), bundle, _swap(b'"spec_version": "2.1"', b'"spec_version": "2.0"')
    )


def test_ftm_passes_the_kit(bundle: CaseBundle) -> None:
    check_exporter(
        get_exporter("ftm"), bundle, _swap(b'"schema": "Payment"', b'"schema": "Paymant"')
    )
