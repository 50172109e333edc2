"""The four platform detectors side by side against one plain DuckDB pass (issue #16).

    .venv/bin/python benchmarks/platform_speed.py --events 1000000 --repeat 3
    .venv/bin/python benchmarks/platform_speed.py --events 10000000 --delete
    .venv/bin/python benchmarks/platform_speed.py --events 10000000 --only grooming --repeat 3
    git show 33ad4bd~1:src/daybreak/platform/ads.py > /tmp/ads_v4.py
    .venv/bin/python benchmarks/platform_speed.py --events 10000000 --only recruitment_ads \\
        --plan recruitment_ads=/tmp/ads_v4.py --repeat 2

Target: "every detector runs on 10 M platform events in <= 3x one DuckDB pass over them".
One folder of synthesised Parquet files (numpy, no world generator) feeds all four:
``platform_events`` (``--events`` rows: logins, friend requests, messages, calls and
streams on four services, one account per 20 events, a third of them minors),
``platform_accounts`` (one row per account), ``customers`` and
``identifiers`` (every other account belongs to a bank customer), ``transactions`` (one
per five events, a tenth of them abroad) and ``platform_ads`` (one per twenty events;
one in fifty draws its phone and handle from a small pool, so that some recur).

The baseline is the payments benchmark's form of pass: a group-by over the key the
detectors join on, read in place from Parquet (``SELECT account_id, count(*),
max(started_at) ... GROUP BY 1``). A detector that also reads ``transactions`` is compared
with the events pass plus one pass over the transactions (group by sender), and the ads
detector, which reads only ``platform_ads``, with one pass over that table; the ratio to
the events pass alone is printed too. Each detector (``run_parquet``: the whole pipeline,
alerts and explanations fetched) and the passes are timed alternately ``--repeat`` times;
the ratio of medians is the figure. ``--delete`` removes the folder afterwards.
``--plan DETECTOR=FILE`` times an earlier plan of a detector too, in the same
alternation (a module defining ``compile_pipeline`` and the ``*_QUERY`` strings, e.g.
``git show`` of an earlier version), so before and after are measured side by side.

Who contacts whom. Accounts belong to communities within their service: families (6
accounts), gaming groups (12) and school classes (30), each with one country and a mix
of ages (a third minors, as overall). 80% of an account's contacts are with a member of
its own community, of any age (parents, teachers, coaches and the minors' friends know
each other); the rest go to a random account of the same age group, except one in 200
that goes to any account (so a few strangers of the other age group). One adult in 2,000 is planted as fan-out: 30 contact
events (friend requests, messages, calls) with random minors of its service. Why: with
contacts drawn at random across 500,000 accounts, cross-age contacts almost never share
a neighbour, so about 200,000 adults looked like groomers (an earlier run: 199,534
alerts at 10 M) and building their alerts was most of the time; real cross-age contact
happens inside families, schools and clubs, whose minors know each other. The volume
does not change (every event, minor-minor circle and triangle is still there for the
detector to join); only who is connected to whom does, and the planted adults are the
expected alerts (25 at 1 M, 250 at 10 M). Every account has its own device and IP
address (an earlier draft gave 65,000 addresses in all, so at 10 M about eight unrelated
accounts shared each, became each other's "siblings", and 14,516 adults alerted).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import polars as pl

from daybreak.engines import ads, grooming, sextortion
from daybreak.engines import stream_payment as coincidence
from stream_payment import _prefixed, _times, write_bank  # the sibling benchmark's

TARGET_RATIO = 3.0
SERVICES = ("streamly", "hoopla", "kinnect", "chatterbox")
COUNTRIES = np.array(["AU", "GB", "US", "PH", "NG", "IN"])
EVENT_MIX = (("login", 0.45), ("friend_request", 0.05), ("message", 0.35), ("call", 0.13),
             ("stream", 0.02))  # fmt: skip


COMMUNITY_SIZES = ((6, 0.5), (12, 0.3), (30, 0.2))  # families, gaming groups, school classes
IN_COMMUNITY = 0.8  # contacts with a member of one's own community
CROSS_AGE_STRANGERS = 0.005  # outside contacts that may go to any age group
FAN_OUT_SHARE = 1 / 2000  # adults who reach out to many unrelated minors (planted)
FAN_OUT_TARGETS = 30  # contact events of each of them with random minors


@dataclass(frozen=True)
class Communities:
    """Accounts grouped into communities within each service (``order`` lists the
    accounts community by community; community ``k`` is ``order[start[k]:start[k] +
    size[k]]``), each with one country."""

    of: np.ndarray  # account -> its community
    order: np.ndarray
    start: np.ndarray
    size: np.ndarray

    def member(self, rng: np.random.Generator, community: np.ndarray) -> np.ndarray:
        """A random member of each given community."""
        pick = (
            self.start[community] + rng.integers(0, 1 << 30, len(community)) % self.size[community]
        )
        return np.asarray(self.order[pick])


def communities(rng: np.random.Generator, accounts: int) -> Communities:
    sizes, probs = zip(*COMMUNITY_SIZES, strict=True)
    ids = np.arange(accounts)
    order = np.concatenate([rng.permutation(ids[ids % 4 == s]) for s in range(4)])
    drawn = rng.choice(sizes, accounts // min(sizes) + 1, p=probs)
    start = np.concatenate([[0], np.cumsum(drawn)])
    k = int(np.searchsorted(start, accounts, side="left"))
    start, size = start[:k], np.minimum(drawn[:k], accounts - start[:k])
    of = np.empty(accounts, np.int64)
    of[order] = np.searchsorted(start, np.arange(accounts), side="right") - 1
    return Communities(of, order, start, size)


def _counterparts(
    rng: np.random.Generator, actor: np.ndarray, minor: np.ndarray, c: Communities
) -> np.ndarray:
    """Most contacts stay in the actor's community (any age); the rest go to a random
    account of the actor's own age group, and a few to a stranger of the other."""
    n, accounts = len(actor), len(minor)
    other = c.member(rng, c.of[actor])
    outside = rng.random(n) >= IN_COMMUNITY
    other[outside] = rng.integers(0, accounts, int(outside.sum()))
    stranger = rng.random(n) < CROSS_AGE_STRANGERS
    for _ in range(4):  # redraw outside contacts that crossed age groups by chance
        redraw = outside & ~stranger & (minor[other] != minor[actor])
        other[redraw] = rng.integers(0, accounts, int(redraw.sum()))
    return np.minimum(other - other % 4 + actor % 4, accounts - 1)  # same service


