"""Financial sextortion and its look-alikes, as platform metadata and payments.

Some bank customers have a teenager whose platform account is registered with the
parent's contact details (an ``identifiers`` row ties the account to the customer), so a
payment from the customer is a payment the teenager made on the family's card or account
(platform-signals.md section 2). Around those minors act:

- *extortion rings* (label 1): a few operators abroad (West Africa, South-East Asia) run
  short-lived new accounts that friend a boy, move to a video call within hours, and
  within hours or days the family pays a payment handle abroad, often several times in
  quick succession; the ring rotates a few handles, each paid by several unrelated
  families. Variants: no call (images over messages), an old (hacked or bought)
  account, a single payment;
- *game shops* (look-alike): resellers abroad paid by many teenagers, some of whom a
  gaming friend abroad called shortly before;
- *friends abroad*: a cross-border friend (sometimes on a new account) calls, and the
  family sends a gift to the friend's own handle once or twice;
- *foreign tutors*: one tutor teaches several families' children over video calls on an
  old, sometimes verified account, and each family pays the tutor's handle after the
  first lesson and then monthly;
- *relatives abroad*: a diaspora family's relative calls the teenager, and the family's
  usual remittances to that relative go on;
- *marketplace sellers*: a teenager messages a seller abroad (sneakers, game
  accounts), pays within hours, and the conversation ends: short, fast and paid, but
  the teenager made the contact, to an old account and a handle many buyers have paid;
- *background* (unlabelled): a share of all tied teenagers (``TEEN_SHARE`` of the
  customers) is befriended by a stranger (some on new accounts, most abroad) who may
  call once, and, independently, a share of the families pays a new handle abroad once
  or twice (online purchases, sellers, gifts). Where the two fall on one family a
  new-account contact is followed by a payment to a new handle abroad with no link
  between them: the coincidence a detector must not alert on.

Every number of the rings' behaviour is drawn per world from :class:`SextortionPriors`
bands, so a benchmark can tune on some bands and test on others. The step runs only when
a world asks for it (``generate_world(sextortion=...)``) and draws from its own random
streams, so worlds without it are unchanged. :func:`plan` runs with the payments (it adds
the payments to the ledger); :meth:`Sextortion.add_events` runs with the platform events.
Times are planned in the paying customer's local time and converted when emitted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import numpy as np

from daybreak.synth import clock, handles
from daybreak.synth.accounts import Accounts
from daybreak.synth.clock import LocalClock
from daybreak.synth.context import Ctx, lognormal, rng_for
from daybreak.synth.grooming import ET, AccountFacts
from daybreak.synth.ledger import CHANNEL, batch
from daybreak.synth.lookalikes import payout_handle
from daybreak.synth.population import ROLE
from daybreak.synth.priors import Band
from daybreak.synth.relative_calls import _main_relatives, _Rows

HOUR = clock.US_PER_HOUR
DAY = clock.US_PER_DAY
EXTORTION_SCENARIOS = (
    "sextortion",
    "sextortion_no_call",
    "sextortion_aged_account",
    "sextortion_single_payment",
)
LOOKALIKES = (
    "game_shop",
    "friend_abroad",
    "foreign_tutor",
    "relative_abroad",
    "marketplace_seller",
)
SCENARIOS = (*EXTORTION_SCENARIOS, *LOOKALIKES)
PAIR = "payer_handle"  # subject_type of the truth rows: "customer_id>receiver_id"
RING_COUNTRIES = ("NG", "CI", "GH", "PH", "IN")  # FBI: mostly West Africa and SE Asia
FRIEND_COUNTRIES = ("US", "GB", "DE", "PH", "MX", "IN", "CO", "TH")
SHOP_COUNTRIES = ("CN", "VN", "PH", "US", "ID", "MY")
TEEN_SHARE = 0.15  # customers with a teenager's account registered to them
HANDLE_CHANNELS = (CHANNEL["wallet"], CHANNEL["p2p"], CHANNEL["remittance"])


@dataclass(frozen=True)
class SextortionPriors:
    """Bands a world draws the extortion rings' behaviour from (one value per world)."""

    rings_per_10k: Band = Band(5.0, 10.0)  # rings per 10,000 bank customers
    victims_per_ring: Band = Band(4.0, 10.0)  # families each ring extorts (mean)
    handles_per_ring: Band = Band(1.0, 3.0)  # payment handles a ring rotates through
    accounts_per_ring: Band = Band(1.0, 3.0)  # platform accounts a ring rotates through
    hours_to_call: Band = Band(0.3, 6.0)  # median hours, friend request -> video call
    call_share: Band = Band(0.7, 1.0)  # victims a video call follows
    hours_to_pay: Band = Band(0.5, 24.0)  # median hours, call (or last message) -> payment
    payments_per_victim: Band = Band(1.5, 4.0)  # mean payments per paying family
    single_payment_share: Band = Band(0.1, 0.4)  # families who pay once and block
    aged_account_share: Band = Band(0.0, 0.2)  # rings on old (hacked or bought) accounts
    # The background every tied teenager lives in, with no link between its two halves:
    # teenagers a stranger (gamer, pen pal) befriends in the window, the share of those
    # strangers on new accounts, and families who pay a new handle abroad (an online
    # purchase, a marketplace seller, a gift) in the window.
    stranger_contact_share: Band = Band(0.1, 0.6)
    stranger_new_share: Band = Band(0.1, 0.6)
    handle_abroad_share: Band = Band(0.05, 0.4)

    def draw(self, seed: int) -> dict[str, float]:
        rng = rng_for(seed, "sextortion.draw")
        return {k: getattr(self, k).draw(rng) for k in asdict(self)}


