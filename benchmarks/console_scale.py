"""Console at scale: queue, search and dashboards over 100,000 stored cases.

Issue #15 measured every console page loading and decrypting every case: at 3,435 cases
the queue took 2.8 s, a phone search 3.1 s, the dashboards 3.2 s (one analyst). Target:
with 100,000 cases and 10 concurrent analysts, queue, search and dashboards each
≤ 300 ms at the 95th percentile, side by side with the sign-in page as the baseline.

Builds the store with the project's own code path (``store.cases.upsert`` of generated,
neutral cases, in batches; no SQL shortcuts), or reuses one built before in
``--data-dir``; starts ``daybreak serve`` on loopback (one process, as analysts use the
console); signs in ``--clients`` analysts; then, page by page, has every client request
it back to back ``--requests`` times and reports the latency each request took as seen
on loopback (the server's time plus a loopback round trip), p50/p95/max, and p95 over
the sign-in page's p95.

    .venv/bin/python benchmarks/console_scale.py --cases 100000 --data-dir /tmp/cscale
    .venv/bin/python benchmarks/console_scale.py --cases 100000 --data-dir /tmp/cscale-pg \\
        --pg-url postgresql+psycopg://daybreak@127.0.0.1:5432/daybreak
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from daybreak.model.alerts import Alert
from daybreak.model.cases import (
    Case,
    CaseStatus,
    Evidence,
    GraphEdge,
    GraphNode,
    Outcome,
    Tier,
    TimelineEvent,
)
from tipline_intake import AUDIT_KEY, _reset_pg, server

PASSWORD = "a long benchmark passphrase"
KEYS_FILE = "bench-keys.json"  # the synthetic store's keys, to reuse a built store
COUNTRIES = ["PH", "TH", "CO", "KE", "RO", "MX", "GB", "AU", "VN", "ID", "BR", "IN"]
TYPOLOGIES = ["low_value_corridor", "night_payments", "facilitator_hub", "cover_words"]
NOW = datetime(2026, 12, 1, tzinfo=UTC)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# The queue requests, in turn: pages, filters, My cases, a later page of closed cases.
QUEUE_VARIANTS = [
    "",
    "?page=2",
    "?tier=3",
    "?country=PH",
    "?typology=night_payments",
    "?mine=1",
    "?status=closed&page=5",
]


def phone_of(group: int) -> str:
    """Three cases share each phone, so a search hit has other cases holding it."""
    return f"+63917{group:07d}"


def make_case(i: int) -> Case:
    """The neutral case number ``i`` (always the same), shaped like the case builder's:
    alerts with typologies, a small graph of identifiers, evidence and timeline rows."""
    rng = random.Random(i)
    created = NOW - timedelta(minutes=rng.randint(10, 180 * 24 * 60))
    customer = f"customer:C{i:07d}"
    bene = f"beneficiary:wallet:{1000000 + i * 7 % 900000}"
    phone = f"phone:{phone_of(i // 3)}"
    email = f"email:user{i}@example.org"
    keys = [customer, bene, phone, email]
    nodes = [GraphNode(key=k, kind=k.split(":", 1)[0], label=k.split(":", 1)[1]) for k in keys]
    edges = [
        GraphEdge(source=customer, target=bene, relation="paid", count=rng.randint(2, 30)),
        GraphEdge(source=bene, target=phone, relation="same_person"),
        GraphEdge(source=customer, target=email, relation="same_person"),
    ]
    alerts = [
        Alert(
            alert_id=f"A-{i}-{k}",
            detector="payments",
            subject_type="customer",
            subject_id=customer,
            score=round(rng.uniform(0.4, 0.99), 2),
            typologies=tuple(sorted(rng.sample(TYPOLOGIES, rng.randint(1, 2)))),
            explanation="payments pattern",
            first_seen=created - timedelta(days=1),
        )
        for k in range(rng.randint(1, 3))
    ]
    timeline = [
        TimelineEvent(
            at=created - timedelta(hours=k + 1),
            source="transactions",
            record_id=f"T{i}-{k}",
            summary=f"payment {k} to {bene}",
        )
        for k in range(rng.randint(3, 10))
    ]
    roll = rng.random()
    status = (
        CaseStatus.CLOSED
        if roll < 0.3
        else CaseStatus.TRIAGED
        if roll < 0.4
        else CaseStatus.ASSIGNED
        if roll < 0.45
        else CaseStatus.NEW
    )
    country = rng.choice(COUNTRIES)
    return Case(
        case_id=f"CASE-{i:07d}",
        title=f"Corridor payments to {country}",
        priority=round(rng.uniform(0.05, 0.99), 4),
        tier=Tier(rng.choice([2, 3, 3, 4, 5, 5, 5, 6])),
        status=status,
        outcome=Outcome.NO_ACTION if status is CaseStatus.CLOSED else None,
        assignee="bench0" if status is CaseStatus.ASSIGNED else None,
        explanation=f"Customer paid a {country} beneficiary repeatedly in small amounts.",
        reasons=[", ".join(alerts[0].typologies), "repeated small payments"],
        sources=["transactions"] if i % 4 else ["transactions", "reports"],
        entity_keys=keys,
        alert_ids=[a.alert_id for a in alerts],
        alerts=alerts,
        timeline=timeline,
        nodes=nodes,
        edges=edges,
        evidence=[
            Evidence(source="transactions", record_id=t.record_id, summary=t.summary)
            for t in timeline
        ],
        country=country,
        created_at=created,
        updated_at=created,
    )


def build(url: str, field_key: str, audit_key: str, n: int, batch: int = 500) -> float:
    """Store cases up to ``n`` through ``store.cases.upsert``, continuing after those a
    stopped build stored; returns the seconds it took."""
    from daybreak.store import SYSTEM, Keyring, Role, TiplineStore

    store = TiplineStore(url, Keyring.from_text(field_key, audit=audit_key))
    try:
        have = store.cases.figures(SYSTEM).total
        if have == 0:
            for k in range(10):
                store.accounts.create(f"bench{k}", PASSWORD, Role.ANALYST)
        start = time.perf_counter()
        for lo in range(have, n, batch):
            store.cases.upsert([make_case(i) for i in range(lo, min(n, lo + batch))])
            if ((lo - have) // batch) % 20 == 0:
                done = min(n, lo + batch)
                rate = (done - have) / (time.perf_counter() - start)
                print(f"  stored {done:,} cases ({rate:,.0f}/s)", flush=True)
        return time.perf_counter() - start
    finally:
        store.close()


def keys_for(data_dir: Path, pg_url: str | None) -> tuple[str, str]:
    """The synthetic store's field and audit keys: those of a store (being) built in
    ``data_dir`` before, else new ones, saved there first (the database is reset)."""
    from daybreak.store.keys import generate_key

    path = data_dir / KEYS_FILE
    if path.exists():
        saved = json.loads(path.read_text())
        return str(saved["field"]), str(saved["audit"])
    data_dir.mkdir(parents=True, exist_ok=True)
    for old in data_dir.glob("daybreak.db*"):
        old.unlink()
    if pg_url:
        _reset_pg(pg_url)
    field_key = generate_key()
    path.write_text(json.dumps({"field": field_key, "audit": AUDIT_KEY}))
    return field_key, AUDIT_KEY


def sign_in(client: httpx.Client, user: str, tries: int = 5) -> None:
    """Sign in; the server's sign-in flood budget may refuse ten sign-ins in a row for a
    moment (400, "refusing sign-ins for a moment"), so a refusal is retried."""
    for _ in range(tries):
        token = CSRF.search(client.get("/console/sign-in").text)
        assert token is not None, "no sign-in form"
        form = {"username": user, "password": PASSWORD, "csrf_token": token.group(1)}
        done = client.post("/console/sign-in", data=form)
        if done.status_code == 303:
            return
        if "refusing sign-ins for a moment" not in done.text:
            break
        time.sleep(3)
    raise SystemExit(f"sign-in of {user} failed: {done.status_code}")


def measure(
    label: str,
    clients: list[httpx.Client],
    request: Callable[[httpx.Client, int], httpx.Response],
    n: int,
) -> list[float]:
    """Every client sends ``request`` back to back ``n`` times; the latencies in ms."""
    times: list[float] = []
    lock = threading.Lock()
    failures: list[str] = []

    def run(c: httpx.Client, who: int) -> None:
        for k in range(n):
            t0 = time.perf_counter()
            response = request(c, who * n + k)
            took = (time.perf_counter() - t0) * 1000
            if response.status_code != 200:
                failures.append(f"{label}: {response.status_code}")
            with lock:
                times.append(took)

    threads = [threading.Thread(target=run, args=(c, i)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit(f"failed requests: {failures[:3]}")
    return times


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1]


def pages(
    n_cases: int, anonymous: dict[int, httpx.Client]
) -> dict[str, Callable[[httpx.Client, int], httpx.Response]]:
    """The requests measured, each a function of (client, request number); the sign-in
    page is asked for by each client's signed-out twin (``anonymous[id(client)]``)."""
    rng = random.Random(3)
    groups = [rng.randrange(n_cases // 3) for _ in range(1000)]

    def queue(c: httpx.Client, k: int) -> httpx.Response:
        return c.get("/console/queue" + QUEUE_VARIANTS[k % len(QUEUE_VARIANTS)])

    def find(c: httpx.Client, k: int) -> httpx.Response:
        return c.post(
            "/console/queue",
            data={"csrf_token": c.headers["x-bench-csrf"], "q": phone_of(groups[k % 1000])},
            follow_redirects=True,
        )

    return {
        "sign-in page (baseline)": lambda c, k: anonymous[id(c)].get("/console/sign-in"),
        "queue": queue,
        "search by phone": find,
        "dashboards": lambda c, k: c.get("/console/dashboards"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--requests", type=int, default=20, help="per client and page")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/daybreak-console-scale"))
    parser.add_argument("--pg-url", help="PostgreSQL instead of SQLite (its schema is reset)")
    args = parser.parse_args()
    from daybreak.store.db import sqlite_url

    field_key, audit_key = keys_for(args.data_dir, args.pg_url)
    url = args.pg_url or sqlite_url(args.data_dir / "daybreak.db")
    print(f"building {args.cases:,} cases with store.cases.upsert ...", flush=True)
    seconds = build(url, field_key, audit_key, args.cases)
    print(f"built (or completed) in {seconds:,.0f} s")
    extra = ["--insecure-cookies", "--login-rate", "0"] + (
        ["--db", args.pg_url] if args.pg_url else []
    )
    env = {"DAYBREAK_AUDIT_KEY": audit_key}
    with server(args.data_dir, field_key, extra, env, "console") as (port, _pid):
        run(port, args)


def clients_for(port: int, n: int) -> Iterator[httpx.Client]:
    for k in range(n):
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
        sign_in(client, f"bench{k}")
        token = CSRF.search(client.get("/console/queue").text)
        assert token is not None
        client.headers["x-bench-csrf"] = token.group(1)
        yield client


def run(port: int, args: argparse.Namespace) -> None:
    clients = list(clients_for(port, args.clients))
    anonymous = {id(c): httpx.Client(base_url=f"http://127.0.0.1:{port}") for c in clients}
    try:
        results: dict[str, list[float]] = {}
        loads = [os.getloadavg()[0]]
        for label, request in pages(args.cases, anonymous).items():
            # Warm up: each variant once (first query plans; the counts of each queue
            # filter, kept until a case changes: a filter's first request after a change
            # counts its matches, see docs/console.md "Scale").
            measure(label, clients[:1], request, len(QUEUE_VARIANTS))
            results[label] = measure(label, clients, request, args.requests)
            loads.append(os.getloadavg()[0])
        base = p95(results["sign-in page (baseline)"])
        print(
            f"\n{args.cases:,} cases, {args.clients} concurrent clients, "
            f"{args.requests} requests each per page ({'PostgreSQL' if args.pg_url else 'SQLite'}), "
            f"1-minute load average {min(loads):.1f}-{max(loads):.1f}"
        )
        print(f"{'page':26} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p95 / sign-in':>14}")
        for label, times in results.items():
            print(
                f"{label:26} {statistics.median(times):8.0f} {p95(times):8.0f} "
                f"{max(times):8.0f} {p95(times) / base:13.1f}x"
            )
    finally:
        for c in [*clients, *anonymous.values()]:
            c.close()


if __name__ == "__main__":
    main()
