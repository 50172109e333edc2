"""Conformance on the benign fixtures in ../shared/fixtures (skipped without them)."""

from __future__ import annotations

import csv
import itertools
from functools import cache
from pathlib import Path

import pytest

from daybreak.media.hashing import hash_image_bytes
from daybreak.media.index import hamming, parse_pdq
from daybreak.media.video import FrameHash, compare_videos, hash_video_bytes

pytestmark = pytest.mark.shared


def dist(a: str, b: str) -> int:
    return int(hamming(parse_pdq([a]), parse_pdq([b]))[0])


def test_reference_hashes_within_16_bits(shared_dir: Path) -> None:
    base = shared_dir / "fixtures" / "pdq"
    rows = list(csv.DictReader((base / "expected_hashes.csv").read_text().splitlines()))
    assert rows
    for row in rows:
        got = hash_image_bytes((base / row["path"]).read_bytes(), row["path"]).pdq
        assert dist(got, row["pdq_hex_reference"]) <= 16, row["path"]


def test_bridge_mods_match_the_original(shared_dir: Path) -> None:
    mods = shared_dir / "fixtures" / "pdq" / "bridge-mods"
    orig = hash_image_bytes((mods / "aaa-orig.jpg").read_bytes()).pdq
    edits = sorted(p for p in mods.glob("*.jpg") if p.name != "aaa-orig.jpg")
    assert len(edits) == 11
    for p in edits:
        h = hash_image_bytes(p.read_bytes(), p.name)
        assert h.matchable, p.name
        assert dist(h.pdq, orig) <= 31, p.name


def test_unrelated_images_do_not_match(shared_dir: Path) -> None:
    base = shared_dir / "fixtures" / "pdq"
    files = sorted((base / "reg-test-input" / "labelme-subset").glob("*.jpg"))
    files += sorted((base / "misc-images").glob("*"))
    files.append(base / "bridge-mods" / "aaa-orig.jpg")
    hashes = {p.name: hash_image_bytes(p.read_bytes(), p.name) for p in files}
    usable = {k: h for k, h in hashes.items() if h.matchable}
    assert len(usable) >= 6
    for (a, ha), (b, hb) in itertools.combinations(usable.items(), 2):
        assert dist(ha.pdq, hb.pdq) > 31, (a, b)


def test_dihedral_fixtures_match_with_variants_only(shared_dir: Path) -> None:
    dih = shared_dir / "fixtures" / "pdq" / "reg-test-input" / "dih"
    orig = hash_image_bytes((dih / "bridge-1-original.jpg").read_bytes(), dihedral=True)
    for p in sorted(dih.glob("*.jpg"))[1:]:
        h = hash_image_bytes(p.read_bytes(), p.name).pdq
        assert dist(h, orig.pdq) > 31, p.name
        assert min(dist(h, v) for v in orig.dihedral.values()) <= 31, p.name


CHAIR_22 = [
    "chair-orig-22-sd-bar",
    "chair-22-sd-grey-bar",
    "chair-22-sd-sepia-bar",
    "chair-22-with-small-logo-bar",
]
PATTERN = ["pattern-hd-no-bar", "pattern-sd-grey-bar", "pattern-sd-with-small-logo-bar"]


@cache
def _video(path: Path) -> tuple[FrameHash, ...]:
    return tuple(hash_video_bytes(path.read_bytes(), path.name).frames)


def _matches(shared: Path, a: str, b: str) -> bool:
    d = shared / "fixtures" / "video"
    return compare_videos(_video(d / f"{a}.mp4"), _video(d / f"{b}.mp4")).matched


@pytest.mark.slow
def test_videos_match_as_the_fixture_table_says(shared_dir: Path) -> None:
    same = [*CHAIR_22, "chair-20-sd-bar"]
    for a, b in itertools.permutations(same, 2):
        assert _matches(shared_dir, a, b), (a, b)
    for a, b in itertools.permutations(PATTERN, 2):
        assert _matches(shared_dir, a, b), (a, b)
    for other in ["chair-19-sd-bar", "doorknob-hd-no-bar", PATTERN[0]]:
        for chair in same:
            assert not _matches(shared_dir, other, chair), (other, chair)
            assert not _matches(shared_dir, chair, other), (chair, other)
    assert not _matches(shared_dir, "doorknob-hd-no-bar", PATTERN[1])
