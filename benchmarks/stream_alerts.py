"""``stream_consumer.py --alerts``: streamed events into alerts (see that script's
docstring). Kept apart so the plain consumer benchmark stays short."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nats
import orjson
import polars as pl

from daybreak.connectors.nats_connection import run_on_uvloop
from daybreak.connectors.stream_config import (
    DetectorSettings,
    InboundSettings,
    NatsSettings,
    Subjects,
)
from daybreak.connectors.stream_hook import read_current_alerts
from daybreak.connectors.stream_in import StreamConsumer
from daybreak.engines.stream_payment import run_frames
from daybreak.platform.inputs import StreamPaymentInput
from daybreak.schema import validate
from daybreak.store import TiplineStore
from daybreak.synth import World, generate_world
from stream_consumer import cpu_seconds, start_server

TXN, EVENTS = "bench.txn", "bench.events"

# The paced publisher: reads "<subject> <json>" lines, publishes `rate` a second in
# 10 ms ticks, and writes each message's publish time (epoch seconds) in order.
PUBLISHER = """
import asyncio, sys, time, nats
url, feed, rate, times_out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
lines = [l.split(b" ", 1) for l in open(feed, "rb").read().splitlines()]
async def main():
    nc = await nats.connect(url)
    stamps, tick, start, i = [], max(1, int(rate / 100)), time.time(), 0
    while i < len(lines):
        for subject, body in lines[i : i + tick]:
            await nc.publish(subject.decode(), body)
        await nc.flush()
        now = time.time()
        stamps += [now] * len(lines[i : i + tick])
        i += tick
        ahead = start + i / rate - time.time()
        if ahead > 0:
            await asyncio.sleep(ahead)
    await nc.close()
    open(times_out, "w").write("\\n".join(repr(s) for s in stamps))
