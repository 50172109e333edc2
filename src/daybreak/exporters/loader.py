"""The thin I/O edge of the exporters: cases from JSON lines, bundles from a world folder.

Only the rows a case needs are read: Parquet files are scanned lazily and filtered
by id before anything reaches Python, so a bundle from a 10-million-row world costs
about as much as one from a toy world. CSV worlds go through
:func:`daybreak.schema.read_table`, which also parses their types.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError

from daybreak.exporters.base import ExportError
from daybreak.exporters.bundle import CaseBundle, Kyc, OrgSettings
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case
from daybreak.schema import TABLES, SchemaError, read_table, world_file
from daybreak.schema.columns import IDENTIFIER_KINDS
from daybreak.schema.results import CasesFileError, read_cases

RECORD_ID = {
    "transactions": "txn_id",
    "reports": "report_id",
    "platform_events": "event_id",
    "media_sightings": "sighting_id",
    "customers": "customer_id",
}


def load_cases(path: Path | str) -> list[Case]:
    """Cases from a JSON-lines file written by ``daybreak cases build``."""
    try:
        return read_cases(path)
    except CasesFileError as exc:
        raise ExportError(str(exc)) from exc


def find_case(cases: Sequence[Case], case_id: str, source: str) -> Case:
    for case in cases:
        if case.case_id == case_id:
            return case
    sample = ", ".join(c.case_id for c in cases[:5])
    raise ExportError(f"case {case_id!r} not found in {source} ({len(cases)} cases: {sample}…)")


def load_kyc(path: Path | str | None) -> dict[str, Kyc]:
    """The institution's KYC records (JSON lines, one customer each), by customer id."""
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise ExportError(f"{p}: KYC file not found")
    out: dict[str, Kyc] = {}
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = Kyc.model_validate_json(line)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(x) for x in first["loc"]) or "(line)"
            raise ExportError(f"{p}, line {n}, field {field}: {first['msg']}") from exc
        out[record.customer_id] = record
    return out


def load_org(path: Path | str | None) -> OrgSettings:
    if path is None:
        return OrgSettings()
    import yaml

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        return OrgSettings.model_validate(data)
    except OSError as exc:
        raise ExportError(f"{p}: cannot read organisation settings: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ExportError(f"{p}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(x) for x in first["loc"])
        raise ExportError(f"{p}, field {field}: {first['msg']}") from exc


def _table(world: Path, name: str) -> pl.LazyFrame | None:
    spec = TABLES[name]
    path = world_file(world, name)
    if path is None:
        return None
    try:
        if path.suffix == ".csv":
            return read_table(path, name).frame.lazy()
        frame = pl.scan_parquet(path)
        missing = [c for c in spec.names if c not in frame.collect_schema().names()]
    except (SchemaError, pl.exceptions.PolarsError, OSError) as exc:
        raise ExportError(f"{path}: cannot read {name}: {exc}") from exc
    if missing:
        raise ExportError(f"{path}: missing column(s) {missing} of table {name}")
    return frame.select(spec.names)


def _rows(
    frame: pl.LazyFrame | None, where: pl.Expr, limit: int, notes: list[str], what: str
) -> list[dict[str, Any]]:
    """Matching rows, at most ``limit``; a note says so when more matched."""
    if frame is None:
        return []
    rows = frame.filter(where).head(limit + 1).collect().to_dicts()
    if len(rows) > limit:
        notes.append(f"{what}: only the first {limit} matching rows were read (max_rows)")
        rows = rows[:limit]
    return rows


def _in(column: str, values: Iterable[str]) -> pl.Expr:
    return pl.col(column).cast(pl.String).is_in(sorted(set(values)))


def case_alerts(case: Case, alerts: Sequence[Alert] = ()) -> tuple[list[Alert], list[str]]:
    """Exactly the case's own alerts, and a note when some cannot be found.

    A case carries its alerts (``Case.alerts``); a case written before it did is
    matched by ``alert_ids`` against ``alerts``. Alerts of other cases never come in."""
    wanted = set(case.alert_ids)
    own = {a.alert_id: a for a in case.alerts if a.alert_id in wanted}
    for alert in alerts:
        if alert.alert_id in wanted:
            own.setdefault(alert.alert_id, alert)
    notes = []
    missing = wanted - own.keys()
    if missing:
        notes.append(
            f"{len(missing)} of the case's {len(wanted)} alert(s) are not available (the case "
            "was built before cases carried their alerts; rebuild it with `daybreak cases "
            "build`): the export leaves out what only those alerts say"
        )
    return sorted(own.values(), key=lambda a: a.alert_id), notes


