"""An exchange sync end to end: N new PDQ hashes fetched from a local StopNCII server
(tests/connectors/exchange_servers.py, 127.0.0.1) through python-threatexchange's
client, applied to a bank in a SQLite store, then matched by a live matcher that picks
the change up without a rebuild. Prints where the time goes (fetch and store, bank
writes, the live index catching up).

    .venv/bin/python benchmarks/exchange_sync.py --hashes 100K
    .venv/bin/python benchmarks/exchange_sync.py --hashes 1M --bank 10M   # into a 10 M bank
    .venv/bin/python benchmarks/exchange_sync.py --hashes 1M --bank 10M --queries \\
        --cache /tmp/exchange-sync-bench       # issue #17's target, queries throughout

With ``--bank N`` the bank first lists N other random PDQ hashes (written as one part,
not timed) and the live matcher is built over them before the sync starts.

With ``--queries`` the sync runs as it is deployed: in its own process (``daybreak
media exchange sync``, here this script with ``--child``; the local exchange server is
a thread of it, so its CPU counts in the sync's), while this process keeps a live
matcher over the bank and one thread queries it without pause through
``MediaMatcher.match_pdq`` (one near-duplicate query at a time, as a server would),
for ``--quiet`` seconds before the sync (the quiet index) and until the live index has
taken and merged every new hash. The matcher catches up as a server's does: the
queries notice the bank's change and a background thread adds it. Printed: the
sync's wall and CPU per hash, when the new hashes were searchable and merged (counted
from the sync's start), and the query latency p50 / p99 / max and the count over
100 ms on the quiet index beside the same during the sync. The bank and its saved
live index are setup, built once and kept under ``--cache`` (each run syncs into a
copy of the bank).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "connectors"))

from exchange_servers import (  # noqa: E402
    STOPNCII_PREFIX,
    Exchange,
    StopNciiHandler,
    StopNciiRecord,
    serve,
)

from daybreak.connectors import hash_exchange  # noqa: E402
from daybreak.media import index as index_module  # noqa: E402
from daybreak.media.banks import ENTRY_SCHEMA, BankStore  # noqa: E402
from daybreak.media.index import format_pdq  # noqa: E402
from daybreak.media.matcher import MediaMatcher, pdq_words  # noqa: E402
from daybreak.store import TiplineStore  # noqa: E402
from daybreak.store.auth import Actor, Role  # noqa: E402
from media_index import parse_size  # noqa: E402
from media_index_sync import Prober, Ticker, gaps, near, print_trace, stats  # noqa: E402

SECRET = "fetch-key,subscription-key,feedback-key"
ADMIN = Actor("bench", Role.ADMIN)
SAMPLE = 200  # new hashes checked to be found once the live index has them


def random_entries(n: int, seed: int = 7) -> pl.DataFrame:
    """``n`` random PDQ entries as a bank frame, made column-wise (no object per row)."""
    raw = np.random.default_rng(seed).integers(0, 256, size=(n, 32), dtype=np.uint8)
    # hex digits made in numpy: the bytes as "S32" would lose their trailing zero bytes
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    text = np.stack([digits[raw >> 4], digits[raw & 15]], axis=-1).reshape(n, 64)
    hashes = pl.Series("hash", text.view("S64").ravel(), dtype=pl.Binary).cast(pl.String)
    return pl.DataFrame({"hash_type": pl.repeat("pdq", n, eager=True), "hash": hashes}).select(
        "hash_type",
        "hash",
        pl.lit(["other"], ENTRY_SCHEMA["labels"]).alias("labels"),
        pl.lit(datetime.now(UTC), ENTRY_SCHEMA["added_at"]).alias("added_at"),
    )


def new_hash(i: int) -> str:
    """The exchange's i-th new PDQ hash."""
    return hashlib.sha256(f"bench {i}".encode()).hexdigest()


def fill_bank(banks: BankStore, listed: int) -> None:
    banks.create("ncii")
    if listed:
        t = time.perf_counter()
        banks.add_frame("ncii", random_entries(listed))
        print(f"bank filled with {listed:,} hashes in {time.perf_counter() - t:.1f} s")


