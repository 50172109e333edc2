"""Stream consumer benchmark: transactions/s through ``daybreak stream run``'s consumer,
on loopback.

Starts a throw-away nats-server with JetStream (file storage in a temporary folder),
publishes --messages transactions in the public schema as JSON (core NATS publishes
into the stream, flushed; not timed), then runs the consumer in this process until the
stream is drained and every message acknowledged, and prints messages/s.

What it measures: fetch (pull, --batch at a time) + JSON decoding + schema validation
(polars) + one fsync'd Parquet file per batch + one acknowledgement per message, for
one kind (transactions) on one consumer, on uvloop as ``daybreak stream run``. It also
prints the CPU time the consumer and the server spent per message, which a loaded
machine disturbs less than wall time. It does not measure scoring into alerts (the
consumer stores; ``payments scan`` scores) nor reports (the store's intake has its own
benchmark, tipline_intake.py). The server shares the machine's cores with the consumer.

    .venv/bin/python benchmarks/stream_consumer.py --messages 50000 --batch 500

``--alerts``: events into alerts. A synthetic world's platform events and transactions
(``--seed``, ``--customers``, ``--months``) are published in time order, then consumed
side by side (alternating rounds) by the same consumer validating every record one by
one (as before the column-wise path for well-formed batches), without detectors, and
with the stream-payment detector hook writing its alerts to the file and the store's
audit trail (SQLite, ``--dev``): events/s and CPU per event of each (the consumer's, its
event loop's alone, nats-server's, and the rate two free cores would allow at those
costs), and whether the alerts equal the batch detector's on the same events. Then the latency: a publisher process feeds the world
at ``--rate`` events/s to a running consumer and notes when it published each message;
for each batch that raised or changed an alert, the time from publishing the batch's
*first* message to the alert being recorded (file written and audit entry committed):
the event that completes an alert's evidence is in that batch and was published no
earlier, so this is an upper bound of the event-to-alert latency (p50/p99).

    .venv/bin/python benchmarks/stream_consumer.py --alerts --seed 101 --rate 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nats
import polars as pl

from daybreak.connectors.nats_connection import run_on_uvloop
from daybreak.connectors.stream_config import InboundSettings, NatsSettings, Subjects
from daybreak.connectors.stream_in import StreamConsumer

STREAM, SUBJECT = "BENCH", "bench.txn"


def txn(i: int) -> bytes:
    return json.dumps({
        "txn_id": f"T{i:09d}", "timestamp": "2026-11-28T08:00:00Z", "sender_id": f"C{i % 5000}",
        "sender_country": "AU", "receiver_id": f"R{i % 700}", "receiver_country": "PH",
        "amount": 10 + i % 90, "currency": "AUD", "channel": "remittance",
        "reference": "school fees",
    }).encode()  # fmt: skip


def start_server(store: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin")
    if binary is None:
        sys.exit("nats-server not found (apt-get install nats-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [binary, "-js", "-sd", str(store), "-a", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return server, f"nats://127.0.0.1:{port}"
        time.sleep(0.05)
    server.kill()
    sys.exit("nats-server did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def publish(url: str, n: int) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name=STREAM, subjects=[SUBJECT, "bench.dead"])
    for i in range(n):
        await nc.publish(SUBJECT, txn(i))
        if i % 5000 == 4999:
            await nc.flush()
    await nc.flush()
    while (await js.stream_info(STREAM)).state.messages < n:
        await asyncio.sleep(0.05)
    await nc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--alerts", action="store_true", help="events into alerts (above)")
    parser.add_argument("--seed", type=int, default=7, help="world seed (7: development)")
    parser.add_argument("--customers", type=int, default=2500)
    parser.add_argument("--months", type=int, default=2)
    parser.add_argument("--rate", type=float, default=20_000, help="paced feed, events/s")
    parser.add_argument("--rounds", type=int, default=2, help="alternating throughput rounds")
    args = parser.parse_args()
    if args.alerts:
        from stream_alerts import run_alerts

        run_alerts(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_server(Path(tmp) / "nats")
        try:
            asyncio.run(publish(url, args.messages))
            settings = InboundSettings(
                stream=STREAM, durable="bench", subjects=Subjects(transactions=SUBJECT),
                dead_letter_subject="bench.dead", output_dir=Path(tmp) / "out",
                batch=args.batch, max_in_flight=4 * args.batch,
            )  # fmt: skip
            consumer = StreamConsumer(settings, NatsSettings(url=url), None)
            server_cpu, cpu = cpu_seconds(server.pid), time.process_time()
            started = time.perf_counter()
            stats = run_on_uvloop(consumer.run(idle_exit=0))  # as `daybreak stream run`
            elapsed = time.perf_counter() - started
            cpu, server_cpu = time.process_time() - cpu, cpu_seconds(server.pid) - server_cpu
            rows = pl.scan_parquet(Path(tmp) / "out" / "transactions" / "*.parquet")
            stored = rows.select(pl.len()).collect().item()
        finally:
            server.terminate()
            server.wait()
    assert stats.stored == stored == args.messages, (stats, stored)
    # the idle check waits FETCH_WAIT_SECONDS once after the last batch: not counted
    busy = elapsed - 1.0
    print(f"{args.messages} transactions, batch {args.batch}: {elapsed:.2f} s wall "
          f"({busy:.2f} s less the final 1 s idle fetch) -> {args.messages / busy:,.0f} msg/s")  # fmt: skip
    # CPU time does not depend on other jobs as much as wall time does: what the two
    # processes spent per message, and the rate two free cores would allow if the
    # consumer's event loop (one core at most) and the server kept them busy.
    per_msg = (cpu + server_cpu) / args.messages
    print(f"CPU: consumer {cpu:.2f} s ({cpu / args.messages * 1e6:.0f} us/msg), nats-server "
          f"{server_cpu:.2f} s ({server_cpu / args.messages * 1e6:.0f} us/msg); two free cores: "
          f"at most {min(2 / per_msg, args.messages / cpu):,.0f} msg/s")  # fmt: skip


if __name__ == "__main__":
    main()
