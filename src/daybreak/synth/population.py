"""The institution's customers: names, ages, genders, home zones, contact details and
the role each plays in the world (ordinary, diaspora remitter, look-alike, payer)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from daybreak.synth import handles
from daybreak.synth.ledger import F64, I8, I32, I64, B
from daybreak.synth.names import Person, sample_people
from daybreak.synth.names_data import CULTURES
from daybreak.synth.profiles import Profile, keys, probs

ROLES = (
    "benign",
    "family_remitter",
    "freelancer_payroll",
    "charity_sponsor",
    "romance_victim",
    "payer",
    "payer_linked_account",
    # Further look-alikes (daybreak.synth.business, daybreak.synth.households); only
    # profiles with Profile.more_lookalikes have them.
    "payroll_firm",
    "importer",
    "student_parent",
    "private_sponsor",
    "in_law_remitter",
    "gift_giver",
    "corridor_traveller",
)
MORE_LOOKALIKES = ROLES[7:]
ROLE = {r: i for i, r in enumerate(ROLES)}
REFERENCE_YEAR = 2025


@dataclass
class Population:
    ids: list[str]
    people: list[Person]
    names: list[str]
    culture: list[str]
    gender: list[str | None]
    birth_year: I64  # 0 = unknown
    country: list[str]
    zones: list[str]
    tz: I32  # index into zones
    role: I8
    known_offender: list[bool | None]
    activity: F64  # relative spending activity
    pay_group: I32
    phone: list[str]
    email: list[str]
    p2p_handle: list[str]  # how other people pay this customer domestically

    def __len__(self) -> int:
        return len(self.ids)

    def members(self, role: str) -> I64:
        return np.flatnonzero(self.role == ROLE[role]).astype(np.int64)


def build_population(rng: np.random.Generator, profile: Profile, n: int) -> Population:
    countries = np.array(keys(profile.countries))[
        rng.choice(len(profile.countries), n, p=probs(profile.countries))
    ]
    diaspora = keys(profile.diaspora)
    d_share = np.array([w for _, w in profile.diaspora])
    u = rng.random(n)
    edges = np.cumsum(d_share)
    d_idx = np.searchsorted(edges, u, side="right")
    culture = [
        diaspora[d] if d < len(diaspora) else profile.majority[c]
        for d, c in zip(d_idx, countries, strict=True)
    ]
    g = rng.random(n)
    gender: list[str | None] = [
        "F" if x < 0.49 else "M" if x < 0.985 else "X" if x < 0.99 else None for x in g
    ]
    people: list[Person | None] = [None] * n
    by_culture: dict[str, list[int]] = {}
    for i, c in enumerate(culture):
        by_culture.setdefault(c, []).append(i)
    for c in sorted(by_culture):
        idx = by_culture[c]
        sampled = sample_people(rng, c, [gender[i] or "?" for i in idx])
        for i, p in zip(idx, sampled, strict=True):
            people[i] = p
    persons = [p for p in people if p is not None]
    age = np.clip(rng.normal(46, 16, n), 18, 92).astype(np.int64)
    birth_year = REFERENCE_YEAR - age
    birth_year[rng.random(n) < 0.02] = 0

    zones: list[str] = []
    tz = np.zeros(n, dtype=np.int32)
    for c, weights in profile.timezones.items():
        base = len(zones)
        zones += keys(weights)
        mask = countries == c
        tz[mask] = base + rng.choice(len(weights), int(mask.sum()), p=probs(weights))

    names = [p.canonical for p in persons]
    country_list = [str(c) for c in countries]
    phone = [""] * n
    for c in sorted(set(country_list)):
        idx = [i for i, x in enumerate(country_list) if x == c]
        for i, ph in zip(idx, handles.phones(rng, c, len(idx)), strict=True):
            phone[i] = ph
    if profile.p2p_rail in handles.PHONE_RAILS:
        p2p = [f"{profile.p2p_rail}:{ph}" for ph in phone]
    else:
        p2p = [""] * n
        for c in sorted(set(country_list)):
            idx = [i for i, x in enumerate(country_list) if x == c]
            accts = handles.domestic_accounts(rng, profile.p2p_rail, c, len(idx))
            for i, a in zip(idx, accts, strict=True):
                p2p[i] = a
    ko_draw = rng.random(n)
    known: list[bool | None] = [None if x < 0.2 else (x > 0.9997) for x in ko_draw]
    pop = Population(
        ids=[f"C{k + 1:07d}" for k in range(n)],
        people=persons,
        names=names,
        culture=culture,
        gender=gender,
        birth_year=birth_year,
        country=country_list,
        zones=zones,
        tz=tz,
        role=np.zeros(n, dtype=np.int8),
        known_offender=known,
        activity=rng.gamma(3.0, 1 / 3.0, n),
        pay_group=rng.integers(0, 2, n).astype(np.int32),
        phone=phone,
        email=handles.emails(rng, names),
        p2p_handle=p2p,
    )
    _assign_roles(rng, pop, profile)
    return pop


def _pick(rng: np.random.Generator, pool: I64, share: float, weights: F64 | None = None) -> I64:
    k = min(len(pool), round(share * len(pool))) if share < 1 else len(pool)
    if k <= 0 or len(pool) == 0:
        return np.zeros(0, dtype=np.int64)
    p = None if weights is None else weights / weights.sum()
    return np.sort(rng.choice(pool, k, replace=False, p=p)).astype(np.int64)


def _assign_roles(rng: np.random.Generator, pop: Population, profile: Profile) -> None:
    n = len(pop)
    age = np.where(pop.birth_year > 0, REFERENCE_YEAR - pop.birth_year, 45)
    male = np.array([g == "M" for g in pop.gender])
    # AIC T&I 589: payers mostly men in their 50s-60s (ages 27-82).
    w = np.where(male, 1.0, 0.05) * np.exp(-(((age - 56) / 13.0) ** 2)) * (age >= 24)
    n_payers = max(1, round(profile.prevalence * n))
    payers = np.sort(rng.choice(n, min(n_payers, n), replace=False, p=w / w.sum()))
    pop.role[payers] = ROLE["payer"]

    def free() -> I64:
        return np.flatnonzero(pop.role == ROLE["benign"]).astype(np.int64)

    home = {CULTURES[c].country for c in profile.majority.values()}
    is_diaspora = np.array([CULTURES[c].country not in home for c in pop.culture])
    cand = free()
    remitters = _pick(rng, cand[is_diaspora[cand]], profile.remit_share)
    pop.role[remitters] = ROLE["family_remitter"]
    cand = free()
    pop.role[_pick(rng, cand, profile.freelancer_share * n / max(len(cand), 1))] = ROLE[
        "freelancer_payroll"
    ]
    cand = free()
    pop.role[_pick(rng, cand, profile.charity_share * n / max(len(cand), 1))] = ROLE[
        "charity_sponsor"
    ]
    cand = free()
    older = np.where(age[cand] > 50, 3.0, 1.0)
    pop.role[_pick(rng, cand, profile.romance_share * n / max(len(cand), 1), older)] = ROLE[
        "romance_victim"
    ]
    _assign_more_lookalikes(rng, pop, profile, age, male, is_diaspora)


def _assign_more_lookalikes(
    rng: np.random.Generator, pop: Population, profile: Profile, age: I64, male: B, diaspora: B
) -> None:
    """Profile.more_lookalikes, in its order, among customers without a role yet: who is
    likelier to be each (parents of students in their 40s-60s, older sponsors and
    travellers, in-law remitters from the majority culture, mostly men)."""
    n = len(pop)
    adult = (age >= 21).astype(np.float64)
    weights = {
        "payroll_firm": adult,
        "importer": adult,
        "student_parent": adult * np.exp(-(((age - 50) / 8.0) ** 2)),
        "private_sponsor": adult * np.where(age > 45, 2.0, 1.0),
        "in_law_remitter": adult * np.where(diaspora, 0.1, 1.0) * np.where(male, 3.0, 1.0),
        "gift_giver": adult,
        "corridor_traveller": adult * np.where(age > 50, 3.0, 1.0) * np.where(male, 2.0, 1.0),
    }
    for role, share in profile.more_lookalikes:
        if role not in weights:
            known = ", ".join(MORE_LOOKALIKES)
            raise ValueError(f"unknown look-alike role {role!r}; expected one of: {known}")
        cand = np.flatnonzero(pop.role == ROLE["benign"]).astype(np.int64)
        w = weights[role][cand] + 1e-9
        pop.role[_pick(rng, cand, share * n / max(len(cand), 1), w)] = ROLE[role]