def sync(root: Path, n: int, page: int) -> dict[str, Any]:
    """Serve ``n`` new hashes at a local StopNCII and sync them into the bank of the
    store under ``root``; returns the figures (times as ``time.time()`` where other
    processes compare them)."""
    records = [StopNciiRecord(new_hash(i), "ImagePDQ", 100 + i) for i in range(n)]
    ex = Exchange(SECRET, page_size=page, entries=records, presorted=True)
    with (
        serve(StopNciiHandler, ex, STOPNCII_PREFIX) as base,
        TiplineStore.open(root / "data", dev=True) as store,
    ):
        banks = store.banks.open(root / "banks", ADMIN)
        store.exchanges.add(ADMIN, "ncii", "stop_ncii", "ncii", {"endpoint": base}, "BENCH")
        flushes: list[tuple[float, float]] = []  # (start, seconds) of each bank write
        real_flush = hash_exchange._BankChanges.flush

        def timed_flush(self: hash_exchange._BankChanges) -> None:
            t = time.time()
            real_flush(self)
            flushes.append((t, time.time() - t))

        hash_exchange._BankChanges.flush = timed_flush  # type: ignore[method-assign]
        started, t, cpu = time.time(), time.perf_counter(), time.process_time()
        report = hash_exchange.sync_exchange(
            store.exchanges, ADMIN, banks, "ncii", {"BENCH": SECRET}
        )
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    return {
        "started": started,
        "wall": wall,
        "cpu": cpu,
        "added": report.hashes_added,
        "pages": report.pages,
        "flushes": flushes,
    }


def print_sync(n: int, done: dict[str, Any]) -> None:
    wall, cpu, flushes = done["wall"], done["cpu"], done["flushes"]
    print(
        f"{done['added']:,} hashes in {done['pages']:,} pages synced in {wall:.1f} s "
        f"({done['added'] / wall:,.0f} hashes/s), of which bank writes "
        f"{sum(s for _, s in flushes):.1f} s in {len(flushes)} write(s)"
    )
    # CPU time is disturbed less than wall time by other jobs on the machine; it counts
    # the local exchange server too (a thread of the sync's process).
    print(
        f"sync CPU {cpu:.1f} s ({cpu / n * 1e6:.0f} us/hash, exchange server included): "
        f"{n / cpu:,.0f} hashes per CPU-second"
    )


