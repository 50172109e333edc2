"""NCMEC CyberTipline ``<report>`` XML for a case: tipline reports and known-hash sightings.

NCMEC's API takes one ``<report>`` per incident filed by one company about one service,
with at most one ``personOrUserReported`` (the suspect) outside batched reports. So a
document covers one *service* of the case: its tipline reports (``reports.service``)
and its sightings that matched a list of known material (``media_sightings.service``).
When the case spans several services the exporter's ``service`` option picks one (by
default the one with the most evidence) and :meth:`CybertipExporter.notes` names the
others, each exported the same way with ``--service``.

The incident type comes from the reports' own categories where the meaning is the same
(:data:`INCIDENT_TYPES`), from matched hashes (known abuse material), or from the
analyst (``incident_type``); a category without such a meaning (``other``) is never
mapped. Partner format: nothing about the reporting institution's customers or their
payments is written (:func:`~daybreak.exporters.narrative.partner_narrative`).
Validated against the CyberTipline XSD, loaded at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree

from daybreak.exporters.base import Exporter, ExportError, ValidationProblem, require_identity
from daybreak.exporters.bundle import CYBERTIP_ID_COLUMN, CaseBundle, Row, as_utc, text, unique
from daybreak.exporters.narrative import partner_narrative
from daybreak.exporters.parties import (
    NOT_THE_SUSPECT,
    IpSeen,
    Party,
    account_party,
    case_parties,
    reported_accounts,
)
from daybreak.exporters.xmlbuild import sub, to_bytes
from daybreak.exporters.xsd import LoadedSchema, RegexDialect, load_schema
from daybreak.model.alerts import HashMatch
from daybreak.model.cases import CaseStatus, Tier

TRAFFICKING = "Child Sex Trafficking"
ENTICEMENT = "Online Enticement of Children for Sexual Acts"
CSAM = "Child Pornography (possession, manufacture, and distribution)"

# Daybreak report category -> CyberTipline incidentType, only where the meaning is the
# same. A live stream of abuse is the production and distribution of abuse imagery
# (CSAM); NCMEC's documents do not file it under trafficking unless a commercial sex act
# is established, which the category alone does not say (the analyst can choose
# "Child Sex Trafficking"). Grooming and sextortion are forms of online enticement;
# sextortion is also flagged with reportAnnotations/sextortion. "other" says nothing
# about the incident and is never mapped.
INCIDENT_TYPES: dict[str, str] = {
    "child_sexual_abuse_material": CSAM,
    "live_streaming_abuse": CSAM,
    "child_sex_trafficking": TRAFFICKING,
    "online_enticement": ENTICEMENT,
    "grooming": ENTICEMENT,
    "sextortion": ENTICEMENT,
}
# A hash that matched a list of known child sexual abuse material is apparent CSAM.
MATCHED_MEDIA_TYPE = CSAM
# When a service's reports differ, the first type in this order wins.
SEVERITY = (TRAFFICKING, CSAM, ENTICEMENT)
UNNAMED_SERVICE = "(no service named)"

IpCountry = Callable[[str], str | None]


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def _offline_ip_country(ip: str) -> str | None:
    # The IP type's country hint: an offline GeoIP table (no network at run time).
    from daybreak.model.identifiers import TYPES, IdentifierKind

    return TYPES[IdentifierKind.IP].country_of(ip)


@dataclass
class ServiceScope:
    """What one CyberTipline document covers: one service's reports and matched media."""

    service: str
    reports: list[Row] = field(default_factory=list)
    matched: list[tuple[Row, list[HashMatch]]] = field(default_factory=list)

    def mapped_categories(self, mapping: Mapping[str, str] = INCIDENT_TYPES) -> list[str]:
        """The report categories here that have a CyberTipline meaning."""
        return unique(
            category for r in self.reports if (category := text(r.get("incident_type"))) in mapping
        )

    @property
    def size(self) -> int:
        return len(self.reports) + len(self.matched)

    @property
    def report_ids(self) -> list[str]:
        return [text(r.get("report_id")) for r in self.reports]


