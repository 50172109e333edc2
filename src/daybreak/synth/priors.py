"""Priors for randomised worlds: every behaviour's parameters drawn per world.

A detector tuned on the four hand-written profiles can fit their exact numbers. A
randomised world (``generate_world(..., randomize=True)``, ``daybreak synth
--randomize``) instead draws, from the seed, a whole :class:`Profile`: where senders
live (country, currency, time zones, payday), which corridors they pay and with what
weights, prices, shares of payers, careful payers and look-alikes, cadences, night
shares, channel mixes, hub sizes, the kinds of careful payer and the language of payment
references. The same seed gives the same draw.

The four *region* parameters (:data:`REGION_FIELDS`) are categorical or a band so a
benchmark can hold out whole regions of the space: restrict a :class:`Priors` (e.g.
``replace(Priors(), sending_regions=("US", "GB"))``) to train on some and test on the
others. Every drawn value is recorded in ``truth/params.json``; docs/synthetic-world.md
lists every prior.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from daybreak.synth.context import rng_for
from daybreak.synth.payers import CAREFUL_KINDS, CORRIDOR_CULTURE
from daybreak.synth.profiles import AU_TIMEZONES, US_TIMEZONES, Behaviour, Profile, Weights
from daybreak.synth.vocab import LANGUAGES, VOCABULARIES, Vocabulary

GENERATOR = "daybreak.synth randomized v1"
REGION_FIELDS = ("sending_regions", "corridor_sets", "careful_share", "reference_languages")
# Careful-payer share bands recorded with each world, for grouping results.
CAREFUL_BANDS = (("low", 0.0, 0.3), ("medium", 0.3, 0.5), ("high", 0.5, 1.0))


@dataclass(frozen=True)
class Band:
    """A closed interval; a world draws a value uniformly inside it."""

    lo: float
    hi: float

    def __post_init__(self) -> None:
        if not self.lo <= self.hi:
            raise ValueError(f"band [{self.lo}, {self.hi}]: lo must not exceed hi")

    def draw(self, rng: np.random.Generator) -> float:
        return round(float(rng.uniform(self.lo, self.hi)), 4)

    def within(self, lo: float, hi: float) -> bool:
        return lo <= self.lo and self.hi <= hi

    @classmethod
    def parse(cls, text: str) -> Band:
        """``"0.4-0.7"`` (or one number for a single value)."""
        parts = text.strip().split("-")
        try:
            values = [float(x) for x in parts]
        except ValueError:
            values = []
        if len(values) not in (1, 2):
            raise ValueError(f"band {text!r}: expected LO-HI, e.g. 0.4-0.7")
        return cls(values[0], values[-1])


@dataclass(frozen=True)
class Region:
    """A sending region: the institution's home ground."""

    key: str
    currency: str
    aud_rate: float  # currency units per AUD (2025)
    countries: Weights
    timezones: dict[str, Weights]
    majority: dict[str, str]
    paydays: tuple[str, ...]
    p2p_rail: str
    bank_rail: str
    travel: Weights  # holiday destinations besides the corridors
    other_diaspora: tuple[str, ...]  # common diaspora cultures outside the corridors


