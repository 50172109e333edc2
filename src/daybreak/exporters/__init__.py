"""Case exports: goAML, NCMEC CyberTipline XML, STIX 2.1, FollowTheMoney and plug-ins.

Every exporter implements :class:`~daybreak.exporters.base.Exporter` and validates its
output against the real schema or validator before handing it out. Formats are found
through the ``daybreak.exporters`` entry points (:func:`exporters`), Daybreak's own
exactly like an installed plug-in's. Faces (CLI, console, demo) call :func:`export_case`
with a bundle from :func:`bundle_from_world`.

Importing this package is cheap: the names below are imported on first use (the
loader needs polars, the exporters lxml, xmlschema, stix2 and followthemoney), so a
face can list the formats without paying for any of them.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daybreak.exporters.info import (
    STANDARDS_ENV,
    ExporterInfo,
    ExportOption,
    SchemaSetting,
    exporter_info,
    exporters,
    register,
)

if TYPE_CHECKING:
    from daybreak.exporters.base import (
        Exporter,
        ExportError,
        ExportValidationError,
        ValidationProblem,
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

    FORMATS: tuple[str, ...]

_LAZY = {
    "Exporter": "daybreak.exporters.base",
    "ExportError": "daybreak.exporters.base",
    "ExportValidationError": "daybreak.exporters.base",
    "ValidationProblem": "daybreak.exporters.base",
    "CaseBundle": "daybreak.exporters.bundle",
    "OrgSettings": "daybreak.exporters.bundle",
    "bundle_from_world": "daybreak.exporters.loader",
    "case_alerts": "daybreak.exporters.loader",
    "find_case": "daybreak.exporters.loader",
    "load_cases": "daybreak.exporters.loader",
    "load_kyc": "daybreak.exporters.loader",
    "load_org": "daybreak.exporters.loader",
}


def __getattr__(name: str) -> Any:
    if name == "FORMATS":  # the registered format names, in listing order
        return tuple(exporters())
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def default_schema(fmt: str) -> Path | None:
    """The schema a format validates against when none is given: the file its
    environment variable names (``$DAYBREAK_GOAML_XSD``, ``$DAYBREAK_NCMEC_XSD``), else
    its file under ``$DAYBREAK_STANDARDS_DIR``, else None (also for formats that need
    no schema)."""
    schema = exporters()[fmt].schema if fmt in exporters() else None
    return schema.default() if schema is not None else None


def get_exporter(fmt: str, xsd: Path | None = None, **options: Any) -> Exporter:
    """The exporter for ``fmt``; ``options`` go to its constructor (e.g. goAML
    ``profile=``, ``regex_dialect=``)."""
    return exporter_info(fmt).create(xsd, **options)


def unavailable_reason(fmt: str, bundle: CaseBundle, xsd: Path | None = None) -> str | None:
    """Why ``fmt`` cannot be made for this bundle (None when it can), so that faces
    offer only the exports that will work. ``xsd``: the schema the caller will pass
    (else the configured default must exist)."""
    info = exporter_info(fmt)
    reason = info.why_not(bundle)
    if reason:
        return reason
    if info.schema is not None and (xsd or info.schema.default()) is None:
        return f"no {fmt} schema configured (--xsd or ${info.schema.envvar})"
    return None


def export_case(fmt: str, bundle: CaseBundle, xsd: Path | None = None, **options: Any) -> bytes:
    """The validated document for ``bundle`` in ``fmt`` (any registered format).

    Raises :class:`ExportValidationError` (naming each invalid element) when the
    document does not validate, :class:`ExportError` for anything else missing."""
    from daybreak.exporters.base import ExportError
    from daybreak.exporters.bundle import CaseBundle

    if not isinstance(fmt, str) or not isinstance(bundle, CaseBundle):
        raise ExportError(
            "call export_case(fmt, bundle, xsd=None) with a format name and a CaseBundle "
            "(build one with bundle_from_world(case, world_dir)); got "
            f"{type(fmt).__name__}, {type(bundle).__name__}"
        )
    return get_exporter(fmt, xsd, **options).render(bundle)


__all__ = [
    "FORMATS",
    "STANDARDS_ENV",
    "CaseBundle",
    "ExportError",
    "ExportOption",
    "ExportValidationError",
    "Exporter",
    "ExporterInfo",
    "OrgSettings",
    "SchemaSetting",
    "ValidationProblem",
    "bundle_from_world",
    "case_alerts",
    "default_schema",
    "export_case",
    "exporter_info",
    "exporters",
    "find_case",
    "get_exporter",
    "load_cases",
    "load_kyc",
    "load_org",
    "register",
    "unavailable_reason",
]
