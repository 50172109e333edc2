"""``daybreak stream relay``: audit events published to a real nats-server and POSTed to
webhook receivers on loopback that check the HMAC-SHA256 signature; a receiver that fails
twice gets each event once retries succeed; one that always fails ends in the store's
dead-letter list, listed by ``daybreak stream dead-letters``."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nats
import pytest
import yaml
from typer.testing import CliRunner

from daybreak.cli.main import app
from daybreak.connectors.stream_config import load_stream_config
from daybreak.connectors.stream_out import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    OutboundRelay,
    SignatureError,
    sign,
    verify_signature,
)
from daybreak.store import SYSTEM, TiplineStore
from daybreak.store.auth import operator_in
from daybreak.tipline.intake import ReportIn

from .nats_drain import drain

SECRET = b"whsec-test-only"


class Receiver(ThreadingHTTPServer):
    """Answers ``fail_first`` requests per event with 503, then 204 (``always``: a fixed
    status); keeps each request's event id and whether its signature held."""

    def __init__(self, fail_first: int = 0, always: int | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fail_first, self.always = fail_first, always
        self.seen: list[tuple[str, bool, bytes]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def delivered(self) -> list[str]:
        return [event for event, ok, _ in self.seen if ok]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            verify_signature(SECRET, body, self.headers.get(SIGNATURE_HEADER))
            valid = True
        except SignatureError:
            valid = False
        event = self.headers.get(EVENT_ID_HEADER, "")
        with self.server.lock:
            tries = sum(1 for e, _, _ in self.server.seen if e == event)
            status = self.server.always or (503 if tries < self.server.fail_first else 204)
            self.server.seen.append((event, valid and status == 204, body))
        self.send_response(status if valid else 401)
        self.end_headers()

    def log_message(self, *args: object) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    flaky, broken = Receiver(fail_first=2), Receiver(always=500)
    threads = [threading.Thread(target=r.serve_forever, daemon=True) for r in (flaky, broken)]
    for t in threads:
        t.start()
    yield flaky, broken
    for r in (flaky, broken):
        r.shutdown()
        r.server_close()


async def relayed_on_nats(url: str) -> list[dict[str, object]]:
    return await drain(
        url, "outtest.>", "OUTTEST", lambda m: json.loads(m.data), batch=20, durable="check"
    )


async def make_stream(url: str) -> None:
    nc = await nats.connect(url)
    await nc.jetstream().add_stream(name="OUTTEST", subjects=["outtest.>"])
    await nc.close()


@pytest.mark.nats
def test_relay_publishes_signs_retries_and_dead_letters(
    nats_url: str, tmp_path: Path, receivers: tuple[Receiver, Receiver]
) -> None:
    flaky, broken = receivers
    config = tmp_path / "stream.yaml"
    config.write_text(yaml.safe_dump({
        "nats": {"url": nats_url},
        "store": {"data_dir": str(tmp_path / "store"), "dev": True},
        "outbound": {
            "subject_prefix": "outtest",
            "webhooks": [{"url": flaky.url, "secret_env": "HOOK_SECRET"},
                         {"url": broken.url, "secret_env": "HOOK_SECRET"}],
            "actions": ["report.create"],
            "max_attempts": 3,
            "backoff_initial_seconds": 0.01,
        },
    }))  # fmt: skip
    cfg = load_stream_config(config)
    assert cfg.outbound is not None
    asyncio.run(make_stream(nats_url))
    example = ReportIn.model_json_schema()["example"]
    with TiplineStore.open(tmp_path / "store", dev=True) as store:
        ids = [
            store.reports.add(ReportIn.model_validate(example), SYSTEM).report_id for _ in range(3)
        ]
        relay = OutboundRelay(cfg.outbound, cfg.nats, store, env={"HOOK_SECRET": SECRET.decode()})
        asyncio.run(relay.run(once=True))
        again = OutboundRelay(cfg.outbound, cfg.nats, store, env={"HOOK_SECRET": SECRET.decode()})
        asyncio.run(again.run(once=True))  # the cursor: nothing is sent twice
        assert again.published == 0
        letters = store.outbound.dead_letters(SYSTEM)

    events = asyncio.run(relayed_on_nats(nats_url))
    assert sorted(e["object_id"] for e in events) == sorted(ids)
    assert {e["type"] for e in events} == {"report.create"}
    # the flaky receiver: 2 refusals then success, for each event; every signature valid
    assert sorted(flaky.delivered()) == sorted(e["id"] for e in events)
    assert len(flaky.seen) == 3 * 3
    # the broken one: 3 attempts each, then the dead-letter list
    assert len(broken.seen) == 3 * 3 and not broken.delivered()
    assert sorted(d.event_id for d in letters) == sorted(e["id"] for e in events)
    assert {(d.url, d.attempts, d.last_error) for d in letters} == {(broken.url, 3, "HTTP 500")}

    listed = CliRunner().invoke(app, ["stream", "dead-letters", "--config", str(config)])
    assert listed.exit_code == 0, listed.output
    assert all(d.event_id in listed.output for d in letters)


def test_signature_rejects_tampering_and_stale_timestamps() -> None:
    body = b'{"id":"audit-1"}'
    header = sign(SECRET, body, 1_000_000)
    verify_signature(SECRET, body, header, now=1_000_010)
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(SECRET, body + b" ", header, now=1_000_010)
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(b"other", body, header, now=1_000_010)
    with pytest.raises(SignatureError, match="more than 300 s"):
        verify_signature(SECRET, body, header, now=1_000_400)
    with pytest.raises(SignatureError, match="no X-Daybreak-Signature"):
        verify_signature(SECRET, body, None)


def _outbound_config(tmp_path: Path, url: str, org: str) -> Path:
    config = tmp_path / f"stream-{org}.yaml"
    config.write_text(yaml.safe_dump({
        "store": {"data_dir": str(tmp_path / "store"), "dev": True},
        "outbound": {
            "organisation": org,
            "subject_prefix": None,
            "webhooks": [{"url": url, "secret_env": "HOOK_SECRET"}],
            "actions": ["report.create"],
            "max_attempts": 2,
            "backoff_initial_seconds": 0.01,
        },
    }))  # fmt: skip
    return config


def test_each_organisation_relays_and_redelivers_only_its_own_events(
    tmp_path: Path, receivers: tuple[Receiver, Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One relay per organisation: another organisation's events never reach its
    webhooks nor its dead-letter list; `stream redeliver` sends the dead letters again
    once the receiver works, empties the list and audits each redelivery."""
    _, broken = receivers
    monkeypatch.setenv("HOOK_SECRET", SECRET.decode())
    example = ReportIn.model_validate(ReportIn.model_json_schema()["example"])
    with TiplineStore.open(tmp_path / "store", dev=True) as store:
        store.organisations.create("ngo-b", "NGO B")
        ours = [store.reports.add(example, operator_in("ngo-b")).report_id for _ in range(2)]
        store.reports.add(example, SYSTEM)  # the default organisation's
    config = _outbound_config(tmp_path, broken.url, "ngo-b")
    relayed = CliRunner().invoke(app, ["stream", "relay", "--config", str(config), "--once"])
    assert relayed.exit_code == 0, relayed.output
    with TiplineStore.open(tmp_path / "store", dev=True) as store:
        letters = store.outbound.dead_letters(operator_in("ngo-b"))
        assert store.outbound.dead_letters(SYSTEM) == []
        assert sorted(json.loads(d.body)["object_id"] for d in letters) == sorted(ours)
    assert len(broken.seen) == 2 * len(ours)  # max_attempts each, and nothing of "default"

    failed = CliRunner().invoke(app, ["stream", "redeliver", "--config", str(config)])
    assert failed.exit_code == 1 and "failed again 2" in failed.output
    broken.always = None  # the receiver is fixed
    first = letters[0]
    one = ["stream", "redeliver", "--config", str(config), "--id", str(first.id)]
    assert CliRunner().invoke(app, one).exit_code == 0
    done = CliRunner().invoke(app, ["stream", "redeliver", "--config", str(config)])
    assert done.exit_code == 0 and "delivered 1" in done.output, done.output
    with TiplineStore.open(tmp_path / "store", dev=True) as store:
        assert store.outbound.dead_letters(operator_in("ngo-b")) == []
        trail = store.audit.trail(operator_in("ngo-b"))
    assert sorted(e.object_id for e in trail if e.action == "webhook.redelivered") == sorted(
        d.event_id for d in letters
    )
    assert sorted(broken.delivered()) == sorted(d.event_id for d in letters)
