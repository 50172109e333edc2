"""Several API servers, one truth (#20, item 3): two real ``daybreak serve`` processes on
loopback ports against one PostgreSQL database, as two machines behind a load balancer
would run. Under concurrent intake through both (each report sent to both with one
Idempotency-Key) no report is lost or stored twice and the clusters agree; wrong
passwords split across both lock the account once; a rate limit and the per-address
sign-in limit are one limit across both; a session ended through one is refused by the
other at once; and the audit chain is one intact chain."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_server import PASSWORD, free_port, start_server
from sqlalchemy import func, select, update

from daybreak.store import Keyring, Role, TiplineStore
from daybreak.store.auth import MAX_FAILURES
from daybreak.store.checkpoints import last_seq
from daybreak.store.keys import generate_key
from daybreak.store.tables import audit_head, audit_log, clusters, idempotency_keys, reports, users
from pg_schema import reset_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
REPORTS = 60  # distinct Idempotency-Keys, each sent to both servers at once
THREADS = 3  # concurrent clients per server
LOGIN_RATE = 12  # sign-in attempts a minute per address, for both servers together
KEY_RATE = 10  # requests a minute of the rate-limited API key
WRONG = "not the right password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Cluster:
    """Two servers on one database, the keys they run with, and what the test made."""

    db_url: str
    env: dict[str, str]
    keys: Keyring
    urls: tuple[str, str]
    data_dirs: tuple[Path, Path]
    store: TiplineStore  # the test's own connection (an admin's CLI, in effect)
    platform_key: str
    slow_key: str


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()  # the server closes its store: the writer drains, a checkpoint
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def cluster(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    reset_postgres(pg_url)
    field, audit = generate_key(), generate_key()
    env = {
        "DAYBREAK_FIELD_KEY": field,
        "DAYBREAK_AUDIT_KEY": audit,
        "DAYBREAK_AUDIT_CHECKPOINT_SECONDS": "1",
    }
    dirs = (tmp_path_factory.mktemp("server-a"), tmp_path_factory.mktemp("server-b"))
    ports = (free_port(), free_port())
    args = ["--db", pg_url, "--login-rate", str(LOGIN_RATE), "--insecure-cookies"]
    args += ["--login-hashes-per-minute", "0"]  # sign-ins back to back: no hashing budget
    # Both start at once on an empty database: one migrates, the other waits for it.
    with ThreadPoolExecutor(2) as pool:
        starts = [
            pool.submit(start_server, d, p, env, args, 300)
            for d, p in zip(dirs, ports, strict=True)
        ]
    procs = [f.result() for f in starts if f.exception() is None]
    if len(procs) < len(starts):  # stop the one that started, report the other
        for proc in procs:
            _stop(proc)
        raise next(e for f in starts if (e := f.exception()) is not None)
    keys = Keyring.from_text(field, audit=audit)
    store = TiplineStore(pg_url, keys, run_migrations=False, checkpoint_every=0)
    # Hashed cheaply (tests/conftest.py); the servers verify each hash with the
    # parameters stored in it.
    try:
        for name in ("ana", "victim", "held"):
            store.accounts.create(name, PASSWORD, Role.ANALYST)
        yield Cluster(
            pg_url,
            env,
            keys,
            (f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"),
            dirs,
            store,
            store.api_keys.create("intake", Role.PLATFORM, rate_per_minute=0),
            store.api_keys.create("slow", Role.PLATFORM, rate_per_minute=KEY_RATE),
        )
    finally:
        for proc in procs:
            _stop(proc)
        store.close()


def _report(n: int) -> dict[str, Any]:
    # 60 reports over 15 accounts: the two servers keep joining the same clusters.
    return {
        "reporter": {"type": "platform"},
        "incident_type": "live_streaming_abuse",
        "is_live": True,
        "reported_accounts": [{"service": "examplestream", "account_id": f"acct-{n % 15}"}],
    }


def test_concurrent_intake_through_both_loses_and_duplicates_nothing(cluster: Cluster) -> None:
    answers: dict[tuple[int, int], tuple[int, str, bool]] = {}  # (server, n) -> answer
    lock = threading.Lock()

    def client(server: int, lane: int) -> None:
        headers = {"X-API-Key": cluster.platform_key}
        with httpx.Client(base_url=cluster.urls[server], headers=headers, timeout=60) as h:
            for n in range(lane, REPORTS, THREADS):
                r = h.post("/v1/reports", json=_report(n), headers={"Idempotency-Key": f"r-{n}"})
                body = r.json()
                with lock:
                    answers[(server, n)] = (r.status_code, body["report_id"], body["duplicate"])

    threads = [
        threading.Thread(target=client, args=(server, lane))
        for lane in range(THREADS)
        for server in (0, 1)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert {status for status, _, _ in answers.values()} == {202}
    for n in range(REPORTS):  # both servers answered the same report for one key
        (_, id_a, dup_a), (_, id_b, dup_b) = answers[(0, n)], answers[(1, n)]
        assert id_a == id_b, f"key r-{n}: two reports {id_a} and {id_b}"
        assert dup_a != dup_b, f"key r-{n}: exactly one answer is the replay"
    with cluster.store.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(reports)).scalar_one()
        keys = conn.execute(select(func.count()).select_from(idempotency_keys)).scalar_one()
        counted: dict[str, int] = dict(
            conn.execute(
                select(clusters.c.cluster_id, clusters.c.report_count).where(
                    clusters.c.merged_into.is_(None)
                )
            ).all()
        )
        actual: dict[str, int] = dict(
            conn.execute(
                select(reports.c.cluster_id, func.count()).group_by(reports.c.cluster_id)
            ).all()
        )
        created = conn.execute(
            select(func.count()).where(audit_log.c.action == "report.create")
        ).scalar_one()
    assert stored == keys == created == REPORTS
    assert len({rid for _, rid, _ in answers.values()}) == REPORTS
    assert counted == actual  # no lost update of a cluster's count between the servers
    assert len(actual) == 15


def _from(address: str) -> httpx.Client:
    """A client whose connections come from ``address`` (any of 127.0.0.0/8): each test
    signs in from its own address, so the per-address limits of one leave the others."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def _login(client: httpx.Client, url: str, username: str, password: str) -> httpx.Response:
    return client.post(f"{url}/v1/auth/login", json={"username": username, "password": password})


