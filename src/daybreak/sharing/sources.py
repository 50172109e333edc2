"""Where the identifiers to share come from: chosen cases, a kind,value CSV or (only
when asked for explicitly) every identifier of a world.

The institution's own customers' identifiers (rows of the world's ``identifiers``
table with ``source = customers``: the e-mails, phones and accounts the institution
holds as KYC) are left out of case and world sets unless the caller asks for them:
a match on one tells the other member "this person is our customer".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from daybreak.graph.loader import WorldError, load_world
from daybreak.graph.resolution import resolve_exact
from daybreak.model.cases import Case
from daybreak.schema import SchemaError, read_table
from daybreak.schema.world import world_file
from daybreak.sharing.canonical import SHAREABLE_KINDS, ShareError, prepare

# Graph issues about these fields concern customer ids, which are never shared.
_INTERNAL_FIELDS = frozenset({"customer_id", "sender_id"})


def case_identifiers(cases: Iterable[Case]) -> list[tuple[str, str]]:
    """The shareable identifiers of the cases: their entity keys and subgraph nodes
    (customer ids, reports, media and hashes are not identifiers to share)."""
    found: dict[tuple[str, str], None] = {}
    for case in cases:
        for key in (*case.entity_keys, *(n.key for n in case.nodes)):
            kind, _, value = key.partition(":")
            if kind in SHAREABLE_KINDS and value:
                found[(kind, value)] = None
    return list(found)


def _identifier_rows(world: Path) -> pl.DataFrame:
    if not world.is_dir():
        raise ShareError(
            f"{world}: world folder not found; it tells your own customers' identifiers "
            "apart so they can be left out (pass --world, or --include-customer-identifiers "
            "to use them)"
        )
    path = world_file(world, "identifiers")
    if path is None:
        return pl.DataFrame(schema={"source": pl.String, "kind": pl.String, "value": pl.String})
    try:
        return read_table(path, "identifiers").frame
    except SchemaError as exc:
        raise ShareError(f"{path}: {exc}") from exc


def customer_identifiers(world: Path, region: str | None = None) -> frozenset[tuple[str, str]]:
    """The canonical identifiers the world holds as its own customers' (KYC)."""
    rows = _identifier_rows(world).filter(pl.col("source") == "customers")
    pairs = rows.select("kind", "value").drop_nulls().unique().iter_rows()
    return frozenset(prepare(pairs, region).identifiers)


@dataclass(frozen=True)
class Selection:
    """What will be shared: canonical identifiers, distinct and sorted; the values that
    did not normalise; and how many customers' own identifiers were withheld."""

    identifiers: tuple[tuple[str, str], ...]
    skipped: tuple[str, ...]
    withheld: int


def select(
    pairs: Iterable[tuple[str, str]],
    region: str | None = None,
    *,
    withhold: frozenset[tuple[str, str]] = frozenset(),
    skipped: Iterable[str] = (),
) -> Selection:
    prepared = prepare(pairs, region)
    kept = tuple(i for i in prepared.identifiers if i not in withhold)
    return Selection(kept, (*skipped, *prepared.skipped), len(prepared.identifiers) - len(kept))


def world_identifiers(world: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """Every identifier of the world: the graph's identifier nodes plus every raw row of
    its identifiers table (so a region can still read national-format numbers), and
    the values the graph could not read, outside the identifiers table."""
    try:
        frames = load_world(world)
    except (WorldError, SchemaError) as exc:
        raise ShareError(str(exc)) from exc
    links = resolve_exact(frames)
    out: list[tuple[str, str]] = []
    for key in links.nodes["key"].to_list():
        kind, _, value = key.partition(":")
        if kind in SHAREABLE_KINDS:
            out.append((kind, value))
    out += frames.identifiers.select("kind", "value").drop_nulls().iter_rows()
    issues = links.issues.filter(
        (pl.col("source") != "identifiers") & ~pl.col("field").is_in(sorted(_INTERNAL_FIELDS))
    )
    skipped = [
        f"{src} {rec} {field} {value!r}: {error}"
        for src, rec, field, value, error in issues.iter_rows()
    ]
    return out, skipped


def kind_counts(identifiers: Iterable[tuple[str, str]]) -> str:
    """``"3 account, 1 phone"``: what a set holds, for warnings."""
    counts = Counter(k for k, _ in identifiers)
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing"


def csv_identifiers(path: Path) -> list[tuple[str, str]]:
    try:
        df = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ShareError(f"{path}: unreadable ({exc})") from exc
    missing = {"kind", "value"} - set(df.columns)
    if missing:
        raise ShareError(f"{path}: missing column(s) {sorted(missing)}; expected kind,value")
    return [(str(k), str(v)) for k, v in df.select("kind", "value").drop_nulls().iter_rows()]
