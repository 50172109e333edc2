"""The pre-submission check: what a receiver will miss, before anything is sent.

:func:`check_export` reads a bundle (pure logic, no I/O) and lists findings in plain
language: a **blocker** must be fixed before the document is a real report (no
reporter identity, the demo's identity, a format that cannot be made, a currency
without a rate); a **warning** is something the receiver needs in practice and will not
get (victim details, IP capture times, prior reports, KYC, unbacked claims, rows left
out); an **info** says how the export treats something (unmatched hashes are not called
known material). docs/exports.md ("Before you send") explains each one.

Each concept has one definition: identity comes from :meth:`OrgSettings.missing_for`
through :func:`require_identity`, availability from :func:`unavailable_reason`, the
exporters' own remarks from :meth:`Exporter.notes`, the missing-alerts remark from
:func:`case_alerts`, reported accounts from :func:`reported_accounts`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from daybreak.exporters.base import Exporter, ExportError, require_identity
from daybreak.exporters.bundle import (
    CYBERTIP_ID_COLUMN,
    CaseBundle,
    OrgSettings,
    Row,
    as_utc,
    text,
    unique,
)
from daybreak.exporters.loader import case_alerts
from daybreak.exporters.parties import case_parties, reported_accounts

Severity = Literal["blocker", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("blocker", "warning", "info")
MAX_IDS = 10
# Formats whose receivers need to know who reports (the others carry a name only).
IDENTITY_FORMATS = ("goaml", "cybertip")
# What a case says that only a hash match can back.
KNOWN_MATERIAL_CLAIM = re.compile(r"known[ -]material|hash[ -]match|known[ -]hash", re.IGNORECASE)
# Report categories that are not one of NCMEC's incident types: an analyst must choose.
UNSPECIFIED_INCIDENTS = {"", "other"}
# Stored reports keep where they came from (``Submission.source``); "ncmec" = imported
# CyberTipline reports, whose NCMEC id goes in CYBERTIP_ID_COLUMN when known.
NCMEC_SOURCE = "ncmec"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a receiver will miss or get wrong: how bad, where, and why, in words."""

    severity: Severity
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.where}: {self.message}"


def _ids(values: Iterable[str]) -> str:
    items = unique(values)
    more = f" and {len(items) - MAX_IDS} more" if len(items) > MAX_IDS else ""
    return ", ".join(items[:MAX_IDS]) + more


def check_export(
    fmt: str, bundle: CaseBundle, exporter: Exporter | None = None, xsd: Path | None = None
) -> list[Finding]:
    """What the receiver of ``bundle`` as ``fmt`` will miss, most serious first.

    Pass the ``exporter`` the document will be made with to include its own remarks
    (:meth:`Exporter.notes`, e.g. goAML payers reported without the KYC its profile
    needs); without it those are not listed. ``xsd``: the schema the export will be
    validated against, when the caller names one (else the configured default is
    looked for)."""
    findings = [
        *_availability(fmt, bundle, xsd),
        *_identity(fmt, bundle.org),
        *_defaults(fmt, bundle),
        *_evidence(bundle),
    ]
    if fmt == "cybertip":
        findings += _cybertip(bundle) + _incident_choice(bundle, exporter)
    if fmt == "goaml":
        findings += _goaml(bundle)
    if exporter is not None:
        findings += _exporter_notes(exporter, bundle)
    return sorted(findings, key=lambda f: SEVERITIES.index(f.severity))


def has_blocker(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "blocker" for f in findings)


# --- can it be made, and by whom ------------------------------------------------------


def _availability(fmt: str, bundle: CaseBundle, xsd: Path | None) -> list[Finding]:
    # Imported here: the package's __init__ is the faces' entry point, above this module.
    from daybreak.exporters import unavailable_reason

    reason = unavailable_reason(fmt, bundle, xsd)
    return [Finding("blocker", "format", f"cannot be made: {reason}")] if reason else []


