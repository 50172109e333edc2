"""An exchange sync end to end: N new PDQ hashes fetched from a local StopNCII server
(tests/connectors/exchange_servers.py, 127.0.0.1) through python-threatexchange's
client, applied to a bank in a SQLite store, then matched by a live matcher that picks
the change up without a rebuild. Prints where the time goes (fetch and store, bank
writes, the live index catching up).

    .venv/bin/python benchmarks/exchange_sync.py --hashes 100K
    .venv/bin/python benchmarks/exchange_sync.py --hashes 1M --bank 10M   # into a 10 M bank

With ``--bank N`` the bank first lists N other random PDQ hashes (written as one part,
not timed) and the live matcher is built over them before the sync starts.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

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
from daybreak.media.banks import ENTRY_SCHEMA  # noqa: E402
from daybreak.media.matcher import MediaMatcher  # noqa: E402
from daybreak.store import TiplineStore  # noqa: E402
from daybreak.store.auth import Actor, Role  # noqa: E402
from media_index import parse_size  # noqa: E402

SECRET = "fetch-key,subscription-key,feedback-key"
ADMIN = Actor("bench", Role.ADMIN)


def random_entries(n: int, seed: int = 7) -> pl.DataFrame:
    """``n`` random PDQ entries as a bank frame, made column-wise (no object per row)."""
    raw = np.random.default_rng(seed).integers(0, 256, size=(n, 32), dtype=np.uint8)
    hashes = pl.Series("hash", raw.view("S32").ravel(), dtype=pl.Binary).bin.encode("hex")
    return pl.DataFrame({"hash_type": pl.repeat("pdq", n, eager=True), "hash": hashes}).select(
        "hash_type",
        "hash",
        pl.lit(["other"], ENTRY_SCHEMA["labels"]).alias("labels"),
        pl.lit(datetime.now(UTC), ENTRY_SCHEMA["added_at"]).alias("added_at"),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--hashes", default="100K", help="new hashes at the exchange")
    ap.add_argument("--page", type=int, default=800, help="records per page (StopNCII: 800)")
    ap.add_argument("--bank", default="0", help="hashes the bank lists before the sync")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    n = parse_size(args.hashes)
    records = [
        StopNciiRecord(hashlib.sha256(f"bench {i}".encode()).hexdigest(), "ImagePDQ", 100 + i)
        for i in range(n)
    ]
    ex = Exchange(SECRET, page_size=args.page, entries=records, presorted=True)
    with tempfile.TemporaryDirectory() as tmp, serve(StopNciiHandler, ex, STOPNCII_PREFIX) as base:
        root = Path(tmp)
        with TiplineStore.open(root / "data", dev=True) as store:
            banks = store.banks.open(root / "banks", ADMIN)
            banks.create("ncii")
            listed = parse_size(args.bank)
            if listed:
                t = time.perf_counter()
                banks.add_frame("ncii", random_entries(listed))
                print(f"bank filled with {listed:,} hashes in {time.perf_counter() - t:.1f} s")
            t = time.perf_counter()
            matcher = MediaMatcher.build(banks)
            print(f"live matcher built in {time.perf_counter() - t:.1f} s")
            store.exchanges.add(ADMIN, "ncii", "stop_ncii", "ncii", {"endpoint": base}, "BENCH")
            flushes: list[float] = []
            real_flush = hash_exchange._BankChanges.flush

            def timed_flush(self: hash_exchange._BankChanges) -> None:
                t = time.perf_counter()
                real_flush(self)
                flushes.append(time.perf_counter() - t)

            hash_exchange._BankChanges.flush = timed_flush  # type: ignore[method-assign]
            t, cpu = time.perf_counter(), time.process_time()
            report = hash_exchange.sync_exchange(
                store.exchanges, ADMIN, banks, "ncii", {"BENCH": SECRET}
            )
            synced, cpu = time.perf_counter() - t, time.process_time() - cpu
            t = time.perf_counter()
            matcher.store.reload_if_changed()
            matcher.sync()  # the live index takes the new entries (no rebuild)
            caught_up = time.perf_counter() - t
            found = matcher.match_pdq([records[n // 2].hash_value])
    print(
        f"{report.hashes_added:,} hashes in {report.pages:,} pages synced in {synced:.1f} s "
        f"({report.hashes_added / synced:,.0f} hashes/s), of which bank writes "
        f"{sum(flushes):.1f} s in {len(flushes)} write(s); live matcher caught up in "
        f"{caught_up:.1f} s; a new hash matches: {bool(found)}"
    )
    # CPU time is disturbed less than wall time by other jobs on the machine; it counts
    # the local exchange server too (a thread of this process).
    print(
        f"sync CPU {cpu:.1f} s ({cpu / n * 1e6:.0f} us/hash, exchange server included): "
        f"{n / cpu:,.0f} hashes per CPU-second"
    )


if __name__ == "__main__":
    main()
