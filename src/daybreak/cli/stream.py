"""`daybreak stream`: consume NATS JetStream (transactions, platform events, reports) and
publish alerts and case changes to NATS and webhooks, as ``stream.yaml`` configures."""

from __future__ import annotations

import asyncio
import logging
import signal
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

    cfg = _config(config)
    if cfg.inbound is None:
        fail(f"{config}: no 'inbound' section: nothing to consume")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    needs_store = cfg.inbound.subjects.reports is not None
    store_cm = (
        open_store(cfg.store.data_dir, cfg.store.db, cfg.store.dev)
        if needs_store
        else nullcontext()
    )
    with store_cm as store:
        consumer = StreamConsumer(cfg.inbound, cfg.nats, store)

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, consumer.stop)
            await consumer.run(idle_exit=exit_when_idle)

        try:
            asyncio.run(main())
        except OSError as exc:
            fail(f"cannot reach NATS at {cfg.nats.url}: {exc}")
    s = consumer.stats
    out.print(
        f"stored {s.stored} ({', '.join(f'{k} {n}' for k, n in sorted(s.by_kind.items())) or '-'}), "
        f"already stored {s.already_stored}, dead-lettered {s.dead_lettered}, retried {s.retried}"
    )