def _identity(fmt: str, org: OrgSettings) -> list[Finding]:
    out = []
    if org.demo:
        out.append(
            Finding(
                "blocker",
                "org",
                "demo identity: not a real report (the reporter is Daybreak's marked demo "
                "organisation; configure your own in the organisation settings)",
            )
        )
    if fmt in IDENTITY_FORMATS:
        try:
            require_identity(org, fmt)
        except ExportError as exc:
            out.append(Finding("blocker", "org", str(exc)))
    elif fmt == "stix" and not org.name:
        out.append(
            Finding(
                "warning",
                "org.name",
                "the STIX identity says 'name not configured': partners cannot tell who "
                "shared the bundle",
            )
        )
    return out


def _incident_choice(bundle: CaseBundle, exporter: Exporter | None) -> list[Finding]:
    """Services whose reports have no category with a CyberTipline meaning and no
    matched hash: the exporter refuses to guess, so an analyst must choose the type."""
    from daybreak.exporters.cybertip import service_scopes

    if getattr(exporter, "incident_type", None) is not None:
        return []
    return [
        Finding(
            "blocker",
            "incidentType",
            f"service {scope.service or '(none)'!r}: no report category maps to a "
            "CyberTipline incident type and no hash matched a known-material list; choose "
            "one (--incident-type)",
        )
        for scope in service_scopes(bundle).values()
        if not scope.matched and not scope.mapped_categories()
    ]


def _defaults(fmt: str, bundle: CaseBundle) -> list[Finding]:
    out = []
    if fmt == "stix" and "tlp" not in bundle.org.model_fields_set:
        out.append(
            Finding(
                "warning",
                "org.tlp",
                f"TLP left at its default ({bundle.org.tlp}): set it in the organisation "
                "settings so partners share the bundle only as far as you mean",
            )
        )
    if fmt == "cybertip":
        unspecified = [
            text(r.get("report_id"))
            for r in bundle.reports
            if text(r.get("incident_type")) in UNSPECIFIED_INCIDENTS
        ]
        if unspecified:
            out.append(
                Finding(
                    "warning",
                    "incidentType",
                    f"report(s) {_ids(unspecified)} have no specific category ('other'): "
                    "the incident type is not the report's own; an analyst should choose it",
                )
            )
    return out


# --- claims and the evidence behind them ----------------------------------------------


def _evidence(bundle: CaseBundle) -> list[Finding]:
    case = bundle.case
    out = []
    matched = bundle.hash_matches()
    says_media = "media" in case.sources or any(
        KNOWN_MATERIAL_CLAIM.search(s) for s in [*case.reasons, case.explanation]
    )
    if says_media and not matched:
        out.append(
            Finding(
                "warning",
                "media",
                "the case names media or known material, but none of its alerts carries a "
                "hash match: the export will not call anything known material",
            )
        )
    unmatched = [
        text(m.get("sighting_id"))
        for m in bundle.media_sightings
        if text(m.get("sighting_id")) not in matched
    ]
    if unmatched:
        out.append(
            Finding(
                "info",
                "media",
                f"{len(unmatched)} hash sighting(s) matched no list ({_ids(unmatched)}): "
                "they will not be called known material",
            )
        )
    _, alert_notes = case_alerts(case, bundle.alerts)
    have = {a.alert_id for a in bundle.alerts}
    lost = [a for a in case.alert_ids if a not in have]
    for note in alert_notes:
        out.append(Finding("warning", "alerts", f"{note} (missing: {_ids(lost)})"))
    found = {text(r.get("report_id")) for r in bundle.reports}
    absent = [r for r in case.report_ids if r not in found]
    if absent:
        out.append(
            Finding(
                "warning",
                "reports",
                f"report(s) {_ids(absent)} named by the case were not found in the data: "
                "the export leaves them out",
            )
        )
    for note in bundle.notes:
        if note not in alert_notes:
            out.append(Finding("warning", "rows", note))
    return out


def _exporter_notes(exporter: Exporter, bundle: CaseBundle) -> list[Finding]:
    """The exporter's own remarks beyond the bundle's notes (already listed)."""
    return [
        Finding("warning", exporter.name, note)
        for note in exporter.notes(bundle)
        if note not in bundle.notes
    ]


# --- CyberTipline: what makes a report actionable -------------------------------------


