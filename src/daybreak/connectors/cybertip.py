"""Submit a case to NCMEC's CyberTipline, safe to retry after a crash at any step.

The sequence (NCMEC's "CyberTipline Reporting API Technical Documentation", section 5):
``/status`` (can we connect and authenticate), ``/submit`` (opens the report and
returns its id), ``/finish`` (confirms it), ``/retract`` (cancels it when ``/finish``
fails). Before each call the step about to be taken is written to the store
(:meth:`~daybreak.store.store.repositories.cybertip.CybertipRepository.record_step`, audited), and NCMEC's report
id as soon as ``/submit`` returns it. A retry reads that state:

- FINISHED: nothing is sent again; the stored report id is the answer.
- OPENED or FINISHING: ``/finish`` the same report id. A report NCMEC already finished
  answers 5102, which is success; one NCMEC no longer has (5001: an open report is
  deleted after 24 h; 5101: retracted) is recorded and a new report is opened, once.
- SUBMITTING (a crash between sending ``/submit`` and storing its answer), REJECTED,
  RETRACTED, EXPIRED: ``/submit`` again. A report a lost ``/submit`` answer opened is
  never finished, and NCMEC deletes unfinished reports after 24 hours, so no
  duplicate report ever reaches NCMEC's analysts: only a finished report is a report.

``/fileinfo`` attaches details (hashes among them) to a file uploaded with ``/upload``;
its ``fileId`` must be "a valid file ID for the supplied report ID". Daybreak never
uploads media, so it never has a file id: the hashes of known material go in the
report's ``additionalInfo`` (:mod:`daybreak.exporters.cybertip`), and ``/fileinfo`` is
not called (see docs/operations.md).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import httpx

from daybreak.connectors.cybertip_api import (
    REPORT_ALREADY_FINISHED,
    REPORT_ALREADY_RETRACTED,
    REPORT_DOES_NOT_EXIST,
    CybertipClient,
    NcmecCredentials,
    NcmecError,
    NcmecResponse,
)
from daybreak.exporters.bundle import CaseBundle
from daybreak.exporters.check import Finding, check_export, has_blocker
from daybreak.exporters.cybertip import CybertipExporter
from daybreak.store import Actor, TiplineStore
from daybreak.store.cybertip import SubmissionStep

log = logging.getLogger(__name__)

GONE = {REPORT_DOES_NOT_EXIST: SubmissionStep.EXPIRED, REPORT_ALREADY_RETRACTED: SubmissionStep.RETRACTED}  # fmt: skip
RESUME_FINISH = {SubmissionStep.OPENED, SubmissionStep.FINISHING}


class SubmissionFailed(NcmecError):
    """NCMEC refused the report (its answer is stored on the case and in the message)."""


class SubmissionRefused(ValueError):
    """The report was not sent: ``--check`` found something that blocks it."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        blockers = [f"{f.where}: {f.message}" for f in findings if f.severity == "blocker"]
        super().__init__("not sent to NCMEC, the report is blocked: " + "; ".join(blockers))


@dataclass(frozen=True, slots=True)
class CybertipSettings:
    """Where and as whom to submit. ``url`` None: ``DAYBREAK_NCMEC_URL``;
    ``credentials`` None: from the environment or the secret file."""

    xsd: Path
    url: str | None = None
    credentials: NcmecCredentials | None = None
    timeout: float = 60.0

    def client(self, transport: httpx.BaseTransport | None = None) -> CybertipClient:
        credentials = self.credentials or NcmecCredentials.load()
        return CybertipClient(
            self.url or "", credentials, timeout=self.timeout, transport=transport
        )


@dataclass(frozen=True, slots=True)
class SubmitResult:
    case_id: str
    service: str
    ncmec_report_id: int
    already_finished: bool  # True: finished by an earlier run, nothing was sent now
    response: str | None  # NCMEC's /finish answer (None when nothing was sent now)


@dataclass(frozen=True, slots=True)
class PreparedReport:
    xml: bytes
    service: str
    findings: list[Finding]


def prepare_report(
    bundle: CaseBundle,
    xsd: Path,
    *,
    service: str | None = None,
    incident_type: str | None = None,
) -> PreparedReport:
    """The case's ``<report>`` from the CyberTipline exporter, refused when ``--check``
    finds a blocker and validated against the XSD (ExportValidationError if invalid)."""
    exporter = CybertipExporter(xsd, service=service, incident_type=incident_type)
    findings = check_export("cybertip", bundle, exporter, xsd)
    if has_blocker(findings):
        raise SubmissionRefused(findings)
    xml = exporter.render(bundle)
    return PreparedReport(xml, exporter.scope(bundle).service, findings)