def service_scopes(bundle: CaseBundle) -> dict[str, ServiceScope]:
    """The case's reportable material per service (only matched sightings count)."""
    scopes: dict[str, ServiceScope] = {}
    for report in bundle.reports:
        name = text(report.get("service"))
        scopes.setdefault(name, ServiceScope(name)).reports.append(report)
    for row, matches in bundle.matched_sightings():
        name = text(row.get("service"))
        scopes.setdefault(name, ServiceScope(name)).matched.append((row, matches))
    return scopes


def _label(service: str) -> str:
    return service or UNNAMED_SERVICE


class CybertipExporter(Exporter):
    name = "cybertip"
    media_type = "application/xml"
    suffix = "xml"

    def __init__(
        self,
        xsd: Path | str,
        *,
        incident_types: dict[str, str] | None = None,
        incident_type: str | None = None,
        service: str | None = None,
        prior_reports: Sequence[int | str] = (),
        share_report_descriptions: bool | None = None,
        ip_country: IpCountry | None = None,
    ) -> None:
        """``incident_type``: the analyst's choice (one of the XSD's incident types),
        which overrides the mapping. ``service``: which of the case's services this
        document is about. ``prior_reports``: earlier CyberTipline report ids about the
        reported user. ``share_report_descriptions``: overrides the organisation's
        setting. ``ip_country``: the IP -> country lookup used when the organisation
        allows IP geolocation (default: the offline GeoIP table)."""
        self.schema: LoadedSchema = load_schema(xsd, RegexDialect.XSD)
        self.validates_against = self.schema.label
        self.allowed_types = list(self.schema.enumeration("incidentType"))
        self.incident_types = {**INCIDENT_TYPES, **(incident_types or {})}
        bad = sorted({v for v in self.incident_types.values() if not self._allowed(v)})
        if bad:
            raise ExportError(f"incident types {bad} are not in {self.schema.path.name}")
        if incident_type is not None and not self._allowed(incident_type):
            raise ExportError(
                f"incident type {incident_type!r} is not in {self.schema.path.name}; "
                f"expected one of: {'; '.join(self.allowed_types)}"
            )
        self.incident_type = incident_type
        self.service = service
        self.prior_reports = [_ct_report_id(v, "the prior_reports option") for v in prior_reports]
        self.share_descriptions = share_report_descriptions
        self.ip_country: IpCountry = ip_country or _offline_ip_country

    def _allowed(self, value: str) -> bool:
        return not self.allowed_types or value in self.allowed_types

    def validate(self, data: bytes) -> list[ValidationProblem]:
        return self.schema.validate(data)

    # --- what the document covers --------------------------------------------------

    def scope(self, bundle: CaseBundle) -> ServiceScope:
        """The service this document is about (see the module docstring)."""
        scopes = service_scopes(bundle)
        if not scopes:
            raise ExportError(
                f"case {bundle.case.case_id} has no tipline reports and no media that "
                "matched a list of known material: there is nothing to report to the "
                "CyberTipline (export goaml, stix or ftm instead)"
            )
        if self.service is not None:
            if self.service not in scopes:
                raise ExportError(
                    f"case {bundle.case.case_id} has no reports or matched media on service "
                    f"{self.service!r}; its services are: "
                    f"{', '.join(repr(s) for s in sorted(scopes))}"
                )
            return scopes[self.service]
        return max(sorted(scopes.values(), key=lambda s: s.service), key=lambda s: s.size)

    def _shares_descriptions(self, bundle: CaseBundle) -> bool:
        if self.share_descriptions is not None:
            return self.share_descriptions
        return bundle.org.share_report_descriptions

    def _incident(self, bundle: CaseBundle, scope: ServiceScope) -> tuple[str, str]:
        """(incidentType, why) — the analyst's choice, else the most severe type the
        service's report categories or matched hashes support; else refuse."""
        if self.incident_type is not None:
            return self.incident_type, "chosen by the analyst"
        found: dict[str, list[str]] = {}
        for report in scope.reports:
            category = text(report.get("incident_type"))
            if category in self.incident_types:
                found.setdefault(self.incident_types[category], []).append(category)
        if scope.matched:
            found.setdefault(MATCHED_MEDIA_TYPE, []).append("hash matched a known-material list")
        if not found:
            categories = ", ".join(unique(text(r.get("incident_type")) for r in scope.reports))
            raise ExportError(
                f"case {bundle.case.case_id}, service {_label(scope.service)!r}: no report "
                f"category maps to a CyberTipline incident type ({categories or 'none'}) "
                "and no hash matched a known-material list; choose one with "
                "--incident-type (option incident_type), one of: " + "; ".join(self.allowed_types)
            )
        kind = min(found, key=lambda k: SEVERITY.index(k) if k in SEVERITY else len(SEVERITY))
        return kind, f"from {', '.join(unique(found[kind]))}"

    def notes(self, bundle: CaseBundle) -> list[str]:
        notes = super().notes(bundle)
        scopes = service_scopes(bundle)
        if not scopes:
            return notes
        scope = self.scope(bundle)
        others = sorted(s for s in scopes if s != scope.service)
        if others:
            notes.append(
                f"this CyberTipline report covers service {_label(scope.service)!r}; the case "
                f"also has material on {', '.join(repr(_label(s)) for s in others)}: NCMEC "
                "takes one report per service, export each with --service NAME"
            )
        unmapped = [
            text(r.get("report_id"))
            for r in scope.reports
            if text(r.get("incident_type")) not in self.incident_types
        ]
        if unmapped and self.incident_type is None:
            notes.append(
                f"report(s) {', '.join(unmapped)} have no category with a CyberTipline "
                "meaning (e.g. 'other'); they did not set the incident type"
            )
        described = [text(r.get("report_id")) for r in scope.reports if text(r.get("description"))]
        if described and not self._shares_descriptions(bundle):
            notes.append(
                f"descriptions of report(s) {', '.join(described)} were not sent: the "
                "organisation has not said reporters consent to sharing them "
                "(share_report_descriptions)"
            )
        return notes

    # --- the document ---------------------------------------------------------------

    def export(self, bundle: CaseBundle) -> bytes:
        require_identity(bundle.org, self.name)
        scope = self.scope(bundle)
        incident, why = self._incident(bundle, scope)
        root = etree.Element("report")
        self._summary(root, bundle, scope, incident)
        self._internet_details(root, bundle, scope)
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
        self._reported(root, bundle, scope)
        for report in scope.reports:
            self._victim(root, report)
        sub(root, "additionalInfo", self._additional_info(bundle, scope, incident, why))
        return to_bytes(root)

    def _summary(self, root: Any, bundle: CaseBundle, scope: ServiceScope, incident: str) -> None:
        el = sub(root, "incidentSummary")
        sub(el, "incidentType", incident)
        if scope.service:
            sub(el, "platform", scope.service)
        live = [text(r.get("report_id")) for r in scope.reports if r.get("is_live")]
        urgent = []
        if live:
            urgent.append(f"live stream in progress when reported ({', '.join(live)})")
        if bundle.case.tier is Tier.LIVE_OR_IMMEDIATE_RISK:
            urgent.append("Daybreak triage tier 1: child at immediate risk")
        if urgent:
            sub(el, "escalateToHighPriority", "; ".join(urgent))
        if any(text(r.get("incident_type")) == "sextortion" for r in scope.reports):
            sub(sub(el, "reportAnnotations"), "sextortion")
        # The reports date the incident; media-only reports are dated by their sightings.
        times = [
            t
            for t in (
                as_utc(r.get("occurred_at")) or as_utc(r.get("received_at")) for r in scope.reports
            )
            if t is not None
        ] or [t for t in (as_utc(row.get("seen_at")) for row, _ in scope.matched) if t is not None]
        if not times:
            raise ExportError(
                f"case {bundle.case.case_id}: no report or matched sighting of service "
                f"{_label(scope.service)!r} has a time (reports.occurred_at/received_at, "
                "media_sightings.seen_at)"
            )
        sub(el, "incidentDateTime", _iso(min(times)))
        if len(times) > 1:
            what = "related reports" if scope.reports else "matched hash sightings"
            sub(el, "incidentDateTimeDescription", f"earliest of {len(times)} {what}")

    def _internet_details(self, root: Any, bundle: CaseBundle, scope: ServiceScope) -> None:
        urls = unique(
            text(i.get("value"))
            for rid in scope.report_ids
            for i in bundle.identifiers_of("reports", rid)
            if text(i.get("kind")) == "url" and text(i.get("role")).lower() not in NOT_THE_SUSPECT
        )
        # Only sightings that matched a list: an unmatched hash's URL is no evidence.
        urls += [
            u
            for u in unique(text(row.get("location")) for row, _ in scope.matched)
            if u.startswith(("http://", "https://")) and u not in urls
        ]
        if urls:
            web = sub(sub(root, "internetDetails"), "webPageIncident")
            for url in urls:
                sub(web, "url", url)
        if not scope.reports:
            return
        chat = sub(sub(root, "internetDetails"), "chatImIncident")
        if scope.service:
            sub(chat, "chatClient", scope.service)
        if self._shares_descriptions(bundle):
            shared = [
                f"Report {text(r.get('report_id'))} (description shared with the reporter's "
                f"consent): {text(r.get('description'))}"
                for r in scope.reports
                if text(r.get("description"))
            ]
            if shared:
                sub(chat, "additionalInfo", "\n".join(shared))

    # --- the reported user ------------------------------------------------------------

    def _parties(self, bundle: CaseBundle, scope: ServiceScope) -> list[tuple[Party, str]]:
        """(party, where it comes from) for the scope's reported accounts, then the
        accounts that posted matched media."""
        found: dict[str, tuple[Party, str]] = {}
        for rid in scope.report_ids:
            for key, party in reported_accounts(bundle, rid).items():
                if key in found:
                    old, basis = found[key]
                    found[key] = (old, f"{basis}, {rid}")
                    _merge(old, party)
                else:
                    found[key or f"report:{rid}"] = (party, f"named in Daybreak report(s) {rid}")
        for row, _ in scope.matched:
            account_id = text(row.get("account_id"))
            if not account_id:
                continue
            account = f"{text(row.get('service'))}:{account_id}"
            basis = (
                f"hash sighting {text(row.get('sighting_id'))} (matched a known-material "
                "list) was seen on this account"
            )
            if account in found:
                party, old_basis = found[account]
                found[account] = (party, f"{old_basis}; {basis}")
            else:
                found[account] = (account_party(bundle, account), basis)
        return list(found.values())

    def _reported(self, root: Any, bundle: CaseBundle, scope: ServiceScope) -> None:
        parties = self._parties(bundle, scope)
        if not parties:
            return
        # NCMEC takes one reported user per report: the first account is the user,
        # further accounts of the case on this service are associated accounts.
        (main, main_basis), rest = parties[0], parties[1:]
        blocked = _customer_values(bundle)
        phones = unique(p for party, _ in parties for p in party.phones if p not in blocked)
        emails = unique(e for party, _ in parties for e in party.emails if e not in blocked)
        handles, beneficiary_phones = self._payment_handles(bundle, scope, blocked)
        phones = unique([*phones, *beneficiary_phones])
        el = sub(root, "personOrUserReported")
        if phones or emails:
            person = sub(el, "personOrUserReportedPerson")
            for phone in phones:
                sub(person, "phone", phone).set("type", "Mobile")
            for email in emails:
                sub(person, "email", email)
        account = main.accounts[0] if main.accounts else ""
        acc_service, _, acc_id = account.partition(":")
        if acc_id:
            sub(el, "espIdentifier", acc_id)
        if acc_service or scope.service:
            sub(el, "espService", acc_service or scope.service)
        names = [u.partition(":")[2] for u in main.usernames if ":" in u]
        if names:
            sub(el, "screenName", names[0])
            for extra in names[1:]:
                sub(el, "displayName", extra)
        for url in unique(u for party, _ in parties for u in party.urls):
            sub(el, "profileUrl", url)
        _ip_events(el, main)
        _devices(el, main)
        for prior in self._prior_reports(scope):
            sub(el, "priorCTReports", prior)
        located = self._location(bundle, main)
        if located is not None:
            estimated = sub(el, "estimatedLocation")
            estimated.set("verified", "false")
            sub(estimated, "countryCode", located[0])
        for other in main.accounts[1:]:
            self._associated(el, Party(f"account:{other}", "reported", "", "", False), other, "")
        for party, basis in rest:
            first = party.accounts[0] if party.accounts else ""
            if first:
                self._associated(el, party, first, basis)
        info = [f"Reported user: {main_basis}."]
        if handles:
            info.append(
                "Payment handle(s) named with this user in the reports: " + ", ".join(handles) + "."
            )
        if beneficiary_phones:
            info.append(
                "Phone number(s) linked to those payment handles in the case: "
                + ", ".join(beneficiary_phones)
                + "."
            )
        if located is not None:
            info.append(located[1])
        sub(el, "additionalInfo", " ".join(info))

    def _associated(self, el: Any, party: Party, account: str, basis: str) -> None:
        svc, _, ident = account.partition(":")
        assoc = sub(el, "associatedAccount")
        assoc.set("type", "Other")
        if svc:
            sub(assoc, "espService", svc)
        if ident:
            sub(assoc, "espIdentifier", ident)
        names = [u.partition(":")[2] for u in party.usernames if ":" in u]
        if names:
            sub(assoc, "screenName", names[0])
        _ip_events(assoc, party)
        _devices(assoc, party)
        why = basis or "a further account of the reported user"
        sub(assoc, "additionalInfo", f"Account of the same Daybreak case: {why}.")

    def _payment_handles(
        self, bundle: CaseBundle, scope: ServiceScope, blocked: set[str]
    ) -> tuple[list[str], list[str]]:
        """(payment handles named in the scope's reports, phones the case links to
        those handles). Never a value the institution holds about its customers."""
        handles = unique(
            text(i.get("value"))
            for rid in scope.report_ids
            for i in bundle.identifiers_of("reports", rid)
            if text(i.get("kind")) == "payment_handle"
            and text(i.get("role")).lower() not in NOT_THE_SUSPECT
        )
        handles = [h for h in handles if h not in blocked]
        if not handles:
            return [], []
        _, beneficiaries = case_parties(bundle)
        phones = unique(
            p
            for handle in handles
            if handle in beneficiaries
            for p in beneficiaries[handle].phones
            if p not in blocked
        )
        return handles, phones

    def _prior_reports(self, scope: ServiceScope) -> list[int]:
        found = list(self.prior_reports)
        for report in scope.reports:
            value = report.get(CYBERTIP_ID_COLUMN)
            if text(value):
                where = f"reports row {text(report.get('report_id'))}, field {CYBERTIP_ID_COLUMN}"
                found.append(_ct_report_id(value, where))
        return list(dict.fromkeys(found))

    def _location(self, bundle: CaseBundle, party: Party) -> tuple[str, str] | None:
        """(country, how it was estimated): from the IPs when the organisation allows
        IP geolocation (most recent IP first), else the account's stated country."""
        if bundle.org.ip_geolocation:
            seen = sorted(party.ips.values(), key=_recency, reverse=True)
            for ip in seen:
                country = self.ip_country(ip.ip)
                if country:
                    return country, (
                        f"Estimated location {country} from IP {ip.ip} by an offline GeoIP "
                        "table (not verified)."
                    )
        if party.country:
            return party.country, f"Estimated location {party.country} as the account states."
        return None

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

    def _additional_info(
        self, bundle: CaseBundle, scope: ServiceScope, incident: str, why: str
    ) -> str:
        # The narrative opens with the demonstration notice when the report is a demo.
        lines = [f"Incident type {incident!r}: {why}."]
        # The narrative of this service's material only, so that no report id or
        # sighting of another service's report appears here.
        sightings = {text(row.get("sighting_id")) for row, _ in scope.matched}
        scoped = replace(
            bundle,
            reports=scope.reports,
            media_sightings=[
                m
                for m in bundle.media_sightings
                if text(m.get("service")) == scope.service
                or text(m.get("sighting_id")) in sightings
            ],
        )
        lines.append(partner_narrative(scoped))
        lines += _hash_lines(scope.matched)
        return "\n".join(lines)


