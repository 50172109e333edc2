"""Grooming contact patterns and their look-alikes, as platform metadata (never content).

Minors' accounts live in friend groups (classmates, teams, gaming circles) that friend,
message and call each other. Around them act:

- *groomers* (label 1): adult or age-less accounts that send friend requests to many
  minors who do not know each other, move fast from friend request to private message
  to video call, often contact minors in other countries, and come back on a new account
  on the same device and IP after a ban; some run accounts on several services from the
  same device (platform-signals.md section 1);
- *teachers and coaches*: many minors, but whole classes or teams who know each other,
  slowly, in their own country, on old and sometimes verified accounts;
- *family members*: a few minors (siblings, cousins), quickly, often across borders;
- *gaming friends*: 18-24-year-olds (or accounts with no declared age) in gaming circles
  of 16-17-year-olds: many contacts, fast calls, some abroad, but within circles whose
  members know each other, on old accounts;
- *popular creators*: hundreds of minors friend *them*; they answer a few and stream.

Every behaviour's main numbers are drawn per world from :class:`GroomingPriors` bands,
so a benchmark can tune on some bands and test on others. The step draws from its own
random streams and only runs when a world asks for it (``generate_world(grooming=...)``),
so worlds without it are unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from daybreak.schema.columns import EVENT_TYPES
from daybreak.synth import clock, handles
from daybreak.synth.accounts import Accounts
from daybreak.synth.context import Ctx, rng_for
from daybreak.synth.priors import Band
from daybreak.synth.relative_calls import _Rows

GROOMER = "groomer"
# A groomer's first account; its account on a second service (same device and IP); the
# account it comes back on after a ban (same service, device and IP); one it has held
# (or bought) for years, which hides the "new account" sign.
GROOMER_SCENARIOS = (
    GROOMER,
    "groomer_second_service",
    "groomer_recreated",
    "groomer_aged_account",
)
LOOKALIKES = ("teacher_coach", "family_member", "gaming_friend", "popular_creator")
SCENARIOS = (*GROOMER_SCENARIOS, *LOOKALIKES)
ET = {name: i for i, name in enumerate(EVENT_TYPES)}
HOUR = clock.US_PER_HOUR
DAY = clock.US_PER_DAY
MIN_MINORS = 2000
LOBBY_CONTACTS = 3.0  # strangers a gaming friend meets in open lobbies (mean)
ABROAD = ("PH", "NG", "CI", "US", "GB", "IN", "MX", "CO", "RO", "DE")


@dataclass(frozen=True)
class GroomingPriors:
    """Bands a world draws the groomers' behaviour from (one value per world)."""

    fanout: Band = Band(6.0, 20.0)  # minors each groomer account sends requests to (mean)
    hours_to_message: Band = Band(0.2, 6.0)  # median hours, friend request -> first message
    hours_to_call: Band = Band(3.0, 48.0)  # median hours, friend request -> first call
    call_share: Band = Band(0.3, 0.8)  # share of targets a video call follows
    foreign_share: Band = Band(0.3, 0.9)  # share of targets in another country
    recreate_share: Band = Band(0.2, 0.7)  # groomers banned and back on the same device
    aged_account_share: Band = Band(0.0, 0.3)  # groomers on long-held (or bought) accounts
    multi_service_share: Band = Band(0.2, 0.6)  # groomers on a second service, same device
    snowball_share: Band = Band(0.0, 0.3)  # next target taken from a target's friends
    groomers_per_10k: Band = Band(20.0, 40.0)  # groomers per 10,000 bank customers

    def draw(self, seed: int) -> dict[str, float]:
        rng = rng_for(seed, "grooming.draw")
        return {name: band.draw(rng) for name, band in asdict_bands(self).items()}


def asdict_bands(priors: GroomingPriors) -> dict[str, Band]:
    return {k: getattr(priors, k) for k in asdict(priors)}


@dataclass
class AccountFacts:
    """What the platform knows about one account (``platform_accounts``)."""

    created_us: int
    age_band: str | None
    verified: bool


@dataclass
class Grooming:
    """The planted accounts and events; ``labels`` and ``cases`` are the truth."""

    behaviour: dict[str, float]
    case_base: int  # grooming cases are numbered from here (after the payments' cases)
    facts: dict[int, AccountFacts] = field(default_factory=dict)
    # account index -> (scenario, label, case number or -1)
    labels: dict[int, tuple[str, int, int]] = field(default_factory=dict)

    def add_events(self, ctx: Ctx, acc: Accounts, rows: _Rows) -> None:
        _Builder(ctx, acc, rows, self).run()

    def groomers(self, customers: int) -> int:
        """How many groomers (and so grooming cases) a world of ``customers`` has."""
        return max(6, round(self.behaviour["groomers_per_10k"] * customers / 10_000))