def _fan_out(
    rng: np.random.Generator, actor: np.ndarray, other: np.ndarray, etype: np.ndarray,
    minor: np.ndarray,
) -> None:  # fmt: skip
    """Rewrite some contact events as planted fan-out: a few adults reaching out to
    ``FAN_OUT_TARGETS`` random minors each (friend request, then message or call)."""
    adults = np.flatnonzero(~minor)
    minors = np.flatnonzero(minor)
    fans = rng.choice(adults, max(1, int(len(minor) * FAN_OUT_SHARE)), replace=False)
    contacts = np.flatnonzero(etype != 0)  # not logins
    rows = rng.choice(contacts, min(len(contacts), len(fans) * FAN_OUT_TARGETS), replace=False)
    actor[rows] = np.repeat(fans, FAN_OUT_TARGETS)[: len(rows)]
    by_service = [minors[minors % 4 == s] for s in range(4)]
    for s in range(4):  # minors on the fan's own service
        on = rows[actor[rows] % 4 == s]
        other[on] = rng.choice(by_service[s], len(on))
    etype[rows] = rng.choice([1, 2, 3], len(rows), p=[0.5, 0.3, 0.2])


def _events(
    folder: Path, rng: np.random.Generator, events: int, minor: np.ndarray, c: Communities
) -> None:
    accounts = len(minor)
    names, probs = zip(*EVENT_MIX, strict=True)
    etype = rng.choice(len(names), events, p=np.array(probs) / sum(probs))
    actor = rng.integers(0, accounts, events)
    other = _counterparts(rng, actor, minor, c)
    _fan_out(rng, actor, other, etype, minor)
    started = _times(rng, events)
    pl.select(
        event_id=_prefixed("E", np.arange(events)),
        service=pl.Series(np.array(SERVICES)[actor % 4]),
        event_type=pl.Series(np.array(names)[etype]),
        account_id=_prefixed("a", actor),
        counterparty_account_id=pl.when(pl.Series(etype == 0))
        .then(pl.lit(None, pl.String))
        .otherwise(_prefixed("a", other)),
        started_at=started,
        ended_at=started + pl.duration(minutes=20),
        # one address per account: a shared one (carrier NAT) would make unrelated
        # accounts each other's siblings, which the synthesis does not set out to model
        ip=pl.lit("10.")
        + pl.Series((actor >> 16) % 256).cast(pl.String)
        + pl.lit(".")
        + pl.Series((actor >> 8) % 256).cast(pl.String)
        + pl.lit(".")
        + pl.Series(actor % 256).cast(pl.String),
        device_id=_prefixed("dev-", actor),
        country=pl.Series(COUNTRIES[c.of[actor] % len(COUNTRIES)]),
    ).write_parquet(folder / "platform_events.parquet")


