"""`daybreak media exchange`: add, list, sync with retroactive matching of past sightings
and "seen" opinions back to the exchange, against a local ThreatExchange server."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from daybreak.cli.main import app
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case
from daybreak.store import TiplineStore

from .exchange_servers import TX_PREFIX, Exchange, TxHandler, serve
from .test_hash_exchange import TX_SECRET, pdq, tx_updates

runner = CliRunner()


def where(tmp_path: Path) -> list[str]:
    return ["--home", str(tmp_path / "media"), "--data-dir", str(tmp_path / "data"), "--dev"]


def write_sightings(path: Path) -> None:
    rows = [("S1", "acct-1", pdq("t0")), ("S2", "acct-2", pdq("never-listed"))]
    pl.DataFrame(
        {
            "sighting_id": [r[0] for r in rows],
            "seen_at": ["2026-11-01T10:00:00Z"] * 2,
            "hash_type": ["pdq"] * 2,
            "hash_value": [r[2] for r in rows],
            "quality": [100] * 2,
            "service": ["examplestream"] * 2,
            "account_id": [r[1] for r in rows],
            "location": [None] * 2,
        },
        schema_overrides={"location": pl.String},
    ).write_csv(path)


def test_sync_matches_past_sightings_again_and_says_seen(tmp_path: Path) -> None:
    sightings, alerts = tmp_path / "sightings.csv", tmp_path / "alerts.jsonl"
    write_sightings(sightings)
    ex = Exchange(TX_SECRET, page_size=2, entries=tx_updates())
    env = {"TEST_TX_TOKEN": TX_SECRET}
    with serve(TxHandler, ex, TX_PREFIX) as base:
        added = runner.invoke(
            app,
            ["media", "exchange", "add", "tx", "--api", "fb_threatexchange", "--bank", "tx-pdq",
             "--set", "privacy_group=1234", "--set", f"endpoint={base}",
             "--credentials-env", "TEST_TX_TOKEN", *where(tmp_path)],
        )  # fmt: skip
        assert added.exit_code == 0, added.output
        assert "credentials from $TEST_TX_TOKEN" in added.output
        args = ["media", "exchange", "sync", "--sightings", str(sightings),
                "--alerts-out", str(alerts), *where(tmp_path)]  # fmt: skip
        synced = runner.invoke(app, args, env=env)
        assert synced.exit_code == 0, synced.output
        again = runner.invoke(app, args, env=env)  # nothing new: no pass, no opinion
        listed = runner.invoke(app, ["media", "exchange", "list", "--json", *where(tmp_path)])
        # the analyst rejects the match of the case built from the new alert
        alert = Alert.model_validate_json(alerts.read_text().splitlines()[0])
        with TiplineStore.open(tmp_path / "data", dev=True) as store:
            store.cases.upsert([Case(case_id="C-7", title="t", priority=0.5, alerts=[alert],
                                     alert_ids=[alert.alert_id])])  # fmt: skip
        judged = runner.invoke(
            app,
            [
                "media",
                "exchange",
                "opinion",
                "C-7",
                "--verdict",
                "false-positive",
                *where(tmp_path),
            ],
        )
        delivered = runner.invoke(app, ["media", "exchange", "sync", *where(tmp_path)], env=env)
    assert "hashes_added 5" in synced.output and "1 sent" in synced.output
    (alert,) = [json.loads(line) for line in alerts.read_text().splitlines()]
    assert alert["subject_id"] == "examplestream:acct-1"
    assert [p for p, _ in ex.feedback] == ["/900/", "/900/"]
    assert [b for _, b in ex.feedback] == ["reactions=SAW_THIS_TOO", "reactions=NOT_HELPFUL"]
    assert "false-positive queued for 1 exchange-listed hash match(es)" in judged.output
    assert "1 sent" in delivered.output
    assert "hashes_added 0" in again.output and "0 sent" in again.output
    (row,) = [json.loads(line) for line in listed.output.splitlines()]
    assert (row["api"], row["bank"], row["config"]["privacy_group"]) == (
        "fb_threatexchange",
        "tx-pdq",
        1234,
    )
    assert json.loads(row["checkpoint"])["update_time"] == max(u.last_updated for u in tx_updates())
    for out in (added.output, synced.output, again.output, listed.output):
        assert TX_SECRET.split("|")[1] not in out


def test_bad_settings_and_missing_credentials_are_named(tmp_path: Path) -> None:
    bad = runner.invoke(
        app,
        ["media", "exchange", "add", "tx", "--api", "fb_threatexchange", "--bank", "b",
         "--set", "privacy_group=abc", *where(tmp_path)],
    )  # fmt: skip
    assert bad.exit_code == 2 and "privacy_group: 'abc' is not a number" in bad.output
    unknown = runner.invoke(
        app, ["media", "exchange", "add", "x", "--api", "carrier-pigeon", "--bank", "b",
              *where(tmp_path)],
    )  # fmt: skip
    assert unknown.exit_code == 2 and "unknown exchange API 'carrier-pigeon'" in unknown.output
    runner.invoke(
        app,
        ["media", "exchange", "add", "n", "--api", "ncmec", "--bank", "b",
         "--set", "environment=test_Industry", *where(tmp_path)],
    )  # fmt: skip
    failed = runner.invoke(app, ["media", "exchange", "sync", *where(tmp_path)], env={})
    assert failed.exit_code == 1
    assert "no credentials: set DAYBREAK_NCMEC_HASHSHARING" in failed.output


def test_sync_every_loops_until_its_rounds_are_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daybreak.cli import media_exchange

    slept: list[float] = []
    monkeypatch.setattr(media_exchange.time, "sleep", slept.append)
    ex = Exchange(TX_SECRET, page_size=10, entries=tx_updates())
    with serve(TxHandler, ex, TX_PREFIX) as base:
        runner.invoke(
            app,
            ["media", "exchange", "add", "tx", "--api", "fb_threatexchange", "--bank", "b",
             "--set", "privacy_group=1", "--set", f"endpoint={base}",
             "--credentials-env", "TEST_TX_TOKEN", *where(tmp_path)],
        )  # fmt: skip
        looped = runner.invoke(
            app,
            ["media", "exchange", "sync", "--every", "15m", "--rounds", "3", *where(tmp_path)],
            env={"TEST_TX_TOKEN": TX_SECRET},
        )
        bad = runner.invoke(app, ["media", "exchange", "sync", "--every", "soon", *where(tmp_path)])
    assert looped.exit_code == 0, looped.output
    assert slept == [900, 900]  # between the three rounds
    assert looped.output.count("tx: pages") == 3
    assert sum("threat_updates" in r for r in ex.requests) == 3
    assert bad.exit_code == 2 and "expected a duration like 30s, 15m or 1h" in bad.output
