"""Recruitment ads and fake profiles (``platform_ads``) and their look-alikes.

Only what the public schema keeps: who posted an ad or profile, where and when, a short
category, the contact phone, a payment handle for "fees" and the photo's PDQ hash
(random 64-bit strings here: no image ever exists). Ordinary posters (shops, cafés,
families looking for a cleaner, people selling themselves as models) post a few ads in
one city with their own details. Around them (platform-signals.md section 4):

- *recruitment networks* (label 1): "online job" / "model" / "travel job" ads and fake
  profiles posted from many new accounts on several services, in several cities, that
  keep giving the same few phones, payment handles and photos (the Memex pattern);
- *agencies* (look-alike): a legitimate staffing agency re-posting its own ads in
  several cities with its one office phone and handle, from its one account per
  service;
- *shared office phones* (look-alike): small businesses in one co-working space that
  give the building's phone, each with its own account, handle and photos.

Every number of the networks' behaviour is drawn per world from :class:`AdsPriors`
bands. The step runs only when a world asks for it (``generate_world(ads=...)``), from
its own random stream, so worlds without it are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import polars as pl

from daybreak.schema import TABLES
from daybreak.synth import clock, handles
from daybreak.synth.context import Ctx, rng_for
from daybreak.synth.frames import conform, utc
from daybreak.synth.lookalikes import payout_handle
from daybreak.synth.priors import Band

NETWORK = "recruitment_network"
LOOKALIKES = ("agency_reposts", "shared_office_phone", "ordinary")
RISKY = ("online_job", "model", "travel_job")
EVERYDAY = ("domestic_work", "hospitality", "other", "online_job", "model")
CITIES: dict[str, tuple[str, ...]] = {
    "AU": ("Sydney", "Melbourne", "Brisbane", "Perth", "Adelaide", "Darwin", "Cairns"),
    "GB": ("London", "Manchester", "Birmingham", "Leeds", "Glasgow", "Bristol", "Cardiff"),
    "US": ("New York", "Houston", "Miami", "Atlanta", "Las Vegas", "Chicago", "Phoenix"),
    "DE": ("Berlin", "Hamburg", "Munich", "Cologne", "Frankfurt", "Stuttgart"),
    "NL": ("Amsterdam", "Rotterdam", "The Hague", "Utrecht", "Eindhoven"),
    "PH": ("Manila", "Cebu", "Davao", "Angeles", "Iloilo", "Cagayan de Oro"),
    "TH": ("Bangkok", "Pattaya", "Chiang Mai", "Phuket", "Udon Thani"),
    "CO": ("Bogotá", "Medellín", "Cali", "Cartagena", "Barranquilla"),
    "MX": ("Mexico City", "Guadalajara", "Monterrey", "Cancún", "Tijuana"),
}
ABROAD = ("PH", "TH", "CO", "MX")  # where networks also recruit


@dataclass(frozen=True)
class AdsPriors:
    """Bands a world draws the recruitment networks' behaviour from."""

    networks_per_10k: Band = Band(4.0, 8.0)  # networks per 10,000 bank customers
    ads_per_network: Band = Band(10.0, 30.0)  # ads and profiles per network (mean)
    cities_per_network: Band = Band(3.0, 6.0)
    services_per_network: Band = Band(1.0, 3.0)
    phones_per_network: Band = Band(1.0, 3.0)
    photos_per_network: Band = Band(2.0, 6.0)
    account_reuse: Band = Band(0.0, 0.4)  # ads posted from an account already used
    phone_share: Band = Band(0.7, 1.0)  # ads that give a phone
    handle_share: Band = Band(0.2, 0.6)  # ads that give a payment handle
    profile_share: Band = Band(0.2, 0.5)  # fake profiles rather than ads
    # Widened per world (issue #16, quality): networks that also post domestic-work and
    # hospitality ads, recruit abroad more or less, show photos more or less often; and
    # look-alikes whose size, reach and categories vary from world to world.
    network_risky_share: Band = Band(0.7, 1.0)  # online job / model / travel job ads
    abroad_share: Band = Band(0.0, 0.6)  # a network's cities abroad (at least one at home)
    photo_share: Band = Band(0.5, 0.95)  # network ads that show a photo
    agencies_per_10k: Band = Band(5.0, 15.0)
    agency_ads: Band = Band(10.0, 40.0)  # ads per agency (mean)
    agency_cities: Band = Band(3.0, 7.0)  # the most cities an agency posts in
    agency_accounts: Band = Band(1.0, 3.0)  # the most accounts (branches) per agency
    agency_risky_share: Band = Band(0.2, 0.7)  # agency ads for online jobs or models
    offices_per_10k: Band = Band(5.0, 15.0)
    office_businesses: Band = Band(3.0, 8.0)  # the most businesses sharing one phone

    def draw(self, seed: int) -> dict[str, float]:
        rng = rng_for(seed, "ads.draw")
        return {k: getattr(self, k).draw(rng) for k in asdict(self)}


