"""`daybreak media exchange`: keep banks current from hash exchanges (NCMEC hash sharing,
Meta ThreatExchange) and send analysts' opinions back (see
:mod:`daybreak.connectors.hash_exchange` and docs/operations.md)."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from daybreak.cli._store import DataDir, DbUrl, Dev
from daybreak.cli.media import HOME_HELP, Org, _home, _user_errors, err, out, run_rematch

app = typer.Typer(
    help="Hash exchanges (NCMEC, ThreatExchange, StopNCII): sync banks, send opinions back.",
    no_args_is_help=True,
)
EXIT_FAILED = 1
_EVERY = re.compile(r"^(\d+)([smh])$")
_UNITS = {"s": 1, "m": 60, "h": 3600}
_INTEGERS = ("privacy_group",)
_INTEGER_LISTS = ("only_esp_ids",)


@contextmanager
def _opened(
    home: Path | None, data_dir: Path, db: str | None, dev: bool, org: str
) -> Iterator[tuple[Any, Any, Any]]:
    """(store, actor, banks) of the organisation, with clear errors for bad input."""
    from daybreak.cli._store import open_store
    from daybreak.connectors.hash_exchange import ExchangeSyncError
    from daybreak.media.banks import default_actor
    from daybreak.store.auth import operator_in

    with _user_errors(), open_store(data_dir, db, dev) as store:
        actor = operator_in(org)
        banks = store.banks.open(_home(home) / "banks", actor, audit_name=default_actor())
        try:
            yield store, actor, banks
        except ExchangeSyncError as exc:
            err.print(f"[bold red]Error[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(EXIT_FAILED) from None


def parse_settings(settings: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` settings of an exchange (``only_esp_ids`` a comma list of numbers)."""
    config: dict[str, Any] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        try:
            if key in _INTEGERS:
                config[key] = int(value)
            elif key in _INTEGER_LISTS:
                config[key] = [int(v) for v in value.split(",") if v.strip()]
            else:
                config[key] = value
        except ValueError:
            raise ValueError(f"--set {key}: {value!r} is not a number (list)") from None
    return config


def parse_every(text: str) -> int:
    """Seconds of ``15m``, ``30s``, ``1h``."""
    match = _EVERY.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise typer.BadParameter(f"{text!r}: expected a duration like 30s, 15m or 1h")
    return int(match.group(1)) * _UNITS[match.group(2)]


@app.command("add")
def add_cmd(
    name: str = typer.Argument(..., help="A name for this exchange (letters, digits, . _ -)."),
    api: str = typer.Option(..., help="ncmec, fb_threatexchange or stop_ncii."),
    bank: str = typer.Option(..., help="The bank it fills (created at the first sync)."),
    settings: list[str] = typer.Option(
        [],
        "--set",
        help="KEY=VALUE: ncmec environment=Industry|test_Industry|..., only_esp_ids=1,2, "
        "negative_reason=<guid>; fb_threatexchange privacy_group=<id>; any: endpoint=<base URL>.",
    ),
    credentials_env: str | None = typer.Option(
        None, help="Environment variable holding the credentials (default per API)."
    ),
    credentials_file: Path | None = typer.Option(
        None, help="Or a file holding them (mode 600); read at each sync, never stored."
    ),
    home: Path | None = typer.Option(None, help=HOME_HELP),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
    org: str = Org,
) -> None:
    """Register an exchange to sync a bank from (the credentials stay outside the store)."""
    from daybreak.connectors.hash_exchange import check_config, exchange_api

    with _opened(home, data_dir, db, dev, org) as (store, actor, _):
        config = parse_settings(settings)
        check_config(api, name, config)
        env = credentials_env or exchange_api(api).credentials_env
        file = str(credentials_file.expanduser().resolve()) if credentials_file else ""
        store.exchanges.add(actor, name, api, bank, config, env, file)
    where = f"${env}" + (f" or {file}" if file else "")
    out.print(f"{name}: {api} -> bank {bank}; credentials from {where}")


@app.command("list")
def list_cmd(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per exchange."),
    home: Path | None = typer.Option(None, help=HOME_HELP),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
    org: str = Org,
) -> None:
    """Exchanges with their bank, settings, checkpoint and last sync."""
    with _opened(home, data_dir, db, dev, org) as (store, actor, _):
        rows = store.exchanges.all(actor)
        queued = store.exchanges.opinions(actor, "queued")
        dead = store.exchanges.opinions(actor, "dead")
    if as_json:
        for e in rows:
            row = {**asdict(e), "created_at": e.created_at.isoformat(),
                   "synced_at": e.synced_at.isoformat() if e.synced_at else None}  # fmt: skip
            sys.stdout.write(json.dumps(row) + "\n")
        return
    table = Table("exchange", "api", "bank", "settings", "credentials", "checkpoint", "synced")
    for e in rows:
        table.add_row(
            e.name, e.api, e.bank, json.dumps(e.config), f"${e.credentials_env} {e.credentials_file}",
            "saved" if e.checkpoint else "none (from the start)",
            e.synced_at.isoformat(timespec="seconds") if e.synced_at else "never",
        )  # fmt: skip
    out.print(table)
    out.print(f"opinions: {len(queued)} queued, {len(dead)} dead-lettered")


@app.command("remove")
def remove_cmd(
    name: str,
    home: Path | None = typer.Option(None, help=HOME_HELP),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
    org: str = Org,
) -> None:
    """Forget an exchange, its checkpoint and unsent opinions (its bank stays)."""
    with _opened(home, data_dir, db, dev, org) as (store, actor, _):
        store.exchanges.remove(actor, name)
    out.print(f"{name}: removed (its bank is kept; `daybreak media bank disable` stops it)")