def plan(ctx: Ctx, priors: GroomingPriors, case_base: int) -> Grooming:
    return Grooming(priors.draw(ctx.seed), case_base)


class _Builder:
    def __init__(self, ctx: Ctx, acc: Accounts, rows: _Rows, g: Grooming) -> None:
        self.ctx, self.acc, self.rows, self.g = ctx, acc, rows, g
        self.b = g.behaviour
        self.rng = ctx.rng("grooming")
        self.start, self.end = ctx.window.start_us, ctx.window.end_us
        self.home = [c for c, _ in ctx.profile.countries]

    # -- accounts ---------------------------------------------------------------------
    def _account(
        self,
        service: str,
        kind: str,
        country: str,
        created_us: int,
        band: str | None,
        *,
        verified: bool = False,
        ip: str | None = None,
        device: str | None = None,
    ) -> int:
        rng = self.rng
        a = self.acc.add(
            service,
            handles.account_ids(rng, 1)[0],
            kind,
            -1,
            country,
            ip or handles.ips(rng, [country])[0],
            device or f"dev-{int(rng.integers(0, 1 << 48)):012x}",
        )
        self.g.facts[a] = AccountFacts(created_us, band, verified)
        return a

    def _start_before_end(self, days: int) -> int:
        """A start time leaving ``days`` of the window after it (or half the window in a
        short one), so what follows can still happen inside it."""
        room = min(days * DAY, (self.end - self.start) // 2)
        return int(self.rng.integers(self.start, self.end - room))

    def _years_before(self, lo: float, hi: float) -> int:
        return int(self.start - self.rng.uniform(lo, hi) * 365 * DAY)

    def _event(self, a: int, b: int, t: int, etype: str, case: int = -1, dur: int = -1) -> None:
        if self.start <= t < self.end:
            self.rows.add([a], b, t, dur, ET[etype], case)

    # -- minors and their friend groups --------------------------------------------------
    def _minors(self) -> None:
        rng = self.rng
        # Many more minors than actors: a groomer's random targets then rarely know each
        # other, as on a real platform (a small pool would make strangers friends).
        n = max(MIN_MINORS, len(self.ctx.pop))
        bands = rng.choice(["under_13", "13-15", "16-17"], n, p=[0.15, 0.45, 0.4])
        self.minors: list[int] = []
        self.band: dict[int, str] = {}
        for k in range(n):
            service = handles.SERVICES[int(rng.integers(0, len(handles.SERVICES)))]
            country = self._country(0.2)
            a = self._account(service, "minor", country, self._years_before(0.1, 3), bands[k])
            self.minors.append(a)
            self.band[a] = str(bands[k])
        # Friend groups of 4-10 on the same service and in the same country.
        by_place: dict[tuple[str, str], list[int]] = {}
        for a in self.minors:
            by_place.setdefault((self.acc.service[a], self.acc.country[a]), []).append(a)
        self.groups: list[list[int]] = []
        self.friends: dict[int, list[int]] = {}
        for _, members in sorted(by_place.items()):
            i = 0
            while i < len(members):
                size = int(rng.integers(4, 11))
                self.groups.append(members[i : i + size])
                i += size
        for group in self.groups:
            for x in range(len(group)):
                for y in range(x + 1, len(group)):
                    if rng.random() < 0.6:
                        self._contact(group[x], group[y], 2.0, 0.4, 12.0)
                        self.friends.setdefault(group[x], []).append(group[y])
                        self.friends.setdefault(group[y], []).append(group[x])

    def _country(self, abroad_p: float) -> str:
        if self.rng.random() < abroad_p:
            return ABROAD[int(self.rng.integers(0, len(ABROAD)))]
        return self.home[int(self.rng.integers(0, len(self.home)))]

    def _contact(
        self,
        a: int,
        m: int,
        hours_msg: float,
        call_p: float,
        hours_call: float,
        *,
        case: int = -1,
        t0: int | None = None,
        inbound: bool = False,
        messages: int | None = None,
        show: str = "call",
    ) -> None:
        """A friend request (from ``a``, or from ``m`` when ``inbound``), messages after
        about ``hours_msg`` hours and, with probability ``call_p``, a call from ``a``
        about ``hours_call`` hours after the request."""
        rng = self.rng
        t = t0 if t0 is not None else self._start_before_end(7)
        src, dst = (m, a) if inbound else (a, m)
        self._event(src, dst, t, "friend_request", case)
        if messages is None:
            messages = int(rng.integers(1, 6))
        first = t + int(rng.lognormal(np.log(max(hours_msg, 0.01)), 0.7) * HOUR)
        for k in range(messages):
            when = first + int(k * rng.uniform(0.2, 30) * HOUR)
            sender, to = (a, m) if k % 2 == 0 else (m, a)
            self._event(sender, to, when, "message", case)
        if rng.random() < call_p:
            when = t + int(rng.lognormal(np.log(max(hours_call, 0.05)), 0.8) * HOUR)
            self._event(a, m, max(when, first), show, case, int(rng.integers(120, 3600)))

    def _pick(self, pool: list[int], k: int) -> list[int]:
        k = min(k, len(pool))
        return [pool[int(i)] for i in self.rng.choice(len(pool), k, replace=False)]

    def _groups_on(self, service: str, country: str | None = None) -> list[list[int]]:
        return [
            g
            for g in self.groups
            if self.acc.service[g[0]] == service
            and (country is None or self.acc.country[g[0]] == country)
        ]

    # -- the actors -----------------------------------------------------------------------
    def _count(self, per_10k: float, least: int) -> int:
        return max(least, round(per_10k * len(self.ctx.pop) / 10_000))

    def _groomers(self) -> None:
        rng, b = self.rng, self.b
        for k in range(self.g.groomers(len(self.ctx.pop))):
            case = self.g.case_base + k
            country = self._country(0.6)
            band = [None, "18-24", "25+"][int(rng.integers(0, 3))]
            device = f"dev-{int(rng.integers(0, 1 << 48)):012x}"
            ip = handles.ips(rng, [country])[0]
            services = [handles.SERVICES[int(rng.integers(0, len(handles.SERVICES)))]]
            if rng.random() < b["multi_service_share"]:
                services.append(next(s for s in handles.SERVICES if s != services[0]))
            first = self._start_before_end(60)
            for s, service in enumerate(services):
                active = first + int(rng.integers(0, 10)) * DAY
                accounts = 2 if rng.random() < b["recreate_share"] else 1
                for r in range(accounts):
                    aged = rng.random() < b["aged_account_share"]
                    if aged:
                        created, scenario = self._years_before(0.5, 4), "groomer_aged_account"
                    else:
                        created = active - int(rng.uniform(0, 20) * DAY)
                        scenario = GROOMER_SCENARIOS[2 if r else min(s, 1)]
                    a = self._account(
                        service, GROOMER, country, created, band, ip=ip, device=device
                    )
                    self.g.labels[a] = (scenario, 1, case)
                    span = self._target(a, case, active)
                    # banned: back on a new account on the same device a few days later
                    active = span + int(rng.integers(1, 10)) * DAY

    def _target(self, a: int, case: int, active: int) -> int:
        """Friend requests to unrelated minors on the account's service from ``active``
        on; returns when the last one was sent."""
        rng, b = self.rng, self.b
        service, country = self.acc.service[a], self.acc.country[a]
        pool = [m for m in self.minors if self.acc.service[m] == service]
        foreign = [m for m in pool if self.acc.country[m] != country]
        domestic = [m for m in pool if self.acc.country[m] == country]
        n = max(2, int(rng.poisson(b["fanout"])))
        last = active
        reached: list[int] = []
        for _ in range(n):
            friends = [f for r in reached for f in self.friends.get(r, []) if f not in reached]
            if friends and rng.random() < b["snowball_share"]:
                # through a target's friend list (Europol: profiles with many friends)
                m = friends[int(rng.integers(0, len(friends)))]
            else:
                abroad = (rng.random() < b["foreign_share"] and foreign) or not domestic
                side = foreign if abroad else domestic
                # younger minors more often: skip a 16-17-year-old half the time
                m = side[int(rng.integers(0, len(side)))]
                if self.band[m] == "16-17" and rng.random() < 0.5:
                    m = side[int(rng.integers(0, len(side)))]
            reached.append(m)
            t = active + int(rng.uniform(0, 30) * DAY)
            last = max(last, t)
            self._contact(
                a, m, b["hours_to_message"], b["call_share"], b["hours_to_call"], case=case, t0=t
            )
        return last

    def _teachers(self) -> None:
        rng = self.rng
        for _ in range(self._count(40, 10)):
            service = handles.SERVICES[int(rng.integers(0, len(handles.SERVICES)))]
            groups = self._groups_on(service) or self.groups
            home = self.acc.country[groups[0][0]]
            same = [g for g in groups if self.acc.country[g[0]] == home]
            a = self._account(
                service,
                "teacher_coach",
                home,
                self._years_before(1, 8),
                "25+",
                verified=bool(rng.random() < 0.3),
            )
            self.g.labels[a] = ("teacher_coach", 0, -1)
            term = self._start_before_end(40)
            students = [m for g in self._pick_groups(same, int(rng.integers(2, 5))) for m in g]
            # and a few from other classes, clubs or schools, who may know no one else
            others = [m for g in same for m in g if m not in students]
            students += self._pick(others, int(rng.poisson(0.15 * len(students))))
            for m in students:
                t = term + int(rng.uniform(0, 14) * DAY)  # bulk friending at term start
                self._contact(a, m, 48.0, 0.15, 240.0, t0=t, inbound=bool(rng.random() < 0.5))

    def _pick_groups(self, groups: list[list[int]], k: int) -> list[list[int]]:
        idx = self.rng.choice(len(groups), min(k, len(groups)), replace=False)
        return [groups[int(i)] for i in idx]

    def _family(self) -> None:
        rng = self.rng
        for _ in range(self._count(80, 20)):
            g = self.groups[int(rng.integers(0, len(self.groups)))]
            service = self.acc.service[g[0]]
            abroad = rng.random() < 0.5
            country = self._country(1.0) if abroad else self.acc.country[g[0]]
            a = self._account(service, "family_member", country, self._years_before(1, 10), "25+")
            self.g.labels[a] = ("family_member", 0, -1)
            for m in self._pick(g, int(rng.integers(1, 5))):
                self._contact(a, m, 1.0, 0.8, 8.0, inbound=bool(rng.random() < 0.3))

    def _gamers(self) -> None:
        rng = self.rng
        for _ in range(self._count(80, 20)):
            service = handles.SERVICES[int(rng.integers(0, len(handles.SERVICES)))]
            country = self._country(0.3)
            groups = self._groups_on(service, country) or self._groups_on(service)
            band = "18-24" if rng.random() < 0.7 else None
            a = self._account(service, "gaming_friend", country, self._years_before(0.5, 4), band)
            self.g.labels[a] = ("gaming_friend", 0, -1)
            circle = self._pick_groups(groups, int(rng.integers(1, 4)))
            for m in (m for g in circle for m in g):
                if rng.random() < 0.8:
                    self._contact(a, m, 0.5, 0.6, 4.0, inbound=bool(rng.random() < 0.5))
            # players met in open lobbies: strangers to the circle and to each other
            pool = [m for m in self.minors if self.acc.service[m] == service]
            for m in self._pick(pool, int(rng.poisson(LOBBY_CONTACTS))):
                self._contact(a, m, 0.5, 0.6, 4.0, inbound=bool(rng.random() < 0.5))

    def _creators(self) -> None:
        rng = self.rng
        for _ in range(self._count(12, 4)):
            service = handles.SERVICES[int(rng.integers(0, len(handles.SERVICES)))]
            a = self._account(
                service,
                "popular_creator",
                self._country(0.5),
                self._years_before(1, 6),
                "25+",
                verified=bool(rng.random() < 0.8),
            )
            self.g.labels[a] = ("popular_creator", 0, -1)
            pool = [m for m in self.minors if self.acc.service[m] == service]
            for m in self._pick(pool, int(rng.integers(40, 150))):
                replies = int(rng.random() < 0.2) * int(rng.integers(1, 3))
                self._contact(a, m, 24.0, 0.3, 72.0, inbound=True, messages=replies, show="stream")

    def run(self) -> None:
        self._minors()
        self._groomers()
        self._teachers()
        self._family()
        self._gamers()
        self._creators()


def account_facts(g: Grooming | None) -> dict[int, AccountFacts]:
    return {} if g is None else g.facts


def label_rows(
    g: Grooming, acc: Accounts, case_name: Any
) -> Iterable[tuple[str, str, int, str, str | None]]:
    """(subject_type, subject_id, label, scenario, case_id) of every planted actor."""
    for a, (scenario, label, case) in sorted(g.labels.items()):
        yield ("account", acc.value(a), label, scenario, case_name(case) if case >= 0 else None)


__all__ = [
    "GROOMER",
    "GROOMER_SCENARIOS",
    "LOOKALIKES",
    "SCENARIOS",
    "AccountFacts",
    "Grooming",
    "GroomingPriors",
    "account_facts",
    "label_rows",
    "plan",
]
