"""One evidence record of a case, as the analyst reads it.

A case's evidence rows, timeline events and alerts name records by id ("tipline alert
tipline:R00000061"); this module gathers what is known about one of them: its row in
the data the case was built from (a report's description, reporter type, service,
times and victim details; a payment's amount, currency, date and parties), what the
case says about it, the alerts resting on it and, for media, the hash-list matches
behind them. Pure functions over the case, its alerts and the rows the exporters read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from daybreak.console.backend import ActionError
from daybreak.model.alerts import Alert, HashMatch
from daybreak.model.cases import Case
from daybreak.tipline.intake import ReportIn

ALERTS = "alerts"  # the pseudo-source of an alert's own record

# The row's id column and its fields in reading order, with the label shown.
ID_COLUMN = {
    "transactions": "txn_id",
    "reports": "report_id",
    "platform_events": "event_id",
    "media_sightings": "sighting_id",
    "customers": "customer_id",
}
FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "reports": (
        ("description", "Description"),
        ("reporter_type", "Reporter type"),
        ("service", "Service"),
        ("incident_type", "Incident type"),
        ("is_live", "Live when reported"),
        ("occurred_at", "Occurred"),
        ("received_at", "Received"),
        ("victim_age_estimate", "Victim age (estimate)"),
        ("victim_country", "Victim country"),
    ),
    "transactions": (
        ("amount", "Amount"),
        ("currency", "Currency"),
        ("timestamp", "Date"),
        ("sender_id", "Payer"),
        ("sender_name", "Payer name"),
        ("sender_country", "Payer country"),
        ("receiver_id", "Beneficiary"),
        ("receiver_name", "Beneficiary name"),
        ("receiver_country", "Beneficiary country"),
        ("channel", "Channel"),
        ("reference", "Reference"),
    ),
    "media_sightings": (
        ("hash_type", "Hash type"),
        ("hash_value", "Hash"),
        ("seen_at", "Seen"),
        ("service", "Service"),
        ("account_id", "Account"),
        ("location", "Location"),
        ("quality", "Quality"),
    ),
    "platform_events": (
        ("event_type", "Event"),
        ("service", "Service"),
        ("account_id", "Account"),
        ("counterparty_account_id", "Counterparty"),
        ("started_at", "Started"),
        ("ended_at", "Ended"),
        ("ip", "IP address"),
        ("device_id", "Device"),
        ("country", "Country"),
    ),
}


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    case_id: str
    source: str
    record_id: str
    fields: tuple[tuple[str, str], ...]  # (label, value) from the record itself
    row_read: bool  # False: the data folder was not available or lacks the row
    said: tuple[str, ...]  # what the case's evidence and timeline say about it
    alerts: tuple[Alert, ...]  # the alerts resting on it (or the alert itself)
    hash_matches: tuple[HashMatch, ...]  # known-material matches of a media sighting


def pointed_at(case: Case, alerts: Iterable[Alert]) -> set[tuple[str, str]]:
    """Every (source, record id) the case names: a record page opens only these."""
    out = {(e.source, e.record_id) for e in case.evidence}
    out |= {(t.source, t.record_id) for t in case.timeline}
    out |= {("reports", r) for r in case.report_ids}
    for a in alerts:
        out.add((ALERTS, a.alert_id))
        out |= {(a.evidence_source, i) for i in a.evidence_ids}
        out |= {("media_sightings", m.sighting_id) for m in a.hash_matches}
        if a.subject_type == "report":
            out.add(("reports", a.subject_id))
    return out


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def _row_fields(source: str, row: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    known = FIELDS.get(source, ())
    named = {column for column, _ in known} | {ID_COLUMN.get(source, "")}
    out = [(label, _shown(row[c])) for c, label in known if row.get(c) is not None]
    # Columns a newer data folder adds are shown too, under their own names.
    out += [(c.replace("_", " "), _shown(v)) for c, v in row.items() if c not in named and v]
    return tuple(out)


def _alert_fields(alert: Alert) -> tuple[tuple[str, str], ...]:
    out = [
        ("Detector", alert.detector),
        ("Subject", f"{alert.subject_type} {alert.subject_id}"),
        ("Score", f"{alert.score:.2f}"),
        ("Explanation", alert.explanation),
    ]
    if alert.typologies:
        out.append(("Typologies", ", ".join(t.replace("_", " ") for t in alert.typologies)))
    if alert.first_seen:
        out.append(("First seen", _shown(alert.first_seen)))
    if alert.last_seen:
        out.append(("Last seen", _shown(alert.last_seen)))
    return tuple(out)


def describe(
    case: Case,
    alerts: Sequence[Alert],
    source: str,
    record_id: str,
    rows: Mapping[str, Sequence[Mapping[str, Any]]],
) -> EvidenceRecord | None:
    """The record ``source``/``record_id`` of ``case``; None when the case does not
    name it. ``rows``: the case's rows by table (empty without a data folder)."""
    own = [a for a in alerts if a.alert_id in set(case.alert_ids)]
    if (source, record_id) not in pointed_at(case, own):
        return None
    said = [e.summary for e in case.evidence if (e.source, e.record_id) == (source, record_id)]
    said += [t.summary for t in case.timeline if (t.source, t.record_id) == (source, record_id)]
    if source == ALERTS:
        alert = next(a for a in own if a.alert_id == record_id)
        return EvidenceRecord(
            case.case_id,
            source,
            record_id,
            _alert_fields(alert),
            True,
            tuple(dict.fromkeys(s for s in said if s)),
            (alert,),
            alert.hash_matches,
        )
    id_column = ID_COLUMN.get(source, "")
    row = next((r for r in rows.get(source, ()) if str(r.get(id_column)) == record_id), None)
    resting = tuple(
        a
        for a in own
        if (a.evidence_source == source and record_id in a.evidence_ids)
        or (source == "reports" and a.subject_type == "report" and a.subject_id == record_id)
        or any(m.sighting_id == record_id for m in a.hash_matches)
    )
    matches = tuple(m for a in own for m in a.hash_matches if m.sighting_id == record_id)
    return EvidenceRecord(
        case.case_id,
        source,
        record_id,
        _row_fields(source, row) if row is not None else (),
        row is not None,
        tuple(dict.fromkeys(s for s in said if s)),
        resting,
        matches,
    )


