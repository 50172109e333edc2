"""Case exports: goAML, NCMEC CyberTipline XML, STIX 2.1 and FollowTheMoney.

Every exporter implements :class:`~daybreak.exporters.base.Exporter` and validates its
output against the real schema or validator before handing it out. Faces (CLI, console,
demo) call :func:`export_case` with a bundle from :func:`bundle_from_world`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from daybreak.exporters.base import (
    Exporter,
    ExportError,
    ExportValidationError,
    ValidationProblem,
    register,
    registered,
)
from daybreak.exporters.bundle import CaseBundle, OrgSettings
from daybreak.exporters.loader import (
    bundle_from_world,
    case_alerts,
    find_case,
    load_cases,
    load_kyc,
    load_org,
)

# Where to find a schema when none is given: $DAYBREAK_STANDARDS_DIR laid out like
# ../shared/standards (the schemas are their issuers' property and not shipped).
STANDARDS_ENV = "DAYBREAK_STANDARDS_DIR"
DEFAULT_SCHEMAS = {
    "goaml": "goaml/uae_fiu_5.0.2/goAMLSchema.xsd",
    "cybertip": "ncmec/cybertipline_report.xsd",
}
FORMATS = ("goaml", "cybertip", "stix", "ftm")


SCHEMA_ENVS = {"goaml": "DAYBREAK_GOAML_XSD", "cybertip": "DAYBREAK_NCMEC_XSD"}


def default_schema(fmt: str) -> Path | None:
    """The schema named by $DAYBREAK_GOAML_XSD / $DAYBREAK_NCMEC_XSD, else the one
    under $DAYBREAK_STANDARDS_DIR, else None."""
    direct = os.environ.get(SCHEMA_ENVS.get(fmt, ""), "")
    if direct and Path(direct).is_file():
        return Path(direct)
    root = os.environ.get(STANDARDS_ENV)
    if not root or fmt not in DEFAULT_SCHEMAS:
        return None
    path = Path(root) / DEFAULT_SCHEMAS[fmt]
    return path if path.is_file() else None


def _needs_xsd(fmt: str, xsd: Path | None) -> Path:
    path = xsd or default_schema(fmt)
    if path is None:
        what = "the FIU's goAML XSD" if fmt == "goaml" else "NCMEC's cybertipline_report.xsd"
        raise ExportError(
            f"the {fmt} export validates against {what}: pass its path (--xsd FILE) "
            f"or set {STANDARDS_ENV} to a folder laid out like shared/standards"
        )
    return path


def get_exporter(fmt: str, xsd: Path | None = None, **options: Any) -> Exporter:
    """The exporter for ``fmt``; ``options`` go to its constructor (e.g. goAML
    ``profile=``, ``regex_dialect=``)."""
    # Imported on demand: the validators (stix2-validator above all) take seconds to
    # import, which every `daybreak` command would otherwise pay.
    if fmt == "goaml":
        from daybreak.exporters.goaml import GoamlExporter

        return GoamlExporter(_needs_xsd(fmt, xsd), **options)
    if fmt == "cybertip":
        from daybreak.exporters.cybertip import CybertipExporter

        return CybertipExporter(_needs_xsd(fmt, xsd), **options)
    factories = registered()
    if fmt in factories:
        return factories[fmt](**options)
    raise ExportError(
        f"unknown export format {fmt!r}; expected one of {sorted([*FORMATS, *factories])}"
    )


def unavailable_reason(fmt: str, bundle: CaseBundle, xsd: Path | None = None) -> str | None:
    """Why ``fmt`` cannot be made for this bundle (None when it can), so that faces
    offer only the exports that will work. ``xsd``: the schema the caller will pass
    (else the configured default must exist)."""
    if fmt == "cybertip" and not bundle.reports and not bundle.matched_sightings():
        return "the case has no tipline reports and no media that matched a known-material list"
    if fmt == "goaml" and not bundle.transactions and not bundle.reports:
        return "the case has neither transactions nor reported accounts"
    if fmt in DEFAULT_SCHEMAS and (xsd or default_schema(fmt)) is None:
        return f"no {fmt} schema configured (--xsd or ${SCHEMA_ENVS[fmt]})"
    return None


def export_case(fmt: str, bundle: CaseBundle, xsd: Path | None = None, **options: Any) -> bytes:
    """The validated document for ``bundle`` in ``fmt`` (goaml|cybertip|stix|ftm).

    Raises :class:`ExportValidationError` (naming each invalid element) when the
    document does not validate, :class:`ExportError` for anything else missing."""
    if not isinstance(fmt, str) or not isinstance(bundle, CaseBundle):
        raise ExportError(
            "call export_case(fmt, bundle, xsd=None) with a format name and a CaseBundle "
            "(build one with bundle_from_world(case, world_dir)); got "
            f"{type(fmt).__name__}, {type(bundle).__name__}"
        )
    return get_exporter(fmt, xsd, **options).render(bundle)


def _stix(**options: Any) -> Exporter:
    from daybreak.exporters.stix import StixExporter

    return StixExporter(**options)


def _ftm(**options: Any) -> Exporter:
    from daybreak.exporters.ftm import FtmExporter

    return FtmExporter(**options)


register("stix", _stix)
register("ftm", _ftm)

__all__ = [
    "FORMATS",
    "CaseBundle",
    "ExportError",
    "ExportValidationError",
    "Exporter",
    "OrgSettings",
    "ValidationProblem",
    "bundle_from_world",
    "case_alerts",
    "default_schema",
    "export_case",
    "find_case",
    "get_exporter",
    "load_cases",
    "load_kyc",
    "load_org",
    "register",
    "unavailable_reason",
]