def test_wrong_passwords_across_both_servers_lock_the_account_once(cluster: Cluster) -> None:
    with _from("127.0.0.2") as client:
        for attempt in range(MAX_FAILURES):
            r = _login(client, cluster.urls[attempt % 2], "victim", WRONG)
            assert r.status_code == 401, (attempt, r.text)
        for url in cluster.urls:  # locked on both, even with the right password
            r = _login(client, url, "victim", PASSWORD)
            assert r.status_code == 429 and "account" in r.json()["detail"], r.text
    (account,) = [a for a in cluster.store.accounts.listing() if a.username == "victim"]
    assert account.failed_logins == MAX_FAILURES and account.locked_until is not None


def test_the_sign_in_limit_per_address_is_one_limit_across_both(cluster: Cluster) -> None:
    """Attempts on a locked account use the address's tokens without a password check;
    both servers together admit LOGIN_RATE a minute from one address, not twice that."""
    with cluster.store.engine.begin() as conn:
        conn.execute(
            update(users)
            .where(users.c.username == "held")
            .values(locked_until=datetime.now(UTC) + timedelta(hours=1))
        )
    admitted = 0
    refused_by: list[int] = []
    with _from("127.0.0.3") as client:
        for attempt in range(2 * LOGIN_RATE + 2):
            server = attempt % 2
            r = _login(client, cluster.urls[server], "held", WRONG)
            assert r.status_code == 429, r.text
            if "address" not in r.json()["detail"]:
                admitted += 1
                continue
            refused_by.append(server)
            if len(refused_by) == 2:
                break
    assert sorted(refused_by) == [0, 1]  # refused by both, one right after the other
    assert LOGIN_RATE <= admitted <= LOGIN_RATE + 1  # one minute's worth, not one per server


