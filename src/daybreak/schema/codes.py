"""Reference code sets: ISO 3166-1 alpha-2 countries, ISO 4217 currencies, IANA zones."""

from __future__ import annotations

import zoneinfo
from functools import cache

import pycountry


@cache
def countries() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


@cache
def currencies() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)


@cache
def timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())
