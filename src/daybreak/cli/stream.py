"""`daybreak stream`: consume NATS JetStream (transactions, platform events, reports) and
publish alerts and case changes to NATS and webhooks, as ``stream.yaml`` configures."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from pathlib import Path

import typer

from daybreak.cli._store import open_store
from daybreak.cli.common import fail, out
from daybreak.connectors.stream_config import StreamConfig, StreamConfigError, load_stream_config

app = typer.Typer(
    help="Stream events in from NATS JetStream and out to NATS and webhooks.",
    no_args_is_help=True,
)

ConfigOpt = typer.Option(..., "--config", help="stream.yaml (docs/operations.md, Streaming).")


def _config(path: Path) -> StreamConfig:
    try:
        return load_stream_config(path)
    except StreamConfigError as exc:
        fail(str(exc))


def _run_until_signalled(work: Callable[[], Awaitable[object]], stop: Callable[[], None]) -> None:
    """Run ``work`` on an event loop; SIGINT and SIGTERM call ``stop`` (a clean finish)."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        await work()

    from daybreak.connectors.nats_connection import NatsUnreachable, run_on_uvloop

    try:
        run_on_uvloop(main())
    except NatsUnreachable as exc:
        fail(str(exc))


@app.command("run")
def run(
    config: Path = ConfigOpt,
    exit_when_idle: float | None = typer.Option(
        None,
        help="Stop once no message came for this many seconds and none awaits an "
        "acknowledgement (default: run until signalled).",
    ),
) -> None:
    """Consume the configured subjects until SIGINT/SIGTERM (the batch in hand is finished
    and acknowledged first)."""
    from daybreak.connectors.stream_in import StreamConsumer  # nats only when used
    from daybreak.detectors import DetectorError

    cfg = _config(config)
    if cfg.inbound is None:
        fail(f"{config}: no 'inbound' section: nothing to consume")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    needs_store = cfg.inbound.subjects.reports is not None or bool(
        cfg.inbound.detectors and cfg.inbound.alerts_to_store
    )
    store_cm = (
        open_store(cfg.store.data_dir, cfg.store.db, cfg.store.dev)
        if needs_store
        else nullcontext()
    )
    with store_cm as store:
        try:
            consumer = StreamConsumer(cfg.inbound, cfg.nats, store)
        except DetectorError as exc:
            fail(f"{config}: {exc}")
        _run_until_signalled(lambda: consumer.run(idle_exit=exit_when_idle), consumer.stop)
    s = consumer.stats
    out.print(
        f"stored {s.stored} ({', '.join(f'{k} {n}' for k, n in sorted(s.by_kind.items())) or '-'}), "
        f"already stored {s.already_stored}, dead-lettered {s.dead_lettered}, retried {s.retried}"
    )
    if consumer.hook is not None:
        h = consumer.hook
        out.print(f"alerts recorded {h.raised}, withdrawn {h.withdrawn}")


@app.command("relay")
def relay(
    config: Path = ConfigOpt,
    once: bool = typer.Option(False, help="Stop when no event is left (default: keep polling)."),
    name: str = typer.Option("default", help="The relay's name (its cursor in the store)."),
) -> None:
    """Publish alerts and case changes (audit entries) to NATS and the webhooks."""
    from daybreak.connectors.stream_out import OutboundRelay  # nats and httpx only when used

    cfg = _config(config)
    if cfg.outbound is None:
        fail(f"{config}: no 'outbound' section: nothing to publish")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with open_store(cfg.store.data_dir, cfg.store.db, cfg.store.dev) as store:
        try:
            relayer = OutboundRelay(cfg.outbound, cfg.nats, store, name=name)
        except ValueError as exc:
            fail(f"{config}: {exc}")
        _run_until_signalled(lambda: relayer.run(once=once), relayer.stop)
    out.print(f"published {relayer.published} event(s), dead-lettered {relayer.dead_lettered}")


@app.command("dead-letters")
def dead_letters(
    config: Path = ConfigOpt,
    limit: int = typer.Option(100, min=1, help="Show at most this many, newest first."),
) -> None:
    """List the webhook deliveries of the configured organisation (outbound.organisation)
    that failed every retry."""
    from rich.table import Table

    from daybreak.store.auth import operator_in

    cfg = _config(config)
    org = cfg.outbound.organisation if cfg.outbound else "default"
    with open_store(cfg.store.data_dir, cfg.store.db, cfg.store.dev) as store:
        letters = store.outbound.dead_letters(operator_in(org), limit)
    table = Table("id", "failed at", "event", "action", "webhook", "attempts", "last error")
    for d in letters:
        table.add_row(
            str(d.id), d.failed_at.isoformat(timespec="seconds"), d.event_id, d.action, d.url,
            str(d.attempts), d.last_error,
        )  # fmt: skip
    out.print(table if letters else "no webhook dead letters")


@app.command("redeliver")
def redeliver(
    config: Path = ConfigOpt,
    letter_id: list[int] = typer.Option(
        [], "--id", help="Only this dead letter (repeatable; default: every one)."
    ),
) -> None:
    """Send the configured organisation's webhook dead letters again (after the receiver
    is fixed): delivered ones leave the list and the audit trail records them; failed ones
    stay. Exits 1 if any failed."""
    from daybreak.connectors.stream_out import redeliver_dead_letters

    cfg = _config(config)
    if cfg.outbound is None:
        fail(f"{config}: no 'outbound' section: no webhooks to deliver to")
    with open_store(cfg.store.data_dir, cfg.store.db, cfg.store.dev) as store:
        only = set(letter_id) or None
        done = asyncio.run(redeliver_dead_letters(cfg.outbound, store, only=only))
    out.print(
        f"delivered {done.delivered}, failed again {done.failed}, "
        f"skipped {done.skipped} (webhook no longer configured or its secret not set)"
    )
    if done.failed:
        raise typer.Exit(1)
