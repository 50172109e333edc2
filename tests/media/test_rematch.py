"""`daybreak media rematch`: past sightings matched again after the banks gained hashes
(retroactive matching). Hashes are random hex strings: no media at all."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from daybreak.cli.media import app
from daybreak.media.rematch import LISTED_SCHEMA, new_matches

from .test_cli import store_opts

runner = CliRunner()


def sha(i: int) -> str:
    return hashlib.sha256(f"benign test value {i}".encode()).hexdigest()


def import_list(tmp_path: Path, name: str, values: list[str]) -> None:
    lst = tmp_path / f"{name}.csv"
    lst.write_text("hash,type,labels\n" + "".join(f"{v},sha256,test\n" for v in values))
    args = ["bank", "import", str(lst), "--bank", "known", "--source", "unit"]
    r = runner.invoke(app, [*args, "--home", str(tmp_path / "media"), *store_opts(tmp_path)])
    assert r.exit_code == 0, r.output


def rematch(tmp_path: Path, sightings: Path, *extra: str) -> list[dict[str, object]]:
    out = tmp_path / "new-alerts.jsonl"
    args = ["rematch", str(sightings), "--out", str(out), "--home", str(tmp_path / "media")]
    r = runner.invoke(app, [*args, *store_opts(tmp_path), *extra])
    assert r.exit_code == 0, r.output
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_only_sightings_matching_newly_listed_hashes_raise_alerts(tmp_path: Path) -> None:
    sightings = tmp_path / "media_sightings.csv"
    rows = [  # hashes 0 listed first, 1 and 2 later, 9 never
        ("M1", "a0", sha(0)), ("M2", "a1", sha(1)), ("M3", "a1", sha(0)),
        ("M4", "a2", sha(2)), ("M5", "a3", sha(9)),
    ]  # fmt: skip
    pl.DataFrame(
        {
            "sighting_id": [r[0] for r in rows],
            "seen_at": ["2026-11-01T10:00:00Z"] * len(rows),
            "hash_type": ["sha256"] * len(rows),
            "hash_value": [r[2] for r in rows],
            "quality": [None] * len(rows),
            "service": ["examplestream"] * len(rows),
            "account_id": [r[1] for r in rows],
            "location": [None] * len(rows),
        },
        schema_overrides={"quality": pl.Int64, "location": pl.String},
    ).write_csv(sightings)

    import_list(tmp_path, "first", [sha(0)])
    first = rematch(tmp_path, sightings)  # the first pass: every match is new
    assert sorted(a["subject_id"] for a in first) == ["examplestream:a0", "examplestream:a1"]
    assert rematch(tmp_path, sightings) == []  # nothing listed since

    import_list(tmp_path, "second", [sha(1), sha(2)])
    second = rematch(tmp_path, sightings)
    # a1's M3 matched hash 0 and was alerted then; its M2 and a2's M4 match only the
    # newly listed hashes: new evidence, new alerts (their ids fold into the same cases)
    assert sorted((a["subject_id"], a["evidence_ids"]) for a in second) == [
        ("examplestream:a1", ["M2"]),
        ("examplestream:a2", ["M4"]),
    ]
    assert "known" in str(second[0]["explanation"])
    assert rematch(tmp_path, sightings) == []
    everything = rematch(tmp_path, sightings, "--since", "2000-01-01T00:00:00")
    assert len(everything) == 3  # an explicit --since re-raises what matched after it


def test_bad_sightings_are_refused_naming_the_row(tmp_path: Path) -> None:
    import_list(tmp_path, "first", [sha(0)])
    bad = tmp_path / "media_sightings.csv"
    header = "sighting_id,seen_at,hash_type,hash_value,quality,service,account_id,location"
    bad.write_text(f"{header}\nM1,yesterday,sha256,{sha(0)},,svc,a0,\n")
    args = ["rematch", str(bad), "--out", str(tmp_path / "x.jsonl")]
    r = runner.invoke(app, [*args, "--home", str(tmp_path / "media"), *store_opts(tmp_path)])
    assert r.exit_code == 2
    assert "seen_at" in r.output and "row 1" in r.output.replace("\n", " ")
    assert not (tmp_path / "x.jsonl").exists()


def test_a_match_whose_listing_date_is_unknown_counts_as_new() -> None:
    """Raised twice at worst (stable alert ids fold it in), never missed."""
    since = datetime(2026, 12, 1, tzinfo=UTC)
    matches = pl.DataFrame(
        {
            "sighting_id": ["M1", "M2", "M3"],
            "bank": ["known"] * 3,
            "hash_type": ["sha256"] * 3,
            "listed_hash": [sha(0), sha(1), sha(2)],
        }
    )
    listed = pl.DataFrame(
        {
            "bank": ["known"] * 2,
            "hash_type": ["sha256"] * 2,
            "listed_hash": [sha(0), sha(1)],
            "added_at": [since - timedelta(days=1), since + timedelta(days=1)],
        },
        schema=LISTED_SCHEMA,
    )
    assert new_matches(matches, listed, since)["sighting_id"].to_list() == ["M2", "M3"]
    assert new_matches(matches, listed, None).height == 3