def bundle_from_world(
    case: Case,
    world_dir: Path | str,
    *,
    org: OrgSettings | None = None,
    alerts: Sequence[Alert] = (),
    kyc: Mapping[str, Kyc] | None = None,
    max_rows: int = 2000,
    generated_at: datetime | None = None,
) -> CaseBundle:
    """The case plus every world row it points at (evidence, timeline, its entities);
    ``kyc`` adds the institution's KYC to the customer rows it names.

    The one path by which CLI, demo and console build a bundle: the alerts are the
    case's own (:func:`case_alerts`); ``alerts`` only fills in for cases that do not
    carry theirs, and alerts of other cases in it are ignored."""
    world = Path(world_dir)
    if not world.is_dir():
        raise ExportError(f"{world}: world folder not found (write one with `daybreak synth`)")
    alerts, alert_notes = case_alerts(case, alerts)
    wanted: defaultdict[str, set[str]] = defaultdict(set)
    for source, record_id in [
        *((e.source, e.record_id) for e in case.evidence),
        *((t.source, t.record_id) for t in case.timeline),
    ]:
        wanted[source].add(record_id)
    wanted["reports"].update(case.report_ids)
    for alert in alerts:
        wanted[alert.evidence_source].update(alert.evidence_ids)
    keys = {*case.entity_keys, *(n.key for n in case.nodes)}
    by_kind: defaultdict[str, set[str]] = defaultdict(set)
    for key in keys:
        kind, _, value = key.partition(":")
        if value:
            by_kind[kind].add(value)

    tables = {name: _table(world, name) for name in TABLES}
    notes: list[str] = list(alert_notes)
    txns = _rows(
        tables["transactions"],
        _in("txn_id", wanted["transactions"])
        | (_in("receiver_id", by_kind["payment_handle"]) & _in("sender_id", by_kind["customer"])),
        max_rows,
        notes,
        "transactions",
    )
    customer_ids = by_kind["customer"] | {t["sender_id"] for t in txns}
    handles = by_kind["payment_handle"] | {t["receiver_id"] for t in txns}
    pairs = [f"{k}:{v}" for k in IDENTIFIER_KINDS for v in by_kind[k]]
    pairs += [f"payment_handle:{h}" for h in handles]
    ident_frame = tables["identifiers"]
    linked = _rows(
        ident_frame,
        pl.concat_str([pl.col("kind"), pl.col("value")], separator=":").is_in(sorted(set(pairs))),
        max_rows,
        notes,
        "identifiers of the case's entities",
    )
    report_ids = wanted["reports"] | {r["source_id"] for r in linked if r["source"] == "reports"}
    reports = _rows(tables["reports"], _in("report_id", report_ids), max_rows, notes, "reports")
    report_idents = _rows(
        ident_frame,
        (pl.col("source") == "reports") & _in("source_id", (r["report_id"] for r in reports)),
        max_rows,
        notes,
        "identifiers of the reports",
    )
    accounts = by_kind["account"] | {r["value"] for r in report_idents if r["kind"] == "account"}
    account_expr = pl.concat_str([pl.col("service"), pl.col("account_id")], separator=":")
    events = _rows(
        tables["platform_events"],
        _in("event_id", wanted["platform_events"]) | account_expr.is_in(sorted(accounts)),
        max_rows,
        notes,
        "platform events",
    )
    media = _rows(
        tables["media_sightings"],
        _in("sighting_id", wanted["media_sightings"])
        | account_expr.is_in(sorted(accounts))
        | _in("hash_value", by_kind["hash"] | by_kind["media"]),
        max_rows,
        notes,
        "media sightings",
    )
    customers = _rows(
        tables["customers"], _in("customer_id", customer_ids), max_rows, notes, "customers"
    )
    if kyc:
        customers = [
            kyc[c["customer_id"]].merged_into(c) if c["customer_id"] in kyc else c
            for c in customers
        ]
    records = {
        "transactions": [t["txn_id"] for t in txns],
        "customers": [c["customer_id"] for c in customers],
        "reports": [r["report_id"] for r in reports],
        "platform_events": [e["event_id"] for e in events],
        "media_sightings": [m["sighting_id"] for m in media],
    }
    expr = pl.lit(False)
    for source, ids in records.items():
        if ids:
            expr = expr | ((pl.col("source") == source) & _in("source_id", ids))
    identifiers = _rows(ident_frame, expr, max_rows * 4, notes, "identifiers")
    return CaseBundle(
        case=case,
        transactions=txns,
        customers=customers,
        reports=reports,
        identifiers=identifiers,
        platform_events=events,
        media_sightings=media,
        alerts=tuple(alerts),
        org=org or OrgSettings(),
        notes=tuple(notes),
        **({"generated_at": generated_at} if generated_at else {}),
    )