def _accounts(folder: Path, rng: np.random.Generator, minor: np.ndarray, c: Communities) -> None:
    ids = np.arange(len(minor))
    pl.select(
        service=pl.Series(np.array(SERVICES)[ids % 4]),
        account_id=_prefixed("a", ids),
        created_at=_times(rng, len(ids)) - pl.duration(days=365),
        age_band=pl.Series(np.where(minor, "13-15", "25+")),
        is_minor=pl.Series(minor),
        country=pl.Series(COUNTRIES[c.of % len(COUNTRIES)]),
        verified=pl.lit(False),
    ).write_parquet(folder / "platform_accounts.parquet")


def _bank(folder: Path, rng: np.random.Generator, accounts: int, transactions: int) -> None:
    """Customers own every other account (minors' accounts tie to their family's customer)."""
    owned = np.arange(0, accounts, 2)
    customers = len(owned)
    pl.select(
        source=pl.lit("customers"),
        source_id=_prefixed("C", np.arange(customers)),
        kind=pl.lit("account"),
        value=pl.Series(np.array(SERVICES)[owned % 4]) + _prefixed(":a", owned),
        role=pl.lit("customer"),
        seen_at=pl.lit(None, pl.Datetime("us", "UTC")),
    ).write_parquet(folder / "identifiers.parquet")
    write_bank(folder, rng, customers, transactions)


