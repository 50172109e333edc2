"""Streamed events into alerts: a small world's shows and payments published to a real
nats-server, consumed by ``daybreak stream run`` with the stream-payment detector hook,
the consumer killed with SIGKILL twice on the way (once between a durable write and its
alerts, once from outside), and then the alerts compared with the batch detector's on
the same events: equal, each recorded once in the audit trail, and published by the
relay."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

import nats
import orjson
import polars as pl
import pytest
import yaml

from daybreak.connectors.stream_config import NatsSettings, OutboundSettings
from daybreak.connectors.stream_hook import ALERT_ACTIONS, alert_digest, read_current_alerts
from daybreak.connectors.stream_in import FAILPOINT_ENV
from daybreak.connectors.stream_out import OutboundRelay
from daybreak.engines.stream_payment import run_frames
from daybreak.platform.inputs import StreamPaymentInput
from daybreak.store import TiplineStore
from daybreak.synth import World, generate_world

from .nats_drain import drain
from .test_stream_in import consumer, ended, files

pytestmark = pytest.mark.nats

SUBJECTS = {"transactions": "world.txn", "platform_events": "world.events"}


def small_world() -> World:
    # development seed (the held-out seeds are the benchmark's): ~10,000 messages
    return generate_world(customers=500, months=1, seed=7)


def write_config(tmp: Path, url: str, stream: str, reference: Path) -> Path:
    cfg = {
        "nats": {"url": url},
        "store": {"data_dir": str(tmp / "store"), "dev": True},
        "inbound": {
            "stream": stream,
            "durable": "detect",
            "subjects": SUBJECTS,
            "dead_letter_subject": f"dead.{stream}",
            "output_dir": str(tmp / "out"),
            "batch": 200,
            "max_in_flight": 800,
            "ack_wait_seconds": 3,
            "detectors": [
                {
                    "name": "stream_payment",
                    # the world's feeds are in time order: a day covers the kinds' skew
                    "options": {"reference": str(reference), "lateness_minutes": 1440},
                }
            ],
        },
    }
    path = tmp / "stream.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def messages(w: World) -> list[tuple[str, bytes]]:
    """Every show and payment as JSON, interleaved in time order as feeds deliver them."""
    timed = [
        (r["started_at"], SUBJECTS["platform_events"], r) for r in w.platform_events.to_dicts()
    ] + [(r["timestamp"], SUBJECTS["transactions"], r) for r in w.transactions.to_dicts()]
    timed.sort(key=lambda x: (x[0], x[1]))
    return [(subject, orjson.dumps(row)) for _, subject, row in timed]


async def publish(url: str, stream: str, msgs: list[tuple[str, bytes]]) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    for info in await js.streams_info():  # another test's stream holds the same subjects
        await js.delete_stream(info.config.name)
    await js.add_stream(name=stream, subjects=[*SUBJECTS.values(), f"dead.{stream}"])
    for i, (subject, body) in enumerate(msgs):
        await nc.publish(subject, body)
        if i % 2000 == 1999:
            await nc.flush()
    await nc.flush()
    while (await js.stream_info(stream)).state.messages < len(msgs):
        await asyncio.sleep(0.05)
    await nc.close()


async def relay_stream(url: str) -> None:
    nc = await nats.connect(url)
    await nc.jetstream().add_stream(name="ALERTSOUT", subjects=["alertsout.>"])
    await nc.close()


async def relayed_alerts(url: str) -> list[tuple[str, str]]:
    """(type, alert id) of each alert event the relay published."""
    events = await drain(
        url, "alertsout.>", "ALERTSOUT", lambda m: orjson.loads(m.data), durable="c"
    )
    return [
        (str(e["type"]), str(e["object_id"])) for e in events if str(e["type"]).startswith("alert.")
    ]


def test_killed_consumer_raises_the_batch_alerts_once(nats_url: str, tmp_path: Path) -> None:
    w = small_world()
    reference = tmp_path / "reference"
    reference.mkdir()
    w.identifiers.write_parquet(reference / "identifiers.parquet")
    w.customers.write_parquet(reference / "customers.parquet")
    stream = "DETECT"
    config = write_config(tmp_path, nats_url, stream, reference)
    out = tmp_path / "out"
    asyncio.run(publish(nats_url, stream, messages(w)))

    # 1: killed right after its fourth durable write: before that batch's alerts
    first = consumer(config, env={FAILPOINT_ENV: "after_write:4"})
    code, _, stderr = ended(first, 120)
    assert code == -signal.SIGKILL, stderr
    written = len(files(out))
    assert written >= 4  # the other kind may have written meanwhile

    # 2: killed from outside (kill -9) once it has written more
    second = consumer(config, "--exit-when-idle", "30")
    deadline = time.monotonic() + 120
    while len(files(out)) < written + 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    second.kill()
    code, _, stderr = ended(second, 30)
    assert code == -signal.SIGKILL, stderr

    # 3: runs to the end
    third = consumer(config, "--exit-when-idle", "3")
    code, stdout, stderr = ended(third, 300)
    assert code == 0, stderr
    assert b"alerts recorded" in stdout

    # every event stored once ...
    events = pl.read_parquet(sorted((out / "platform_events").glob("part-*.parquet")))
    txns = pl.read_parquet(sorted((out / "transactions").glob("part-*.parquet")))
    assert events.height == w.platform_events.height == events["event_id"].n_unique()
    assert txns.height == w.transactions.height == txns["txn_id"].n_unique()

    # ... and the alerts are the batch detector's on the same events
    batch = run_frames(StreamPaymentInput(events, w.identifiers, txns, w.customers)).alerts
    assert len(batch) >= 3
    streamed = read_current_alerts(out, "stream_payment")
    assert [a.alert_id for a in streamed] == [a.alert_id for a in batch]
    assert list(streamed) == batch  # scores, explanations, evidence ids, first/last seen

    # recorded in the audit trail (what the relay publishes): the final version of each
    # alert once, and no version twice
    nats_settings = NatsSettings(url=nats_url)
    asyncio.run(relay_stream(nats_url))
    store = TiplineStore.open(tmp_path / "store", dev=True)
    try:
        entries = store.outbound.events_after(0, ALERT_ACTIONS, 100_000)
        relay = OutboundRelay(OutboundSettings(subject_prefix="alertsout"), nats_settings, store)
        asyncio.run(relay.run(once=True))  # the default actions include the alerts'
    finally:
        store.close()
    relayed = asyncio.run(relayed_alerts(nats_url))
    assert sorted(relayed) == sorted((e.action, e.object_id) for e in entries)
    versions = Counter((e.object_id, e.detail["digest"]) for e in entries)
    assert max(versions.values()) == 1, "an alert version recorded twice"
    last = {e.object_id: e.detail["digest"] for e in entries}
    assert {k: v for k, v in last.items() if v} == {a.alert_id: alert_digest(a) for a in batch}