# Every band of the networks widened together (the benchmark's ``mixed`` region): few or
# many ads, one city or six, accounts reused or new, details given often or rarely.
WIDE = AdsPriors(
    ads_per_network=Band(4.0, 30.0), cities_per_network=Band(1.0, 6.0),
    services_per_network=Band(1.0, 3.0), account_reuse=Band(0.0, 0.9),
    phone_share=Band(0.3, 1.0), handle_share=Band(0.0, 0.6), profile_share=Band(0.0, 0.5),
)  # fmt: skip


@dataclass
class Ads:
    """The rows of ``platform_ads`` and each one's truth (scenario, label, case)."""

    behaviour: dict[str, float]
    case_base: int
    rows: list[dict[str, object]] = field(default_factory=list)
    truth: list[tuple[str, int, int]] = field(default_factory=list)


def generate(ctx: Ctx, priors: AdsPriors, case_base: int) -> Ads:
    ads = Ads(priors.draw(ctx.seed), case_base)
    _Poster(ctx, ads).run()
    return ads


class _Poster:
    def __init__(self, ctx: Ctx, ads: Ads) -> None:
        self.ctx, self.ads, self.b = ctx, ads, ads.behaviour
        self.rng = ctx.rng("ads")
        self.home = ctx.home
        self.start, self.end = ctx.window.start_us, ctx.window.end_us

    def _city(self, country: str) -> str:
        names = CITIES.get(country, tuple(f"{country} city {k}" for k in range(1, 6)))
        return names[int(self.rng.integers(0, len(names)))]

    def _pick(self, values: tuple[str, ...]) -> str:
        return values[int(self.rng.integers(0, len(values)))]

    def _photo(self) -> str:
        return self.rng.bytes(32).hex()

    def _account(self) -> str:
        return handles.account_ids(self.rng, 1)[0]

    def _when(self) -> int:
        return int(self.rng.integers(self.start, self.end))

    def _count(self, per_10k: float, least: int) -> int:
        return max(least, round(per_10k * len(self.ctx.pop) / 10_000))

    def _add(self, truth: tuple[str, int, int], **row: object) -> None:
        row["ad_id"] = f"AD{len(self.ads.rows):07d}"
        self.ads.rows.append(row)
        self.ads.truth.append(truth)

    def ordinary(self) -> None:
        for _ in range(self._count(1500, 300)):
            country = self.home if self.rng.random() < 0.8 else self._pick(ABROAD)
            city, service, account = (
                self._city(country),
                self._pick(handles.SERVICES),
                self._account(),
            )
            phone = handles.phones(self.rng, country, 1)[0] if self.rng.random() < 0.6 else None
            handle = payout_handle(self.rng, country) if self.rng.random() < 0.2 else None
            photo = self._photo() if self.rng.random() < 0.6 else None
            kind = "profile" if self.rng.random() < 0.3 else "ad"
            for _ in range(int(self.rng.integers(1, 4))):
                self._add(("ordinary", 0, -1), service=service, record_type=kind,
                          account_id=account, posted_at=self._when(), city=city,
                          country=country, category=self._pick(EVERYDAY), contact_phone=phone,
                          payment_handle=handle, photo_pdq=photo)  # fmt: skip

    def _network_cities(self, n: int) -> list[tuple[str, str]]:
        """``n`` distinct cities (fewer when the countries have fewer): the first at home,
        each other one abroad with the world's ``abroad_share``."""
        abroad = self._pick(ABROAD)
        cities = [(self.home, self._city(self.home))]
        for _ in range(4 * n):
            country = abroad if self.rng.random() < self.b["abroad_share"] else self.home
            cities = list(dict.fromkeys([*cities, (country, self._city(country))]))
            if len(cities) >= n:
                break
        return cities

    def networks(self) -> None:
        rng, b = self.rng, self.b
        for k in range(self._count(b["networks_per_10k"], 3)):
            case = self.ads.case_base + k
            cities = self._network_cities(max(1, round(b["cities_per_network"])))
            abroad = next((c for c, _ in cities if c != self.home), self._pick(ABROAD))
            services = list(handles.SERVICES[: max(1, round(b["services_per_network"]))])
            rng.shuffle(services)
            phones = [handles.phones(rng, self.home, 1)[0]
                      for _ in range(max(1, round(b["phones_per_network"])))]  # fmt: skip
            handle_list = [payout_handle(rng, abroad) for _ in range(2)]
            photos = [self._photo() for _ in range(max(1, round(b["photos_per_network"])))]
            accounts: list[tuple[str, str]] = []
            for _ in range(max(4, int(rng.poisson(b["ads_per_network"])))):
                if accounts and rng.random() < b["account_reuse"]:
                    service, account = accounts[int(rng.integers(0, len(accounts)))]
                else:  # a new account for each ad: the fake profiles
                    service, account = self._pick(tuple(services)), self._account()
                    accounts.append((service, account))
                country, city = cities[int(rng.integers(0, len(cities)))]
                risky = rng.random() < b["network_risky_share"]
                self._add((NETWORK, 1, case), service=service,
                          record_type="profile" if rng.random() < b["profile_share"] else "ad",
                          account_id=account, posted_at=self._when(), city=city,
                          country=country,
                          category=self._pick(RISKY if risky else ("domestic_work", "hospitality")),
                          contact_phone=self._pick(tuple(phones))
                          if rng.random() < b["phone_share"] else None,
                          payment_handle=self._pick(tuple(handle_list))
                          if rng.random() < b["handle_share"] else None,
                          photo_pdq=self._pick(tuple(photos))
                          if rng.random() < b["photo_share"] else None)  # fmt: skip

    def _upto(self, most: float, least: int = 1) -> int:
        """A whole number from ``least`` to the world's ``most`` (rounded)."""
        return int(self.rng.integers(least, max(least, round(most)) + 1))

    def agencies(self) -> None:
        rng, b = self.rng, self.b
        cities_home = CITIES.get(self.home, tuple(f"{self.home} city {k}" for k in range(1, 6)))
        for _ in range(self._count(b["agencies_per_10k"], 4)):
            phone = handles.phones(rng, self.home, 1)[0]
            handle = payout_handle(rng, self.home)
            logo = self._photo()
            # one account per service, or a few branch accounts on them
            services = tuple(handles.SERVICES[: int(rng.integers(1, 3))])
            accounts = [(s, self._account()) for s in services] + [
                (self._pick(services), self._account())
                for _ in range(self._upto(b["agency_accounts"]) - len(services))
            ]
            cities = list(cities_home)[: self._upto(b["agency_cities"], least=2)]
            for _ in range(max(5, int(rng.poisson(b["agency_ads"])))):
                service, account = accounts[int(rng.integers(0, len(accounts)))]
                job = rng.random() < b["agency_risky_share"]
                self._add(("agency_reposts", 0, -1), service=service, record_type="ad",
                          account_id=account, posted_at=self._when(),
                          city=cities[int(rng.integers(0, len(cities)))], country=self.home,
                          category=self._pick(("online_job", "model") if job
                                              else ("domestic_work", "hospitality")),
                          contact_phone=phone, payment_handle=handle if rng.random() < 0.3 else None,
                          photo_pdq=logo)  # fmt: skip

    def offices(self) -> None:
        rng = self.rng
        for _ in range(self._count(self.b["offices_per_10k"], 4)):
            phone = handles.phones(rng, self.home, 1)[0]
            city = self._city(self.home)
            for _ in range(self._upto(self.b["office_businesses"], least=2)):  # one front desk
                service, account = self._pick(handles.SERVICES), self._account()
                handle = payout_handle(rng, self.home)
                photo = self._photo()
                category = self._pick(EVERYDAY)
                for _ in range(int(rng.integers(1, 5))):
                    self._add(("shared_office_phone", 0, -1), service=service,
                              record_type="ad", account_id=account, posted_at=self._when(),
                              city=city, country=self.home, category=category,
                              contact_phone=phone,
                              payment_handle=handle if rng.random() < 0.3 else None,
                              photo_pdq=photo)  # fmt: skip

    def run(self) -> None:
        self.ordinary()
        self.networks()
        self.agencies()
        self.offices()