def in_process(n: int, page: int, listed: int) -> None:
    """The sync and the live matcher in this process, the matcher caught up after."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with TiplineStore.open(root / "data", dev=True) as store:
            banks = store.banks.open(root / "banks", ADMIN)
            fill_bank(banks, listed)
            t = time.perf_counter()
            matcher = MediaMatcher.build(banks)
            print(f"live matcher built in {time.perf_counter() - t:.1f} s")
            done = sync(root, n, page)
            t = time.perf_counter()
            matcher.store.reload_if_changed()
            matcher.sync()  # the live index takes the new entries (no rebuild)
            caught_up = time.perf_counter() - t
            found = matcher.match_pdq([new_hash(n // 2)])
    print_sync(n, done)
    print(f"live matcher caught up in {caught_up:.1f} s; a new hash matches: {bool(found)}")


def cached_bank(cache: Path, listed: int) -> Path:
    """A store whose bank lists ``listed`` random hashes, with its live index saved
    (``index/``), built once under ``cache``."""
    folder = cache / f"bank-{listed}"
    if (folder / "ready").exists():
        with TiplineStore.open(folder / "data", dev=True) as store:
            segments = store.banks.open(folder / "banks", ADMIN).segments("ncii")
            for part in segments.parts():
                segments.digests(part)  # a cache built before key digests gets them once
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with TiplineStore.open(folder / "data", dev=True) as store:
        banks = store.banks.open(folder / "banks", ADMIN)
        fill_bank(banks, listed)
        t = time.perf_counter()
        MediaMatcher.build(banks).save(folder / "index")
        print(f"live index built and saved in {time.perf_counter() - t:.1f} s")
    (folder / "ready").touch()
    return folder


def queries_during_sync(n: int, page: int, listed: int, cache: Path, quiet: float) -> None:
    """The sync in its own process while this one queries a live matcher throughout."""
    bank = cached_bank(cache, listed)
    run = Path(tempfile.mkdtemp(prefix="run-", dir=cache))
    try:
        for part in ("data", "banks"):
            shutil.copytree(bank / part, run / part)
        with TiplineStore.open(run / "data", dev=True) as store:
            measure(store.banks.open(run / "banks", ADMIN), bank / "index", run, n, page, quiet)
    finally:
        shutil.rmtree(run, ignore_errors=True)


def measure(banks: BankStore, index: Path, run: Path, n: int, page: int, quiet: float) -> None:
    t = time.perf_counter()
    matcher = MediaMatcher.load(banks, index)  # memory-mapped: the saved files are not written
    matcher.index.warm()  # in RAM, as a server's after its warm-up
    print(f"live matcher loaded in {time.perf_counter() - t:.1f} s ({len(matcher.index):,} hashes)")
    rng = np.random.default_rng(17)
    listed = matcher.index.hashes[rng.integers(0, matcher.index.hashes.shape[0], size=2000)]
    fresh = pdq_words(pl.Series([new_hash(int(i)) for i in rng.integers(0, n, size=2000)]))
    queries = format_pdq(near(np.concatenate([listed, fresh]), rng))
    prober = Prober(lambda i: matcher.match_pdq([queries[i % len(queries)]]))
    probe = threading.Thread(target=prober.run, daemon=True)
    probe.start()
    ticker = Ticker()  # a thread that only sleeps: its late wakes are the GIL or the CPU
    threading.Thread(target=ticker.run, daemon=True).start()
    time.sleep(quiet)
    mark = len(prober.samples)

    cpu = time.process_time()
    child = subprocess.run(
        [sys.executable, __file__, "--child", str(run), "--hashes", str(n), "--page", str(page)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    done = json.loads(child.stdout.splitlines()[-1])
    matcher.catch_up()  # what the last write changed (a query would notice it too)
    matcher.wait_caught_up()
    searchable = time.time()
    matcher.index.wait_merged()
    matcher.index.merge_delta()  # the rest of the delta (added while the last merge ran)
    merged = time.time()
    prober.stop.set()
    probe.join()
    ticker.stop.set()
    cpu = time.process_time() - cpu

    print_sync(n, done)
    start = done["started"]
    writes = [s for s, _ in done["flushes"]]
    print(
        f"from the sync's start: bank write(s) began at "
        f"{', '.join(f'{s - start:.1f}' for s in writes)} s; every new hash searchable at "
        f"{searchable - start:.1f} s, merged into the postings at {merged - start:.1f} s "
        f"(target <= 60 s); this process's CPU meanwhile (queries, catch-up) {cpu:.1f} s"
    )
    sample = [new_hash(int(i)) for i in rng.integers(0, n, size=SAMPLE)]
    found = {m.query for m in matcher.match_pdq(sample, 0)}
    print_latency(prober.samples[:mark], prober.samples[mark:], ticker.late, start, writes[-1])
    print(f"new hashes found exactly: {len(found)}/{SAMPLE}")
    if index_module.TRACE is not None:  # DAYBREAK_INDEX_TRACE=1: the catch-up's steps
        since = done["started"] - (time.time() - time.perf_counter())
        print_trace([s for s in prober.samples[mark:] if s[0] >= since], ticker, slow_ms=100)
    if len(found) != SAMPLE:
        raise SystemExit("RECALL ERROR: synced hashes not found")


def print_latency(
    quiet: list[tuple[float, float]],
    busy: list[tuple[float, float]],
    late: list[tuple[float, float]],
    start: float,
    write: float,
) -> None:
    """Latency per phase, with the ticker's wakes over 10 ms late in it; the prober's
    start times are perf_counter, the marks wall clock: converted through the offset
    between the two now."""
    offset = time.time() - time.perf_counter()
    store = [s for s in busy if s[0] + offset < write]
    after = [s for s in busy if s[0] + offset >= write]
    print(
        f"{'queries':46} {'count':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'>100 ms':>8} {'gap ms':>8} {'late wakes, longest ms':>23}"
    )
    phases = (
        ("quiet index (before the sync)", quiet),
        ("during the sync: fetch and store", store),
        ("during the sync: last bank write, catch-up", after),
        ("during the sync: all", busy),
    )
    for name, samples in phases:
        if not samples:
            continue
        s = stats([lat for _, lat in samples])
        first, last = samples[0][0], samples[-1][0] + samples[-1][1]
        wakes = [g * 1000 for t, g in late if first <= t < last]
        print(
            f"{name:46} {s['queries']:7.0f} {s['p50_ms']:8.2f} {s['p99_ms']:8.2f} "
            f"{s['max_ms']:8.1f} {s['over_100ms']:8.0f} {gaps(samples):8.1f} "
            f"{len(wakes):12} {max(wakes, default=0):10.1f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--hashes", default="100K", help="new hashes at the exchange")
    ap.add_argument("--page", type=int, default=800, help="records per page (StopNCII: 800)")
    ap.add_argument("--bank", default="0", help="hashes the bank lists before the sync")
    ap.add_argument("--queries", action="store_true", help="query a live matcher throughout")
    ap.add_argument("--quiet", type=float, default=10.0, help="seconds of queries before")
    ap.add_argument("--cache", type=Path, help="--queries: where the bank is built once and kept")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)  # --queries' sync process
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    n, listed = parse_size(args.hashes), parse_size(args.bank)
    if args.child:
        print(json.dumps(sync(args.child, n, args.page)))
    elif args.queries:
        cache = args.cache or Path(tempfile.gettempdir()) / "daybreak-exchange-sync"
        queries_during_sync(n, args.page, listed, cache, args.quiet)
    else:
        in_process(n, args.page, listed)


if __name__ == "__main__":
    main()