_CA_TZ: Weights = (
    ("America/Toronto", 0.58),
    ("America/Vancouver", 0.17),
    ("America/Edmonton", 0.13),
    ("America/Winnipeg", 0.04),
    ("America/Regina", 0.03),
    ("America/Halifax", 0.04),
    ("America/St_Johns", 0.01),
)
SENDING_REGIONS: dict[str, Region] = {
    r.key: r
    for r in (
        Region(
            "AU",
            "AUD",
            1.0,
            (("AU", 1.0),),
            {"AU": AU_TIMEZONES},
            {"AU": "anglo"},
            ("fortnightly_thu", "monthly_last"),
            "payid",
            "bsb",
            (("ID", 0.25), ("NZ", 0.2), ("JP", 0.15), ("US", 0.1), ("GB", 0.1), ("SG", 0.1)),
            ("indian", "chinese", "vietnamese"),
        ),
        Region(
            "NZ",
            "NZD",
            1.09,
            (("NZ", 1.0),),
            {"NZ": (("Pacific/Auckland", 1.0),)},
            {"NZ": "anglo"},
            ("fortnightly_thu", "monthly_last"),
            "nzbank",
            "nzbank",
            (("AU", 0.4), ("FJ", 0.2), ("US", 0.15), ("GB", 0.15), ("JP", 0.1)),
            ("indian", "chinese"),
        ),
        Region(
            "US",
            "USD",
            0.66,
            (("US", 1.0),),
            {"US": US_TIMEZONES},
            {"US": "anglo"},
            ("biweekly_fri", "monthly_last"),
            "zelle",
            "aba",
            (("CA", 0.3), ("GB", 0.2), ("FR", 0.15), ("JP", 0.15), ("IT", 0.2)),
            ("indian", "chinese", "vietnamese"),
        ),
        Region(
            "CA",
            "CAD",
            0.90,
            (("CA", 1.0),),
            {"CA": _CA_TZ},
            {"CA": "anglo"},
            ("biweekly_fri", "monthly_last"),
            "interac",
            "cabank",
            (("US", 0.45), ("GB", 0.15), ("FR", 0.15), ("IT", 0.1), ("JP", 0.15)),
            ("indian", "chinese", "vietnamese"),
        ),
        Region(
            "GB",
            "GBP",
            0.52,
            (("GB", 1.0),),
            {"GB": (("Europe/London", 1.0),)},
            {"GB": "anglo"},
            ("monthly_last", "monthly_25"),
            "fps",
            "sortcode",
            (("ES", 0.3), ("FR", 0.2), ("IT", 0.15), ("US", 0.15), ("DE", 0.1), ("NL", 0.1)),
            ("indian", "chinese"),
        ),
        Region(
            "EU",
            "EUR",
            0.61,
            (("DE", 0.35), ("NL", 0.2), ("FR", 0.2), ("ES", 0.15), ("IT", 0.1)),
            {
                "DE": (("Europe/Berlin", 1.0),),
                "NL": (("Europe/Amsterdam", 1.0),),
                "FR": (("Europe/Paris", 1.0),),
                "ES": (("Europe/Madrid", 0.95), ("Atlantic/Canary", 0.05)),
                "IT": (("Europe/Rome", 1.0),),
            },
            {"DE": "german", "NL": "dutch", "FR": "french", "ES": "spanish", "IT": "italian"},
            ("monthly_25", "monthly_last"),
            "sepa",
            "sepa",
            (("ES", 0.25), ("IT", 0.2), ("FR", 0.2), ("US", 0.1), ("DE", 0.15), ("NL", 0.1)),
            ("vietnamese", "chinese", "indian"),
        ),
    )
}
# Corridor sets: the countries a world's corridors are drawn from (FINTRAC top receivers).
CORRIDOR_SETS: dict[str, tuple[str, ...]] = {
    "philippines-heavy": ("PH", "TH", "VN", "ID", "CO", "MX", "DO"),
    "southeast-asia": ("PH", "TH", "VN", "ID"),
    "latin-america": ("CO", "MX", "DO"),
    "mixed": ("PH", "TH", "VN", "ID", "CO", "MX", "DO"),
}
# Everyday domestic references follow the language of the senders' country.
HOME_LANGUAGE = {"DE": "de", "FR": "fr", "ES": "es"}


