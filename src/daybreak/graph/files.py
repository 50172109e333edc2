"""Reading and writing the graph's own files: alerts in, cases and graph out.

Like :mod:`daybreak.graph.loader`, the only I/O in the package; every error names the
file and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError

from daybreak.graph.matching import PersonMatches
from daybreak.graph.resolution import ExactLinks
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case
from daybreak.schema.results import read_cases


class InputFileError(ValueError):
    """A file that cannot be read as expected; the message names file and line."""


def _alert_from_row(row: dict[str, Any], where: str) -> Alert:
    row = dict(row)
    if "evidence_txn_ids" in row:  # the payments detector's file form
        row["evidence_ids"] = row.pop("evidence_txn_ids") or ()
        row.setdefault("evidence_source", "transactions")
    row.setdefault("detector", "payments")
    if not row.get("alert_id"):
        row["alert_id"] = f"{row['detector']}:{row.get('subject_type')}:{row.get('subject_id')}"
    for k in ("typologies", "evidence_ids"):
        if row.get(k) is None:
            row[k] = ()
    try:
        return Alert.model_validate(row)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise InputFileError(f"{where}: not an alert ({problems})") from None


def read_alerts(path: Path) -> list[Alert]:
    """Alerts from JSON lines or Parquet (the payments detector writes both)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: file not found")
    if path.suffix == ".parquet":
        return [
            _alert_from_row(r, f"{path}: row {i}")
            for i, r in enumerate(pl.read_parquet(path).iter_rows(named=True), start=1)
        ]
    out = []
    for n, row in _json_lines(path):
        if not isinstance(row, dict):
            raise InputFileError(f"{path}: line {n}: expected a JSON object")
        out.append(_alert_from_row(row, f"{path}: line {n}"))
    return out


def _json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, value) of each non-blank line of a JSON-lines file."""
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    yield n, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputFileError(f"{path}: line {n}: not JSON ({exc.msg})") from None


def read_media_matches(path: Path) -> list[dict[str, Any]]:
    """Media matches (sighting_id, account_id, bank, distance) from JSON lines or CSV."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: file not found")
    if path.suffix == ".csv":
        rows = pl.read_csv(path, infer_schema=False).to_dicts()
    else:
        rows = [row for _, row in _json_lines(path)]
    for n, r in enumerate(rows, start=1):
        missing = {"sighting_id", "bank", "distance"} - set(r)
        if missing:
            raise InputFileError(f"{path}: record {n}: missing {sorted(missing)}")
    return rows


def write_cases(path: Path, cases: Sequence[Case]) -> list[Case]:
    """Upsert ``cases`` into the JSON-lines file by case id; returns the full set."""
    merged = {c.case_id: c for c in read_cases(path, missing_ok=True)}
    merged.update({c.case_id: c for c in cases})
    ordered = sorted(merged.values(), key=lambda c: (-c.priority, c.case_id))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(c.model_dump_json() + "\n" for c in ordered), encoding="utf-8")
    tmp.replace(path)
    return ordered


def graph_files(
    links: ExactLinks, extra_edges: Sequence[pl.DataFrame], matches: PersonMatches | None
) -> tuple[dict[str, pl.DataFrame], dict[str, str]]:
    """The graph's tables by file name (Parquet or CSV by suffix) and its text files:
    nodes/edges, normalisation issues, splink's match weights and model (the m/u of
    each comparison level)."""
    tables = {
        "nodes.parquet": links.nodes,
        "edges.parquet": pl.concat([links.edges, *extra_edges]),
        "issues.csv": links.issues,
    }
    texts = {}
    if matches is not None:
        tables["match_weights.csv"] = matches.pairs.with_columns(
            [
                pl.col(c).list.join("|")
                for c, t in matches.pairs.schema.items()
                if isinstance(t, pl.List)
            ]
        )
        texts["splink_model.json"] = json.dumps(matches.model, indent=2) + "\n"
    return tables, texts


def write_graph(
    out: Path, links: ExactLinks, extra_edges: Sequence[pl.DataFrame], matches: PersonMatches | None
) -> dict[str, Path]:
    """:func:`graph_files` written to the folder ``out``."""
    return write_files(out, *graph_files(links, extra_edges, matches))


def write_files(
    out: Path, tables: Mapping[str, pl.DataFrame], texts: Mapping[str, str]
) -> dict[str, Path]:
    """Tables (CSV or Parquet by suffix) and texts into the folder ``out``; returns each
    file by its stem."""
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, frame in tables.items():
        if name.endswith(".csv"):
            frame.write_csv(out / name)
        else:
            frame.write_parquet(out / name)
        files[name.partition(".")[0]] = out / name
    for name, text in texts.items():
        (out / name).write_text(text, encoding="utf-8")
        files[name.partition(".")[0]] = out / name
    return files


def read_graph(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    nodes, edges = folder / "nodes.parquet", folder / "edges.parquet"
    for p in (nodes, edges):
        if not p.is_file():
            raise InputFileError(f"{p}: not found (run `daybreak graph build --out {folder}`)")
    return pl.read_parquet(nodes), pl.read_parquet(edges)