def submit_case_bundle(
    store: TiplineStore,
    bundle: CaseBundle,
    actor: Actor,
    settings: CybertipSettings,
    *,
    service: str | None = None,
    incident_type: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> SubmitResult:
    """Report a case to NCMEC: what ``daybreak reports submit`` and the console's refer
    action call. Safe to call again after any failure (see the module docstring)."""
    prepared = prepare_report(bundle, settings.xsd, service=service, incident_type=incident_type)
    with settings.client(transport) as client:
        return submit_report(
            store, client, bundle.case.case_id, prepared.service, prepared.xml, actor
        )


def submit_report(
    store: TiplineStore,
    client: CybertipClient,
    case_id: str,
    service: str,
    xml: bytes,
    actor: Actor,
) -> SubmitResult:
    """Drive one report through /status, /submit, /finish (and /retract on failure),
    resuming from the step stored for (case, service)."""
    state = store.cybertip.submission(case_id, service, actor)
    if state is not None and state.step is SubmissionStep.FINISHED:
        assert state.ncmec_report_id is not None  # FINISHED is written with the id
        return SubmitResult(case_id, service, state.ncmec_report_id, True, None)
    status = client.status()
    if not status.ok:
        raise NcmecError(f"the CyberTipline API's /status check failed: {status.summary()}")
    report_id = None
    if state is not None and state.step in RESUME_FINISH:
        report_id = state.ncmec_report_id
    for _ in range(2):  # a report NCMEC no longer has is opened again, once
        if report_id is None:
            report_id = _open(store, client, case_id, service, xml, actor)
        done = _finish(store, client, case_id, service, report_id, actor)
        if done is not None:
            return SubmitResult(case_id, service, report_id, False, done.document)
        report_id = None
    raise SubmissionFailed(f"case {case_id}: NCMEC lost the report twice; try again later")


def _record(
    store: TiplineStore,
    case_id: str,
    service: str,
    step: SubmissionStep,
    actor: Actor,
    *,
    report_id: int | None = None,
    answer: NcmecResponse | None = None,
    xml_digest: str | None = None,
) -> None:
    store.cybertip.record_step(
        case_id,
        service,
        step,
        actor,
        ncmec_report_id=report_id,
        xml_digest=xml_digest,
        response=answer.document if answer else None,
        response_code=answer.code if answer else None,
    )


def _open(
    store: TiplineStore,
    client: CybertipClient,
    case_id: str,
    service: str,
    xml: bytes,
    actor: Actor,
) -> int:
    digest = hashlib.sha256(xml).hexdigest()
    _record(store, case_id, service, SubmissionStep.SUBMITTING, actor, xml_digest=digest)
    answer = client.submit(xml)
    if not answer.ok or answer.report_id is None:
        _record(store, case_id, service, SubmissionStep.REJECTED, actor, answer=answer)
        raise SubmissionFailed(f"case {case_id}: /submit refused: {answer.summary()}")
    _record(
        store, case_id, service, SubmissionStep.OPENED, actor,
        report_id=answer.report_id, answer=answer,
    )  # fmt: skip
    log.info("case %s: NCMEC opened report %s", case_id, answer.report_id)
    return answer.report_id


def _finish(
    store: TiplineStore,
    client: CybertipClient,
    case_id: str,
    service: str,
    report_id: int,
    actor: Actor,
) -> NcmecResponse | None:
    """The /finish answer when the report is finished; None when NCMEC no longer has
    the report (to be opened again); SubmissionFailed after retracting it."""
    _record(store, case_id, service, SubmissionStep.FINISHING, actor, report_id=report_id)
    answer = client.finish(report_id)
    if answer.ok or answer.code == REPORT_ALREADY_FINISHED:
        _record(
            store, case_id, service, SubmissionStep.FINISHED, actor,
            report_id=report_id, answer=answer,
        )  # fmt: skip
        log.info("case %s: NCMEC report %s finished", case_id, report_id)
        return answer
    if answer.code in GONE:
        _record(store, case_id, service, GONE[answer.code], actor, answer=answer)
        log.warning("case %s: NCMEC no longer has report %s: %s", case_id, report_id, answer.summary())  # fmt: skip
        return None
    cancel = client.retract(report_id)
    if cancel.ok or cancel.code == REPORT_ALREADY_RETRACTED:
        _record(store, case_id, service, SubmissionStep.RETRACTED, actor, answer=cancel)
        raise SubmissionFailed(
            f"case {case_id}: /finish of report {report_id} failed ({answer.summary()}); "
            "the report was retracted, a retry opens a new one"
        )
    raise SubmissionFailed(
        f"case {case_id}: /finish of report {report_id} failed ({answer.summary()}) and "
        f"/retract failed too ({cancel.summary()}); a retry finishes the same report"
    )
