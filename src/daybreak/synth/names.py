"""People's names: sampling from culture pools, and the spelling variants a payment
system really records for one person.

Banks, remitters and platforms write the same name differently: order ("SANTOS, Maria
Cruz"), middle initials ("Maria C. Santos"), dropped maternal surnames ("Juan García"
for "Juan García López"), particles ("dela Cruz", "De La Cruz", "Delacruz"), accents and
transliteration ("Srisuk" / "Srisook"). The generator uses these variants so that finding
family ties needs a proper name comparison; :func:`share_family_name` is that comparison.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from daybreak.synth.names_data import CULTURES, Culture

_PARTICLES = frozenset({"de", "del", "dela", "la", "los", "las", "van", "den", "der", "von", "di"})
_TRANSLIT = (("ph", "p"), ("th", "t"), ("kh", "k"), ("oo", "u"), ("ee", "i"))
_NON_LETTER = re.compile(r"[^a-z, ]+")


@dataclass(frozen=True, slots=True)
class Person:
    given: str
    surname: str  # may contain spaces ("dela Cruz")
    middle: str | None = None  # Filipino: mother's maiden name; western: second given name
    maternal: str | None = None  # Hispanic second surname
    style: str = "western"

    @property
    def canonical(self) -> str:
        parts = [self.given]
        if self.middle:
            parts.append(self.middle)
        parts.append(self.surname)
        if self.maternal:
            parts.append(self.maternal)
        return " ".join(parts)


def _clean(raw: str) -> str:
    return raw.replace("_", " ")


def sample_people(
    rng: np.random.Generator, culture: str, genders: list[str], *, middle_rate: float = 0.6
) -> list[Person]:
    """One person per entry of ``genders`` ('F' or 'M'; anything else draws either)."""
    c = CULTURES[culture]
    n = len(genders)
    gi = rng.random(n)
    si = rng.integers(0, len(c.surnames), n)
    mi = rng.integers(0, len(c.surnames), n)
    has_middle = rng.random(n) < middle_rate
    second_given = rng.random(n)
    people: list[Person] = []
    for k, g in enumerate(genders):
        sex = g if g in ("F", "M") else ("F" if gi[k] < 0.5 else "M")
        pool = c.female if sex == "F" else c.male
        given = pool[int(gi[k] * 7919) % len(pool)]
        surname = _clean(c.surnames[si[k]])
        middle: str | None = None
        maternal: str | None = None
        if c.style == "filipino":
            m = _clean(c.surnames[mi[k]])
            middle = m if m != surname else None
        elif c.style == "hispanic":
            m = _clean(c.surnames[mi[k]])
            maternal = m if m != surname and has_middle[k] else None
        elif c.style == "western" and has_middle[k]:
            other = pool[int(second_given[k] * len(pool))]
            middle = other if other != given else None
        people.append(Person(given, surname, middle, maternal, c.style))
    return people


def relatives(
    rng: np.random.Generator,
    of: list[Person],
    cultures: list[str],
    genders: list[str],
    share_surname: npt.NDArray[np.bool_],
) -> list[Person]:
    """One family member per entry of ``of``: shares the family name unless
    ``share_surname`` is False (an in-law or a married sister)."""
    fresh: list[Person | None] = [None] * len(of)
    by_culture: dict[str, list[int]] = {}
    for i, c in enumerate(cultures):
        by_culture.setdefault(c, []).append(i)
    for c in sorted(by_culture):
        idx = by_culture[c]
        for i, p in zip(idx, sample_people(rng, c, [genders[i] for i in idx]), strict=True):
            fresh[i] = p
    out = []
    for person, new, share in zip(of, fresh, share_surname, strict=True):
        assert new is not None
        if not share:
            out.append(new)
        elif person.style == "filipino":
            # Siblings share the middle (mother's maiden) name and the surname.
            out.append(Person(new.given, person.surname, person.middle, None, person.style))
        else:
            out.append(Person(new.given, person.surname, new.middle, new.maternal, person.style))
    return out


def _strip_accents(text: str) -> str:
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )


def _translit_variant(surname: str) -> str:
    """An alternative romanisation that folds to the same key ("Srisuk" -> "Srisook")."""
    for plain, fancy in (("u", "oo"), ("p", "ph"), ("i", "ee"), ("t", "th")):
        pos = surname.find(plain, 2)
        if pos > 0 and surname[pos - 1] not in "aeiouh":
            return surname[:pos] + fancy + surname[pos + 1 :]
    return surname


def _particle_variants(surname: str) -> list[str]:
    words = surname.split()
    if len(words) < 2:
        return []
    joined = "".join(words)
    return [joined.capitalize(), " ".join(w.capitalize() for w in words), surname.upper()]


def variants(p: Person) -> list[str]:
    """The canonical name first, then forms seen for the same person in other records."""
    initial = f"{p.middle[0].upper()}." if p.middle else ""
    family = f"{p.surname} {p.maternal}" if p.maternal else p.surname
    out = [p.canonical, f"{family.upper()}, {p.given}{' ' + p.middle if p.middle else ''}"]
    if p.middle:
        out.append(f"{p.given} {initial} {p.surname}")
    if p.maternal:
        out.append(f"{p.given} {p.surname}")
    out.append(_strip_accents(p.canonical).upper().replace(".", ""))
    out += [f"{p.given} {v}" for v in _particle_variants(p.surname)]
    if p.style == "surname_first_optional":
        out.append(f"{p.surname.upper()} {p.given}")
        alt = _translit_variant(p.surname)
        if alt != p.surname:
            out.append(f"{p.given} {alt}")
    seen: dict[str, None] = {}
    for v in out:
        seen.setdefault(" ".join(v.split()), None)
    return list(seen)


def _fold_token(token: str) -> str:
    for a, b in _TRANSLIT:
        token = token.replace(a, b)
    return re.sub(r"(.)\1+", r"\1", token)


def _tokens(text: str) -> list[str]:
    words = text.split()
    merged: list[str] = []
    carry = ""
    for w in words:
        if w in _PARTICLES:
            carry += w
            continue
        merged.append(_fold_token(carry + w))
        carry = ""
    if carry:
        merged.append(_fold_token(carry))
    return [t for t in merged if len(t) > 1]


def family_name_keys(name: str) -> tuple[frozenset[str], frozenset[str]]:
    """(likely family-name keys, every name key) of a full name in any common layout.

    Keys are accent-folded, lower-case, particle-joined and transliteration-folded, so
    "DELA CRUZ, Juan" and "Maria de la Cruz" share the key "delacruz".
    """
    text = _NON_LETTER.sub(" ", _strip_accents(name).lower().replace("-", " "))
    if "," in text:
        family, _, given = text.partition(",")
        fam = _tokens(family)
        return frozenset(fam), frozenset(fam + _tokens(given.replace(",", " ")))
    toks = _tokens(text)
    return frozenset(toks[1:]), frozenset(toks)


def share_family_name(a: str, b: str) -> bool:
    """True when two full names share a family name, whatever their layout."""
    fam_a, all_a = family_name_keys(a)
    fam_b, all_b = family_name_keys(b)
    return bool(fam_a & all_b) or bool(fam_b & all_a)


def culture(key: str) -> Culture:
    return CULTURES[key]
