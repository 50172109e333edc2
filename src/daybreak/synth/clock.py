"""Time in the synthetic world: the observation window, customers' local clocks and paydays.

Behaviour happens in local time (payday evenings, night-time calls), records are in UTC.
Converting millions of local times per time zone with a datetime library is slow, so we
precompute each zone's UTC offset for every local hour of the window and look it up.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
            last = None
            for h in range(hours):
                local = base + timedelta(hours=h)
                # Offsets change rarely: only ask zoneinfo again around each hour's boundary.
                off = local.replace(tzinfo=tz).utcoffset()
                assert off is not None
                value = int(off / timedelta(microseconds=1))
                self.table[z, h] = value
                last = value
            del last

    def to_utc(self, local_us: I64, zone: npt.NDArray[np.integer]) -> I64:
        hour = (local_us - self.base_us) // US_PER_HOUR
        hour = np.clip(hour, 0, self.table.shape[1] - 1)
        out: I64 = local_us - self.table[zone, hour]
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


def month_ends(window: Window) -> list[int]:
    """Last working day of each month (local midnight, us): freelancer payroll runs."""
    return paydays(window, "monthly_last")[0]


def to_datetime_utc(us: I64) -> npt.NDArray[np.datetime64]:
    return us.astype("datetime64[us]")


def utc_now_unused() -> datetime:  # pragma: no cover - kept out of generation on purpose
    return datetime.now(UTC)
