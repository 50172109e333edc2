"""NCMEC CyberTipline ``<report>`` XML for a case's tipline reports.

One ``<report>`` per case: the case's reports are about the same cluster of accounts,
and NCMEC bundles related reports anyway. Every reported account becomes a
``personOrUserReported`` with its IP capture events (IP + time), devices and estimated
location; victims carry only an estimated age and country. Validated against the
CyberTipline XSD (loaded at run time; NCMEC serves it at the API's ``/xsd`` endpoint).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree

from daybreak.exporters.base import Exporter, ExportError, ValidationProblem, require_identity
from daybreak.exporters.bundle import CaseBundle, Row, as_utc, text, unique
from daybreak.exporters.narrative import partner_narrative
from daybreak.exporters.parties import Party, reported_accounts
from daybreak.exporters.xmlbuild import sub, to_bytes
from daybreak.exporters.xsd import LoadedSchema, RegexDialect, load_schema
from daybreak.model.cases import CaseStatus, Tier

TRAFFICKING = "Child Sex Trafficking"
ENTICEMENT = "Online Enticement of Children for Sexual Acts"
CSAM = "Child Pornography (possession, manufacture, and distribution)"

# Daybreak incident_type -> CyberTipline incidentType. Paid live-streamed abuse is
# commercial sexual exploitation, which NCMEC files under child sex trafficking.
INCIDENT_TYPES: dict[str, str] = {
    "live_streaming_abuse": TRAFFICKING,
    "child_sex_trafficking": TRAFFICKING,
    "child_sexual_abuse_material": CSAM,
    "online_enticement": ENTICEMENT,
    "sextortion": ENTICEMENT,
    "grooming": ENTICEMENT,
    "other": ENTICEMENT,
}
# When a case's reports differ, the first type in this order wins.
SEVERITY = (TRAFFICKING, CSAM, ENTICEMENT)


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


class CybertipExporter(Exporter):
    name = "cybertip"
    media_type = "application/xml"
    suffix = "xml"

    def __init__(self, xsd: Path | str, *, incident_types: dict[str, str] | None = None) -> None:
        self.schema: LoadedSchema = load_schema(xsd, RegexDialect.XSD)
        self.validates_against = self.schema.label
        self.incident_types = {**INCIDENT_TYPES, **(incident_types or {})}
        allowed = set(self.schema.enumeration("incidentType"))
        bad = sorted({v for v in self.incident_types.values() if allowed and v not in allowed})
        if bad:
            raise ExportError(f"incident types {bad} are not in {self.schema.path.name}")

    def validate(self, data: bytes) -> list[ValidationProblem]:
        return self.schema.validate(data)

    def export(self, bundle: CaseBundle) -> bytes:
        require_identity(bundle.org, self.name)
        reports = list(bundle.reports)
        if not reports:
            raise ExportError(
                f"case {bundle.case.case_id} has no tipline reports: a CyberTipline report "
                "needs at least one (export goaml, stix or ftm instead)"
            )
        root = etree.Element("report")
        self._summary(root, bundle, reports)
        self._internet_details(root, bundle, reports)
        case = bundle.case
        if case.status is CaseStatus.REFERRED and case.routed_agency:
            # already referred: tell NCMEC which agency has it, to deconflict
            sub(sub(root, "lawEnforcement"), "agencyName", case.routed_agency)
        person = sub(sub(root, "reporter"), "reportingPerson")
        rp = bundle.org.contact
        sub(person, "firstName", rp.first_name)
        sub(person, "lastName", rp.last_name)
        if rp.phone:
            sub(person, "phone", rp.phone).set("type", "Business")
        sub(person, "email", rp.email).set("type", "Business")
        for report in reports:
            report_id = text(report.get("report_id"))
            for party in reported_accounts(bundle, report_id).values():
                self._reported(root, party, report_id, text(report.get("service")))
        for report in reports:
            self._victim(root, report)
        sub(root, "additionalInfo", partner_narrative(bundle))
        return to_bytes(root)

    def _summary(self, root: Any, bundle: CaseBundle, reports: list[Row]) -> None:
        el = sub(root, "incidentSummary")
        kinds = [self.incident_types.get(text(r.get("incident_type")), ENTICEMENT) for r in reports]
        sub(el, "incidentType", min(kinds, key=lambda k: SEVERITY.index(k) if k in SEVERITY else 9))
        services = unique(text(r.get("service")) for r in reports)
        if services:
            sub(el, "platform", ", ".join(services))
        live = [text(r.get("report_id")) for r in reports if r.get("is_live")]
        urgent = []
        if live:
            urgent.append(f"live stream in progress when reported ({', '.join(live)})")
        if bundle.case.tier is Tier.LIVE_OR_IMMEDIATE_RISK:
            urgent.append("Daybreak triage tier 1: child at immediate risk")
        if urgent:
            sub(el, "escalateToHighPriority", "; ".join(urgent))
        if any(text(r.get("incident_type")) == "sextortion" for r in reports):
            sub(sub(el, "reportAnnotations"), "sextortion")
        times = [
            t
            for t in (as_utc(r.get("occurred_at")) or as_utc(r.get("received_at")) for r in reports)
            if t is not None
        ]
        if not times:
            raise ExportError(f"case {bundle.case.case_id}: no report has a time")
        sub(el, "incidentDateTime", _iso(min(times)))
        if len(reports) > 1:
            sub(el, "incidentDateTimeDescription", f"earliest of {len(reports)} related reports")

    def _internet_details(self, root: Any, bundle: CaseBundle, reports: list[Row]) -> None:
        urls = unique(
            text(i.get("value"))
            for r in reports
            for i in bundle.identifiers_of("reports", text(r.get("report_id")))
            if text(i.get("kind")) == "url"
        )
        urls += [
            u
            for u in unique(text(m.get("location")) for m in bundle.media_sightings)
            if u.startswith(("http://", "https://")) and u not in urls
        ]
        if urls:
            web = sub(sub(root, "internetDetails"), "webPageIncident")
            for url in urls:
                sub(web, "url", url)
        for service in unique(text(r.get("service")) for r in reports):
            chat = sub(sub(root, "internetDetails"), "chatImIncident")
            sub(chat, "chatClient", service)

    def _reported(self, root: Any, party: Party, report_id: str, service: str) -> None:
        el = sub(root, "personOrUserReported")
        if party.phones or party.emails:
            person = sub(el, "personOrUserReportedPerson")
            for phone in party.phones:
                sub(person, "phone", phone).set("type", "Mobile")
            for email in party.emails:
                sub(person, "email", email)
        account = party.accounts[0] if party.accounts else ""
        acc_service, _, acc_id = account.partition(":")
        if acc_id:
            sub(el, "espIdentifier", acc_id)
        if acc_service or service:
            sub(el, "espService", acc_service or service)
        names = [u.partition(":")[2] for u in party.usernames if ":" in u]
        if names:
            sub(el, "screenName", names[0])
            for extra in names[1:]:
                sub(el, "displayName", extra)
        for url in party.urls:
            sub(el, "profileUrl", url)
        for seen in party.ips.values():
            ev = sub(el, "ipCaptureEvent")
            sub(ev, "ipAddress", seen.ip)
            sub(ev, "eventName", "Login" if seen.event == "login" else "Other")
            if seen.last_seen is not None:
                sub(ev, "dateTime", _iso(seen.last_seen))
        for device in party.devices:
            dev = sub(el, "deviceId")
            sub(dev, "idType", "device id")
            sub(dev, "idValue", device)
        if party.country:
            sub(sub(el, "estimatedLocation"), "countryCode", party.country)
        for other in party.accounts[1:]:
            assoc = sub(el, "associatedAccount")
            svc, _, ident = other.partition(":")
            sub(assoc, "espService", svc)
            sub(assoc, "espIdentifier", ident)
        sub(el, "additionalInfo", f"Named in Daybreak report {report_id}")

    def _victim(self, root: Any, report: Row) -> None:
        age = report.get("victim_age_estimate")
        country = text(report.get("victim_country"))
        if age is None and not country:
            return
        el = sub(root, "victim")
        person = sub(el, "victimPerson")
        if age is not None:
            sub(person, "age", int(age))
        if country:
            sub(sub(el, "estimatedLocation"), "countryCode", country)
        sub(el, "additionalInfo", f"Estimated from Daybreak report {text(report.get('report_id'))}")
