"""Time in the synthetic world: the observation window, customers' local clocks and paydays.

Behaviour happens in local time (payday evenings, night-time calls), records are in UTC.
Converting millions of local times per time zone with a datetime library is slow, so we
precompute each zone's UTC offset for every local hour of the window and look it up.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]

US_PER_S = 1_000_000
US_PER_HOUR = 3600 * US_PER_S
US_PER_DAY = 24 * US_PER_HOUR
EPOCH = datetime(1970, 1, 1)
WORLD_START = datetime(2025, 1, 1)  # fixed so that a seed gives the same world any day


@dataclass(frozen=True)
class Window:
    """Local-time window [start, end) as naive microseconds since 1970-01-01."""

    start: datetime
    months: int

    @property
    def end(self) -> datetime:
        y, m = divmod(self.start.month - 1 + self.months, 12)
        return self.start.replace(year=self.start.year + y, month=m + 1)

    @property
    def start_us(self) -> int:
        return _us(self.start)

    @property
    def end_us(self) -> int:
        return _us(self.end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def _us(t: datetime) -> int:
    return int((t - EPOCH) / timedelta(microseconds=1))


def midnight_of(year: int, month: int, day: int) -> int:
    """Local midnight of a calendar date, as naive microseconds."""
    return _us(datetime(year, month, day))


def weekday(day_us: I64) -> I64:
    """Monday = 0 ... Sunday = 6 (1970-01-01 was a Thursday)."""
    out: I64 = (day_us // US_PER_DAY + 3) % 7
    return out


def working_day_on_or_before(day_us: I64) -> I64:
    """Saturdays and Sundays move back to the Friday before."""
    wd = weekday(day_us)
    out: I64 = day_us - np.maximum(0, wd - 4) * US_PER_DAY
    return out


def _offset_us(local: datetime, tz: zoneinfo.ZoneInfo) -> int:
    off = local.replace(tzinfo=tz).utcoffset()
    assert off is not None
    return int(off / timedelta(microseconds=1))


class LocalClock:
    """Local naive time -> UTC for a fixed list of IANA zones, vectorised."""

    def __init__(self, zones: list[str], window: Window, margin_days: int = 40) -> None:
        self.zones = zones
        self.base_us = window.start_us - margin_days * US_PER_DAY
        hours = (window.days + 2 * margin_days) * 24
        self.table = np.zeros((len(zones), hours), dtype=np.int64)
        base = window.start - timedelta(days=margin_days)
        for z, name in enumerate(zones):
            tz = zoneinfo.ZoneInfo(name)
            for day in range(hours // 24):
                midnight = base + timedelta(days=day)
                first = _offset_us(midnight, tz)
                # Offsets change on a handful of days a year: ask per hour only then.
                if _offset_us(midnight + timedelta(hours=23), tz) == first:
                    self.table[z, day * 24 : day * 24 + 24] = first
                    continue
                for h in range(24):
                    self.table[z, day * 24 + h] = _offset_us(midnight + timedelta(hours=h), tz)

    def to_utc(self, local_us: I64, zone: npt.NDArray[np.integer]) -> I64:
        hours = self.table.shape[1]
        hour = np.clip((local_us - self.base_us) // US_PER_HOUR, 0, hours - 1)
        hour += zone.astype(np.int64) * hours
        out: I64 = local_us - np.take(self.table.ravel(), hour)
        return out


def paydays(window: Window, rule: str) -> list[list[int]]:
    """Payday local midnights (us) per pay group; customers are spread over the groups."""
    start, end = window.start, window.end
    groups: list[list[int]] = []
    if rule in ("fortnightly_thu", "biweekly_fri"):
        weekday = 3 if rule == "fortnightly_thu" else 4
        first = start + timedelta(days=(weekday - start.weekday()) % 7)
        for parity in range(2):
            d = first + timedelta(days=7 * parity)
            days: list[int] = []
            while d < end:
                days.append(_us(d))
                d += timedelta(days=14)
            groups.append(days)
        return groups
    days = []
    y, m = start.year, start.month
    while datetime(y, m, 1) < end:
        nxt = datetime(y + (m == 12), m % 12 + 1, 1)
        if rule == "monthly_last":
            d = nxt - timedelta(days=1)
            while d.weekday() >= 5:
                d -= timedelta(days=1)
        else:
            d = datetime(y, m, 25)
            while d.weekday() >= 5:
                d -= timedelta(days=1)
        days.append(_us(d))
        y, m = nxt.year, nxt.month
    return [days]


def payday_table(window: Window, rule: str) -> npt.NDArray[np.int64]:
    """:func:`paydays` as a (pay group, k) table of local midnights, padded with -1."""
    groups = paydays(window, rule)
    width = max(len(g) for g in groups)
    table = np.full((len(groups), width), -1, dtype=np.int64)
    for g, days in enumerate(groups):
        table[g, : len(days)] = days
    return table


def month_ends(window: Window) -> list[int]:
    """Last working day of each month (local midnight, us): freelancer payroll runs."""
    return paydays(window, "monthly_last")[0]


def _profile(weights: list[float]) -> npt.NDArray[np.float64]:
    w = np.asarray(weights, dtype=np.float64)
    out: npt.NDArray[np.float64] = w / w.sum()
    return out


# Relative activity per local hour 0..23.
HOURS_DAY = _profile(
    [1, 0.5, 0.3, 0.2, 0.3, 1, 3, 6, 9, 11, 12, 13, 14, 13, 12, 12, 13, 14, 12, 9, 6, 4, 2.5, 1.5]
)
HOURS_EVENING = _profile(
    [1, 0.5, 0.3, 0.2, 0.2, 0.5, 1, 2, 3, 4, 5, 7, 10, 9, 6, 6, 7, 10, 13, 13, 11, 8, 4, 2]
)
HOURS_ONLINE = _profile(
    [3, 2, 1.2, 0.8, 0.6, 0.8, 1.5, 3, 4, 5, 5, 6, 7, 6, 6, 6, 7, 8, 9, 10, 11, 10, 8, 5]
)
HOURS_BUSINESS = _profile(
    [0, 0, 0, 0, 0, 0, 0, 0.5, 4, 10, 11, 11, 8, 10, 11, 11, 9, 4, 1, 0.5, 0.2, 0, 0, 0]
)
# Late evening: students and their parents after dinner (19:00-23:00).
HOURS_LATE_EVENING = _profile(
    [
        0.6,
        0.2,
        0.1,
        0,
        0,
        0,
        0.1,
        0.3,
        0.6,
        0.6,
        0.6,
        0.8,
        1.2,
        0.8,
        0.6,
        0.6,
        1,
        2,
        4,
        8,
        11,
        11,
        5,
        2,
    ]
)
HOURS_NIGHT = _profile([12, 10, 8, 6, 4, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 11])


def at_hours(rng: np.random.Generator, day_us: I64, hour_p: npt.NDArray[np.float64]) -> I64:
    """Local midnight + an hour drawn from ``hour_p`` + a uniform second in that hour."""
    n = len(day_us)
    hour = rng.choice(24, n, p=hour_p).astype(np.int64)
    sec = rng.integers(0, 3600, n)
    out: I64 = day_us + hour * US_PER_HOUR + sec * US_PER_S
    return out


def days_in(rng: np.random.Generator, window: Window, n: int) -> I64:
    """Uniform local midnights within the window."""
    d = rng.integers(0, window.days, n).astype(np.int64)
    out: I64 = window.start_us + d * US_PER_DAY
    return out


def sorted_times(
    rng: np.random.Generator, window: Window, n: int, hour_p: npt.NDArray[np.float64]
) -> I64:
    """``n`` local times, already sorted, uniform over the window's days with hour-of-day
    density ``hour_p``: sorted uniforms (normalised exponential spacings) pushed through
    the inverse distribution function, which keeps their order."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    pos = np.cumsum(rng.exponential(size=n + 1))
    x = pos[:-1] * (window.days / pos[-1])
    day = x.astype(np.int64)
    frac = x - day
    cum = np.cumsum(hour_p)
    hour = np.minimum(np.searchsorted(cum, frac, side="right"), 23)
    lower = cum[hour] - hour_p[hour]
    within = np.clip((frac - lower) / np.maximum(hour_p[hour], 1e-12), 0.0, 0.9999)
    sec = (within * 3600).astype(np.int64)
    out: I64 = window.start_us + day * US_PER_DAY + hour * US_PER_HOUR + sec * US_PER_S
    return out
