"""An exchange sync's load on a live PDQ index: 1 M new hashes added to a 10 M-hash index
while queries keep coming, with the query latency during the adds side by side with the
same queries on the quiet index (issue #17's target: the adds done in <= 60 s, no pause
over 100 ms, no rebuild).

    .venv/bin/python benchmarks/media_index_sync.py                      # 10M + 1M
    .venv/bin/python benchmarks/media_index_sync.py --base 1M --add 100K   # quick

How: the base index is built once (not timed against the target). One thread queries
without pause, one near-duplicate query at a time, and records each query's latency;
for ``--quiet`` seconds on the untouched index, then while another thread adds the new
hashes in batches of ``--batch`` (as a sync applies pages) through ``HashIndex.add``:
each batch is searchable at once in the delta segment, which is merged into the
postings in a background thread with a read/write swap (no rebuild). The adds count
as done when the last batch is added and the last merge has finished. Afterwards a
sample of the new hashes is checked to be found (exact).

With ``DAYBREAK_INDEX_TRACE=1`` the index records each lock wait/hold and merge step
(``daybreak.media.index.TRACE``) and a ticker thread records how late its 1 ms sleeps
wake (a late wake means the GIL or the machine kept every thread waiting); the slowest
queries are printed at the end with what overlapped them.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from daybreak.media import index as index_module
from daybreak.media.index import HashIndex
from media_index import parse_size  # the benchmarks' folder is on sys.path

D = 31


def random_hashes(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64)


def near(hashes: np.ndarray, rng: np.random.Generator, bits: int = 8) -> np.ndarray:
    """A copy of ``hashes`` with ``bits`` random bits flipped in each."""
    out = hashes.copy()
    for _ in range(bits):
        word = rng.integers(0, 4, size=out.shape[0])
        bit = rng.integers(0, 64, size=out.shape[0]).astype(np.uint64)
        out[np.arange(out.shape[0]), word] ^= np.uint64(1) << bit
    return out


class Prober:
    """Queries one at a time without pause (``query(i)`` runs the i-th); records (start
    time, latency) of each."""

    def __init__(self, query: Callable[[int], object]) -> None:
        self.query = query
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            t = time.perf_counter()
            self.query(i)
            self.samples.append((t, time.perf_counter() - t))
            i += 1


class Ticker:
    """Sleeps 1 ms at a time and records the wakes that came late (start, gap in s)."""

    def __init__(self) -> None:
        self.late: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        last = time.perf_counter()
        while not self.stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            if now - last > 0.01:
                self.late.append((last, now - last))
            last = now


def print_trace(samples: list[tuple[float, float]], ticker: Ticker, slow_ms: float = 50) -> None:
    """The index's slowest traced steps, then each slow query with what overlapped it."""
    trace = index_module.TRACE or []
    events = [(label, s / 1e9, d / 1e9) for label, s, d in trace]
    totals: dict[str, list[float]] = {}
    for label, _, d in events:
        totals.setdefault(label, []).append(d * 1000)
    print(f"\ntrace: {'step':32} {'count':>7} {'total ms':>9} {'max ms':>8}")
    for label, ds in sorted(totals.items(), key=lambda kv: -max(kv[1])):
        print(f"       {label:32} {len(ds):7} {sum(ds):9.1f} {max(ds):8.1f}")
    merges = [(s, s + d) for label, s, d in events if label == "merge: build new arrays"]
    busy_from = samples[0][0] if samples else 0.0
    phases: dict[str, list[float]] = {
        "quiet index": [],
        "adds, outside merges": [],
        "adds, during merges": [],
    }
    for s, g in ticker.late:
        in_merge = any(a <= s < b for a, b in merges)
        phase = (
            "quiet index"
            if s < busy_from
            else "adds, during merges"
            if in_merge
            else "adds, outside merges"
        )
        phases[phase].append(g * 1000)
    print("late ticker wakes (> 10 ms; a thread that only sleeps 1 ms: GIL or CPU starvation):")
    for phase, gs in phases.items():
        print(f"    {phase:22} {len(gs):5} late, longest {max(gs, default=0):6.1f} ms")
    print(f"    merges took {sum(b - a for a, b in merges):.1f} s in all")
    for start, lat in samples:
        if lat * 1000 <= slow_ms:
            continue
        end = start + lat
        print(f"slow query {lat * 1000:.1f} ms; overlapping (> 2 ms):")
        for label, s, d in events:
            if s < end and s + d > start and d > 0.002:
                print(f"    {label:32} {d * 1000:8.1f} ms from {(s - start) * 1000:+8.1f} ms")
        for s, g in ticker.late:
            if s < end and s + g > start:
                print(
                    f"    ticker woke late by           {g * 1000:8.1f} ms from {(s - start) * 1000:+8.1f} ms"
                )


