"""A stream-payment alert end to end: `daybreak detect stream_payment` on a world folder,
fused into a case ("platform" family) and read on the console's case page, where the
analyst sees the shows, the payments and the minutes between, and opens each show."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from conftest import sign_in
from daybreak.cli.main import app
from daybreak.cli.server import build_demo_console
from daybreak.graph import build_cases
from daybreak.model.alerts import Alert
from daybreak.synth import generate_world, write_world
from live_server import serve_in_thread


@pytest.mark.slow
def test_stream_payment_alerts_reach_a_case_page_with_shows_payments_and_minutes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAYBREAK_FIELD_KEY", raising=False)
    world = tmp_path / "world"
    write_world(generate_world(1500, 4, seed=11, relatives_calls=True), world)
    out = tmp_path / "alerts.jsonl"
    ran = CliRunner().invoke(
        app, ["detect", "stream_payment", "--world", str(world), "--out", str(out)]
    )
    assert ran.exit_code == 0, ran.output
    alerts = [Alert.model_validate_json(line) for line in out.read_text().splitlines()]
    assert alerts and all(a.detector == "stream_payment" for a in alerts)

    cases = build_cases(world, alerts)
    case = next(c for c in cases if "platform" in c.sources)
    alert = next(a for a in case.alerts if a.detector == "stream_payment")
    demo = build_demo_console(
        tmp_path / "data", cases, alerts, world_dir=world, warm_exporters=False,
        secure_cookies=False,
    )  # fmt: skip
    url, stop = serve_in_thread(demo.app)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            assert sign_in(client, "analyst", demo.credentials["analyst"]).status_code == 303
            page = html.unescape(client.get(f"/console/cases/{case.case_id}").text)
            assert alert.alert_id in page and alert.explanation in page
            # the explanation names each show, its payment and the minutes between
            pair = re.search(
                r"(stream|call) (E\d+) at [^,]+, payment (T\d+) of [\d.]+ [A-Z]{3} "
                r"(\d+) minutes? (before|after) it started",
                alert.explanation,
            )
            assert pair, "a show, its payment and the minutes between on the case page"
            assert pair[2] in alert.evidence_ids
            show, payment = pair[2], pair[3]
            record = f"/console/cases/{case.case_id}/evidence/platform_events/{show}"
            assert f'href="{record}"' in page
            shown = html.unescape(client.get(record).text)
            assert f"<dt>Event</dt><dd>{pair[1]}</dd>" in shown
            assert alert.alert_id in shown, "the alert resting on the show"
            assert payment in shown, "the show's page names its payment"
    finally:
        stop()
        demo.store.close()


@pytest.mark.slow
def test_grooming_alerts_reach_a_case_page_with_minors_events_and_hours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daybreak.synth.grooming import GroomingPriors

    monkeypatch.delenv("DAYBREAK_FIELD_KEY", raising=False)
    world = tmp_path / "world"
    write_world(generate_world(1500, 4, seed=11, grooming_priors=GroomingPriors()), world)
    out = tmp_path / "alerts.jsonl"
    ran = CliRunner().invoke(app, ["detect", "grooming", "--world", str(world), "--out", str(out)])
    assert ran.exit_code == 0, ran.output
    alerts = [Alert.model_validate_json(line) for line in out.read_text().splitlines()]
    assert alerts and all(a.detector == "grooming" for a in alerts)

    cases = build_cases(world, alerts)
    case = next(c for c in cases if "platform" in c.sources)
    alert = next(a for a in case.alerts if a.detector == "grooming")
    assert case.title.startswith("account:")
    demo = build_demo_console(
        tmp_path / "data", cases, alerts, world_dir=world, warm_exporters=False,
        secure_cookies=False,
    )  # fmt: skip
    url, stop = serve_in_thread(demo.app)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            assert sign_in(client, "analyst", demo.credentials["analyst"]).status_code == 303
            page = html.unescape(client.get(f"/console/cases/{case.case_id}").text)
            assert alert.alert_id in page and alert.explanation in page
            # the explanation names a friend request to a minor's account
            first = re.search(r"friend request (E\d+) at [^,]+ to (\S+) \(", alert.explanation)
            assert first, "a friend request to a minor on the case page"
            assert first[1] in alert.evidence_ids
            record = f"/console/cases/{case.case_id}/evidence/platform_events/{first[1]}"
            assert f'href="{record}"' in page
            shown = html.unescape(client.get(record).text)
            assert "<dt>Event</dt><dd>friend_request</dd>" in shown
            assert alert.alert_id in shown, "the alert resting on the event"
            # what the platform knows about the accounts in the case (platform_accounts)
            known = [n for n in case.nodes if n.kind == "account" and n.details]
            assert known and all("account; " in n.details and "created " in n.details
                                 for n in known)  # fmt: skip
            assert "What the sources know about these entities" in page
            assert known[0].details in page
    finally:
        stop()
        demo.store.close()


@pytest.mark.slow
def test_sextortion_alerts_reach_a_case_page_with_contacts_calls_and_payments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daybreak.synth.sextortion import SextortionPriors

    monkeypatch.delenv("DAYBREAK_FIELD_KEY", raising=False)
    world = tmp_path / "world"
    write_world(generate_world(1500, 4, seed=7, sextortion_priors=SextortionPriors()), world)
    out = tmp_path / "alerts.jsonl"
    ran = CliRunner().invoke(
        app, ["detect", "sextortion", "--world", str(world), "--out", str(out)]
    )
    assert ran.exit_code == 0, ran.output
    alerts = [Alert.model_validate_json(line) for line in out.read_text().splitlines()]
    assert alerts and all(a.detector == "sextortion" for a in alerts)

    cases = build_cases(world, alerts)
    case = next(c for c in cases if "platform" in c.sources)
    alert = next(a for a in case.alerts if a.detector == "sextortion")
    assert case.tier.value == 3, "triaged like a sextortion report"
    demo = build_demo_console(
        tmp_path / "data", cases, alerts, world_dir=world, warm_exporters=False,
        secure_cookies=False,
    )  # fmt: skip
    url, stop = serve_in_thread(demo.app)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            assert sign_in(client, "analyst", demo.credentials["analyst"]).status_code == 303
            page = html.unescape(client.get(f"/console/cases/{case.case_id}").text)
            assert alert.alert_id in page and alert.explanation in page
            # the first contact with the minor, opened from the case page
            first = alert.evidence_ids[0]
            record = f"/console/cases/{case.case_id}/evidence/platform_events/{first}"
            assert f'href="{record}"' in page
            shown = html.unescape(client.get(record).text)
            assert alert.alert_id in shown, "the alert resting on the contact"
            # and the payment that followed, named in the explanation
            assert re.search(r"T\d{10} \d+\.\d{2} AUD at", alert.explanation)
            # the families who paid the handle are in the case (the handle's neighbours)
            payers = {n.key for n in case.nodes if n.kind == "customer"}
            assert any(f"customer:{e['customer_id']}" in payers for e in _payers(alert))
    finally:
        stop()
        demo.store.close()


def _payers(alert: Alert) -> list[dict[str, str]]:
    """The customers an explanation says paid ("then customer C0001090 ... paid")."""
    return [{"customer_id": c} for c in re.findall(r"customer (C\d+) \(tied", alert.explanation)]
