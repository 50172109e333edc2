"""Reference code sets: ISO 3166-1 alpha-2 countries, ISO 4217 currencies, IANA zones."""

from __future__ import annotations

import zoneinfo
from functools import cache
from importlib import resources

import pycountry


@cache
def countries() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


@cache
def currencies() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)


@cache
def timezones() -> frozenset[str]:
    """IANA zone keys, from the tzdata package's list of them: ``available_timezones()``
    walks the zone folders on disk, which costs ~25 ms per process."""
    try:
        listed = resources.files("tzdata").joinpath("zones").read_text("utf-8").split()
    except (ModuleNotFoundError, OSError):
        return frozenset(zoneinfo.available_timezones())
    return frozenset(listed)