def _cybertip(bundle: CaseBundle) -> list[Finding]:
    reports = list(bundle.reports)
    if not reports:
        return []
    ids = [text(r.get("report_id")) for r in reports]
    out = []
    no_age = [i for i, r in zip(ids, reports, strict=True) if r.get("victim_age_estimate") is None]
    no_country = [i for i, r in zip(ids, reports, strict=True) if not text(r.get("victim_country"))]
    if no_age or no_country:
        parts = []
        if no_age:
            parts.append(f"no age estimate in {_ids(no_age)}")
        if no_country:
            parts.append(f"no country in {_ids(no_country)}")
        out.append(
            Finding(
                "warning",
                "victim",
                f"victim details missing ({'; '.join(parts)}): NCMEC routes a report by "
                "where the child is and prioritises by age",
            )
        )
    untimed = [i for i, r in zip(ids, reports, strict=True) if as_utc(r.get("occurred_at")) is None]
    if untimed:
        out.append(
            Finding(
                "warning",
                "incidentDateTime",
                f"report(s) {_ids(untimed)} say only when they were received, not when the "
                "incident happened",
            )
        )
    out += _reported_people(bundle, ids)
    out += _prior_reports(reports)
    return out


def _reported_people(bundle: CaseBundle, report_ids: list[str]) -> list[Finding]:
    untimed_ips: list[str] = []
    unlocated: list[str] = []
    anonymous: list[str] = []
    for report_id in report_ids:
        for party in reported_accounts(bundle, report_id).values():
            untimed_ips += [ip for ip, seen in party.ips.items() if seen.last_seen is None]
            if not (party.country or _event_countries(bundle, party.accounts)):
                unlocated.append(report_id)
            if not (party.accounts or party.usernames or party.phones or party.emails):
                anonymous.append(report_id)
    out = []
    if untimed_ips:
        out.append(
            Finding(
                "warning",
                "ipCaptureEvent",
                f"IP address(es) {_ids(untimed_ips)} have no capture time: a provider cannot "
                "tell who used an IP without the time",
            )
        )
    if unlocated:
        out.append(
            Finding(
                "warning",
                "estimatedLocation",
                f"no estimated location for the reported user(s) of {_ids(unlocated)}: "
                "NCMEC cannot tell which country's police should receive the report",
            )
        )
    if anonymous:
        out.append(
            Finding(
                "warning",
                "personOrUserReported",
                f"report(s) {_ids(anonymous)} name no account, user name, phone or e-mail of "
                "the reported person: there is no one to investigate",
            )
        )
    return out


def _event_countries(bundle: CaseBundle, accounts: list[str]) -> list[str]:
    """Countries the platform's own events place these accounts in (a location estimate
    the report can carry)."""
    return unique(
        text(e.get("country"))
        for account in accounts
        for e in bundle.events_of(*account.partition(":")[::2])
    )


def _prior_reports(reports: Sequence[Row]) -> list[Finding]:
    imported = [r for r in reports if text(r.get("source")) == NCMEC_SOURCE]
    if imported and not any(text(r.get(CYBERTIP_ID_COLUMN)) for r in imported):
        return [
            Finding(
                "warning",
                "priorCTReports",
                f"{len(imported)} report(s) came from NCMEC imports but no earlier "
                "CyberTipline report id is known: NCMEC cannot link this report to them",
            )
        ]
    return []


# --- goAML: what an FIU can match on ------------------------------------------------


def _goaml(bundle: CaseBundle) -> list[Finding]:
    out = []
    org = bundle.org
    currencies = unique(text(t.get("currency")).upper() for t in bundle.transactions)
    if org.currency_local:
        foreign = [c for c in currencies if c != org.local_currency]
        for currency in foreign:
            try:
                org.to_local(currency)
            except ValueError as exc:
                out.append(Finding("blocker", "fx_usd", f"{currency}: {exc}"))
        if foreign and not org.fx_source:
            out.append(
                Finding(
                    "warning",
                    "fx_source",
                    f"amounts in {', '.join(foreign)} are converted to {org.local_currency} "
                    "but the organisation settings do not say where the rates come from",
                )
            )
    _, beneficiaries = case_parties(bundle)
    nameless = [key for key, party in beneficiaries.items() if not party.name]
    if nameless:
        out.append(
            Finding(
                "warning",
                "t_to",
                f"beneficiary account(s) {_ids(nameless)} have no name: the FIU gets an "
                "account without a holder to match",
            )
        )
    return out
