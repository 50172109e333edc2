"""PDQ match index benchmark: Daybreak's multi-index hashing vs python-threatexchange's
PDQIndex and faiss IndexBinaryFlat, on the same hashes and queries, in one run.

    .venv/bin/python benchmarks/media_index.py                 # 1M and 10M
    .venv/bin/python benchmarks/media_index.py --sizes 1M      # quick
    .venv/bin/python benchmarks/media_index.py --with-50m      # adds 50M (needs ~8 GB RAM)

Hashes: 90% uniformly random, 10% in clusters of 10 near-duplicates (1-30 bits from a
centre). Queries: half near-duplicates of listed hashes (0-40 bits), half random.
Range search at distance <= 31. Daybreak's results are checked against a brute-force
scan for a sample of queries (exact recall is required, not estimated). The baselines
are slow, so they run a subset of the queries and their rate is extrapolated (said so
in the output). Also measures PDQ hashing throughput on generated 1-megapixel JPEGs.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from daybreak.media.index import HashIndex, format_pdq, hamming

D = 31


def parse_size(text: str) -> int:
    text = text.strip().upper()
    mult = {"K": 1_000, "M": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("KM")) * mult)


def flip_bits(rows: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flip about counts[i] random bits in rows[i] (a bit drawn twice flips back, so the
    distance is at most counts[i]); vectorised over rows, light on memory."""
    out = rows.copy()
    for k in range(int(counts.max(initial=0))):
        sel = np.flatnonzero(counts > k)
        bit = rng.integers(0, 256, sel.shape[0])
        out[sel, bit // 64] ^= np.left_shift(np.uint64(1), (63 - bit % 64).astype(np.uint64))
    return out


def make_hashes(n: int, rng: np.random.Generator) -> np.ndarray:
    n_clustered = n // 10
    random_part = rng.integers(
        0, 2**64 - 1, size=(n - n_clustered, 4), dtype=np.uint64, endpoint=True
    )
    centres = random_part[rng.integers(0, random_part.shape[0], n_clustered // 10)]
    members = np.repeat(centres, 10, axis=0)
    members = flip_bits(members, rng.integers(1, 31, members.shape[0]), rng)
    return np.concatenate([random_part, members])


def make_queries(hashes: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    near = hashes[rng.integers(0, hashes.shape[0], n // 2)]
    near = flip_bits(near, rng.integers(0, 41, near.shape[0]), rng)
    rand = rng.integers(0, 2**64 - 1, size=(n - n // 2, 4), dtype=np.uint64, endpoint=True)
    return np.concatenate([near, rand])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_daybreak(
    hashes: np.ndarray, queries: np.ndarray, workdir: Path, threads: int, check: int
) -> dict[str, float]:
    t = time.perf_counter()
    index = HashIndex.build(hashes, D)
    build = time.perf_counter() - t
    index.save(workdir / "idx")
    del index
    gc.collect()
    t = time.perf_counter()
    index = HashIndex.load(workdir / "idx")  # memory-mapped
    load = time.perf_counter() - t
    index.search(queries[:256], D, threads=threads)  # touch the pages once
    t = time.perf_counter()
    index.search(queries, D, threads=threads)
    qps_mmap = queries.shape[0] / (time.perf_counter() - t)
    t = time.perf_counter()
    index.warm()  # copy into RAM (transparent huge pages), as a server does after loading
    warm = time.perf_counter() - t
    t = time.perf_counter()
    c = time.process_time()
    found = index.search(queries, D, threads=threads)
    qps = queries.shape[0] / (time.perf_counter() - t)
    per_cpu_s = queries.shape[0] / max(1e-9, time.process_time() - c)
    # exact recall: compare with a brute-force scan on a sample of queries
    sample = np.linspace(0, queries.shape[0] - 1, check).astype(int)
    for qi in sample:
        expected = set(np.flatnonzero(hamming(hashes, queries[qi][None, :]) <= D).tolist())
        got = set(found.ids[found.query == qi].tolist())
        if expected != got:
            raise SystemExit(f"RECALL ERROR on query {qi}: {len(expected)} vs {len(got)}")
    return {
        "build_s": build,
        "load_s": load,
        "qps": qps,
        "qps_mmap": qps_mmap,
        "per_cpu_s": per_cpu_s,
        "warm_s": warm,
        "bytes_per_hash": index.nbytes() / hashes.shape[0],
        "matches": float(found.ids.size),
        "checked": float(check),
    }


def bench_faiss(hashes: np.ndarray, queries: np.ndarray, n_queries: int) -> dict[str, float]:
    import faiss

    codes = hashes.astype(">u8").view(np.uint8).reshape(-1, 32)
    index = faiss.IndexBinaryFlat(256)
    index.add(codes)
    q = queries[:n_queries].astype(">u8").view(np.uint8).reshape(-1, 32)
    t = time.perf_counter()
    c = time.process_time()
    lims, _, _ = index.range_search(q, D + 1)  # faiss: distance < radius
    qps = n_queries / (time.perf_counter() - t)
    per_cpu_s = n_queries / max(1e-9, time.process_time() - c)
    return {
        "qps": qps,
        "queries": float(n_queries),
        "matches": float(lims[-1]),
        "per_cpu_s": per_cpu_s,
    }


def bench_pdqindex(hashes: np.ndarray, queries: np.ndarray, n_queries: int) -> dict[str, float]:
    from threatexchange.signal_type.pdq.pdq_index import PDQIndex

    strings = format_pdq(hashes)
    t = time.perf_counter()
    index = PDQIndex(((s, i) for i, s in enumerate(strings)))
    build = time.perf_counter() - t
    del strings
    qs = format_pdq(queries[:n_queries])
    t = time.perf_counter()
    c = time.process_time()
    matches = sum(len(index.query(s)) for s in qs)
    qps = n_queries / (time.perf_counter() - t)
    per_cpu_s = n_queries / max(1e-9, time.process_time() - c)
    return {
        "qps": qps,
        "queries": float(n_queries),
        "build_s": build,
        "matches": float(matches),
        "per_cpu_s": per_cpu_s,
    }


def bench_hashing(n_images: int) -> float:
    from PIL import Image

    from daybreak.media.hashing import hash_image_bytes

    rng = np.random.default_rng(0)
    images = []
    for i in range(n_images):  # 1155 x 866 = 1.0 megapixel, smooth noise + gradient
        small = rng.integers(0, 256, size=(28, 37, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((1155, 866), Image.Resampling.BICUBIC)
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=85 - i % 10)
        images.append(buf.getvalue())
    t = time.perf_counter()
    for data in images:
        hash_image_bytes(data)
    return n_images / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="1M,10M", help="index sizes, e.g. 1M,10M (default)")
    ap.add_argument("--with-50m", action="store_true", help="also run 50M hashes")
    ap.add_argument("--queries", type=int, default=4000, help="queries for Daybreak")
    ap.add_argument(
        "--baseline-queries",
        type=int,
        default=200,
        help="queries timed for faiss and PDQIndex (extrapolated)",
    )
    ap.add_argument("--no-pdqindex", action="store_true", help="skip python-threatexchange")
    ap.add_argument("--no-faiss", action="store_true", help="skip faiss IndexBinaryFlat")
    ap.add_argument("--threads", type=int, default=2, help="search threads (default 2)")
    ap.add_argument("--check", type=int, default=40, help="queries verified by brute force")
    ap.add_argument("--images", type=int, default=100, help="JPEGs for hashing throughput")
    ap.add_argument("--workdir", type=Path, default=None, help="where to save the index")
    args = ap.parse_args()

    sizes = [parse_size(s) for s in args.sizes.split(",") if s]
    if args.with_50m:
        sizes.append(50_000_000)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="daybreak-bench-"))
    rng = np.random.default_rng(42)
    print(
        f"PDQ range search at d <= {D}; {args.threads} search threads; "
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start "
        "(other jobs share the cores: queries per CPU-second is the figure that does not "
        "depend on them)"
    )
    rows = []
    for n in sizes:
        t = time.perf_counter()
        hashes = make_hashes(n, rng)
        queries = make_queries(hashes, args.queries, rng)
        print(f"\n== {n:,} hashes (generated in {time.perf_counter() - t:.1f} s)")
        ours = bench_daybreak(hashes, queries, workdir / f"n{n}", args.threads, args.check)
        print(
            f"daybreak  : {ours['qps']:>9,.0f} queries/s over {args.queries} queries "
            f"(exact: {args.check} verified by brute force) | {ours['bytes_per_hash']:.0f} "
            f"bytes/hash | build {ours['build_s']:.1f} s | load (mmap) "
            f"{ours['load_s'] * 1000:.0f} ms, then {ours['qps_mmap']:,.0f} queries/s straight "
            f"from the memory map; warm-up into RAM {ours['warm_s']:.1f} s | peak RSS "
            f"{peak_rss_mb():,.0f} MB | {ours['per_cpu_s']:,.0f} queries per CPU-second"
        )
        row = {"n": n, "ours": ours["qps"]}
        if not args.no_faiss:
            fa = bench_faiss(hashes, queries, args.baseline_queries)
            print(
                f"faiss flat: {fa['qps']:>9,.0f} queries/s (timed {args.baseline_queries} "
                f"queries, extrapolated; {fa['per_cpu_s']:,.1f} per CPU-second) -> daybreak is "
                f"{ours['qps'] / fa['qps']:.0f}x (per CPU-second "
                f"{ours['per_cpu_s'] / fa['per_cpu_s']:.0f}x)"
            )
            row["faiss"] = fa["qps"]
            # same answers on the shared subset
            sub = HashIndex.load(workdir / f"n{n}" / "idx").search(
                queries[: args.baseline_queries], D
            )
            if sub.ids.size != int(fa["matches"]):
                raise SystemExit(f"RECALL ERROR vs faiss: {sub.ids.size} vs {fa['matches']}")
        if not args.no_pdqindex:
            te = bench_pdqindex(hashes, queries, args.baseline_queries)
            print(
                f"PDQIndex  : {te['qps']:>9,.0f} queries/s (timed {args.baseline_queries} "
                f"queries, extrapolated; {te['per_cpu_s']:,.1f} per CPU-second; build "
                f"{te['build_s']:.0f} s) -> daybreak is {ours['qps'] / te['qps']:.0f}x (per "
                f"CPU-second {ours['per_cpu_s'] / te['per_cpu_s']:.0f}x)"
            )
            row["pdqindex"] = te["qps"]
        rows.append(row)
        print(f"peak RSS so far {peak_rss_mb():,.0f} MB")
        del hashes, queries
        gc.collect()
        shutil.rmtree(workdir / f"n{n}", ignore_errors=True)
    if len(rows) > 1:
        print("\nGrowth of query time (daybreak):")
        for r in rows:
            print(
                f"  {r['n']:>12,} hashes: {r['ours']:>9,.0f} q/s, "
                f"{1e6 / r['ours']:.0f} us/query, x{rows[0]['ours'] / r['ours']:.1f} "
                f"vs {rows[0]['n']:,}"
            )
    if args.images:
        print(
            f"\nHashing: {bench_hashing(args.images):.1f} images/s (1-megapixel JPEG, "
            "decode + EXIF + PDQ + MD5 + SHA-256, one thread)"
        )


if __name__ == "__main__":
    main()