def _merge(into: Party, other: Party) -> None:
    for kind, values in (
        ("phone", other.phones),
        ("email", other.emails),
        ("username", other.usernames),
        ("url", other.urls),
        ("device", other.devices),
    ):
        for value in values:
            into.add(kind, value)
    for ip, seen in other.ips.items():
        mine = into.ips.setdefault(ip, seen)
        if mine is not seen:
            mine.widen(seen.first_seen)
            mine.widen(seen.last_seen)


def _recency(seen: IpSeen) -> str:
    at = seen.last_seen or seen.first_seen
    return _iso(at) if at is not None else ""


def _ip_events(el: Any, party: Party) -> None:
    for seen in party.ips.values():
        ev = sub(el, "ipCaptureEvent")
        sub(ev, "ipAddress", seen.ip)
        sub(ev, "eventName", "Login" if seen.event == "login" else "Other")
        if seen.last_seen is not None:
            sub(ev, "dateTime", _iso(seen.last_seen))


def _devices(el: Any, party: Party) -> None:
    for device in party.devices:
        dev = sub(el, "deviceId")
        sub(dev, "idType", "device id")
        sub(dev, "idValue", device)


def _customer_values(bundle: CaseBundle) -> set[str]:
    """Everything that identifies the institution's customers: never sent to NCMEC."""
    values = {text(c.get("customer_id")) for c in bundle.customers}
    values |= {text(c.get("name")) for c in bundle.customers}
    values |= {text(i.get("value")) for i in bundle.identifiers if i.get("source") == "customers"}
    values |= {text(t.get("sender_id")) for t in bundle.transactions}
    return {v for v in values if v}


