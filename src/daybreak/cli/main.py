"""The ``daybreak`` command. Each command group lives in its own module."""

from __future__ import annotations

import typer

from daybreak.cli import (
    admin,
    audit,
    cases,
    detect,
    export,
    graph,
    media,
    media_exchange,
    payments,
    reports,
    share,
    sources,
    stream,
)
from daybreak.cli.demo import demo
from daybreak.cli.estimate import estimate_command
from daybreak.cli.serve import serve
from daybreak.cli.synth import synth
from daybreak.cli.validate import validate

app = typer.Typer(
    name="daybreak",
    help=(
        "Daybreak finds live-streamed child sexual abuse in payments, reports, platform "
        "events and media hashes, resolves them into one entity graph, and turns alerts "
        "into prioritised cases and reports for FIUs, NCMEC, police and partners."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command(
    help="Write a deterministic synthetic world (transactions, customers, reports, events, media sightings, truth labels)."
)(synth)
app.command(help="Build a small world, run every stage, and show the result.")(demo)
app.command(help="Start the HTTP API and the analyst console.")(serve)
app.command(
    help="Check a CSV or Parquet file against a public schema (optionally quarantining bad rows)."
)(validate)
app.command(
    "estimate",
    help="Estimate how many people none of the lists saw (multiple-systems estimation), "
    "with an interval, the model chosen and its assumptions.",
)(estimate_command)
app.add_typer(payments.app, name="payments")
app.add_typer(reports.app, name="reports")
# `daybreak report submit` (the spelling) is the same group
app.add_typer(reports.app, name="report", hidden=True)
media.app.add_typer(media_exchange.app, name="exchange")
app.add_typer(media.app, name="media")
app.add_typer(graph.app, name="graph")
app.add_typer(cases.app, name="cases")
app.add_typer(detect.app, name="detect")
app.add_typer(export.app, name="export")
app.add_typer(share.app, name="share")
app.add_typer(sources.app, name="sources")
app.add_typer(audit.app, name="audit")
app.add_typer(admin.app, name="admin")
app.add_typer(stream.app, name="stream")


if __name__ == "__main__":  # pragma: no cover
    app()
