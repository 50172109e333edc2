"""Case exports as downloads, through :mod:`daybreak.exporters`.

The console never builds a report itself: it asks the exporters package (the same code
behind ``daybreak export``) and only names the file. A format whose exporter is missing
is shown disabled with the reason instead of failing at click time.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass

from daybreak.console.backend import ActionError, ExportFile, ExportFormat
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case


@dataclass(frozen=True, slots=True)
class _Spec:
    label: str
    media_type: str
    suffix: str


FORMATS: dict[str, _Spec] = {
    "goaml": _Spec("goAML STR (XML)", "application/xml", "goaml.xml"),
    "cybertip": _Spec("NCMEC CyberTipline (XML)", "application/xml", "cybertip.xml"),
    "stix": _Spec("STIX 2.1 bundle (JSON)", "application/json", "stix.json"),
    "ftm": _Spec("FollowTheMoney entities (JSON lines)", "application/x-ndjson", "ftm.jsonl"),
}


def _exporters_module() -> object | None:
    try:
        return importlib.import_module("daybreak.exporters")
    except ImportError:
        return None


def available_formats() -> Sequence[ExportFormat]:
    module = _exporters_module()
    formats = []
    for key, spec in FORMATS.items():
        ok = module is not None and hasattr(module, "export_case")
        formats.append(
            ExportFormat(key, spec.label, ok, "" if ok else "the exporters are not installed")
        )
    return formats


def filename_for(case_id: str, fmt: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in case_id)
    return f"{safe}.{FORMATS[fmt].suffix}"


def export_case(case: Case, alerts: Sequence[Alert], fmt: str) -> ExportFile:
    if fmt not in FORMATS:
        raise ActionError(f"unknown export format {fmt!r}; expected one of {sorted(FORMATS)}")
    module = _exporters_module()
    export = getattr(module, "export_case", None) if module is not None else None
    if export is None:
        raise ActionError("the exporters are not installed in this build")
    try:
        content = export(case, fmt, alerts=alerts)
    except (ValueError, KeyError) as exc:
        raise ActionError(f"the {fmt} export failed: {exc}") from exc
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    return ExportFile(filename_for(case.case_id, fmt), FORMATS[fmt].media_type, data)