@dataclass(frozen=True)
class Priors:
    """Where every parameter of a randomised world is drawn from (uniform in each band,
    Dirichlet around the documented mixes for the mixes). Restrict the region fields to
    hold parts of the space out; every field is documented in docs/synthetic-world.md."""

    # Region parameters.
    sending_regions: tuple[str, ...] = tuple(SENDING_REGIONS)
    corridor_sets: tuple[str, ...] = tuple(CORRIDOR_SETS)
    careful_share: Band = Band(0.1, 0.7)
    reference_languages: tuple[str, ...] = LANGUAGES
    # Which kinds of careful payer a world may mix (Dirichlet(1) weights).
    careful_kinds: tuple[str, ...] = CAREFUL_KINDS
    # Shares of customers.
    prevalence: Band = Band(0.003, 0.015)
    diaspora_share: Band = Band(0.002, 0.05)  # per diaspora culture
    remit_share: Band = Band(0.5, 0.9)  # of diaspora customers
    freelancer_share: Band = Band(0.004, 0.03)
    charity_share: Band = Band(0.01, 0.05)
    romance_share: Band = Band(0.001, 0.006)
    payroll_firm_share: Band = Band(0.002, 0.01)
    importer_share: Band = Band(0.002, 0.01)
    student_parent_share: Band = Band(0.003, 0.02)
    private_sponsor_share: Band = Band(0.002, 0.015)
    in_law_share: Band = Band(0.003, 0.02)
    gift_giver_share: Band = Band(0.005, 0.03)
    traveller_share: Band = Band(0.002, 0.01)
    # Money: price level on top of the exchange rate; medians in AUD.
    price_level: Band = Band(0.75, 1.35)
    payer_median: Band = Band(25.0, 90.0)
    careful_median: Band = Band(40.0, 150.0)
    heavy_median: Band = Band(20.0, 60.0)
    family_median: Band = Band(150.0, 500.0)
    student_median: Band = Band(25.0, 70.0)
    student_shared_surname: Band = Band(0.3, 0.95)
    round_share: Band = Band(0.15, 0.7)
    # Hubs and payer scenarios.
    payers_per_ring: Band = Band(2.0, 12.0)
    ring_popularity: Band = Band(0.6, 1.6)
    female_facilitator_share: Band = Band(0.6, 0.95)
    extra_facilitators: Band = Band(0.3, 2.5)
    known_share: Band = Band(0.02, 0.15)
    heavy_share: Band = Band(0.02, 0.12)
    travel_share: Band = Band(0.05, 0.2)
    escalation_share: Band = Band(0.15, 0.5)
    # Cadences (payments a month; days between payments).
    payer_rate: Band = Band(2.0, 10.0)
    careful_rate: Band = Band(0.8, 3.0)
    heavy_rate: Band = Band(25.0, 60.0)
    steady_every_days: tuple[float, float] = (10.0, 30.0)
    student_every_days: tuple[float, float] = (2.0, 5.0)
    # Night-time: a world's payers each draw a share in [low, low + width].
    night_low: Band = Band(0.3, 0.65)
    night_width: Band = Band(0.1, 0.35)
    careful_night_share: Band = Band(0.0, 0.2)
    family_night_share: Band = Band(0.02, 0.15)
    # References.
    cover_low: Band = Band(0.1, 0.5)
    cover_width: Band = Band(0.1, 0.4)
    careful_cover_share: Band = Band(0.0, 0.1)
    handle_share: Band = Band(0.0, 0.15)
    plain_ref_share: Band = Band(0.1, 0.5)
    cover_vocabulary: tuple[int, int] = (4, 12)  # cover words a world's offenders use
    english_mix: Band = Band(0.0, 0.5)  # English share in a non-English world's words
    # Channel and everyday mixes: Dirichlet(concentration × documented mix).
    channel_concentration: float = 8.0
    everyday_concentration: float = 60.0
    # Related purchases and everyday travel.
    vpn_share: Band = Band(0.2, 0.7)
    careful_vpn_share: Band = Band(0.0, 0.2)
    stream_credit_share: Band = Band(0.05, 0.35)
    trip_share: Band = Band(0.08, 0.25)
    # Families and businesses.
    family_shared_surname: Band = Band(0.6, 0.95)
    payroll_contractors: tuple[int, int] = (3, 20)
    shared_contractor_share: Band = Band(0.1, 0.5)

    def __post_init__(self) -> None:
        _check_choice("sending_regions", self.sending_regions, SENDING_REGIONS)
        _check_choice("corridor_sets", self.corridor_sets, CORRIDOR_SETS)
        _check_choice("reference_languages", self.reference_languages, VOCABULARIES)
        _check_choice("careful_kinds", self.careful_kinds, CAREFUL_KINDS)
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Band) and f.name.endswith("share") and not value.within(0, 1):
                raise ValueError(f"{f.name} band [{value.lo}, {value.hi}] must lie in [0, 1]")
            if isinstance(value, Band) and value.lo < 0:
                raise ValueError(f"{f.name} band [{value.lo}, {value.hi}] must not be negative")
        for name in ("steady_every_days", "student_every_days", "payroll_contractors"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name} ({lo}, {hi}): expected 0 < lo <= hi")
        lo, hi = self.cover_vocabulary
        if not 1 <= lo <= hi:
            raise ValueError(f"cover_vocabulary ({lo}, {hi}): expected 1 <= lo <= hi")

    def restrict(self, **changes: Any) -> Priors:
        """A copy with some fields replaced, e.g. ``restrict(sending_regions=("US",))``."""
        return replace(self, **changes)

    def draw(self, seed: int) -> Drawn:
        return _draw(self, seed)


