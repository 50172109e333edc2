"""World profiles: who sends, in which currency, to which corridors, how often abuse is
paid for and how careful the payers are.

A detector tuned on the default (Australian bank, AUD, Philippines-heavy) world should
be tested on the others too: they move the home ground (countries, time zones, currency,
payday rhythm), the corridor mix, the prevalence and the share of careful payers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from daybreak.synth.vocab import VOCABULARIES

Weights = tuple[tuple[str, float], ...]
Span = tuple[float, float]  # a per-customer draw is uniform in [lo, hi]

_EN = VOCABULARIES["en"]


@dataclass(frozen=True)
class Behaviour:
    """How people behave in a world: the numbers every generator step draws from.

    The defaults are the figures of the hand-written profiles (and of
    docs/synthetic-world.md); :mod:`daybreak.synth.priors` draws other values per
    randomised world. Amounts are in AUD (scaled by the profile's ``amount_scale``),
    rates per month, shares in [0, 1].
    """

    # Facilitator rings (AUSTRAC: many senders -> one beneficiary).
    payers_per_ring: float = 4.0  # hub size: payers per facilitator ring
    ring_size_p: tuple[float, float, float] = (0.5, 0.3, 0.2)  # rings of 1, 2, 3 facilitators
    ring_popularity: float = 1.1  # Zipf exponent of how payers pick their main ring
    female_facilitator_share: float = 0.8
    extra_facilitators: float = 1.2  # Poisson mean of other facilitators a bold payer pays
    # Payer scenarios among non-careful payers (AIC 589, AUSTRAC, FINTRAC, Westpac).
    known_share: float = 0.08
    heavy_share: float = 0.06
    travel_share: float = 0.12
    escalation_share: float = 0.35
    # Payments per month and amounts (AIC T&I 639: median AUD 51; AUSTRAC case).
    payer_rate: float = 5.0
    careful_rate: float = 1.5
    heavy_rate: float = 45.0
    payer_median: float = 50.0
    careful_median: float = 75.0
    heavy_median: float = 42.0
    escalation_growth: Span = (2.5, 5.0)
    round_share: float = 0.35  # FATF 2025: often round
    # Night-time (FATF 2025) and references (AUSTRAC, FATF, ACAMS).
    night_share: Span = (0.55, 0.9)
    careful_night_share: float = 0.1
    cover_share: Span = (0.35, 0.85)
    careful_cover_share: float = 0.04
    handle_share: float = 0.08
    plain_ref_share: float = 0.3
    reference_language: str = "en"
    cover_words: tuple[str, ...] = _EN.cover
    plain_refs: tuple[str, ...] = _EN.plain
    for_word: str = _EN.for_word
    # Channels (remittance, wallet, p2p, crypto, wire): FinCEN, FINTRAC.
    channels_bold: tuple[float, ...] = (0.45, 0.25, 0.15, 0.08, 0.07)
    channels_careful: tuple[float, ...] = (0.6, 0.1, 0.0, 0.0, 0.3)
    # Related purchases (FINTRAC; industry press).
    vpn_share: float = 0.55
    careful_vpn_share: float = 0.1
    stream_credit_share: float = 0.2
    # Kinds of careful payer and their weights (see payers.CAREFUL_KINDS).
    careful_kinds: Weights = (("careful", 1.0),)
    steady_every_days: Span = (10.0, 30.0)
    # Diaspora family remittances (the main look-alike).
    family_median: float = 300.0
    family_shared_surname: float = 0.85
    family_night_share: float = 0.08
    family_channels: tuple[float, float, float] = (0.55, 0.25, 0.2)  # remittance, wallet, wire
    family_refs: tuple[str, ...] = _EN.family
    # Everyday life: card, p2p, bill, cash, wallet shares; p2p references.
    everyday_mix: tuple[float, ...] = (0.77, 0.11, 0.06, 0.03, 0.03)
    p2p_refs: tuple[str, ...] = _EN.p2p
    trip_share: float = 0.15  # customers with a trip abroad a year
    # Look-alikes that only randomised worlds (or profiles that set their shares) have.
    allowance_refs: tuple[str, ...] = _EN.allowance
    gift_refs: tuple[str, ...] = _EN.gift
    payroll_contractors: tuple[int, int] = (3, 20)
    shared_contractor_share: float = 0.3
    student_every_days: Span = (2.0, 5.0)
    student_median: float = 40.0
    # Students whose name shares the paying parent's family name (a mother paying under
    # her own surname, a niece or a step-child does not).
    student_shared_surname: float = 0.9


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    currency: str
    # Where customers live, and their time zones per country (weights).
    countries: Weights
    timezones: dict[str, Weights]
    # The majority culture of names per sending country.
    majority: dict[str, str]
    # Diaspora share of customers by culture (each culture remits to its home country).
    diaspora: Weights
    # Where abuse payments go (OSEC corridors), and where benign tourists travel.
    corridors: Weights
    travel: Weights
    amount_scale: float  # currency units per AUD (amounts are grounded in AUD figures)
    prevalence: float  # share of customers who pay for live-streamed abuse
    careful_share: float  # share of payers who show few signs
    remit_share: float  # share of diaspora customers who send family remittances
    freelancer_share: float  # customers who pay overseas freelancers
    charity_share: float  # customers who sponsor a child through a charity
    romance_share: float  # romance-scam victims
    payday: str  # fortnightly_thu | biweekly_fri | monthly_last | monthly_25
    p2p_rail: str  # provider prefix of domestic P2P handles
    bank_rail: str  # provider prefix of domestic bank accounts (bills, payroll)
    behaviour: Behaviour = field(default_factory=Behaviour)
    # Further look-alikes as (customer role, share of customers), e.g.
    # ("payroll_firm", 0.004); the hand-written profiles have none.
    more_lookalikes: Weights = ()


AU_TIMEZONES: Weights = (
    ("Australia/Sydney", 0.33),
    ("Australia/Melbourne", 0.28),
    ("Australia/Brisbane", 0.2),
    ("Australia/Perth", 0.11),
    ("Australia/Adelaide", 0.07),
    ("Australia/Hobart", 0.01),
)
US_TIMEZONES: Weights = (
    ("America/New_York", 0.42),
    ("America/Chicago", 0.27),
    ("America/Denver", 0.06),
    ("America/Phoenix", 0.03),
    ("America/Los_Angeles", 0.2),
    ("Pacific/Honolulu", 0.02),
)

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="default",
            description="Australian bank (AUD), Philippines-heavy corridor, AUSTRAC-style payers",
            currency="AUD",
            countries=(("AU", 1.0),),
            timezones={"AU": AU_TIMEZONES},
            majority={"AU": "anglo"},
            diaspora=(
                ("filipino", 0.045),
                ("vietnamese", 0.015),
                ("indian", 0.03),
                ("chinese", 0.03),
                ("thai", 0.006),
                ("colombian", 0.004),
            ),
            corridors=(("PH", 0.85), ("TH", 0.08), ("CO", 0.04), ("MX", 0.03)),
            travel=(
                ("ID", 0.2),
                ("TH", 0.15),
                ("NZ", 0.15),
                ("US", 0.1),
                ("JP", 0.1),
                ("PH", 0.08),
                ("GB", 0.08),
                ("SG", 0.07),
                ("FJ", 0.07),
            ),
            amount_scale=1.0,
            prevalence=0.007,
            careful_share=0.2,
            remit_share=0.7,
            freelancer_share=0.012,
            charity_share=0.02,
            romance_share=0.002,
            payday="fortnightly_thu",
            p2p_rail="payid",
            bank_rail="bsb",
        ),
        Profile(
            name="us-remitter",
            description="US remitter (USD), corridors PH/MX/CO/DO, large Latino and Filipino diaspora",
            currency="USD",
            countries=(("US", 1.0),),
            timezones={"US": US_TIMEZONES},
            majority={"US": "anglo"},
            diaspora=(
                ("mexican", 0.12),
                ("filipino", 0.04),
                ("dominican", 0.03),
                ("colombian", 0.02),
                ("indian", 0.02),
                ("chinese", 0.015),
            ),
            corridors=(("PH", 0.55), ("MX", 0.2), ("CO", 0.15), ("DO", 0.1)),
            travel=(
                ("MX", 0.3),
                ("CA", 0.2),
                ("DO", 0.1),
                ("GB", 0.1),
                ("FR", 0.1),
                ("JP", 0.1),
                ("PH", 0.05),
                ("CO", 0.05),
            ),
            amount_scale=0.66,
            prevalence=0.006,
            careful_share=0.25,
            remit_share=0.75,
            freelancer_share=0.015,
            charity_share=0.02,
            romance_share=0.003,
            payday="biweekly_fri",
            p2p_rail="zelle",
            bank_rail="aba",
        ),
        Profile(
            name="uk-careful",
            description="UK bank (GBP), mostly careful payers and more look-alikes",
            currency="GBP",
            countries=(("GB", 1.0),),
            timezones={"GB": (("Europe/London", 1.0),)},
            majority={"GB": "anglo"},
            diaspora=(
                ("filipino", 0.05),
                ("indian", 0.05),
                ("thai", 0.01),
                ("colombian", 0.008),
                ("chinese", 0.02),
            ),
            corridors=(("PH", 0.75), ("TH", 0.1), ("CO", 0.1), ("DO", 0.05)),
            travel=(
                ("ES", 0.3),
                ("FR", 0.2),
                ("IT", 0.1),
                ("US", 0.1),
                ("TH", 0.1),
                ("PH", 0.05),
                ("DE", 0.1),
                ("NL", 0.05),
            ),
            amount_scale=0.52,
            prevalence=0.005,
            careful_share=0.55,
            remit_share=0.85,
            freelancer_share=0.025,
            charity_share=0.04,
            romance_share=0.005,
            payday="monthly_last",
            p2p_rail="fps",
            bank_rail="sortcode",
        ),
        Profile(
            name="eu-shifted",
            description="Euro-area bank (EUR, several countries), Thailand/Colombia corridors",
            currency="EUR",
            countries=(("DE", 0.35), ("NL", 0.2), ("FR", 0.2), ("ES", 0.15), ("IT", 0.1)),
            timezones={
                "DE": (("Europe/Berlin", 1.0),),
                "NL": (("Europe/Amsterdam", 1.0),),
                "FR": (("Europe/Paris", 1.0),),
                "ES": (("Europe/Madrid", 0.95), ("Atlantic/Canary", 0.05)),
                "IT": (("Europe/Rome", 1.0),),
            },
            majority={
                "DE": "german",
                "NL": "dutch",
                "FR": "french",
                "ES": "spanish",
                "IT": "italian",
            },
            diaspora=(
                ("thai", 0.02),
                ("colombian", 0.03),
                ("filipino", 0.015),
                ("dominican", 0.01),
                ("vietnamese", 0.01),
            ),
            corridors=(("TH", 0.45), ("CO", 0.35), ("PH", 0.15), ("DO", 0.05)),
            travel=(
                ("ES", 0.2),
                ("IT", 0.15),
                ("FR", 0.15),
                ("TH", 0.15),
                ("US", 0.1),
                ("CO", 0.05),
                ("DE", 0.1),
                ("NL", 0.1),
            ),
            amount_scale=0.61,
            prevalence=0.01,
            careful_share=0.35,
            remit_share=0.7,
            freelancer_share=0.015,
            charity_share=0.025,
            romance_share=0.003,
            payday="monthly_25",
            p2p_rail="sepa",
            bank_rail="sepa",
        ),
    )
}


class UnknownProfileError(ValueError):
    pass


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise UnknownProfileError(f"unknown profile {name!r}; expected one of: {known}") from None


def keys(weights: Weights) -> list[str]:
    return [k for k, _ in weights]


def probs(weights: Weights) -> list[float]:
    total = sum(w for _, w in weights)
    return [w / total for _, w in weights]
