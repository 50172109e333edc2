"""`daybreak media`: Hash media and match it against hash lists of known material."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from daybreak.cli._store import DataDir, DbUrl, Dev
from daybreak.model import DEFAULT_ORG

app = typer.Typer(
    help="Hash media and match it against hash lists of known material.", no_args_is_help=True
)
bank_app = typer.Typer(help="Hash lists ('banks'): import, list, enable, disable.",
                       no_args_is_help=True)  # fmt: skip
index_app = typer.Typer(help="The PDQ match index.", no_args_is_help=True)
app.add_typer(bank_app, name="bank")
app.add_typer(index_app, name="index")
out = Console()
err = Console(stderr=True, soft_wrap=True)

HOME_HELP = "Media folder (banks/ and index/); default $DAYBREAK_MEDIA_HOME or ./daybreak-media."
ORG_HELP = "The organisation whose banks these are."
EXIT_INPUT = 2
Org = typer.Option(DEFAULT_ORG, "--org", help=ORG_HELP)


def _home(home: Path | None) -> Path:
    from daybreak.media.banks import media_home

    return media_home(home)


@contextmanager
def _banks(home: Path | None, data_dir: Path, db: str | None, dev: bool, org: str) -> Iterator[Any]:
    """The banks of ``home`` with their metadata in the case store (the one ``daybreak
    serve`` uses with the same --data-dir/--db), changed as the deployment's operator
    and audited under the OS user, process and program."""
    from daybreak.cli._store import open_store
    from daybreak.media.banks import default_actor
    from daybreak.store.auth import operator_in

    with _user_errors(), open_store(data_dir, db, dev) as store:
        banks_home = _home(home) / "banks"
        yield store.banks.open(banks_home, operator_in(org), audit_name=default_actor())


@contextmanager
def _user_errors() -> Iterator[None]:
    from daybreak.media.banks import BankError
    from daybreak.media.hashing import MediaError
    from daybreak.store import PermissionDenied
    from daybreak.store.auth import AuthError

    try:
        yield
    except (MediaError, BankError, ValueError, OSError, AuthError, PermissionDenied) as exc:
        err.print(f"[bold red]Error[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(EXIT_INPUT) from None


def _hash_path(path: Path, fps: float, dihedral: bool) -> dict[str, Any]:
    from daybreak.media.hashing import MediaError, hash_image_bytes, is_image
    from daybreak.media.video import hash_video_bytes

    if path.is_dir():
        raise MediaError(f"{path}: is a folder, expected a file")
    data = path.read_bytes()
    if data and is_image(data):
        result = hash_image_bytes(data, str(path), dihedral=dihedral).to_dict()
    else:
        result = hash_video_bytes(data, str(path), fps=fps).to_dict()
    return {"path": str(path), **result}


@app.command("hash")
def hash_cmd(
    files: list[Path] = typer.Argument(..., help="Images or videos to hash."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line per file."),
    fps: float = typer.Option(1.0, help="Video frames hashed per second."),
    dihedral: bool = typer.Option(False, help="Also hash the 8 rotations/mirrors (images)."),
) -> None:
    """Hash files: PDQ (with quality), MD5, SHA-256; videos also a per-frame PDQ list.

    JSON fields: path, kind, pdq (64 hex), quality, md5, sha256, and for videos frames
    (frame, timestamp, quality, pdq) and duration. Files that fail are reported on
    stderr; the exit code is 2 when any failed."""
    from daybreak.media.hashing import MediaError

    failed = 0
    table = Table("file", "pdq", "quality", "md5")
    for path in files:
        try:
            row = _hash_path(path, fps, dihedral)
        except (MediaError, OSError) as exc:
            failed += 1
            msg = exc if isinstance(exc, MediaError) else f"{path}: {exc.strerror or exc}"
            err.print(f"[bold red]Error[/] {msg}", markup=True, highlight=False)
            continue
        if as_json:
            sys.stdout.write(json.dumps(row) + "\n")
            sys.stdout.flush()
        else:
            extra = f" ({len(row['frames'])} frames)" if "frames" in row else ""
            table.add_row(str(path), str(row["pdq"]), str(row["quality"]), row["md5"] + extra)
    if not as_json and table.row_count:
        out.print(table)
    if failed:
        raise typer.Exit(EXIT_INPUT)


def _load_matcher(home: Path, banks: Any) -> Any:
    from daybreak.media.detector import load_matcher

    return load_matcher(home, banks)


def _guess_type(value: str) -> str:
    """The first registered hash type (in listing order: PDQ before SHA-256) whose hashes
    have this many hex characters; ``--type`` settles the ambiguous ones."""
    from daybreak.plugins import signal_types

    length = len(value.strip())
    for st in signal_types().values():
        if st.hex_length == length:
            return st.name
    return "pdq"  # not a known length: PDQ's own validation names the problem


@app.command("match")
def match_cmd(
    hashes: list[str] = typer.Argument(None, help="Hashes (hex). 32 chars = MD5, 64 = PDQ."),
    files: list[Path] = typer.Option(
        [],
        "--file",
        "-f",
        help="Hash these media files and match them (images: PDQ+MD5; videos: frames+MD5).",
    ),
    hash_type: str | None = typer.Option(
        None,
        "--type",
        help="pdq, md5 or sha256 for all HASHES (64 hex chars are PDQ unless sha256).",
    ),
    home: Path | None = typer.Option(None, help=HOME_HELP),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
    org: str = Org,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per match."),
) -> None:
    """Match hashes or media files against the enabled banks."""
    with _banks(home, data_dir, db, dev, org) as banks:
        matcher = _load_matcher(_home(home), banks)
        queries = [(hash_type or _guess_type(h), h) for h in hashes or []]
        labels = list(hashes or [])
        videos = []
        for path in files:
            row = _hash_path(path, 1.0, False)
            queries.append(("md5", row["md5"]))
            labels.append(str(path))
            if row["kind"] == "image":
                queries.append(("pdq", row["pdq"]))
                labels.append(str(path))
            else:
                videos.append((str(path), row["frames"]))
        if not queries:
            raise ValueError("give hashes or --file media to match")
        matches = matcher.match(queries)
        rows = [{"query": labels[m.query], **m.to_dict()} for m in matches]
        for name, frames in videos:
            from daybreak.media.video import FrameHash

            fh = [FrameHash(**f) for f in frames]
            rows += [{"query": name, "hash_type": "vpdq", **v} for v in matcher.match_video(fh)]
    if as_json:
        for r in rows:
            sys.stdout.write(json.dumps(r) + "\n")
        return
    table = Table("query", "type", "bank", "distance", "status", "labels")
    for r in rows:
        dist = r.get("distance", f"{r.get('query_share', 0):.0%} of frames")
        table.add_row(
            r["query"][:40],
            r["hash_type"],
            r["bank"],
            str(dist),
            r.get("status", "match" if r.get("matched") else "partial"),
            " ".join(r.get("labels", [])),
        )
    out.print(
        table if rows else f"no match in {len(queries)} quer{'y' if len(queries) == 1 else 'ies'}"
    )


@bank_app.command("import")
def bank_import(
    file: Path = typer.Argument(..., help="CSV, JSON Lines or python-threatexchange file."),
    bank: str | None = typer.Option(None, help="Bank to add to (default: the file's list column)."),
    fmt: str = typer.Option("auto", "--format", help="auto, csv, jsonl or threatexchange."),
    default_type: str | None = typer.Option(
        None, "--type", help="Hash type of rows that have none (pdq, md5, sha256)."
    ),
    source: str = typer.Option("", help="Who supplied the list (kept with the bank)."),
    negative: bool = typer.Option(False, help="A bank of known false positives."),
    home: Path | None = typer.Option(None, help=HOME_HELP),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
    org: str = Org,
) -> None:
    """Import a hash list. The whole file is checked first; a bad row imports nothing."""
    with _banks(home, data_dir, db, dev, org) as store:
        report = store.import_file(
            file, bank, fmt=fmt, default_type=default_type, source=source, negative=negative
        )
    for name, added in report.added.items():
        out.print(f"{name}: {added} added (version {store.get(name).version})")
    if report.duplicates:
        out.print(f"{report.duplicates} already listed")
    if report.skipped_negative_class:
        out.print(f"{report.skipped_negative_class} NEGATIVE_CLASS rows not imported")
    out.print("Run `daybreak media index build` to refresh the saved index.")


@bank_app.command("add-media")
def bank_add_media(
    bank: str = typer.Argument(..., help="Bank name (created if new)."),
    files: list[Path] = typer.Argument(..., help="Images or videos to list."),
    label: list[str] = typer.Option([], help="Labels for every entry."),
    home: Path | None = typer.Option(None, help=HOME_HELP),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
    org: str = Org,
) -> None:
    """List media by hash (PDQ + MD5; videos as frame lists) — for tests and partners."""
    from daybreak.media.banks import BankEntry
    from daybreak.media.matcher import frames_to_entries
    from daybreak.media.video import FrameHash

    with _banks(home, data_dir, db, dev, org) as store:
        store.create(bank, source="daybreak media bank add-media")
        entries: list[BankEntry] = []
        for path in files:
            row = _hash_path(path, 1.0, False)
            entries.append(BankEntry("md5", row["md5"], tuple(label)))
            if row["kind"] == "image":
                entries.append(BankEntry("pdq", row["pdq"], tuple(label)))
            else:
                frames = [FrameHash(**f) for f in row["frames"]]
                entries += frames_to_entries(path.stem, frames, label)
        added, dup = store.add(bank, entries)
    out.print(f"{bank}: {added} entries added, {dup} already listed")


@bank_app.command("list")
def bank_list(
    home: Path | None = typer.Option(None, help=HOME_HELP),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
    org: str = Org,
) -> None:
    """Banks with their settings and versions."""
    with _banks(home, data_dir, db, dev, org) as store:
        banks = store.banks()
    table = Table("bank", "entries", "enabled", "negative", "threshold", "version", "source")
    for b in banks:
        table.add_row(
            b.name,
            str(b.count),
            str(b.enabled),
            str(b.negative),
            str(b.threshold),
            str(b.version),
            b.source,
        )
    out.print(table)


def _set(name: str, where: tuple[Path | None, Path, str | None, bool, str], **changes: Any) -> None:
    with _banks(*where) as store:
        bank = store.update(name, **changes)
    out.print(f"{bank.name}: {changes} (version {bank.version})")


@bank_app.command("enable")
def bank_enable(
    name: str,
    home: Path | None = typer.Option(None, help=HOME_HELP),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
    org: str = Org,
) -> None:
    """Enable a bank (takes effect at once, no rebuild)."""
    _set(name, (home, data_dir, db, dev, org), enabled=True)


@bank_app.command("disable")
def bank_disable(
    name: str,
    home: Path | None = typer.Option(None, help=HOME_HELP),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
    org: str = Org,
) -> None:
    """Disable a bank (takes effect at once, no rebuild)."""
    _set(name, (home, data_dir, db, dev, org), enabled=False)


@bank_app.command("release")
def bank_release(
    bank: str,
    listed_hash: str,
    home: Path | None = typer.Option(None, help=HOME_HELP),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
    org: str = Org,
) -> None:
    """Release a hash that flood control quarantined."""
    with _banks(home, data_dir, db, dev, org) as store:
        ok = store.release(bank, listed_hash.lower())
    out.print("released" if ok else "that hash was not quarantined")


@index_app.command("build")
def index_build(
    home: Path | None = typer.Option(None, help=HOME_HELP),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
    org: str = Org,
) -> None:
    """Build the PDQ index from all banks and save it (loaded memory-mapped)."""
    from daybreak.media.matcher import MediaMatcher

    with _banks(home, data_dir, db, dev, org) as banks:
        root = _home(home)
        started = time.perf_counter()
        with err.status("building the PDQ index"):
            matcher = MediaMatcher.build(banks)
            matcher.save(root / "index")
    idx = matcher.index
    out.print(
        f"indexed {len(idx)} PDQ hashes in {time.perf_counter() - started:.1f} s "
        f"({idx.nbytes() / max(1, len(idx)):.0f} bytes/hash, exact to distance "
        f"{idx.max_distance}) -> {root / 'index'}"
    )


@app.command("rematch")
def rematch_cmd(
    sightings: Path = typer.Argument(
        ..., help="media_sightings (CSV or Parquet, the public schema) seen before."
    ),
    out_file: Path = typer.Option(..., "--out", help="Write the new alerts here (JSONL)."),
    since: datetime | None = typer.Option(
        None,
        help="Only hashes listed after this time (ISO, UTC) count as new "
        "(default: after the last rematch of this file; the first pass: every hash).",
    ),
    home: Path | None = typer.Option(None, help=HOME_HELP),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
    org: str = Org,
) -> None:
    """Match past sightings again after the banks gained hashes: alerts for sightings
    that match only hashes listed since the last pass (retroactive matching)."""
    with _banks(home, data_dir, db, dev, org) as banks:
        run_rematch(banks, _home(home), sightings, out_file, since)


def run_rematch(
    banks: Any, home: Path, sightings: Path, out_file: Path, since: datetime | None = None
) -> Any:
    """Match ``sightings`` again (see ``daybreak media rematch``), write the new alerts,
    record the pass and say what it found; returns the :class:`Rematch`."""
    from daybreak.cli.detect import write_alerts
    from daybreak.media.rematch import rematch
    from daybreak.schema import read_table

    source = str(sightings.resolve())
    start = since.replace(tzinfo=since.tzinfo or UTC) if since else banks.last_rematch(source)
    rows = read_table(sightings, "media_sightings").frame
    done = rematch(rows, _load_matcher(home, banks), start)
    write_alerts(list(done.alerts), out_file)
    banks.record_rematch(source, done.through, done.matches.height)
    after = f"listed after {start.isoformat()}" if start else "listed (first pass)"
    out.print(
        f"{rows.height} sighting(s) matched again: {done.matches.height} new match(es) to hashes "
        f"{after}, {len(done.alerts)} alert(s) written to {out_file}"
    )
    return done


@app.command("watch")
def watch_cmd(
    source: str = typer.Argument(..., help="Stream URL (rtmp/hls/rtsp/tcp), file, or '-'."),
    fps: float = typer.Option(1.0, help="Frames hashed per second (1-2 is plenty)."),
    realtime: bool = typer.Option(
        False, help="Play a file at its own pace, like a live source (reports lag)."
    ),
    stall_timeout: float = typer.Option(10.0, help="Stop when no frame arrives this long."),
    home: Path | None = typer.Option(None, help=HOME_HELP),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
    org: str = Org,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per event."),
) -> None:
    """Watch a live stream: hash frames as they arrive and raise matches at once.

    Exit code 0 when the stream ended, 3 when it stalled, 2 on a bad source."""
    with _banks(home, data_dir, db, dev, org) as banks:
        _watch(_load_matcher(_home(home), banks), source, fps, realtime, stall_timeout, as_json)


def _watch(
    matcher: Any, source: str, fps: float, realtime: bool, stall_timeout: float, as_json: bool
) -> None:
    from daybreak.media.stream import WatchStats, watch

    stats = WatchStats()
    last = None
    for event in watch(
        source,
        matcher.match_pdq,
        fps=fps,
        realtime=realtime,
        stall_timeout=stall_timeout,
        stats=stats,
    ):
        last = event
        if as_json:
            sys.stdout.write(json.dumps(event.to_dict()) + "\n")
            sys.stdout.flush()
        elif event.kind == "match" and event.frame is not None:
            best = event.matches[0]
            out.print(
                f"[bold red]MATCH[/] t={event.frame.timestamp:.1f}s bank={best.bank} "
                f"distance={best.distance} labels={' '.join(best.labels)} "
                f"(matched {event.latency:.2f} s after decoding)",
                soft_wrap=True,
            )
        else:
            out.print(event.message, soft_wrap=True)
    if last is not None and last.kind == "stalled":
        raise typer.Exit(3)
    if last is not None and last.kind == "error":
        raise typer.Exit(EXIT_INPUT)