@dataclass
class _Actor:
    """A platform account to create when the events are emitted."""

    scenario: str
    label: int
    case: int
    country: str
    band: str | None
    created_local: int  # customer-local time of creation (near enough for a date)
    verified: bool = False


@dataclass
class _Contact:
    """Contact between an actor and a teenager: a friend request, messages, calls."""

    actor: int  # index into Sextortion.actors
    cust: int
    t0: int  # customer-local friend request
    from_actor: bool
    calls: list[int]
    messages: int
    case: int = -1
    demands: list[int] = field(default_factory=list)  # messages from the actor at these times


@dataclass
class Sextortion:
    """The planned teenagers, actors, contacts and payments; ``pairs`` is the truth."""

    behaviour: dict[str, float]
    case_base: int
    rings: int = 0  # extortion rings (and cases) planted
    teens: dict[int, str] = field(default_factory=dict)  # customer -> teenager's age band
    actors: list[_Actor] = field(default_factory=list)
    contacts: list[_Contact] = field(default_factory=list)
    # (customer, receiver id) -> (scenario, label, case or -1)
    pairs: dict[tuple[int, str], tuple[str, int, int]] = field(default_factory=dict)
    facts: dict[int, AccountFacts] = field(default_factory=dict)
    actor_account: dict[int, int] = field(default_factory=dict)  # actor -> account index
    teen_account: dict[int, int] = field(default_factory=dict)  # customer -> account index

    def add_events(self, ctx: Ctx, acc: Accounts, lclock: LocalClock, rows: _Rows) -> None:
        _emit(self, ctx, acc, lclock, rows)


def plan(ctx: Ctx, priors: SextortionPriors, case_base: int) -> Sextortion:
    """Pick the teenagers, plant the rings and the look-alikes; payments go to the ledger."""
    s = Sextortion(priors.draw(ctx.seed), case_base)
    _Planner(ctx, s).run()
    return s


