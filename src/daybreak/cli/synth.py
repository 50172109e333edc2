"""`daybreak synth`: write a deterministic synthetic world."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from daybreak.synth import (
    CORRIDOR_SETS,
    LANGUAGES,
    PROFILES,
    SENDING_REGIONS,
    Band,
    Priors,
    UnknownProfileError,
    generate_world,
    write_world,
)
from daybreak.synth.ads import AdsPriors
from daybreak.synth.grooming import GroomingPriors
from daybreak.synth.sextortion import SextortionPriors
from daybreak.synth.world import STEPS
from daybreak.synth.writer import FORMATS


def synth(
    out: Path = typer.Option(..., "--out", help="Folder to write the world into."),
    customers: int = typer.Option(5000, min=1, help="Number of the institution's customers."),
    months: int = typer.Option(12, min=1, max=120, help="Months of activity."),
    seed: int = typer.Option(7, help="Random seed; the same seed gives the same world."),
    profile: str = typer.Option(
        "default",
        help=f"World profile: {', '.join(PROFILES)} (see `docs/synthetic-world.md`).",
    ),
    fmt: str = typer.Option(
        "parquet", "--format", help=f"File format of the tables: {' or '.join(FORMATS)}."
    ),
    transactions: int | None = typer.Option(
        None,
        "--transactions",
        min=1,
        help="Approximate total transaction rows (sets the everyday spending rate); "
        "e.g. --customers 50000 --transactions 10000000.",
    ),
    randomize: bool = typer.Option(
        False,
        "--randomize",
        help="Draw every behaviour's parameters from wide priors (per seed) instead of a "
        "profile; the draw is written to truth/params.json.",
    ),
    region: str | None = typer.Option(
        None,
        "--region",
        help=f"With --randomize: sending regions to draw from ({','.join(SENDING_REGIONS)}).",
    ),
    corridor_set: str | None = typer.Option(
        None,
        "--corridor-set",
        help=f"With --randomize: corridor sets to draw from ({','.join(CORRIDOR_SETS)}).",
    ),
    careful_share: str | None = typer.Option(
        None,
        "--careful-share",
        help="With --randomize: band of the careful-payer share, LO-HI (e.g. 0.4-0.7).",
    ),
    language: str | None = typer.Option(
        None,
        "--language",
        help=f"With --randomize: reference languages to draw from ({','.join(LANGUAGES)}).",
    ),
    relatives_calls: bool = typer.Option(
        False,
        "--relatives-calls",
        help="Add relatives' calls home with payments around them (the look-alike of a "
        "stream-payment coincidence).",
    ),
    grooming: bool = typer.Option(
        False,
        "--grooming",
        help="Plant groomers and their look-alikes (teachers, relatives, gaming friends, "
        "creators) among minors' platform accounts; truth in truth/account_labels.csv.",
    ),
    sextortion: bool = typer.Option(
        False,
        "--sextortion",
        help="Plant financial-sextortion rings paid by customers' teenagers and their "
        "look-alikes (game shops, friends, tutors, sellers, relatives abroad); truth in "
        "truth/account_labels.csv (subject_type payer_handle).",
    ),
    ads: bool = typer.Option(
        False,
        "--ads",
        help="Write platform_ads: recruitment networks' job/model ads and fake profiles "
        "with their look-alikes (agencies, shared office phones, ordinary posters); truth "
        "in truth/account_labels.csv (subject_type ad).",
    ),
) -> None:
    """Write transactions, customers, reports, platform events and accounts, media
    sightings and identifiers, plus truth/labels.csv and truth/links.csv (and truth/params.json for a
    randomised world), into OUT."""
    console = Console(stderr=True)
    if fmt not in FORMATS:
        console.print(f"[red]--format must be one of: {', '.join(FORMATS)} (got {fmt!r})[/]")
        raise typer.Exit(code=2)
    try:
        priors = _priors(randomize, profile, region, corridor_set, careful_share, language)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(code=2) from exc
    if profile not in PROFILES:
        console.print(
            f"[red]{UnknownProfileError.__name__}: unknown profile {profile!r}; "
            f"expected one of: {', '.join(PROFILES)}[/]"
        )
        raise typer.Exit(code=2)
    if out.exists() and not out.is_dir():
        console.print(f"[red]--out {out} exists and is not a folder[/]")
        raise typer.Exit(code=2)
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("synthesising", total=len(STEPS) + 1)

        def step(name: str) -> None:
            bar.update(task, description=name, completed=STEPS.index(name))

        world = generate_world(
            customers,
            months,
            seed,
            "default" if priors else profile,
            transactions=transactions,
            progress=step,
            priors=priors,
            relatives_calls=relatives_calls,
            grooming_priors=GroomingPriors() if grooming else None,
            sextortion_priors=SextortionPriors() if sextortion else None,
            ads_priors=AdsPriors() if ads else None,
        )
        bar.update(task, description="writing files", completed=len(STEPS))
        try:
            written = write_world(world, out, fmt)
        except OSError as exc:
            console.print(f"[red]cannot write into {out}: {exc}[/]")
            raise typer.Exit(code=1) from exc
        bar.update(task, description="done", completed=len(STEPS) + 1)
    elapsed = time.perf_counter() - started
    rows = world.transactions.height
    console.print(
        f"[green]Wrote {len(written)} files to {out}[/] — {rows:,} transactions, "
        f"{world.customers.height:,} customers, {world.reports.height:,} reports, "
        f"{world.platform_events.height:,} platform events, "
        f"{world.media_sightings.height:,} media sightings in {elapsed:.1f}s "
        f"(profile {world.profile}, seed {seed})."
    )
    if world.params is not None and "region" in world.params:  # a randomised world
        drawn = ", ".join(f"{k} {v}" for k, v in world.params["region"].items())
        console.print(f"Drawn region: {drawn} (all parameters in truth/params.json).")


def _priors(
    randomize: bool,
    profile: str,
    region: str | None,
    corridor_set: str | None,
    careful_share: str | None,
    language: str | None,
) -> Priors | None:
    """The priors of a randomised world, restricted by the options (None: a profile)."""
    restrictions = {
        "--region": region,
        "--corridor-set": corridor_set,
        "--careful-share": careful_share,
        "--language": language,
    }
    given = [name for name, value in restrictions.items() if value is not None]
    if not randomize:
        if given:
            raise ValueError(f"{', '.join(given)} only apply with --randomize")
        return None
    if profile != "default":
        raise ValueError("--randomize draws its own profile: drop --profile")
    changes: dict[str, object] = {}
    if region is not None:
        changes["sending_regions"] = _names(region)
    if corridor_set is not None:
        changes["corridor_sets"] = _names(corridor_set)
    if careful_share is not None:
        changes["careful_share"] = Band.parse(careful_share)
    if language is not None:
        changes["reference_languages"] = _names(language)
    return Priors().restrict(**changes)


def _names(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())
