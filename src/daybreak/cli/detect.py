"""`daybreak detect NAME`: run one registered detector on a world folder.

Every detector installed under the ``daybreak.detectors`` entry points (Daybreak's own
and plug-ins') gets a subcommand; `daybreak detect --list` names them. The alerts are
written as JSON lines (one :class:`~daybreak.model.alerts.Alert` per line, highest score
first), the form `daybreak cases build --alerts` reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from daybreak.cli.common import fail, out
from daybreak.cli.plugin_options import command_from_options
from daybreak.detectors.info import DetectorInfo, detectors

app = typer.Typer(
    help="Run a registered detector (payments, tipline, media, stream_payment, grooming or a "
    "plug-in's) on a world folder: `daybreak detect NAME --world DIR --out alerts.jsonl`.",
    invoke_without_command=True,
)

WorldDir = typer.Option(
    Path("world"), "--world", help="World folder to read (`daybreak synth` layout)."
)
OutFile = typer.Option(..., "--out", help="Alerts as JSON lines (one alert per line).")


@app.callback()
def listing(
    ctx: typer.Context,
    list_detectors: bool = typer.Option(
        False, "--list", help="List the registered detectors (Daybreak's own and plug-ins')."
    ),
) -> None:
    """Run a registered detector: `daybreak detect NAME --world DIR --out FILE`."""
    if ctx.invoked_subcommand is not None:
        return
    if not list_detectors:
        out.print(ctx.get_help())
        raise typer.Exit(code=0)
    table = Table(title="Detectors", title_justify="left", expand=True)
    for column in ("detector", "label", "reads", "what it finds"):
        table.add_column(column, overflow="fold")
    for info in detectors().values():
        table.add_row(info.name, info.label, ", ".join(info.reads), info.description)
    out.print(table)


def write_alerts(alerts: list[Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(a.model_dump_json() + "\n" for a in alerts), "utf-8")
    tmp.replace(path)


def run_detector(info: DetectorInfo, world: Path, out_file: Path, **options: Any) -> None:
    from daybreak.detectors import DetectorError
    from daybreak.plugins import PluginError
    from daybreak.schema import SchemaError

    try:
        detector = info.create(**{k: v for k, v in options.items() if v is not None})
        with out.status(f"{info.name}: reading {world}"):
            data = info.input_from_world(world)
        with out.status(f"{info.name}: detecting"):
            alerts = list(detector.detect(data))
    except (DetectorError, PluginError, SchemaError, ValueError, OSError) as exc:
        fail(f"{info.name}: {exc}")
    write_alerts(alerts, out_file)
    out.print(f"{out_file}: {len(alerts)} alert(s) from {info.name} {detector.version}")


def _add_detector(info: DetectorInfo) -> None:
    def run(world: Path, out_file: Path, **options: Any) -> None:
        run_detector(info, world, out_file, **options)

    shared = {"world": (Path, WorldDir), "out_file": (Path, OutFile)}
    app.command(info.name, help=info.description)(
        command_from_options(run, shared, list(info.options))
    )


for _info in detectors().values():
    _add_detector(_info)