asyncio.run(main())
"""


def feed(w: World) -> list[tuple[str, str, bytes]]:
    """(subject, id, body) of every show and payment, in time order."""
    timed = [(r["started_at"], EVENTS, r["event_id"], r) for r in w.platform_events.to_dicts()]
    timed += [(r["timestamp"], TXN, r["txn_id"], r) for r in w.transactions.to_dicts()]
    timed.sort(key=lambda x: (x[0], x[1], x[2]))
    return [(subject, key, orjson.dumps(row)) for _, subject, key, row in timed]


async def prepare(url: str, stream: str, msgs: list[tuple[str, str, bytes]]) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    for info in await js.streams_info():
        await js.delete_stream(info.config.name)
    await js.add_stream(name=stream, subjects=[TXN, EVENTS, "bench.dead"])
    for i, (subject, _, body) in enumerate(msgs):
        await nc.publish(subject, body)
        if i % 5000 == 4999:
            await nc.flush()
    await nc.flush()
    while (await js.stream_info(stream)).state.messages < len(msgs):
        await asyncio.sleep(0.05)
    await nc.close()


def settings(tmp: Path, name: str, batch: int, reference: Path | None) -> InboundSettings:
    detectors = (
        [DetectorSettings(name="stream_payment",
                          options={"reference": str(reference), "lateness_minutes": 1440})]
        if reference else []
    )  # fmt: skip
    return InboundSettings(
        stream=name, durable=name.lower(),
        subjects=Subjects(transactions=TXN, platform_events=EVENTS),
        dead_letter_subject="bench.dead", output_dir=tmp / name / "out", batch=batch,
        max_in_flight=4 * batch, detectors=detectors,
    )  # fmt: skip


def run_alerts(args: argparse.Namespace) -> None:
    print(f"load average {os.getloadavg()[0]:.1f}; world seed {args.seed}, "
          f"{args.customers} customers, {args.months} months")  # fmt: skip
    w = generate_world(customers=args.customers, months=args.months, seed=args.seed)
    msgs = feed(w)
    n = len(msgs)
    print(f"{n} messages ({w.platform_events.height} platform events, "
          f"{w.transactions.height} transactions), batch {args.batch}")  # fmt: skip
    batch_alerts = run_frames(
        StreamPaymentInput(w.platform_events, w.identifiers, w.transactions, w.customers)
    ).alerts
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        reference = tmp / "reference"
        reference.mkdir()
        w.identifiers.write_parquet(reference / "identifiers.parquet")
        w.customers.write_parquet(reference / "customers.parquet")
        server, url = start_server(tmp / "nats")
        try:
            # warm-up (imports, first allocations), then alternating rounds: best of each
            throughput(tmp, url, server.pid, "WARM", args.batch, None, msgs[:5000], [])
            rates: dict[str, list[float]] = {}
            for r in range(args.rounds):
                for name, ref in (("BEFORE", None), ("PLAIN", None), ("ALERTS", reference)):
                    rate = throughput(
                        tmp, url, server.pid, f"{name}{r}", args.batch, ref, msgs, batch_alerts
                    )
                    rates.setdefault(name, []).append(rate)
            best = {k: max(v) for k, v in rates.items()}
            print(f"best of {args.rounds}: every record validated one by one (before) "
                  f"{best['BEFORE']:,.0f}, well-formed batches column-wise {best['PLAIN']:,.0f}, "
                  f"with the detector hook {best['ALERTS']:,.0f} events/s; plain/before "
                  f"{best['PLAIN'] / best['BEFORE']:.2f}x, hook/plain "
                  f"{best['ALERTS'] / best['PLAIN']:.2f}x")  # fmt: skip
            latency(tmp, url, args, reference, msgs)
        finally:
            server.terminate()
            server.wait()


def throughput(
    tmp: Path, url: str, server: int, name: str, batch: int, reference: Path | None,
    msgs: list[tuple[str, str, bytes]], batch_alerts: list,  # type: ignore[type-arg]
) -> float:  # fmt: skip
    asyncio.run(prepare(url, name, msgs))
    s = settings(tmp, name, batch, reference)
    store = TiplineStore.open(tmp / name / "store", dev=True) if reference else None
    batch_path = validate._well_formed_frame
    if name.startswith("BEFORE"):  # every record through the per-record path, as before
        validate._well_formed_frame = lambda records, spec: None
    try:
        consumer = StreamConsumer(s, NatsSettings(url=url), store)
        cpu, loop_cpu, server_cpu = time.process_time(), time.thread_time(), cpu_seconds(server)
        started = time.perf_counter()
        stats = run_on_uvloop(consumer.run(idle_exit=0))
        busy = time.perf_counter() - started - 1.0  # less the final idle fetch
        cpu, loop_cpu = time.process_time() - cpu, time.thread_time() - loop_cpu
        server_cpu = cpu_seconds(server) - server_cpu
    finally:
        validate._well_formed_frame = batch_path
        if store is not None:
            store.close()
    assert stats.stored == len(msgs), stats
    rate = len(msgs) / busy
    n = len(msgs)
    # The event loop is one thread (the main one); validation, writing and the detector
    # hook run in others. Two free cores would allow at most the lesser of what the
    # loop's thread and what the two processes' CPU together can do.
    bound = min(n / loop_cpu, 2 * n / (cpu + server_cpu))
    line = (f"{name.lower():>6}: {busy:.2f} s -> {rate:,.0f} events/s; CPU per event: consumer "
            f"{cpu / n * 1e6:.0f} us (event loop {loop_cpu / n * 1e6:.0f}), nats-server "
            f"{server_cpu / n * 1e6:.0f} us; two free cores: at most {bound:,.0f}/s")  # fmt: skip
    if consumer.hook is not None:
        got = list(read_current_alerts(s.output_dir, "stream_payment"))
        same = got == batch_alerts
        line += (f"; {len(got)} alerts, {'equal to' if same else 'DIFFERENT FROM'} the batch "
                 f"detector's {len(batch_alerts)}; state {consumer.hook.state_size()}")  # fmt: skip
    print(line)
    return rate


def latency(
    tmp: Path, url: str, args: argparse.Namespace, reference: Path,
    msgs: list[tuple[str, str, bytes]],
) -> None:  # fmt: skip
    name = "LIVE"
    asyncio.run(prepare(url, name, []))
    feed_file, times_file = tmp / "feed.txt", tmp / "times.txt"
    feed_file.write_bytes(b"\n".join(s.encode() + b" " + body for s, _, body in msgs))
    s = settings(tmp, name, args.batch, reference)
    store = TiplineStore.open(tmp / name / "store", dev=True)
    recorded: list[tuple[float, list[str]]] = []
    try:
        consumer = StreamConsumer(s, NatsSettings(url=url), store)
        hook = consumer.hook
        assert hook is not None
        on_batch = hook.on_batch

        def timed(table: str, frame: pl.DataFrame) -> None:
            before = hook.raised + hook.withdrawn
            on_batch(table, frame)
            if hook.raised + hook.withdrawn > before:
                column = "event_id" if table == "platform_events" else "txn_id"
                recorded.append((time.time(), frame[column].to_list()))

        hook.on_batch = timed  # type: ignore[method-assign]
        publisher = subprocess.Popen(
            [sys.executable, "-c", PUBLISHER, url, str(feed_file), str(args.rate), str(times_file)]
        )
        cpu = time.process_time()
        stats = run_on_uvloop(consumer.run(idle_exit=10))
        cpu = time.process_time() - cpu
        publisher.wait()
    finally:
        store.close()
    stamps = [float(x) for x in times_file.read_text().split()]
    published = {key: stamps[i] for i, (_, key, _) in enumerate(msgs)}
    waits = sorted(at - min(published[k] for k in ids) for at, ids in recorded)
    span = stamps[-1] - stamps[0]
    print(f"latency: fed at {len(msgs) / span:,.0f} events/s (asked {args.rate:,.0f}); "
          f"{stats.stored} stored; consumer CPU {cpu / len(msgs) * 1e6:.0f} us/event; "
          f"{len(waits)} batches raised or changed alerts")  # fmt: skip
    if waits:
        p99 = waits[min(len(waits) - 1, int(0.99 * len(waits)))]
        print(f"  publish of the batch's first event -> alert recorded: p50 "
              f"{statistics.median(waits) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
              f"max {waits[-1] * 1000:.0f} ms (target: within 2 s)")  # fmt: skip