# Named regions of the priors for hold-outs beyond geography (issue #13: the independent
# team's "shifted" world had US and GB senders, more careful payers, other reference words
# and more payroll and allowance look-alikes). The two regions do not overlap in any field
# either restricts, so a pack fitted on worlds of one has never seen a world of the other.
PARAMETER_REGIONS: dict[str, dict[str, Any]] = {
    "base": {
        "sending_regions": ("AU", "NZ", "CA", "EU"),
        "careful_share": Band(0.1, 0.4),
        "reference_languages": ("en", "tl", "es", "id", "de"),
    },
    "shifted": {
        "sending_regions": ("US", "GB"),
        "careful_share": Band(0.5, 0.8),
        "reference_languages": ("vi", "th", "fr"),
        "payroll_firm_share": Band(0.012, 0.03),
        "student_parent_share": Band(0.025, 0.06),
    },
}


def parameter_region(name: str) -> Priors:
    """The priors of one named region of :data:`PARAMETER_REGIONS`."""
    if name not in PARAMETER_REGIONS:
        raise ValueError(
            f"parameter region {name!r}: expected one of {', '.join(PARAMETER_REGIONS)}"
        )
    return Priors().restrict(**PARAMETER_REGIONS[name])


def _check_choice(
    name: str, chosen: tuple[str, ...], known: dict[str, Any] | tuple[str, ...]
) -> None:
    if not chosen:
        raise ValueError(f"{name} must name at least one value")
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise ValueError(f"{name}: unknown {unknown}; expected some of: {', '.join(known)}")


@dataclass(frozen=True)
class Drawn:
    """One world's draw: the profile to generate with and the record of what was drawn."""

    profile: Profile
    params: dict[str, Any]


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(0, len(options)))]


def _simplex(values: np.ndarray) -> tuple[float, ...]:
    """Probabilities rounded to 4 decimals that still sum to 1 (numpy checks)."""
    p = np.round(values / values.sum(), 4)
    p[-1] = 0.0
    p[-1] = round(1.0 - float(p.sum()), 4)
    if p[-1] < 0:
        top = int(np.argmax(p))
        p[top] = round(float(p[top] + p[-1]), 4)
        p[-1] = 0.0
    return tuple(float(x) for x in p)


def _three(p: tuple[float, ...]) -> tuple[float, float, float]:
    a, b, c = p
    return a, b, c


def _dirichlet(
    rng: np.random.Generator, mix: tuple[float, ...], concentration: float
) -> tuple[float, ...]:
    alpha = np.maximum(np.asarray(mix) * concentration, 0.05)
    return _simplex(rng.dirichlet(alpha))


def _corridors(rng: np.random.Generator, corridor_set: str) -> Weights:
    pool = CORRIDOR_SETS[corridor_set]
    k = int(rng.integers(min(2, len(pool)), min(5, len(pool)) + 1))
    if corridor_set == "philippines-heavy":
        others = [c for c in rng.permutation(pool[1:])][: k - 1]
        ph = float(rng.uniform(0.5, 0.9))
        rest = rng.dirichlet(np.ones(len(others))) * (1 - ph)
        w = np.array([ph, *rest])
        chosen = ["PH", *[str(c) for c in others]]
    else:
        chosen = [str(c) for c in rng.permutation(pool)[:k]]
        w = rng.dirichlet(np.full(k, 1.5))
    return tuple(zip(chosen, _simplex(w), strict=True))


def _words(
    rng: np.random.Generator, own: tuple[str, ...], english: tuple[str, ...], mix: float
) -> tuple[str, ...]:
    """``own`` words followed by enough English ones that about ``mix`` of the list is
    English (the first words keep their place: allowance lists keep "rent" third)."""
    if mix <= 0 or own == english:
        return own
    n_en = min(len(english), round(len(own) * mix / (1 - mix)))
    extra = [english[int(k)] for k in rng.permutation(len(english))[:n_en]]
    return (*own, *[w for w in extra if w not in own])


