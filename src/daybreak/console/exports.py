"""Case exports as downloads, through :mod:`daybreak.exporters`.

The console never builds a report itself: it asks the exporters package (the same code
behind ``daybreak export``), which validates every document against its schema or
validator before handing it out. The exporters pull in heavy libraries (xmlschema,
stix2, followthemoney), so they are imported on first use or warmed up in a background
thread when the console is mounted, never on the request that shows a case page.

The pre-submission check (:mod:`daybreak.exporters.check`) follows the same rule: it is
computed on its own request (``/cases/<id>/export-check``), which the case page's export
panel fetches once the page has loaded (a plain link without scripts). That request may
import the exporters and read the case's rows; the case page itself never waits for
either, and a check that is slow (a large goAML XSD) delays only the panel's findings.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from daybreak.console.backend import ActionError, ExportFile, ExportFinding, ExportFormat
from daybreak.console.evidence import bundle_rows
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case

if TYPE_CHECKING:
    from daybreak.exporters.info import ExporterInfo

MODULE = "daybreak.exporters"
# What the warm-up imports: the loader (polars) behind every bundle. The formats
# themselves are listed from the registry (daybreak.exporters.info), which is light.
HEAVY_MODULE = "daybreak.exporters.loader"


def registered_formats() -> dict[str, ExporterInfo]:
    """The export formats installed (Daybreak's own and plug-ins'), in listing order."""
    from daybreak.exporters.info import exporters

    return exporters()


class CaseExporter(Protocol):
    def formats(self, case: Case | None = None) -> Sequence[ExportFormat]: ...

    def __call__(self, case: Case, alerts: Sequence[Alert], fmt: str) -> ExportFile: ...

    def check(self, case: Case, alerts: Sequence[Alert]) -> Sequence[ExportFormat]: ...


def filename_for(case_id: str, fmt: str) -> str:
    return registered_formats()[fmt].filename(case_id)


@dataclass
class ExportSettings:
    """Where the rows behind a case and the receivers' schemas are.

    ``world_dir``: the synthetic world / data folder the cases were built from; without
    it a bundle carries only the case and its alerts. ``xsd``: schema per format
    (goaml, cybertip), else the exporters' default layout under ``standards_dir``, else
    their environment variables (``DAYBREAK_GOAML_XSD``, ``DAYBREAK_NCMEC_XSD``,
    ``DAYBREAK_STANDARDS_DIR``).
    """

    world_dir: Path | None = None
    org_path: Path | None = None
    xsd: dict[str, Path] = field(default_factory=dict)
    standards_dir: Path | None = None  # laid out like shared/standards
    # Report under the demo's clearly marked identity when no org file is given
    # (the demo console only); elsewhere goAML/CyberTipline need real org settings.
    demo_identity: bool = False


def warm_up_exporters() -> None:
    """Import the exporters in a background thread so the first download is quick."""
    if importlib.util.find_spec(MODULE) is not None and HEAVY_MODULE not in sys.modules:
        threading.Thread(
            target=importlib.import_module,
            args=(HEAVY_MODULE,),
            name="exporters-warm-up",
            daemon=True,
        ).start()


class ExportersPackage:
    """The :data:`CaseExporter` backed by :mod:`daybreak.exporters`."""

    def __init__(self, settings: ExportSettings | None = None) -> None:
        self.settings = settings or ExportSettings()

    @staticmethod
    def installed() -> bool:
        return importlib.util.find_spec(MODULE) is not None

    def _module(self) -> Any:
        return importlib.import_module(MODULE)

    def _schema(self, info: ExporterInfo) -> Path | None:
        """The schema ``info`` validates against: the one set for it, else its file under
        the standards folder, else its configured default; None when it needs none or
        none is there."""
        if info.schema is None:
            return None
        given = self.settings.xsd.get(info.name)
        if given is None and self.settings.standards_dir is not None:
            given = self.settings.standards_dir / info.schema.standards_path
        if given is not None:
            return given if given.is_file() else None
        return info.schema.default()

    def formats(self, case: Case | None = None) -> Sequence[ExportFormat]:
        """The formats installed; with ``case``, those its own record already rules out
        are offered as unavailable with the reason (a hub case with no alerts of its own
        files nothing). What depends on the case's rows is said by :meth:`check`, which
        reads them: the case page lists formats on every view and must not."""
        if not self.installed():
            return []
        out = []
        for key, info in registered_formats().items():
            if info.schema is not None and self._schema(info) is None:
                out.append(ExportFormat(key, info.label, False, "no schema configured"))
            elif case is not None and (reason := self._ruled_out_by_record(info, case)):
                out.append(ExportFormat(key, info.label, False, reason))
            else:
                out.append(ExportFormat(key, info.label))
        return out

    def _ruled_out_by_record(self, info: ExporterInfo, case: Case) -> str | None:
        # A hub case with no alerts of its own: the exporters refuse the filings on the
        # case record alone, before any row is read, so a bundle of the case alone gives
        # the answer the full check gives (tested against it). Other cases need their
        # rows, and are checked on demand.
        if not case.hub_key or case.alert_ids:
            return None
        module = self._module()
        bundle = module.CaseBundle(case=case)
        reason: str | None = module.unavailable_reason(info.name, bundle, self._schema(info))
        return reason

    def _bundle(self, module: Any, case: Case, alerts: Sequence[Alert]) -> Any:
        """The case's bundle: the one path every face uses (``bundle_from_world``)."""
        org = module.load_org(self.settings.org_path)
        if self.settings.org_path is None and self.settings.demo_identity:
            org = module.OrgSettings.demo_identity()
        if self.settings.world_dir is not None:
            return module.bundle_from_world(case, self.settings.world_dir, org=org, alerts=alerts)
        own, notes = module.case_alerts(case, alerts)
        return module.CaseBundle(case=case, alerts=tuple(own), org=org, notes=tuple(notes))

    def _module_or_refuse(self) -> Any:
        if not self.installed():
            raise ActionError("the exporters are not installed in this build")
        return self._module()

    @staticmethod
    def _short(exc: Exception) -> str:
        # The message names the schema or the invalid elements; keep it short on screen.
        first = str(exc).strip().splitlines()[:6]
        return " ".join(line.strip() for line in first)

    def __call__(self, case: Case, alerts: Sequence[Alert], fmt: str) -> ExportFile:
        formats = registered_formats()
        if fmt not in formats:
            raise ActionError(f"unknown export format {fmt!r}; expected one of {sorted(formats)}")
        info = formats[fmt]
        module = self._module_or_refuse()
        try:
            bundle = self._bundle(module, case, alerts)
            # Refuse what cannot be made with the reason the check gives, not with
            # whatever the exporter trips over first.
            reason = module.unavailable_reason(fmt, bundle, self._schema(info))
            if reason is not None:
                raise ActionError(f"{info.label} cannot be made for this case: {reason}")
            data = module.export_case(fmt, bundle, self._schema(info))
        except module.ExportError as exc:
            raise ActionError(self._short(exc)) from exc
        return ExportFile(info.filename(case.case_id), info.media_type, bytes(data))

    def rows(self, case: Case, alerts: Sequence[Alert]) -> dict[str, Sequence[Mapping[str, Any]]]:
        """The rows of the data folder the case points at, by table (the same reader as
        the exports); empty without a data folder or the exporters."""
        if self.settings.world_dir is None or not self.installed():
            return {}
        module = self._module()
        try:
            bundle = module.bundle_from_world(case, self.settings.world_dir, alerts=alerts)
        except module.ExportError as exc:
            raise ActionError(self._short(exc)) from exc
        return bundle_rows(bundle)

    def check(self, case: Case, alerts: Sequence[Alert]) -> Sequence[ExportFormat]:
        """Each format: can it be made for this case, and what will its receiver miss
        (blockers and warnings; the notes that only explain are left for the CLI)."""
        module = self._module_or_refuse()
        from daybreak.exporters.check import check_export

        try:
            bundle = self._bundle(module, case, alerts)
        except module.ExportError as exc:
            raise ActionError(self._short(exc)) from exc
        out = []
        for key, info in registered_formats().items():
            xsd = self._schema(info)
            try:
                exporter = module.get_exporter(key, xsd)
            except module.ExportError:
                exporter = None  # no schema: the check says so as a blocker
            findings = check_export(key, bundle, exporter, xsd)
            reason = module.unavailable_reason(key, bundle, xsd)
            out.append(
                ExportFormat(
                    key,
                    info.label,
                    available=reason is None,
                    why_not=reason or "",
                    findings=tuple(
                        ExportFinding(f.severity, f.where, f.message)
                        for f in findings
                        # availability is said by available/why_not; info only explains
                        if f.severity != "info" and f.where != "format"
                    ),
                )
            )
        return out


def case_rows(
    exporter: CaseExporter, case: Case, alerts: Sequence[Alert]
) -> dict[str, Sequence[Mapping[str, Any]]]:
    """The case's rows when the exporter reads a data folder (other exporters, such as
    tests' fakes, have none)."""
    return exporter.rows(case, alerts) if isinstance(exporter, ExportersPackage) else {}
