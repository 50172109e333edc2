"""World profiles: who sends, in which currency, to which corridors, how often abuse is
paid for and how careful the payers are.

A detector tuned on the default (Australian bank, AUD, Philippines-heavy) world should
be tested on the others too: they move the home ground (countries, time zones, currency,
payday rhythm), the corridor mix, the prevalence and the share of careful payers.
"""

from __future__ import annotations

from dataclasses import dataclass

Weights = tuple[tuple[str, float], ...]


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


_AU_TZ: Weights = (
    ("Australia/Sydney", 0.33),
    ("Australia/Melbourne", 0.28),
    ("Australia/Brisbane", 0.2),
    ("Australia/Perth", 0.11),
    ("Australia/Adelaide", 0.07),
    ("Australia/Hobart", 0.01),
)
_US_TZ: Weights = (
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
            timezones={"AU": _AU_TZ},
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
            timezones={"US": _US_TZ},
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