def _hash_lines(matched: Iterable[tuple[Row, list[HashMatch]]]) -> list[str]:
    """The matched hashes themselves with their match facts. Without the file NCMEC's
    <fileDetails> (which needs an uploaded file's id) cannot carry them."""
    lines = []
    for row, matches in matched:
        where = ", ".join(
            x
            for x in (
                f"account {text(row.get('account_id'))}" if text(row.get("account_id")) else "",
                text(row.get("location")),
            )
            if x
        )
        seen = as_utc(row.get("seen_at"))
        facts = "; ".join(
            f"matched list '{m.bank}'"
            + (f" version {m.bank_version}" if m.bank_version is not None else "")
            + f" at distance {m.distance}"
            + (f" (threshold {m.threshold})" if m.threshold is not None else "")
            for m in matches
        )
        lines.append(
            f"Known-material hash {text(row.get('sighting_id'))}: "
            f"{text(row.get('hash_type'))} {text(row.get('hash_value'))}"
            + (f", seen {_iso(seen)}" if seen else "")
            + (f" ({where})" if where else "")
            + f": {facts}. Hash only; Daybreak holds no file."
        )
    return lines


def _ct_report_id(value: Any, where: str) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if number <= 0:
        raise ExportError(
            f"{where}: {value!r} is not a CyberTipline report id (a positive whole number)"
        )
    return number
