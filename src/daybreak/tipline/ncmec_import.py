"""Import NCMEC CyberTipline ``<report>`` XML into Daybreak's intake record.

Untrusted XML is parsed with ``defusedxml`` with DTDs forbidden outright, so XXE,
external entities and entity-expansion ("billion laughs") bombs are refused before any
expansion happens. The document is then validated against the CyberTipline XSD, which is
loaded at run time from a path (the schema is NCMEC's, not ours: we do not ship it).
Only then is it mapped field by field onto :class:`ReportIn`.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import defusedxml
import defusedxml.ElementTree as SafeET
import xmlschema
from pydantic import ValidationError

from daybreak.tipline.intake import ReportIn

MAX_XML_BYTES = 5 * 1024 * 1024

INCIDENT_TYPES = {
    "Child Pornography (possession, manufacture, and distribution)": "child_sexual_abuse_material",
    "Child Sex Trafficking": "child_sex_trafficking",
    "Child Sex Tourism": "child_sex_trafficking",
    "Child Sexual Molestation": "other",
    "Misleading Domain Name": "other",
    "Misleading Words or Digital Images on the Internet": "other",
    "Online Enticement of Children for Sexual Acts": "online_enticement",
    "Unsolicited Obscene Material Sent to a Child": "grooming",
}
_IP_EVENTS = {
    "Login": "login",
    "Registration": "registration",
    "Purchase": "purchase",
    "Upload": "upload",
}


class NcmecImportError(ValueError):
    """The XML is unsafe, malformed, invalid against the XSD, or does not map."""

    def __init__(self, problems: list[str], source: str = "<xml>") -> None:
        self.problems = problems
        self.source = source
        super().__init__(f"{source}: " + "; ".join(problems[:10]))


@functools.cache
def load_schema(xsd_path: Path) -> xmlschema.XMLSchema:
    """The CyberTipline XSD, read once per path (XSD 1.0)."""
    return xmlschema.XMLSchema(str(xsd_path))


def parse_safely(data: bytes, source: str = "<xml>") -> ET.Element:
    if len(data) > MAX_XML_BYTES:
        raise NcmecImportError([f"document larger than {MAX_XML_BYTES} bytes"], source)
    try:
        root: ET.Element = SafeET.fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as exc:
        raise NcmecImportError(
            [f"unsafe XML refused ({type(exc).__name__}): DTDs and entities are not allowed"],
            source,
        ) from exc
    except ET.ParseError as exc:
        raise NcmecImportError([f"malformed XML: {exc}"], source) from exc
    return root


def validate(root: ET.Element, xsd_path: Path, source: str = "<xml>") -> None:
    schema = load_schema(Path(xsd_path))
    problems = []
    for err in schema.iter_errors(root):
        problems.append(f"{err.path or '/'}: {err.reason}")
        if len(problems) >= 20:
            break
    if problems:
        raise NcmecImportError(problems, source)


def _text(el: ET.Element | None, path: str) -> str | None:
    if el is None:
        return None
    found = el.find(path)
    if found is None or found.text is None or not found.text.strip():
        return None
    return found.text.strip()


def _texts(el: ET.Element, path: str) -> list[str]:
    return [f.text.strip() for f in el.findall(path) if f.text and f.text.strip()]


def _phone(el: ET.Element) -> str | None:
    raw = (el.text or "").strip()
    if not raw:
        return None
    cc = el.get("countryCallingCode")
    if cc and not raw.startswith("+"):
        return f"+{cc.lstrip('+')}{raw}"
    return raw


def _account(
    el: ET.Element, service_default: str | None, extras: list[dict[str, Any]]
) -> dict[str, Any]:
    service = _text(el, "espService") or service_default or "unknown"
    ip_events = []
    for ev in el.findall("ipCaptureEvent"):
        ip = _text(ev, "ipAddress")
        at = _text(ev, "dateTime")
        if ip and at:
            item: dict[str, Any] = {
                "ip": ip,
                "at": at,
                "event": _IP_EVENTS.get(_text(ev, "eventName") or "", "other"),
            }
            if port := _text(ev, "port"):
                item["port"] = int(port)
            ip_events.append(item)
        elif ip:  # an IP without a time is kept as a plain identifier, not dropped
            extras.append({"kind": "ip", "value": ip, "role": "reported_account"})
    emails = _texts(el, "personOrUserReportedPerson/email")
    phones = [p for p in (_phone(x) for x in el.findall("personOrUserReportedPerson/phone")) if p]
    account: dict[str, Any] = {
        "service": service,
        "account_id": _text(el, "espIdentifier"),
        "username": _text(el, "screenName"),
        "profile_url": next(iter(_texts(el, "profileUrl")), None),
        "ip_events": ip_events,
        "device_ids": [v for d in el.findall("deviceId") if (v := _text(d, "idValue"))],
        "emails": emails,
        "phones": phones,
        "country": _text(el, "estimatedLocation/countryCode"),
    }
    for url in _texts(el, "profileUrl")[1:]:
        extras.append({"kind": "url", "value": url, "role": "reported_account"})
    return {k: v for k, v in account.items() if v not in (None, [])}


def to_report(root: ET.Element, source: str = "<xml>") -> ReportIn:
    """Map a validated ``<report>`` element onto the intake record."""
    if root.tag != "report":
        raise NcmecImportError([f"expected a <report> document, got <{root.tag}>"], source)
    summary = root.find("incidentSummary")
    incident = _text(summary, "incidentType") or ""
    annotations = summary.find("reportAnnotations") if summary is not None else None
    incident_type = INCIDENT_TYPES.get(incident, "other")
    indicators = []
    if annotations is not None:
        if annotations.find("sextortion") is not None:
            incident_type = "sextortion"
        if annotations.find("csamSolicitation") is not None:
            indicators.append("aggressive_solicitation")
    service = _text(summary, "platform")
    extras: list[dict[str, Any]] = []
    urls: list[str] = []
    for details in root.findall("internetDetails"):
        urls += _texts(details, "webPageIncident/url")
        for email in _texts(details, "emailIncident/emailAddress") + _texts(
            details, "newsgroupIncident/emailAddress"
        ):
            extras.append({"kind": "email", "value": email, "role": "reported"})
        for phone_el in details.findall("cellPhoneIncident/phoneNumber"):
            if phone := _phone(phone_el):
                extras.append({"kind": "phone", "value": phone, "role": "reported"})
    accounts = [_account(el, service, extras) for el in root.findall("personOrUserReported")]
    accounts = [a for a in accounts if {"account_id", "username", "profile_url"} & a.keys()]
    reporting = root.find("reporter/reportingPerson")
    reporter: dict[str, Any] = {"type": "platform"}
    if reporting is not None:
        name = " ".join(filter(None, [_text(reporting, "firstName"), _text(reporting, "lastName")]))
        if name:
            reporter["name"] = name
        if reporter_email := _text(reporting, "email"):
            reporter["email"] = reporter_email
    victim: dict[str, Any] = {}
    if (v := root.find("victim")) is not None:
        if age := _text(v, "victimPerson/age"):
            victim["age_estimate"] = int(age)
        country = _text(v, "estimatedLocation/countryCode") or _text(
            v, "victimPerson/address/country"
        )
        if country:
            victim["country"] = country
        if city := _text(v, "estimatedLocation/city"):
            victim["city"] = city
    data: dict[str, Any] = {
        "reporter": reporter,
        "incident_type": incident_type,
        "occurred_at": _text(summary, "incidentDateTime"),
        "service": service,
        "reported_accounts": accounts,
        "victim": victim or None,
        "urls": urls,
        "identifiers": extras,
        "indicators": indicators,
        "escalation": _text(summary, "escalateToHighPriority"),
        "description": _text(root, "additionalInfo"),
        "external_ref": None,
    }
    try:
        return ReportIn.model_validate({k: v for k, v in data.items() if v not in (None, [])})
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)
        ]
        raise NcmecImportError(problems, source) from exc


def import_report(data: bytes, xsd_path: Path, source: str = "<xml>") -> ReportIn:
    """Parse safely, validate against the XSD at ``xsd_path``, and map. Raises
    :class:`NcmecImportError` naming every problem."""
    root = parse_safely(data, source)
    validate(root, xsd_path, source)
    return to_report(root, source)
