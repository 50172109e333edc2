"""`daybreak payments realtime`: the state behind ``POST /v1/payments/score``.

``load`` appends a batch of transactions (and customers) to the state file in the data
folder, ``refresh`` scans the whole history (the batch scan) and pins the context it
derives (its version is recorded in every later decision), ``status`` says what the
state holds. See docs/operations.md, "Real-time payment scoring".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from daybreak.engines.payments_realtime import RealtimeState

app = typer.Typer(
    help="The real-time payment scoring state (POST /v1/payments/score).",
    no_args_is_help=True,
)
DATA_DIR = typer.Option(
    Path("daybreak-data"), "--data-dir", help="The server's data folder (serve --data-dir)."
)
CONFIG = typer.Option(
    None, "--config", help="Typology pack YAML (default: the one recorded, else built-in)."
)


def _state(data_dir: Path, config: Path | None) -> RealtimeState:
    from daybreak.engines.payments_realtime import RealtimeState, state_path
    from daybreak.payments.config import load_pack

    return RealtimeState(state_path(data_dir), load_pack(config) if config else None)


@app.command()
def load(
    transactions: Path = typer.Option(..., "--transactions", "-t",
                                      help="Transactions file (CSV, Parquet, pacs.008) or a world folder."),
    customers: Path | None = typer.Option(None, "--customers", "-c", help="Customers file."),
    data_dir: Path = DATA_DIR,
    config: Path | None = CONFIG,
    org: str = typer.Option("default", "--org",
                            help="The organisation whose payments these are; the first load makes it the state's owner, and only its users and keys may score."),
) -> None:  # fmt: skip
    """Append transactions (the relevant ones not seen before) and customers."""
    from daybreak.cli.payments import _user_errors, out_console
    from daybreak.payments.inputs import PaymentsInputError, read_customers, read_transactions
    from daybreak.schema.world import no_world_file, world_file

    with _user_errors():
        if transactions.is_dir():
            world = transactions
            found = world_file(world, "transactions")
            if found is None:
                raise PaymentsInputError(no_world_file(world, "transactions"))
            transactions, customers = found, customers or world_file(world, "customers")
        tx = read_transactions(transactions)
        cu = read_customers(customers) if customers else None
        with _state(data_dir, config) as state:
            added = state.load(tx, cu, org_id=org)
            total = state.history_rows()
    out_console.print(f"Added {added:,} relevant transactions of {tx.height:,}; {total:,} held.")


@app.command()
def refresh(
    data_dir: Path = DATA_DIR,
    config: Path | None = CONFIG,
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Also write the scan's results here."
    ),
) -> None:
    """Scan the whole history and pin the context it derives."""
    from daybreak.cli.payments import _user_errors, out_console
    from daybreak.payments.scan import write_results

    with _user_errors(), _state(data_dir, config) as state:
        result, context = state.refresh_context()
        if out is not None:
            write_results(result, out)
    s = result.summary
    out_console.print(
        f"Pinned context {context.version} from {s['transactions']:,} transactions "
        f"({s['customers_scored']:,} customers scored, {s['alerts']} alerts)."
    )


@app.command()
def status(data_dir: Path = DATA_DIR) -> None:
    """What the state holds (JSON)."""
    from daybreak.cli.payments import out_console
    from daybreak.engines.payments_realtime import state_path

    if not state_path(data_dir).exists():
        out_console.print(
            f"No real-time state in {data_dir} (run `daybreak payments realtime load`)."
        )
        raise typer.Exit(1)
    with _state(data_dir, None) as state:
        out_console.print_json(json.dumps(state.status()))
