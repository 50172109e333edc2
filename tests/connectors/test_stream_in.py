"""``daybreak stream run`` against a real nats-server: messages published, the consumer
run as a real subprocess and killed with SIGKILL (once right after a durable write,
before its acknowledgements; once from outside while it works), restarted, and then
every effect counted: each transaction, platform event and report stored exactly once,
each bad message in the dead-letter subject with its reason."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import nats
import polars as pl
import pytest
import yaml
from nats.js.api import ConsumerConfig
from typer.testing import CliRunner

from daybreak.cli.main import app
from daybreak.connectors.nats_pull import BatchPuller
from daybreak.connectors.stream_config import StreamConfigError, load_stream_config
from daybreak.connectors.stream_in import FAILPOINT_ENV, REASON_HEADER, StreamConsumer
from daybreak.store import TiplineStore

from .nats_drain import drain

pytestmark = pytest.mark.nats

N_TXNS, N_EVENTS, N_REPORTS = 400, 120, 40


def txn(i: int) -> dict[str, object]:
    return {
        "txn_id": f"T{i:06d}",
        "timestamp": "2026-11-28T08:00:00Z",
        "sender_id": f"C{i % 50}",
        "sender_country": "AU",
        "receiver_id": f"R{i % 7}",
        "receiver_country": "PH",
        "amount": 10 + i % 90,
        "currency": "AUD",
        "channel": "remittance",
    }


def event(i: int) -> dict[str, object]:
    return {
        "event_id": f"E{i:06d}",
        "service": "examplestream",
        "event_type": "call",
        "account_id": f"u{i % 30}",
        "started_at": "2026-11-28T08:00:00Z",
        "country": "PH",
    }


def report(i: int) -> dict[str, object]:
    return {
        "reporter": {"type": "platform", "organisation": "ExampleStream"},
        "incident_type": "live_streaming_abuse",
        "is_live": False,
        "service": "examplestream",
        "reported_accounts": [{"service": "examplestream", "account_id": f"acct{i}"}],
    }


BAD = [
    ("in.txn", b'{"txn_id": "T-bad", "amount": -3}'),  # fields missing
    ("in.txn", json.dumps({**txn(999_999), "sender_country": "XX"}).encode()),
    ("in.events", b"not json"),
    ("in.reports", json.dumps({**report(0), "incident_type": "weather"}).encode()),
]


def write_config(tmp: Path, url: str, stream: str, batch: int = 20) -> Path:
    cfg = {
        "nats": {"url": url},
        "store": {"data_dir": str(tmp / "store"), "dev": True},
        "inbound": {
            "stream": stream,
            "durable": "test",
            "subjects": {
                "transactions": "in.txn",
                "platform_events": "in.events",
                "reports": "in.reports",
            },
            "dead_letter_subject": f"dead.{stream}",
            "output_dir": str(tmp / "out"),
            "batch": batch,
            "max_in_flight": 4 * batch,
            "ack_wait_seconds": 3,  # a killed consumer's messages come back soon
        },
    }
    path = tmp / "stream.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


async def publish_all(url: str, stream: str) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    for name in await js.streams_info():  # another test's stream holds the same subjects
        await js.delete_stream(name.config.name)
    await js.add_stream(
        name=stream, subjects=["in.txn", "in.events", "in.reports", f"dead.{stream}"]
    )
    for i in range(N_TXNS):
        await js.publish("in.txn", json.dumps(txn(i)).encode())
        if i < N_EVENTS:
            await js.publish("in.events", json.dumps(event(i)).encode())
        if i < N_REPORTS:
            await js.publish(
                "in.reports", json.dumps(report(i)).encode(), headers={"Nats-Msg-Id": f"rep-{i}"}
            )
        if i % 100 == 50 and i // 100 < len(BAD):
            subject, body = BAD[i // 100]
            await js.publish(subject, body)
    await nc.close()


async def dead_letters(url: str, stream: str) -> list[tuple[str, str]]:
    return await drain(
        url,
        f"dead.{stream}",
        stream,
        lambda m: (m.headers["Daybreak-Subject"], m.headers[REASON_HEADER]),
        batch=50,
        durable="check",
        config=ConsumerConfig(ack_wait=30),
    )


def consumer(
    config: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "daybreak.cli.main", "stream", "run", "--config", str(config)]
    return subprocess.Popen(
        [*args, *extra],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def ended(proc: subprocess.Popen[bytes], timeout: float) -> tuple[int, bytes, str]:
    """Wait for a consumer: its exit code, stdout and the end of its stderr. One still
    running after ``timeout`` is killed and fails the test with its stderr, so a failure
    on a loaded machine says where the consumer was."""
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
        tail = stderr.decode(errors="replace")[-4000:]
        raise AssertionError(f"consumer still running after {timeout} s; stderr:\n{tail}") from None
    return proc.returncode, stdout, stderr.decode(errors="replace")[-4000:]


def files(out: Path) -> list[Path]:
    return sorted(out.glob("*/part-*.parquet"))


def ids(out: Path, table: str, column: str) -> Counter[str]:
    found = sorted((out / table).glob("part-*.parquet"))
    return Counter(pl.read_parquet(found)[column].to_list()) if found else Counter()


def test_consumer_killed_mid_batch_loses_and_doubles_nothing(nats_url: str, tmp_path: Path) -> None:
    stream = "CRASH"
    config = write_config(tmp_path, nats_url, stream)
    out = tmp_path / "out"
    asyncio.run(publish_all(nats_url, stream))

    # 1: killed right after its third durable write, before acknowledging it
    first = consumer(config, env={FAILPOINT_ENV: "after_write:3"})
    code, _, stderr = ended(first, 120)
    assert code == -signal.SIGKILL, stderr
    written = len(files(out))
    assert written >= 1  # (the third write may have been of reports, into the store)

    # 2: killed from outside (kill -9) once it has written more
    second = consumer(config, "--exit-when-idle", "30")
    deadline = time.monotonic() + 120
    while len(files(out)) < written + 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    second.kill()
    code, _, stderr = ended(second, 30)
    assert code == -signal.SIGKILL, stderr
    assert sum(ids(out, "transactions", "txn_id").values()) < N_TXNS  # really mid-stream

    # 3: runs to the end
    third = consumer(config, "--exit-when-idle", "3")
    code, _, stderr = ended(third, 300)
    assert code == 0, stderr

    txns = ids(out, "transactions", "txn_id")
    assert set(txns) == {f"T{i:06d}" for i in range(N_TXNS)}
    assert max(txns.values()) == 1  # nothing doubled
    events = ids(out, "platform_events", "event_id")
    assert set(events) == {f"E{i:06d}" for i in range(N_EVENTS)} and max(events.values()) == 1
    store = TiplineStore.open(tmp_path / "store", dev=True)
    try:
        assert store.reports.count() == N_REPORTS
    finally:
        store.close()
    dead = asyncio.run(dead_letters(nats_url, stream))
    assert sorted(s for s, _ in dead) == sorted(s for s, _ in BAD)
    reasons = " | ".join(r for _, r in dead)
    assert "missing field(s) ['timestamp'" in reasons
    assert "column 'sender_country': expected an ISO 3166-1 alpha-2" in reasons
    assert "not a JSON document" in reasons
    assert "field 'incident_type'" in reasons
    assert not list(out.glob("*/.part-*"))  # a killed writer's partial file was removed


def test_config_errors_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "stream.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "inbound": {
                    "subjects": {"transactions": "in.txn"},
                    "output_dir": "o",
                    "batch": 0,
                    "dead_letter_subject": "in.txn",
                },
                "nats": {"url": "http://x", "colour": 1},
            }
        )
    )
    with pytest.raises(StreamConfigError) as err:
        load_stream_config(path)
    text = str(err.value)
    assert "inbound.batch: Input should be greater than or equal to 1" in text
    assert "nats.url: String should match pattern" in text
    assert "nats.colour: Extra inputs are not permitted" in text
    path.write_text(
        yaml.safe_dump(
            {
                "inbound": {
                    "subjects": {"transactions": "in.>"},
                    "output_dir": "o",
                    "dead_letter_subject": "in.dead",
                },
            }
        )
    )
    with pytest.raises(StreamConfigError, match=re.escape("matches subjects.transactions 'in.>'")):
        load_stream_config(path)


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free, nothing listens once closed
    config = write_config(tmp_path, f"nats://127.0.0.1:{port}", "NONE")
    result = CliRunner().invoke(app, ["stream", "run", "--config", str(config)])
    assert result.exit_code == 2
    assert f"cannot reach NATS at nats://127.0.0.1:{port}" in result.output


def test_a_fetch_that_meets_a_reconnect_is_asked_again(
    nats_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fetch raises connection errors while nats-py reconnects: the consumer exited
    on them (CI, under load). Each is now a reason to ask again, and every message is
    still stored once."""
    stream = "FLAKY"
    config = load_stream_config(write_config(tmp_path, nats_url, stream))
    assert config.inbound is not None
    asyncio.run(publish_all(nats_url, stream))
    real_fetch = BatchPuller.fetch
    reconnecting = nats.errors.ConnectionReconnectingError
    failures = iter([reconnecting(), nats.errors.StaleConnectionError()] * 3)
    raised: list[Exception] = []

    async def flaky_fetch(self: BatchPuller, *a: Any, **kw: Any) -> Any:
        failure = next(failures, None)
        if failure is not None:
            raised.append(failure)
            raise failure
        return await real_fetch(self, *a, **kw)

    monkeypatch.setattr(BatchPuller, "fetch", flaky_fetch)
    store = TiplineStore.open(tmp_path / "store", dev=True)
    try:
        run = StreamConsumer(config.inbound, config.nats, store)
        stats = asyncio.run(run.run(idle_exit=5.0))
        assert len(raised) == 6
        assert store.reports.count() == N_REPORTS
    finally:
        store.close()
    out = tmp_path / "out"
    assert set(ids(out, "transactions", "txn_id").values()) == {1}
    assert sum(ids(out, "transactions", "txn_id").values()) == N_TXNS
    assert sum(ids(out, "platform_events", "event_id").values()) == N_EVENTS
    assert stats.dead_lettered == len(BAD)