def frame(ads: Ads) -> pl.DataFrame:
    """``platform_ads``, sorted by time (ad ids follow the order of generation, which
    reveals nothing once the rows are sorted and renumbered)."""
    if not ads.rows:
        return conform("platform_ads", pl.DataFrame(schema=list(TABLES["platform_ads"].names)))
    raw = pl.DataFrame(ads.rows, orient="row").with_columns(truth=pl.Series(range(len(ads.rows))))
    ordered = raw.sort("posted_at", "truth").with_columns(
        ad_id=pl.format("AD{}", pl.int_range(pl.len()).cast(pl.String).str.zfill(7)),
        posted_at=utc(raw.sort("posted_at", "truth")["posted_at"].to_numpy() // clock.US_PER_S
                      * clock.US_PER_S),
    )  # fmt: skip
    ads.truth = [ads.truth[int(i)] for i in ordered["truth"].to_list()]
    return conform("platform_ads", ordered.drop("truth"))


def empty() -> pl.DataFrame:
    """``platform_ads`` with no rows (a world without recruitment networks)."""
    return frame(Ads({}, 0))


def label_rows(
    ads: Ads, ad_ids: Iterable[str], case_name: Callable[[int], str]
) -> Iterable[tuple[str, str, int, str, str | None]]:
    """(subject_type ``ad``, ad_id, label, scenario, case_id) of every ad."""
    for ad_id, (scenario, label, case) in zip(ad_ids, ads.truth, strict=True):
        yield ("ad", ad_id, label, scenario, case_name(case) if case >= 0 else None)


__all__ = ["LOOKALIKES", "NETWORK", "WIDE", "Ads", "AdsPriors", "frame", "generate", "label_rows"]
