"""Peak memory and time of reading a large ISO 20022 pacs.008 file.

Generates a file of --rows credit transfers (146,000 ≈ 81 MB, the size in issue #18)
with the test helper's writer, then, in a fresh process, reads it the way
`daybreak payments scan` does (`read_transactions`: parse, map, schema validation) and
prints the rows, seconds, RSS after imports and peak RSS. Nothing is committed: the file
lives in a temporary folder.

    .venv/bin/python benchmarks/pacs008_memory.py
    .venv/bin/python benchmarks/pacs008_memory.py --src /tmp/old/src   # another version

`--src` points at another checkout's `src` folder (e.g. `git archive REV src | tar -x`)
to measure it on the same file, side by side.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MEASURE = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from daybreak.payments.inputs import read_transactions
import daybreak.payments.pacs008, polars, pyarrow, lxml.etree  # imports before the baseline
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
frame = read_transactions(Path(sys.argv[2]))
print(json.dumps({
    "rows": frame.height,
    "seconds": round(time.perf_counter() - start, 1),
    "rss_after_imports_mb": base // 1024,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
}))
"""


def generate(rows: int, path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import polars as pl

    from payments.pacs import write_pacs008
    from payments.tiny import tiny_world

    tx, _ = tiny_world()
    tx = tx.filter(pl.col("channel") != "card").with_columns(pl.lit("wire").alias("channel"))
    copies = [
        tx.with_columns((pl.col("txn_id") + f"-{i}").alias("txn_id"))
        for i in range(rows // tx.height + 1)
    ]
    write_pacs008(pl.concat(copies).head(rows), path)


def measure(src: Path, path: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(src), str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=146_000)
    parser.add_argument("--src", type=Path, action="append", default=[])
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(args.rows, args.generate)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pacs008.xml"
        # In a child: a process's peak RSS carries over into the children it starts.
        generator = [sys.executable, __file__, "--generate", str(path), "--rows", str(args.rows)]
        subprocess.run(generator, check=True)
        size_mb = path.stat().st_size / 1e6
        for src in [ROOT / "src", *args.src]:
            print(json.dumps({"src": str(src), "file_mb": round(size_mb, 1), **measure(src, path)}))


if __name__ == "__main__":
    main()
