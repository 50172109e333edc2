"""The media detector: accounts seen with media that match hash lists of known material.

Input: the public ``media_sightings`` table; the hash banks come with the detector (a
:class:`~daybreak.media.matcher.MediaMatcher`, or the media folder it is loaded from).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from daybreak.media.banks import BankStore, media_home
from daybreak.media.matcher import MediaMatcher
from daybreak.media.sightings import match_sightings, sighting_alerts
from daybreak.model.alerts import Alert

DETECTOR_ID = "media"
VERSION = "1"  # change when the scoring in sighting_alerts changes


def load_matcher(home: Path, banks: BankStore | None = None) -> MediaMatcher:
    """The saved index (brought up to date with the banks), or one built in memory.
    ``banks``: the banks of ``home`` as the caller opened them (the case store's, for
    the CLI and the server); by default ``home/banks`` on its own (no case store)."""

    store = banks if banks is not None else BankStore(home / "banks")
    index_dir = home / "index"
    if (index_dir / "meta.json").exists():
        return MediaMatcher.load(store, index_dir)
    return MediaMatcher.build(store)


@dataclass(frozen=True)
class MediaInput:
    sightings: pl.DataFrame  # the public media_sightings table


class MediaDetector:
    """Known-material matches behind the Detector protocol: one alert per account."""

    id = DETECTOR_ID
    version = VERSION

    def __init__(self, matcher: MediaMatcher | None = None, home: Path | None = None) -> None:
        self.matcher = matcher if matcher is not None else load_matcher(media_home(home))

    def matches(self, data: MediaInput) -> pl.DataFrame:
        """One row per (sighting, listed hash) match (:func:`match_sightings`)."""
        return match_sightings(data.sightings, self.matcher)

    def detect(self, data: MediaInput) -> Sequence[Alert]:
        return sorted(sighting_alerts(self.matches(data)), key=lambda a: -a.score)


def media_input(world: Path) -> MediaInput:
    """A world folder's media sightings, validated against the public schema."""
    from daybreak.detectors import DetectorError
    from daybreak.schema import read_table, world_file

    path = world_file(world, "media_sightings")
    if path is None:
        raise DetectorError(f"{world}: no media_sightings.parquet or media_sightings.csv")
    return MediaInput(read_table(path, "media_sightings").frame)