@app.command("sync")
def sync_cmd(
    names: list[str] = typer.Argument(None, help="Exchanges to sync (default: all enabled)."),
    every: str | None = typer.Option(
        None, help="Keep syncing at this interval (30s, 15m, 1h) until stopped."
    ),
    sightings: Path | None = typer.Option(
        None, help="media_sightings to match again when a sync added hashes (retroactive)."
    ),
    alerts_out: Path | None = typer.Option(
        None, "--alerts-out", help="Where the retroactive matching writes its alerts (JSONL)."
    ),
    opinions: bool = typer.Option(True, help="Also deliver the queued opinions."),
    rounds: int = typer.Option(
        0, min=0, help="With --every: stop after this many rounds (0: never)."
    ),
    home: Path | None = typer.Option(None, help=HOME_HELP),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
    org: str = Org,
) -> None:
    """Fetch what changed at the exchanges since the last sync and apply it to their
    banks; match past sightings again when hashes were added; send opinions back.
    Exit code 1 when an exchange failed (the next sync resumes where it stopped)."""
    if (sightings is None) != (alerts_out is None):
        raise typer.BadParameter("give --sightings and --alerts-out together")
    pause = parse_every(every) if every else 0
    done = 0
    while True:
        failed = _sync_round(names or [], sightings, alerts_out, opinions,
                             (home, data_dir, db, dev, org))  # fmt: skip
        done += 1
        if not pause or done == rounds:
            if failed:
                raise typer.Exit(EXIT_FAILED)
            return
        time.sleep(pause)


def _sync_round(
    names: list[str],
    sightings: Path | None,
    alerts_out: Path | None,
    opinions: bool,
    where: tuple[Path | None, Path, str | None, bool, str],
) -> int:
    """One round: every exchange synced (a failure is reported, the others go on),
    retroactive matching when hashes came in, opinions delivered. Returns the failures."""
    from daybreak.connectors.hash_exchange import (
        ExchangeSyncError,
        queue_case_verdicts,
        send_opinions,
        sync_all,
    )

    failed, added = 0, 0
    with _opened(*where) as (store, actor, banks):
        for name, report in sync_all(store.exchanges, actor, banks, names).items():
            if isinstance(report, ExchangeSyncError):
                err.print(f"[bold red]Error[/] {report}", markup=True, highlight=False)
                failed += 1
                continue
            added += report.hashes_added
            out.print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in report.counts().items()))
        if added and sightings is not None and alerts_out is not None:
            done = run_rematch(banks, _home(where[0]), sightings, alerts_out)
            _queue_seen(store, actor, done.matches)
        if opinions:
            confirmed = queue_case_verdicts(store, actor)
            sent = send_opinions(store.exchanges, actor)
            out.print(f"cases confirmed since the last round: {confirmed} opinion(s) queued")
            out.print(
                f"opinions: {sent.sent} sent, {sent.unsupported} not taken by the exchange, "
                f"{sent.retrying} to retry, {sent.dead} dead-lettered"
            )
    return failed


def _queue_seen(store: Any, actor: Any, matches: Any) -> None:
    """Tell the exchanges that listed a newly matched hash that it was seen."""
    pairs = {
        (r["hash_type"], r["listed_hash"]): r["sighting_id"] for r in matches.iter_rows(named=True)
    }
    for (hash_type, listed), sighting in sorted(pairs.items()):
        store.exchanges.queue_opinion(actor, hash_type, listed, "seen", f"sighting:{sighting}")


@app.command("opinion")
def opinion_cmd(
    case_id: str = typer.Argument(..., help="The case whose hash matches the analyst judged."),
    verdict: str = typer.Option(..., help="true-positive, false-positive or seen."),
    home: Path | None = typer.Option(None, help=HOME_HELP),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
    org: str = Org,
) -> None:
    """Queue the analyst's verdict on a case's hash-list matches for the exchanges that
    listed the hashes (`sync` delivers it). Referring a case, or closing it as referred
    to police or child safeguarded, queues true positives by itself at the next sync."""
    from daybreak.connectors.hash_exchange import queue_case_opinion

    with _opened(home, data_dir, db, dev, org) as (store, actor, _):
        queued = queue_case_opinion(store, actor, case_id, verdict.replace("-", "_"))
    out.print(f"{case_id}: {verdict} queued for {queued} exchange-listed hash match(es)")


@app.command("opinions")
def opinions_cmd(
    state: str | None = typer.Option(None, help="queued, sent, unsupported or dead."),
    requeue: list[int] = typer.Option([], help="Put these dead-lettered opinions back."),
    home: Path | None = typer.Option(None, help=HOME_HELP),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
    org: str = Org,
) -> None:
    """Opinions and their delivery state; --requeue retries dead-lettered ones."""
    with _opened(home, data_dir, db, dev, org) as (store, actor, _):
        for opinion_id in requeue:
            store.exchanges.requeue(actor, opinion_id)
        rows = store.exchanges.opinions(actor, state)
    table = Table("id", "exchange", "hash", "verdict", "case", "state", "attempts", "error")
    for o in rows:
        table.add_row(
            str(o.id), o.exchange, f"{o.hash_type}:{o.hash[:16]}", o.verdict, o.case_id,
            o.state, str(o.attempts), o.last_error,
        )  # fmt: skip
    out.print(table)
