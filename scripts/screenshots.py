"""Regenerate docs/screenshots/*.png: the console's main pages in real Chromium.

Builds a small synthetic world with the real pipeline (``daybreak synth``, ``payments
scan``, ``cases build``), opens the console on its fused cases exactly as ``daybreak
demo`` does (:func:`daybreak.cli.server.build_demo_console`), serves it on loopback
and photographs the sign-in, queue, top case, dashboards and hash banks & rules pages,
then a team inbox, a merge and a split, and a referral with the export sent attached.
Needs Debian's chromium (or $DAYBREAK_CHROMIUM) and the dev dependencies; the world and
the store live in a temporary folder.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--customers 1000]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def daybreak(*args: str) -> None:
    cmd = [sys.executable, "-m", "daybreak.cli.main", *args]
    print("$ daybreak", " ".join(args), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def build_world(root: Path, customers: int) -> Path:
    world = root / "world"
    daybreak("synth", "--out", str(world), "--customers", str(customers), "--months", "3")
    results = world / "results"
    daybreak(
        "payments", "scan", "-t", str(world / "transactions.parquet"),
        "-c", str(world / "customers.parquet"), "-o", str(results),
    )  # fmt: skip
    daybreak(
        "cases", "build", "-w", str(world), "-a", str(results / "alerts.jsonl"),
        "-o", str(results), "--exact-only",
    )  # fmt: skip
    return world


def serve(app: object) -> tuple[str, threading.Thread, object]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none", lifespan="off"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", thread, server


def shrink(png: Path) -> None:
    """A 256-colour palette keeps the docs small and the UI readable."""
    from PIL import Image

    with Image.open(png) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(png, optimize=True)


def photograph(url: str, password: str, out: Path, chromium: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    shots = []
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=chromium, args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 900},
        )  # fmt: skip
        page = context.new_page()

        def shot(name: str, full: bool = False) -> None:
            path = out / f"{name}.png"
            page.screenshot(path=str(path), full_page=full)
            shrink(path)
            shots.append(path)

        page.goto(f"{url}/console/")
        shot("sign-in")
        page.get_by_label("User name").fill("supervisor")
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/console/queue")
        shot("queue")
        page.locator("table.queue tbody tr").first.get_by_role("link").click()
        page.get_by_label("Add a note").fill("Platform confirmed the account is still active.")
        page.get_by_role("button", name="Add note").click()
        page.locator("g.node.alerted").first.focus()
        page.keyboard.press("Enter")
        page.evaluate("window.scrollTo(0, 0)")
        shot("case")
        page.locator("#graph").scroll_into_view_if_needed()
        shot("case-graph")
        page.goto(f"{url}/console/dashboards")
        shot("dashboards", full=True)
        page.goto(f"{url}/console/banks")
        shot("banks-and-rules")
        casework(page, url, shot)
        context.close()
    return shots


def casework(page: Any, url: str, shot: Callable[..., None]) -> None:
    """The casework pages: a team inbox, a merge and a split, a referral with the
    export sent attached (synthetic cases of the world built above)."""
    page.goto(f"{url}/console/queue")
    rows = page.locator("table.queue tbody tr")
    ids = [rows.nth(i).get_attribute("data-case-id") for i in range(min(6, rows.count()))]
    for case_id in ids[3:6]:  # three cases go to the payments team's inbox
        page.goto(f"{url}/console/cases/{case_id}")
        page.get_by_label("Team", exact=True).select_option("payments")
        page.get_by_role("button", name="Send to team").click()
    page.goto(f"{url}/console/queue?inbox=1")
    shot("team-inbox")
    # Merge the second case into the first, then split one alert out again.
    into, merged = ids[0], ids[1]
    page.goto(f"{url}/console/cases/{into}")
    page.get_by_label("Case to merge in").fill(merged)
    page.get_by_label("Why they are one case").fill("Same payer under two customer ids.")
    page.get_by_role("button", name="Merge into this case").click()
    boxes = page.locator("#split-form input[type=checkbox]")
    if boxes.count() > 1:
        boxes.last.check()
        page.get_by_label("Why they are a case of their own").fill("A different payer.")
        page.get_by_role("button", name="Split into a new case").click()
    page.locator("#history").scroll_into_view_if_needed()
    shot("merge-split")
    # Refer the third case with its STIX bundle attached, the reference added later.
    page.goto(f"{url}/console/cases/{ids[2]}")
    triage = page.get_by_role("button", name="Mark as triaged")
    if triage.count():
        triage.click()
    agency = page.get_by_label("Agency")
    if not agency.input_value():
        agency.fill("PH-PNP-WCPC")
    page.get_by_label("Export sent").select_option("stix")
    page.get_by_role("button", name="Refer to agency").click()
    refused = page.locator(".flash-error")
    if refused.count():
        raise SystemExit(f"referral refused: {refused.first.inner_text()}")
    page.get_by_label("Receiver's reference").first.fill("WCPC-2026-0042")
    page.get_by_role("button", name="Add reference").first.click()
    page.locator("#referrals").scroll_into_view_if_needed()
    shot("referral")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--customers", type=int, default=1000, help="size of the world")
    args = parser.parse_args()
    chromium = os.environ.get("DAYBREAK_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        print("error: chromium not found (apt-get install chromium, or set DAYBREAK_CHROMIUM)")
        return 2

    from daybreak.cli.server import build_demo_console
    from daybreak.exporters import load_cases
    from daybreak.graph.files import read_alerts
    from daybreak.media.banks import BankEntry, BankStore

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        world = build_world(root, args.customers)
        banks = BankStore(root / "media" / "banks")
        banks.create("partner-list", source="partner hotline", description="benign test hashes")
        digests = [hashlib.sha256(f"benign {i}".encode()).hexdigest() for i in range(8)]
        banks.add("partner-list", [BankEntry("sha256", d, ("demo",)) for d in digests])
        standards = REPO.parent / "shared" / "standards"
        demo = build_demo_console(
            root / "data",
            load_cases(world / "results" / "cases.jsonl"),
            read_alerts(world / "results" / "alerts.jsonl"),
            world_dir=world,
            standards_dir=standards if standards.is_dir() else None,
            banks_dir=root / "media" / "banks",
        )
        from daybreak.store import SYSTEM

        # The supervisor works the payments team's inbox (team inbox screenshot).
        demo.store.teams.add("payments", "supervisor", SYSTEM)
        url, thread, server = serve(demo.app)
        try:
            shots = photograph(url, demo.credentials["supervisor"], args.out, chromium)
        finally:
            server.should_exit = True  # type: ignore[attr-defined]
            thread.join(timeout=10)
            demo.store.close()
    for path in shots:
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