def _references(
    priors: Priors, rng: np.random.Generator, lang: str, home_lang: str
) -> dict[str, Any]:
    v, en = VOCABULARIES[lang], VOCABULARIES["en"]
    mix = 0.0 if lang == "en" else priors.english_mix.draw(rng)
    lo, hi = priors.cover_vocabulary
    n_cover = int(rng.integers(lo, min(hi, len(v.cover)) + 1))
    own_cover = tuple(v.cover[int(k)] for k in rng.permutation(len(v.cover))[:n_cover])
    home: Vocabulary = VOCABULARIES.get(home_lang, en)
    return {
        "reference_language": lang,
        "english_mix": mix,
        "cover_words": _words(rng, own_cover, en.cover, mix),
        "plain_refs": _words(rng, v.plain, en.plain, mix),
        "for_word": v.for_word,
        "family_refs": _words(rng, v.family, en.family, mix),
        "allowance_refs": _words(rng, v.allowance, en.allowance, mix),
        "gift_refs": _words(rng, v.gift, en.gift, mix),
        "p2p_refs": home.p2p,
    }


def _behaviour(priors: Priors, rng: np.random.Generator, refs: dict[str, Any]) -> Behaviour:
    base = Behaviour()

    def band(name: str) -> float:
        value: Band = getattr(priors, name)
        return value.draw(rng)

    night_low = band("night_low")
    night = (night_low, round(min(0.98, night_low + band("night_width")), 4))
    cover_low = band("cover_low")
    cover = (cover_low, round(min(0.95, cover_low + band("cover_width")), 4))
    kinds = priors.careful_kinds
    kind_weights = _simplex(rng.dirichlet(np.ones(len(kinds))))
    c = priors.channel_concentration
    return Behaviour(
        payers_per_ring=band("payers_per_ring"),
        ring_size_p=_three(_simplex(rng.dirichlet((2.5, 1.5, 1.0)))),
        ring_popularity=band("ring_popularity"),
        female_facilitator_share=band("female_facilitator_share"),
        extra_facilitators=band("extra_facilitators"),
        known_share=band("known_share"),
        heavy_share=band("heavy_share"),
        travel_share=band("travel_share"),
        escalation_share=band("escalation_share"),
        payer_rate=band("payer_rate"),
        careful_rate=band("careful_rate"),
        heavy_rate=band("heavy_rate"),
        payer_median=band("payer_median"),
        careful_median=band("careful_median"),
        heavy_median=band("heavy_median"),
        escalation_growth=base.escalation_growth,
        round_share=band("round_share"),
        night_share=night,
        careful_night_share=band("careful_night_share"),
        cover_share=cover,
        careful_cover_share=band("careful_cover_share"),
        handle_share=band("handle_share"),
        plain_ref_share=band("plain_ref_share"),
        reference_language=refs["reference_language"],
        cover_words=refs["cover_words"],
        plain_refs=refs["plain_refs"],
        for_word=refs["for_word"],
        channels_bold=_dirichlet(rng, base.channels_bold, c),
        channels_careful=_dirichlet(rng, base.channels_careful, c),
        vpn_share=band("vpn_share"),
        careful_vpn_share=band("careful_vpn_share"),
        stream_credit_share=band("stream_credit_share"),
        careful_kinds=tuple(zip(kinds, kind_weights, strict=True)),
        steady_every_days=priors.steady_every_days,
        family_median=band("family_median"),
        family_shared_surname=band("family_shared_surname"),
        family_night_share=band("family_night_share"),
        family_channels=_three(_dirichlet(rng, base.family_channels, c)),
        family_refs=refs["family_refs"],
        everyday_mix=_dirichlet(rng, base.everyday_mix, priors.everyday_concentration),
        p2p_refs=refs["p2p_refs"],
        trip_share=band("trip_share"),
        allowance_refs=refs["allowance_refs"],
        gift_refs=refs["gift_refs"],
        payroll_contractors=priors.payroll_contractors,
        shared_contractor_share=band("shared_contractor_share"),
        student_every_days=priors.student_every_days,
        student_median=band("student_median"),
        student_shared_surname=band("student_shared_surname"),
    )