def _ads(folder: Path, rng: np.random.Generator, n: int, accounts: int) -> None:
    """Most ads give their own contact details; one in fifty draws its phone and handle
    from a small pool, so those recur (a few hundred reused details per million ads)."""
    reused = rng.random(n) < 0.02
    pool = rng.integers(0, max(10, n // 2000), n)
    detail = np.where(reused, pool, n + np.arange(n))
    pl.select(
        ad_id=_prefixed("AD", np.arange(n)),
        service=pl.Series(np.array(SERVICES)[rng.integers(0, 4, n)]),
        record_type=pl.Series(np.where(rng.random(n) < 0.7, "ad", "profile")),
        account_id=_prefixed("a", rng.integers(0, accounts, n)),
        posted_at=_times(rng, n),
        city=_prefixed("city", rng.integers(0, 200, n)),
        country=pl.Series(COUNTRIES[rng.integers(0, len(COUNTRIES), n)]),
        category=pl.Series(np.array(["online_job", "model", "hospitality"])[rng.integers(0, 3, n)]),
        contact_phone=_prefixed("+61400", detail),
        payment_handle=_prefixed("wallet:h", detail),
        photo_pdq=pl.lit(None, pl.String),
    ).write_parquet(folder / "platform_ads.parquet")


def synthesise(folder: Path, events: int, seed: int = 1) -> None:
    """The six input tables of the four detectors, sized from ``events``."""
    rng = np.random.default_rng(seed)
    minor = rng.random(max(1000, events // 20)) < 0.33
    c = communities(rng, len(minor))
    _events(folder, rng, events, minor, c)
    _accounts(folder, rng, minor, c)
    _bank(folder, rng, len(minor), events // 5)
    _ads(folder, rng, max(100, events // 20), len(minor))


PASSES = {
    "events": "SELECT account_id, count(*) AS n, max(started_at) AS last "
    "FROM read_parquet('{folder}/platform_events.parquet') GROUP BY account_id",
    "transactions": "SELECT sender_id, count(*) AS n, max(timestamp) AS last "
    "FROM read_parquet('{folder}/transactions.parquet') GROUP BY sender_id",
    "ads": "SELECT contact_phone, count(*) AS n, max(posted_at) AS last "
    "FROM read_parquet('{folder}/platform_ads.parquet') GROUP BY contact_phone",
}
# detector -> (its run_parquet, the passes over the tables it reads)
DETECTORS: dict[str, tuple[Callable[[Path], Any], tuple[str, ...]]] = {
    "grooming": (grooming.run_parquet, ("events",)),
    "stream_payment": (coincidence.run_parquet, ("events", "transactions")),
    "sextortion": (sextortion.run_parquet, ("events", "transactions")),
    "recruitment_ads": (ads.run_parquet, ("ads",)),
}


def load_plan(path: Path) -> ModuleType:
    """A plan module from a file (e.g. an earlier version of a detector's module)."""
    spec = importlib.util.spec_from_file_location(f"plan_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


ENGINES: dict[str, ModuleType] = {"grooming": grooming, "stream_payment": coincidence,
                                  "sextortion": sextortion, "recruitment_ads": ads}  # fmt: skip


def with_plan(name: str, path: Path) -> Callable[[Path], Any]:
    """``name``'s ``run_parquet`` running the plan in ``path`` (its ``compile_pipeline``
    and ``*_QUERY`` strings in place of the current ones, as the plan-equivalence test
    swaps them)."""
    engine, plan = ENGINES[name], load_plan(path)
    swapped = [n for n in vars(engine) if n.endswith("_QUERY")] + ["compile_pipeline"]

    def run(folder: Path) -> Any:
        current = {n: getattr(engine, n) for n in swapped}
        try:
            for n in swapped:
                setattr(engine, n, getattr(plan, n))
            return engine.run_parquet(folder)
        finally:
            for n, v in current.items():
                setattr(engine, n, v)

    return run


def _time_pass(sql: str) -> float:
    import duckdb

    con = duckdb.connect()
    t = time.perf_counter()
    con.sql(sql).to_arrow_table()
    seconds = time.perf_counter() - t
    con.close()
    return seconds


def measure(
    folder: Path, repeat: int, only: tuple[str, ...] = (), plans: tuple[str, ...] = ()
) -> None:
    chosen = {n: d for n, d in DETECTORS.items() if not only or n in only}
    for spec in plans:  # DETECTOR=FILE: that detector's earlier plan, timed beside it
        name, _, path = spec.partition("=")
        if name not in DETECTORS or not path:
            raise SystemExit(f"--plan {spec}: expected DETECTOR=FILE, DETECTOR one of "
                             f"{', '.join(sorted(DETECTORS))}")  # fmt: skip
        chosen[f"{name} ({Path(path).name})"] = (with_plan(name, Path(path)), DETECTORS[name][1])
    pass_s: dict[str, list[float]] = {name: [] for name in PASSES}
    det_s: dict[str, list[float]] = {name: [] for name in chosen}
    alerts: dict[str, int] = {}
    for _ in range(repeat):
        for name, sql in PASSES.items():
            pass_s[name].append(_time_pass(sql.format(folder=folder)))
        for name, (run, _) in chosen.items():
            t = time.perf_counter()
            alerts[name] = len(run(folder).alerts)
            det_s[name].append(time.perf_counter() - t)
    rows = pl.scan_parquet(folder / "platform_events.parquet").select(pl.len()).collect().item()
    p = {name: statistics.median(runs) for name, runs in pass_s.items()}
    print(f"{rows:,} platform events; passes (median of {repeat}): "
          + ", ".join(f"{n} {s:.2f} s" for n, s in p.items()))  # fmt: skip
    print(f"{'detector':<16}{'seconds':>9}{'alerts':>8}{'÷ its passes':>14}{'÷ events pass':>15}")
    for name, (_, reads) in chosen.items():
        d = statistics.median(det_s[name])
        base = sum(p[r] for r in reads)
        verdict = "ok" if d / base <= TARGET_RATIO else "over"
        print(f"{name:<16}{d:>9.2f}{alerts[name]:>8}{d / base:>13.2f}x{d / p['events']:>14.2f}x"
              f"  {verdict} (target <= {TARGET_RATIO}x; runs {[round(s, 2) for s in det_s[name]]})")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--delete", action="store_true", help="remove the files afterwards")
    ap.add_argument("--only", nargs="+", choices=sorted(DETECTORS), default=(),
                    help="time only these detectors (default: all four)")  # fmt: skip
    ap.add_argument("--plan", action="append", default=[], metavar="DETECTOR=FILE",
                    help="also time an earlier plan of DETECTOR (a module file)")  # fmt: skip
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "daybreak-pspeed")
    args = ap.parse_args()
    folder = args.work / f"events-{args.events}"
    if not (folder / "platform_ads.parquet").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        synthesise(folder, args.events)
        print(f"synthesised in {time.perf_counter() - t:.1f} s -> {folder}")
    try:
        measure(folder, args.repeat, tuple(args.only), tuple(args.plan))
    finally:
        if args.delete:
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