def report_row(report_id: str, received_at: datetime, report: ReportIn) -> dict[str, Any]:
    """A report received by the tipline store, as a ``reports`` row (for cases whose
    reports came through the API rather than a data folder)."""
    victim = report.victim
    return {
        "report_id": report_id,
        "description": report.description,
        "reporter_type": report.reporter.type.value,
        "service": report.service,
        "incident_type": report.incident_type.value,
        "is_live": report.is_live,
        "occurred_at": report.occurred_at,
        "received_at": received_at,
        "victim_age_estimate": victim.age_estimate if victim else None,
        "victim_country": victim.country if victim else None,
        "escalation": report.escalation,
    }


def bundle_rows(bundle: Any) -> dict[str, Sequence[Mapping[str, Any]]]:
    """The rows of an exporters' CaseBundle by table name."""
    return {name: getattr(bundle, name, ()) for name in ID_COLUMN}


def own_alerts(case: Case, given: Sequence[Alert]) -> list[Alert]:
    """The case's alerts, each once: the alerts the console was given win over the
    copies the case carries (they may hold more, such as hash-match details)."""
    wanted = set(case.alert_ids)
    own = {a.alert_id: a for a in given if a.alert_id in wanted}
    for alert in case.alerts:
        if alert.alert_id in wanted:
            own.setdefault(alert.alert_id, alert)
    return list(own.values())


def require_match(case: Case, given: Sequence[Alert], hash_type: str, listed_hash: str) -> None:
    """Refuse an opinion on a hash the case's alerts did not match (a forged form)."""
    matches = {(m.hash_type, m.listed_hash) for a in own_alerts(case, given) for m in a.hash_matches}  # fmt: skip
    if (hash_type, listed_hash) not in matches:
        raise ActionError(f"Case {case.case_id} has no {hash_type} match on that hash.")