def stats(lat: list[float]) -> dict[str, float]:
    a = np.array(lat) * 1000
    return {
        "queries": float(a.size),
        "p50_ms": float(np.percentile(a, 50)),
        "p99_ms": float(np.percentile(a, 99)),
        "max_ms": float(a.max()),
        "over_100ms": float((a > 100).sum()),
    }


def gaps(samples: list[tuple[float, float]]) -> float:
    """The longest time between two queries' starts (a pause the prober itself saw)."""
    starts = np.array([s for s, _ in samples])
    return float(np.diff(starts).max() * 1000) if starts.size > 1 else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--base", default="10M", help="hashes in the live index (default 10M)")
    ap.add_argument("--add", default="1M", help="hashes a sync adds (default 1M)")
    ap.add_argument("--batch", type=int, default=10_000, help="hashes per add (a sync page)")
    ap.add_argument("--quiet", type=float, default=10.0, help="seconds of quiet queries")
    ap.add_argument(
        "--pace",
        type=float,
        default=0.0,
        help="spread the adds over this many seconds, as a sync's pages arrive "
        "(default 0: as fast as possible, the worst case for the queries)",
    )
    ap.add_argument("--seed", type=int, default=17)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    base_n, add_n = parse_size(args.base), parse_size(args.add)

    t = time.perf_counter()
    index = HashIndex.build(random_hashes(base_n, rng), D)
    print(f"base index: {base_n:,} hashes built in {time.perf_counter() - t:.1f} s "
          f"({index.nbytes() / 2**20:.0f} MiB)")  # fmt: skip
    new = random_hashes(add_n, rng)
    listed = index.hashes[rng.integers(0, base_n, size=2000)]
    queries = near(np.concatenate([listed, new[rng.integers(0, add_n, size=2000)]]), rng)

    prober = Prober(lambda i: index.search(queries[i % queries.shape[0]][None, :], D, threads=1))
    probe = threading.Thread(target=prober.run, daemon=True)
    probe.start()
    ticker = Ticker()
    if index_module.TRACE is not None:
        threading.Thread(target=ticker.run, daemon=True).start()
    time.sleep(args.quiet)
    quiet = list(prober.samples)
    mark = len(quiet)

    t = time.perf_counter()
    batches = range(0, add_n, args.batch)
    for i, start in enumerate(batches):
        if args.pace:  # the i-th page arrives at i/len of the pace
            time.sleep(max(0.0, t + args.pace * i / len(batches) - time.perf_counter()))
        index.add(new[start : start + args.batch])
    added = time.perf_counter() - t
    index.wait_merged()
    index.merge_delta()  # the rest of the delta (added while the last merge ran)
    done = time.perf_counter() - t
    prober.stop.set()
    probe.join()
    ticker.stop.set()
    busy = prober.samples[mark:]

    sample = rng.integers(0, add_n, size=200)
    found = index.search(new[sample], 0)
    missing = len(set(range(sample.size)) - set(found.query.tolist()))
    q, b = stats([lat for _, lat in quiet]), stats([lat for _, lat in busy])
    paced = f" paced over {args.pace:.0f} s" if args.pace else " as fast as possible"
    print(f"adds: {add_n:,} hashes in batches of {args.batch:,}{paced}: all searchable after "
          f"{added:.1f} s, merged into the postings after {done:.1f} s (target <= 60 s)")  # fmt: skip
    print(f"{'':22} {'queries':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'>100 ms':>8}")
    for name, s in (("quiet index", q), ("during the adds", b)):
        print(
            f"{name:22} {s['queries']:8.0f} {s['p50_ms']:8.2f} {s['p99_ms']:8.2f} "
            f"{s['max_ms']:8.1f} {s['over_100ms']:8.0f}"
        )
    print(f"longest gap between queries: quiet {gaps(quiet):.1f} ms, during the adds {gaps(busy):.1f} ms")  # fmt: skip
    print(f"index now {len(index):,} hashes; new hashes found exactly: {sample.size - missing}/{sample.size}")  # fmt: skip
    if index_module.TRACE is not None:
        print_trace(busy, ticker)
    if missing:
        raise SystemExit("RECALL ERROR: added hashes not found")


if __name__ == "__main__":
    main()