def test_a_rate_limit_is_shared_by_both_servers(cluster: Cluster) -> None:
    statuses: list[int] = []
    for attempt in range(2 * KEY_RATE):
        url = cluster.urls[attempt % 2]
        r = httpx.get(f"{url}/v1/auth/me", headers={"X-API-Key": cluster.slow_key}, timeout=30)
        statuses.append(r.status_code)
    assert set(statuses) == {200, 429}
    assert KEY_RATE <= statuses.count(200) <= KEY_RATE + 1  # not KEY_RATE per server
    assert 429 in statuses[0::2] and 429 in statuses[1::2]  # both refuse the key


def test_a_session_ended_through_one_server_is_refused_by_the_other(cluster: Cluster) -> None:
    a, b = cluster.urls
    with _from("127.0.0.4") as browser:
        r = _login(browser, a, "ana", PASSWORD)
        assert r.status_code == 200, r.text
        cookie = r.cookies["daybreak_session"]
        assert browser.get(f"{b}/v1/auth/me").json()["username"] == "ana"  # one session
        assert browser.post(f"{a}/v1/auth/logout").status_code == 204
        browser.cookies.set("daybreak_session", cookie)  # replayed after signing out
        assert browser.get(f"{b}/v1/auth/me").status_code == 401
    # Revoked by an admin (here the test's own process, as `daybreak admin users revoke`)
    with _from("127.0.0.4") as one, _from("127.0.0.4") as other:
        assert _login(one, a, "ana", PASSWORD).status_code == 200
        assert _login(other, b, "ana", PASSWORD).status_code == 200
        assert one.get(f"{b}/v1/auth/me").status_code == 200
        assert other.get(f"{a}/v1/auth/me").status_code == 200
        ended, _ = cluster.store.accounts.revoke("ana")
        assert ended == 2
        for browser in (one, other):
            for url in (a, b):
                assert browser.get(f"{url}/v1/auth/me").status_code == 401


def test_a_console_session_is_one_session_on_both_servers(cluster: Cluster) -> None:
    a, b = cluster.urls
    cluster.store.accounts.create("sam", PASSWORD, Role.SUPERVISOR)
    with _from("127.0.0.5") as browser:
        page = browser.get(f"{a}/console/sign-in")
        signed = browser.post(
            f"{a}/console/sign-in",
            data={"username": "sam", "password": PASSWORD, "csrf_token": _csrf(page.text)},
        )
        assert signed.status_code == 303, signed.text
        queue = browser.get(f"{b}/console/queue")
        assert queue.status_code == 200, queue.text
        out = browser.post(f"{b}/console/sign-out", data={"csrf_token": _csrf(queue.text)})
        assert out.status_code == 303
        assert browser.get(f"{a}/console/queue").status_code == 303  # to the sign-in page


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "page has no CSRF token"
    return found.group(1)


def test_the_audit_chain_is_one_intact_chain(cluster: Cluster) -> None:
    with cluster.store.engine.connect() as conn:
        seqs = [row[0] for row in conn.execute(select(audit_log.c.seq).order_by(audit_log.c.seq))]
    assert seqs == list(range(1, len(seqs) + 1))  # one sequence, no gap, no fork
    result = cluster.store.audit.verify()
    assert result.ok, result.problems
    assert result.entries == len(seqs)
    with cluster.store.engine.connect() as conn:
        head = conn.execute(select(audit_head.c.seq)).scalar_one()
    for data_dir in cluster.data_dirs:  # each server's checkpoints name the one chain
        points = data_dir / "audit-checkpoints"
        _wait_for_checkpoint(points, head)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "daybreak.cli.main",
                "audit",
                "verify",
                "--db",
                cluster.db_url,
                "--data-dir",
                str(data_dir),
            ],
            env={**os.environ, **cluster.env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def _wait_for_checkpoint(points: Path, seq: int) -> None:
    """Poll until ``points`` records entry ``seq`` (the servers checkpoint every
    second); fail after a generous minute."""
    for _ in range(600):
        if points.exists() and last_seq(points) >= seq:
            return
        time.sleep(0.1)
    pytest.fail(f"{points}: no checkpoint of entry {seq} within a minute")