class _Planner:
    def __init__(self, ctx: Ctx, s: Sextortion) -> None:
        self.ctx, self.s, self.b = ctx, s, s.behaviour
        self.rng = ctx.rng("sextortion")
        self.start, self.end = ctx.window.start_us, ctx.window.end_us
        pop = ctx.pop
        free = (pop.role != ROLE["payer"]) & (pop.role != ROLE["payer_linked_account"])
        self.free = np.flatnonzero(free)
        self.rng.shuffle(self.free)
        self.next = 0

    # -- helpers --------------------------------------------------------------------------
    def _teen(self) -> int:
        """A customer not used yet, who gets a teenager's account (mostly boys 14-17)."""
        c = int(self.free[self.next % len(self.free)])
        self.next += 1
        self.s.teens.setdefault(c, "16-17" if self.rng.random() < 0.5 else "13-15")
        return c

    def _time(self, room_days: float) -> int:
        room = int(min(room_days * DAY, (self.end - self.start) // 2))
        return int(self.rng.integers(self.start, self.end - room))

    def _years_before(self, lo: float, hi: float) -> int:
        return int(self.start - self.rng.uniform(lo, hi) * 365 * DAY)

    def _hours(self, median: float, sigma: float = 0.8) -> int:
        return int(float(lognormal(self.rng, max(median, 0.01), sigma, 1)[0]) * HOUR)

    def _actor(self, a: _Actor) -> int:
        self.s.actors.append(a)
        return len(self.s.actors) - 1

    def _pay(
        self, cust: int, recv: int, times: list[int], aud: float, channel: int, case: int = -1
    ) -> None:
        n = len(times)
        amount = self.ctx.money(lognormal(self.rng, aud, 0.5, n))
        self.ctx.ledger.add(
            batch(np.full(n, cust), np.array(times), recv, amount, channel, case=case)
        )

    def _handle(self, country: str, scenario: str) -> tuple[int, str]:
        rid = payout_handle(self.rng, country)
        return self.ctx.ledger.receivers.add(rid, country, scenario), rid

    def _label(self, cust: int, rid: str, scenario: str, label: int, case: int = -1) -> None:
        self.s.pairs.setdefault((cust, rid), (scenario, label, case))

    def _count(self, per_10k: float, least: int) -> int:
        return max(least, round(per_10k * len(self.ctx.pop) / 10_000))

    # -- extortion rings ------------------------------------------------------------------
    def rings(self) -> None:
        rng, b = self.rng, self.b
        self.s.rings = self._count(b["rings_per_10k"], 3)
        for r in range(self.s.rings):
            case = self.s.case_base + r
            country = RING_COUNTRIES[int(rng.integers(0, len(RING_COUNTRIES)))]
            victims = max(2, int(rng.poisson(b["victims_per_ring"])))
            n_handles = max(1, round(rng.uniform(1, 2 * b["handles_per_ring"] - 1)))
            n_accounts = max(1, round(rng.uniform(1, 2 * b["accounts_per_ring"] - 1)))
            aged = bool(rng.random() < b["aged_account_share"])
            start = self._time(45)
            t0s = sorted(start + int(rng.uniform(0, 40) * DAY) for _ in range(victims))
            handle = [self._handle(country, "sextortion_handle") for _ in range(n_handles)]
            actors = []
            for k in range(n_accounts):  # rotated: banned, back on a new one
                first = t0s[k * victims // n_accounts]
                created = (
                    self._years_before(0.5, 5) if aged else first - int(rng.uniform(0, 14) * DAY)
                )
                band = [None, "18-24", "16-17"][int(rng.integers(0, 3))]
                actors.append(self._actor(_Actor("sextortion", 1, case, country, band, created)))
            for v, t0 in enumerate(t0s):
                self._victim(case, t0, actors[v * n_accounts // victims],
                             handle[v * n_handles // victims], aged)  # fmt: skip

    def _victim(self, case: int, t0: int, actor: int, handle: tuple[int, str], aged: bool) -> None:
        rng, b = self.rng, self.b
        cust = self._teen()
        called = bool(rng.random() < b["call_share"])
        calls = [t0 + self._hours(b["hours_to_call"])] if called else []
        messages = int(rng.integers(3, 12))
        contact = _Contact(actor, cust, t0, True, calls, messages, case)
        self.s.contacts.append(contact)
        demand = (calls[0] if calls else t0 + self._hours(2.0)) + self._hours(b["hours_to_pay"])
        single = bool(rng.random() < b["single_payment_share"])
        n = 1 if single else max(1, 1 + int(rng.poisson(b["payments_per_victim"] - 1)))
        times = [demand]
        for _ in range(n - 1):  # "several rapid transfers", then it stops (FATF 2025)
            times.append(times[-1] + int(rng.uniform(0.3, 30) * HOUR))
        # a demand before each payment; some go on demanding after the last one (NCMEC:
        # 27% of those who paid were extorted again)
        contact.demands = [t - int(rng.uniform(0.05, 2) * HOUR) for t in times]
        if rng.random() < 0.3:
            contact.demands.append(times[-1] + int(rng.uniform(0.5, 7) * DAY))
        channel = HANDLE_CHANNELS[int(rng.integers(0, len(HANDLE_CHANNELS)))]
        self._pay(cust, handle[0], times, 120.0, channel, case)
        scenario = (
            "sextortion_aged_account" if aged
            else "sextortion_no_call" if not called
            else "sextortion_single_payment" if single
            else "sextortion"
        )  # fmt: skip
        self._label(cust, handle[1], scenario, 1, case)

    # -- look-alikes ----------------------------------------------------------------------
    def game_shops(self) -> None:
        rng = self.rng
        shops = [
            self._handle(SHOP_COUNTRIES[int(rng.integers(0, len(SHOP_COUNTRIES)))], "game_shop")
            for _ in range(self._count(4, 3))
        ]
        for _ in range(self._count(150, 40)):
            cust = self._teen()
            recv, rid = shops[int(rng.integers(0, len(shops)))]
            times = [self._time(1) for _ in range(int(rng.integers(1, 7)))]
            if rng.random() < 0.5:  # a gaming friend abroad called a little before
                country = FRIEND_COUNTRIES[int(rng.integers(0, len(FRIEND_COUNTRIES)))]
                new = bool(rng.random() < 0.2)
                t0 = min(times) - int(rng.uniform(0.2, 5) * DAY)
                created = t0 - int(rng.uniform(1, 20) * DAY) if new else self._years_before(1, 5)
                band = "18-24" if rng.random() < 0.6 else None
                a = self._actor(_Actor("game_shop", 0, -1, country, band, created))
                calls = [t0 + self._hours(12.0)]
                calls += [calls[0] + int(rng.uniform(1, 40) * DAY) for _ in range(2)]
                self.s.contacts.append(_Contact(a, cust, t0, bool(rng.random() < 0.5), calls, 4))
            self._pay(cust, recv, times, 25.0, CHANNEL["wallet"])
            self._label(cust, rid, "game_shop", 0)

    def friends(self) -> None:
        rng = self.rng
        for _ in range(self._count(60, 15)):
            cust = self._teen()
            country = FRIEND_COUNTRIES[int(rng.integers(0, len(FRIEND_COUNTRIES)))]
            new = bool(rng.random() < 0.3)
            t0 = self._time(30)
            created = t0 - int(rng.uniform(0, 20) * DAY) if new else self._years_before(1, 4)
            band = "16-17" if rng.random() < 0.4 else ("18-24" if rng.random() < 0.7 else None)
            a = self._actor(_Actor("friend_abroad", 0, -1, country, band, created))
            calls = sorted(t0 + int(rng.uniform(0.1, 20) * DAY) for _ in range(4))
            self.s.contacts.append(_Contact(a, cust, t0, bool(rng.random() < 0.5), calls, 8))
            recv, rid = self._handle(country, "friend_abroad")
            gift = calls[int(rng.integers(0, len(calls)))] + self._hours(3.0)
            times = [gift] + ([gift + int(rng.uniform(1, 10) * DAY)] if rng.random() < 0.3 else [])
            self._pay(cust, recv, times, 40.0, CHANNEL["p2p"])
            self._label(cust, rid, "friend_abroad", 0)

    def tutors(self) -> None:
        rng = self.rng
        for _ in range(self._count(10, 4)):
            country = FRIEND_COUNTRIES[int(rng.integers(0, len(FRIEND_COUNTRIES)))]
            verified = bool(rng.random() < 0.3)
            a = self._actor(
                _Actor("foreign_tutor", 0, -1, country, "25+", self._years_before(1, 6), verified)
            )
            recv, rid = self._handle(country, "foreign_tutor")
            for _ in range(int(rng.integers(3, 9))):
                cust = self._teen()
                t0 = self._time(30)
                first = t0 + int(rng.uniform(0.5, 3) * DAY)
                weeks = int(rng.integers(3, 20))
                calls = [first + w * 7 * DAY for w in range(weeks)]
                self.s.contacts.append(_Contact(a, cust, t0, bool(rng.random() < 0.4), calls, 3))
                times = [first + self._hours(2.0)]
                times += [times[0] + m * 30 * DAY for m in range(1, 1 + weeks // 4)]
                self._pay(cust, recv, times, 150.0, CHANNEL["wire"])
                self._label(cust, rid, "foreign_tutor", 0)

    def sellers(self) -> None:
        rng = self.rng
        for _ in range(self._count(8, 3)):
            country = SHOP_COUNTRIES[int(rng.integers(0, len(SHOP_COUNTRIES)))]
            band = "18-24" if rng.random() < 0.5 else None
            a = self._actor(
                _Actor("marketplace_seller", 0, -1, country, band, self._years_before(0.5, 5))
            )
            recv, rid = self._handle(country, "marketplace_seller")
            for _ in range(int(rng.integers(4, 16))):
                cust = self._teen()
                t0 = self._time(7)
                calls = [t0 + self._hours(1.0)] if rng.random() < 0.1 else []
                first = bool(rng.random() < 0.3)  # sellers advertise to teenagers too
                self.s.contacts.append(_Contact(a, cust, t0, first, calls, int(rng.integers(2, 8))))
                times = [t0 + self._hours(2.0)]
                if rng.random() < 0.2:  # a second item
                    times.append(times[0] + int(rng.uniform(0.5, 48) * HOUR))
                self._pay(cust, recv, times, 60.0, CHANNEL["wallet"])
                self._label(cust, rid, "marketplace_seller", 0)

    def relatives(self) -> None:
        """Teenagers of diaspora families whose relative abroad calls them; the family's
        remittances to that relative (already in the ledger) go on around the calls."""
        rng = self.rng
        cust, recv, _ = _main_relatives(self.ctx)
        pick = rng.permutation(len(cust))[: self._count(40, 10)]
        receivers = self.ctx.ledger.receivers
        for k in pick:
            c, r = int(cust[k]), int(recv[k])
            if c in self.s.teens:
                continue
            self.s.teens[c] = "13-15" if rng.random() < 0.5 else "16-17"
            country = receivers.country[r]
            a = self._actor(
                _Actor("relative_abroad", 0, -1, country, "25+", self._years_before(2, 10))
            )
            t0 = self._time(60)
            calls = sorted(t0 + int(rng.uniform(0.1, 60) * DAY) for _ in range(6))
            self.s.contacts.append(_Contact(a, c, t0, True, calls, 5))
            self._label(c, receivers.ids.values[r], "relative_abroad", 0)

    def background(self) -> None:
        """Strangers befriending tied teenagers and families paying new handles abroad,
        drawn independently over ``TEEN_SHARE`` of the customers (unlabelled pairs)."""
        rng, b = self.rng, self.b
        while len(self.s.teens) < TEEN_SHARE * len(self.ctx.pop) and self.next < len(self.free):
            self._teen()
        for cust in sorted(self.s.teens):
            if rng.random() < b["stranger_contact_share"]:
                self._stranger(cust)
            if rng.random() < b["handle_abroad_share"]:
                country = SHOP_COUNTRIES[int(rng.integers(0, len(SHOP_COUNTRIES)))]
                recv, _ = self._handle(country, "handle_abroad")
                times = [self._time(1)]
                if rng.random() < 0.25:  # a second item or a top-up
                    times.append(times[0] + int(rng.uniform(0.5, 20) * DAY))
                channel = HANDLE_CHANNELS[int(rng.integers(0, len(HANDLE_CHANNELS)))]
                self._pay(cust, recv, times, 50.0, channel)

    def _stranger(self, cust: int) -> None:
        rng = self.rng
        t0 = self._time(2)
        abroad = bool(rng.random() < 0.7)
        country = (
            FRIEND_COUNTRIES[int(rng.integers(0, len(FRIEND_COUNTRIES)))] if abroad
            else str(self.ctx.pop.country[cust])
        )  # fmt: skip
        new = bool(rng.random() < self.b["stranger_new_share"])
        created = t0 - int(rng.uniform(0, 25) * DAY) if new else self._years_before(0.5, 5)
        band = ["13-15", "16-17", "18-24", None][int(rng.integers(0, 4))]
        a = self._actor(_Actor("stranger", 0, -1, country, band, created))
        calls = [t0 + self._hours(24.0, 1.2)] if rng.random() < 0.3 else []
        messages = int(rng.integers(1, 10))
        self.s.contacts.append(_Contact(a, cust, t0, bool(rng.random() < 0.7), calls, messages))

    def run(self) -> None:
        self.rings()
        self.game_shops()
        self.friends()
        self.tutors()
        self.sellers()
        self.relatives()
        self.background()


def _emit(s: Sextortion, ctx: Ctx, acc: Accounts, lclock: LocalClock, rows: _Rows) -> None:
    """Create the actors' accounts (each on a service of its own), the teenagers'
    accounts (on the service of the actor that contacts them) and the contacts' events,
    in UTC."""
    rng = ctx.rng("sextortion.events")
    tz = ctx.pop.tz
    actor_teen: dict[int, int] = {}  # actor -> the first customer whose teenager it contacts
    teen_contact: dict[int, _Contact] = {}
    for ct in s.contacts:
        actor_teen.setdefault(ct.actor, ct.cust)
        teen_contact.setdefault(ct.cust, ct)
    for k, cust in sorted(actor_teen.items()):
        x = s.actors[k]
        known = teen_contact[cust].actor  # the teenager's account is on this one's service
        service = (
            acc.service[s.actor_account[known]] if known in s.actor_account
            else handles.SERVICES[int(rng.integers(0, len(handles.SERVICES)))]
        )  # fmt: skip
        s.actor_account[k] = _account(rng, acc, service, x.scenario, -1, x.country)
        created = _utc(lclock, tz, cust, x.created_local)
        s.facts[s.actor_account[k]] = AccountFacts(created, x.band, x.verified)
    for c, band in sorted(s.teens.items()):
        first = teen_contact.get(c)
        service = (
            acc.service[s.actor_account[first.actor]] if first is not None
            else handles.SERVICES[int(rng.integers(0, len(handles.SERVICES)))]
        )  # fmt: skip
        a = _account(rng, acc, service, "minor", c, ctx.pop.country[c])
        s.teen_account[c] = a
        acc.by_customer.setdefault(c, []).append(a)  # registered with the parent's details
        created = ctx.window.start_us - int(rng.uniform(0.2, 3) * 365 * DAY)
        s.facts[a] = AccountFacts(created, band, False)
    for ct in s.contacts:

        def utc(t: int, cust: int = ct.cust) -> int:
            return _utc(lclock, tz, cust, t)

        _contact_events(ct, s.actor_account[ct.actor], s.teen_account[ct.cust], rng, utc, rows)


def _account(
    rng: np.random.Generator, acc: Accounts, service: str, kind: str, owner: int, country: str
) -> int:
    """A new account with its own IP in ``country`` and its own device."""
    return acc.add(
        service, handles.account_ids(rng, 1)[0], kind, owner, country,
        handles.ips(rng, [country])[0], f"dev-{int(rng.integers(0, 1 << 48)):012x}",
    )  # fmt: skip


def _utc(lclock: LocalClock, tz: np.ndarray, cust: int, local: int) -> int:
    return int(lclock.to_utc(np.array([local], dtype=np.int64), tz[[cust]])[0])


def _contact_events(
    ct: _Contact,
    a: int,
    m: int,
    rng: np.random.Generator,
    utc: Callable[[int], int],
    rows: _Rows,
) -> None:
    src, dst = (a, m) if ct.from_actor else (m, a)
    rows.add([src], dst, utc(ct.t0), -1, ET["friend_request"], ct.case)
    last = ct.calls[0] if ct.calls else ct.t0 + 2 * HOUR
    for k in range(ct.messages):
        when = ct.t0 + int(rng.uniform(0.05, 1.0) * max(last - ct.t0, HOUR))
        sender, to = (a, m) if k % 2 == 0 else (m, a)
        rows.add([sender], to, utc(when), -1, ET["message"], ct.case)
    for t in ct.calls:
        rows.add([a], m, utc(t), int(rng.integers(120, 2400)), ET["call"], ct.case)
    for t in ct.demands:
        rows.add([a], m, utc(t), -1, ET["message"], ct.case)


def account_facts(s: Sextortion | None) -> dict[int, AccountFacts]:
    return {} if s is None else s.facts


def label_rows(
    s: Sextortion, ctx: Ctx, case_name: Callable[[int], str]
) -> Iterable[tuple[str, str, int, str, str | None]]:
    """Truth rows: one per planted (paying customer, receiver) pair, subject_type
    ``payer_handle`` and subject_id ``customer_id>receiver_id`` (kept apart from the
    ``account`` rows, which are the grooming detector's truth)."""
    for (c, rid), (scenario, label, case) in sorted(s.pairs.items()):
        yield (PAIR, f"{ctx.pop.ids[c]}>{rid}", label, scenario, case_name(case) if label else None)


def case_links(
    s: Sextortion, acc: Accounts, case_name: Callable[[int], str]
) -> Iterable[tuple[str, str, str]]:
    """(case_id, source, record_id) of each ring's accounts and payment handles (its
    events and payments are linked where they are made)."""
    for k, x in enumerate(s.actors):
        if x.label and k in s.actor_account:
            yield (case_name(x.case), "accounts", acc.value(s.actor_account[k]))
    for (_, rid), (_, label, case) in sorted(s.pairs.items()):
        if label:
            yield (case_name(case), "beneficiaries", rid)


__all__ = [
    "EXTORTION_SCENARIOS",
    "LOOKALIKES",
    "PAIR",
    "SCENARIOS",
    "Sextortion",
    "SextortionPriors",
    "account_facts",
    "case_links",
    "label_rows",
    "plan",
]
