"""A synthetic world's reports (``daybreak synth``) as intake records, and triaged
clusters as alerts.

``reports.parquet|csv`` rows become intake records with their identifiers from
``identifiers`` (``source == "reports"``). Storing and triaging them is the store's
(:func:`daybreak.store.world.load_world_reports`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from daybreak.model.alerts import Alert
from daybreak.tipline.intake import ReportIn


class WorldLoadError(ValueError):
    """A world file row that cannot become a report; names the file and report id."""


class _Summary(Protocol):
    """A triaged cluster (:class:`daybreak.store.ClusterSummary`), read only."""

    @property
    def cluster_id(self) -> str: ...
    @property
    def tier(self) -> int: ...
    @property
    def score(self) -> float: ...
    @property
    def report_ids(self) -> tuple[str, ...]: ...
    @property
    def reasons(self) -> tuple[str, ...]: ...
    @property
    def last_received(self) -> datetime: ...


def _find(world_dir: Path, table: str) -> Path:
    from daybreak.schema.world import no_world_file, world_file

    path = world_file(world_dir, table)
    if path is not None:
        return path
    raise WorldLoadError(no_world_file(world_dir, table))


def _utc(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return str(value)


def world_reports(world_dir: Path) -> list[tuple[str, datetime, ReportIn]]:
    """(report id, received at, intake record) for every report of a world."""
    from daybreak.schema import read_table  # polars: only needed for world files

    reports_path = _find(world_dir, "reports")
    ident_path = _find(world_dir, "identifiers")
    rows = read_table(reports_path, "reports").frame.to_dicts()
    idents = read_table(ident_path, "identifiers").frame
    by_report: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in idents.filter(idents["source"] == "reports").to_dicts():
        by_report[r["source_id"]].append(r)
    out = []
    for row in rows:
        rid = row["report_id"]
        try:
            report = ReportIn.model_validate(_record(row, by_report.get(rid, [])))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise WorldLoadError(f"{reports_path}: report {rid}: {where}: {first['msg']}") from exc
        received = row["received_at"]
        out.append((rid, received if received.tzinfo else received.replace(tzinfo=UTC), report))
    return out


def _record(row: dict[str, Any], idents: list[dict[str, Any]]) -> dict[str, Any]:
    accounts: list[dict[str, Any]] = []
    extras: list[dict[str, Any]] = []
    timed_ips: list[dict[str, Any]] = []
    devices: list[str] = []
    for i in idents:
        kind, value = i["kind"], i["value"]
        if kind == "account" and ":" in value:
            service, _, account_id = value.partition(":")
            accounts.append({"service": service, "account_id": account_id})
        elif kind == "ip" and i.get("seen_at") is not None:
            timed_ips.append({"ip": value, "at": _utc(i["seen_at"])})
        elif kind == "device":
            devices.append(value)
        else:
            extras.append({"kind": kind, "value": value, "role": i.get("role") or "reported"})
    if accounts:  # IP capture events and devices belong to the reported account
        accounts[0]["ip_events"] = timed_ips
        accounts[0]["device_ids"] = devices
    else:
        extras += [{"kind": "ip", "value": ip["ip"], "role": "reported"} for ip in timed_ips]
        extras += [{"kind": "device", "value": d, "role": "reported"} for d in devices]
    victim = {
        k: v
        for k, v in (
            ("age_estimate", row.get("victim_age_estimate")),
            ("country", row.get("victim_country")),
        )
        if v is not None
    }
    record: dict[str, Any] = {
        "reporter": {"type": row["reporter_type"]},
        "incident_type": row["incident_type"],
        "occurred_at": _utc(row.get("occurred_at")),
        "is_live": bool(row["is_live"]),
        "service": row.get("service"),
        "reported_accounts": accounts,
        "victim": victim or None,
        "identifiers": extras,
        "description": row.get("description"),
        "external_ref": row["report_id"],
    }
    return {k: v for k, v in record.items() if v is not None}


def cluster_alert(summary: _Summary) -> Alert:
    """A triaged cluster as an :class:`Alert` for the case builder (detector ``tipline``)."""
    return Alert(
        alert_id=f"tipline:{summary.cluster_id}",
        detector="tipline",
        subject_type="report",
        subject_id=summary.cluster_id,
        score=min(1.0, max(0.0, summary.score)),
        typologies=(f"icac_tier_{summary.tier}",),
        explanation="; ".join(summary.reasons),
        evidence_source="reports",
        evidence_ids=tuple(summary.report_ids),
        last_seen=summary.last_received,
    )


def report_alerts(summary: _Summary) -> list[Alert]:
    """One alert per report of a triaged cluster, with the cluster's tier and reasons.

    The case builder links alerts to graph nodes by subject; a report id is a node
    (``report:<id>``) while a cluster id is not, so this is the form to fuse with."""
    return [
        Alert(
            alert_id=f"tipline:{report_id}",
            detector="tipline",
            subject_type="report",
            subject_id=report_id,
            score=min(1.0, max(0.0, summary.score)),
            typologies=(f"icac_tier_{summary.tier}",),
            explanation="; ".join(summary.reasons),
            evidence_source="reports",
            evidence_ids=(report_id,),
            last_seen=summary.last_received,
        )
        for report_id in summary.report_ids
    ]