def _careful_band(share: float) -> str:
    for name, lo, hi in CAREFUL_BANDS:
        if lo <= share < hi:
            return name
    return CAREFUL_BANDS[-1][0]


def _countries(rng: np.random.Generator, region: Region) -> Weights:
    if len(region.countries) == 1:
        return region.countries
    keys = [k for k, _ in region.countries]
    mix = _dirichlet(rng, tuple(w for _, w in region.countries), 20.0)
    return tuple(zip(keys, mix, strict=True))


def _diaspora(
    priors: Priors, rng: np.random.Generator, region: Region, corridors: Weights
) -> Weights:
    """Diaspora cultures: one per corridor country and the region's other large ones."""
    majority = set(region.majority.values())
    cultures = [CORRIDOR_CULTURE[c] for c, _ in corridors] + list(region.other_diaspora)
    unique = [c for c in dict.fromkeys(cultures) if c not in majority]
    return tuple((c, priors.diaspora_share.draw(rng)) for c in unique)


def _travel(rng: np.random.Generator, region: Region, corridors: Weights) -> Weights:
    """Holidays: the region's usual places and, less often, the corridor countries."""
    weights: dict[str, float] = dict(region.travel)
    share = float(rng.uniform(0.15, 0.4))
    for c, w in corridors:
        weights[c] = round(weights.get(c, 0.0) + share * w, 4)
    return tuple(weights.items())


def _more_lookalikes(priors: Priors, rng: np.random.Generator) -> Weights:
    bands = (
        ("payroll_firm", priors.payroll_firm_share),
        ("importer", priors.importer_share),
        ("student_parent", priors.student_parent_share),
        ("private_sponsor", priors.private_sponsor_share),
        ("in_law_remitter", priors.in_law_share),
        ("gift_giver", priors.gift_giver_share),
        ("corridor_traveller", priors.traveller_share),
    )
    return tuple((role, band.draw(rng)) for role, band in bands)


def _draw(priors: Priors, seed: int) -> Drawn:
    rng = rng_for(seed, "priors")
    region = SENDING_REGIONS[_pick(rng, priors.sending_regions)]
    corridor_set = _pick(rng, priors.corridor_sets)
    language = _pick(rng, priors.reference_languages)
    careful_share = priors.careful_share.draw(rng)
    corridors = _corridors(rng, corridor_set)
    countries = _countries(rng, region)
    biggest = max(countries, key=lambda cw: cw[1])[0]
    refs = _references(priors, rng, language, HOME_LANGUAGE.get(biggest, "en"))
    behaviour = _behaviour(priors, rng, refs)
    profile = Profile(
        name="randomized",
        description=(
            f"randomised world: {region.key} senders ({region.currency}), "
            f"{corridor_set} corridors, references in {language}"
        ),
        currency=region.currency,
        countries=countries,
        timezones=region.timezones,
        majority=region.majority,
        diaspora=_diaspora(priors, rng, region, corridors),
        corridors=corridors,
        travel=_travel(rng, region, corridors),
        amount_scale=round(region.aud_rate * priors.price_level.draw(rng), 4),
        prevalence=priors.prevalence.draw(rng),
        careful_share=careful_share,
        remit_share=priors.remit_share.draw(rng),
        freelancer_share=priors.freelancer_share.draw(rng),
        charity_share=priors.charity_share.draw(rng),
        romance_share=priors.romance_share.draw(rng),
        payday=_pick(rng, region.paydays),
        p2p_rail=region.p2p_rail,
        bank_rail=region.bank_rail,
        behaviour=behaviour,
        more_lookalikes=_more_lookalikes(priors, rng),
    )
    region_params = {
        "sending_region": region.key,
        "corridor_set": corridor_set,
        "reference_language": language,
        "careful_share": careful_share,
        "careful_share_band": _careful_band(careful_share),
    }
    params = {
        "generator": GENERATOR,
        "seed": seed,
        "region": region_params,
        "references": {"english_mix": refs["english_mix"]},
        "priors": asdict(priors),
        "profile": asdict(profile),
    }
    return Drawn(profile, params)
