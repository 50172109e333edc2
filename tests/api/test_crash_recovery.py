"""kill -9 of the server during a bounded intake load, then restart: every report that
got a 202 is stored, and none twice (clients retry with their Idempotency-Key)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import httpx
import pytest
from api_server import free_port, start_server
from sqlalchemy import create_engine, text

from daybreak.store import Keyring, Role, TiplineStore
from daybreak.store.keys import generate_key

pytestmark = pytest.mark.slow
CLIENTS = 4
PER_CLIENT = 60  # bounded: at most 240 intakes


def _body(n: int) -> dict[str, object]:
    return {
        "reporter": {"type": "platform"},
        "incident_type": "online_enticement",
        "reported_accounts": [{"service": "examplestream", "account_id": f"crash-{n}"}],
    }


def test_kill_9_loses_no_acknowledged_report_and_duplicates_none(tmp_path: Path) -> None:
    key_text, audit_text = generate_key(), generate_key()
    env = {"DAYBREAK_FIELD_KEY": key_text, "DAYBREAK_AUDIT_KEY": audit_text}
    setup = TiplineStore(
        f"sqlite+pysqlite:///{tmp_path / 'daybreak.db'}",
        Keyring.from_text(key_text, audit=audit_text),
    )
    api_key = setup.api_keys.create("loadgen", Role.PLATFORM, rate_per_minute=0)
    setup.close()

    port = free_port()
    proc = start_server(tmp_path, port, env)
    acked: dict[str, str] = {}  # idempotency key -> report id from a 202
    sent: set[str] = set()
    lock = threading.Lock()
    midway = threading.Event()  # enough reports acknowledged to pull the plug mid-load

    def client(c: int) -> None:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": api_key}, timeout=10
        ) as h:
            for i in range(PER_CLIENT):
                idem = f"{c}-{i}"
                with lock:
                    sent.add(idem)
                try:
                    r = h.post(
                        "/v1/reports", json=_body(c * 1000 + i), headers={"Idempotency-Key": idem}
                    )
                except httpx.HTTPError:
                    return  # the server died under us
                if r.status_code == 202:
                    with lock:
                        acked[idem] = r.json()["report_id"]
                        if len(acked) >= CLIENTS * PER_CLIENT // 10:
                            midway.set()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    # Killed once a tenth is acknowledged, not after a fixed sleep: a fast server could
    # finish the whole bounded load within any sleep short enough for CI.
    assert midway.wait(60), "too few reports were acknowledged"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    for t in threads:
        t.join(30)
    assert 0 < len(acked) < CLIENTS * PER_CLIENT, "the kill should land during the load"

    proc = start_server(tmp_path, free_port(), env)  # restart on the same data
    try:
        port2 = int(proc.args[proc.args.index("--port") + 1])  # type: ignore[union-attr]
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port2}", headers={"X-API-Key": api_key}, timeout=10
        ) as h:
            # Clients whose request got no answer retry with the same key.
            for idem in sorted(sent - set(acked)):
                c, i = map(int, idem.split("-"))
                r = h.post(
                    "/v1/reports", json=_body(c * 1000 + i), headers={"Idempotency-Key": idem}
                )
                assert r.status_code == 202
            # Acknowledged reports replay to the same id: they survived the kill.
            for idem, rid in sorted(acked.items())[:20]:
                c, i = map(int, idem.split("-"))
                r = h.post(
                    "/v1/reports", json=_body(c * 1000 + i), headers={"Idempotency-Key": idem}
                )
                assert r.json() == {"report_id": rid, "duplicate": True}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)

    engine = create_engine(f"sqlite+pysqlite:///{tmp_path / 'daybreak.db'}")
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT report_id FROM reports"))]
    engine.dispose()
    assert set(acked.values()) <= set(ids)  # every 202 is there
    assert len(ids) == len(set(ids)) == len(sent)  # once each, and nothing extra
    check = TiplineStore(
        f"sqlite+pysqlite:///{tmp_path / 'daybreak.db'}",
        Keyring.from_text(key_text, audit=audit_text),
    )
    try:
        assert check.audit.verify().ok
    finally:
        check.close()
