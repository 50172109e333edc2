"""Name comparison for family ties, as SQL and as a Python reference.

Two names share a family tie when, after folding transliteration variants, they share
a name token: "Nguyễn Thị Mai" and "NGUYEN, Van An" (diacritics), "SANTOS, Maria" and
"Jose R. Santos" (order, initials), "Dela Cruz" and "de la Cruz" (particles), "Srisook"
and "Srisuk" (romanisation), "Long Do" and "DO, Phuong" (a surname that is a particle
elsewhere), "Quang Ho" and "Linh Ho" (a surname that folds to one letter). The same
folding steps build the SQL used by the engines and :func:`name_tokens` used in Python,
and tests check that they agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache

# (regex, replacement) applied in order to a lower-cased, accent-free name; the first
# turns everything but letters into spaces (initials are found after it).
_FOLD_STEPS: tuple[tuple[str, str], ...] = (
    ("[^a-z]+", " "),
    ("ph", "f"),
    ("th", "t"),
    ("kh", "k"),
    ("ck", "k"),
    ("c", "k"),
    ("q", "k"),
    ("z", "s"),
    ("y", "i"),
    ("v", "b"),
    ("w", "u"),
    ("oo", "u"),
    ("ou", "u"),
    ("ee", "i"),
    ("ue", "u"),
    ("h", ""),
    ("ll", "l"),
    ("nn", "n"),
    ("tt", "t"),
    ("ss", "s"),
    ("rr", "r"),
    ("mm", "m"),
    ("pp", "p"),
    ("kk", "k"),
    ("ii", "i"),
)


@cache
def accent_map() -> tuple[str, str]:
    """(from, to) strings for SQL translate(): accented lower-case Latin -> base letter."""
    src, dst = [], []
    for cp in list(range(0xC0, 0x250)) + list(range(0x1E00, 0x1F00)):
        ch = chr(cp)
        if ch.lower() != ch:
            continue
        base = unicodedata.normalize("NFKD", ch)[0]
        if "a" <= base <= "z" and base != ch:
            src.append(ch)
            dst.append(base)
    extra = {"ß": "s", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "æ": "a", "œ": "o", "ı": "i"}
    for k, v in extra.items():
        if k not in src:
            src.append(k)
            dst.append(v)
    return "".join(src), "".join(dst)


def particle_pattern(particles: Iterable[str]) -> str:
    """Regex of one folded particle between spaces."""
    # longest first (a regex alternation takes the first that matches), then by spelling
    # so that the SQL is the same in every process
    words = sorted(folded_particles(particles), key=lambda w: (-len(w), w))
    inner = "|".join(re.escape(w) for w in words) if words else "\u0000"
    return f" ({inner}) "


def folded_particles(particles: Iterable[str]) -> set[str]:
    return {fold_word(p) for p in particles if p.strip()} - {""}


@cache
def _accent_table() -> dict[int, int]:
    return str.maketrans(*accent_map())


@cache
def _compiled_steps() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(pattern), repl) for pattern, repl in _FOLD_STEPS)


def fold_word(text: str) -> str:
    """Fold one string with the same steps as the SQL (no particle removal)."""
    # The tables are built once: a scan folds every configured name, and rebuilding
    # them per word cost ~0.1 ms each.
    out = text.lower().translate(_accent_table())
    for pattern, repl in _compiled_steps():
        out = pattern.sub(repl, out)
    return " ".join(out.split())


def comma_parts(name: str) -> tuple[str, str] | None:
    """(given names, family name) of a name in the comma form "SURNAME, Given": split at
    the first comma when both sides have text; None for any other name. The one comma
    rule of every reader of names (payments, reports, the entity graph)."""
    head, sep, tail = name.partition(",")
    if sep and head.strip() and tail.strip():
        return tail.strip(), head.strip()
    return None


def given_names_first(name: str) -> str:
    """ "GREEN, Donald" is "Donald GREEN"; a name without the comma form is unchanged."""
    parts = comma_parts(name)
    return f"{parts[0]} {parts[1]}" if parts else name


def name_tokens(name: str | None, particles: Iterable[str] = ()) -> list[str]:
    """Python reference of the SQL name key: folded tokens without initials or particles.

    "SURNAME, Given" is read as "Given SURNAME". Initials are single letters as written
    ("Jose R. Santos"), before folding: a short surname that folds to one letter ("Ho" ->
    "o") is still a name. A particle is dropped only before another token, as in "Maria
    do Carmo" or "de la Cruz"; last, it is a surname ("Phuong Do", "Divya Meena Das")."""
    text = given_names_first((name or "").lower().translate(_accent_table()))
    plain = _compiled_steps()[0][0].sub(" ", text)  # letters only
    tokens = fold_word(" ".join(w for w in plain.split() if len(w) > 1)).split()
    drop = folded_particles(particles)
    return [t for i, t in enumerate(tokens) if t not in drop or i == len(tokens) - 1]


# Particles that begin a family name ("de la Cruz", "van der Berg", "bin Ahmad").
SURNAME_PARTICLES = frozenset(
    [
        "de",
        "del",
        "dela",
        "della",
        "des",
        "di",
        "da",
        "das",
        "do",
        "dos",
        "du",
        "la",
        "las",
        "le",
        "los",
        "van",
        "von",
        "der",
        "den",
        "ter",
        "ten",
        "bin",
        "binti",
        "bint",
        "al",
        "el",
        "san",
        "santa",
        "st",
    ]
)


def split_person_name(name: str | None) -> tuple[str, str]:
    """(given names, family name) as written, for report fields.

    "SURNAME, Given" is the comma form: "DE LEON, Maria Magbanua" -> ("Maria
    Magbanua", "DE LEON"). Otherwise the family name is the last word together with the
    particles before it: "Maria de la Cruz" -> ("Maria", "de la Cruz"). A single word is
    a family name. The comma rule is :func:`comma_parts`, as in :func:`name_tokens`, so
    the detector and the reports read a name alike."""
    text = " ".join((name or "").split())
    parts = comma_parts(text)
    if parts:
        return parts
    text = text.replace(",", "", 1).strip()  # a comma with a name on one side only
    words = text.split()
    if len(words) <= 1:
        return "", text
    start = len(words) - 1
    while start > 0 and words[start - 1].lower().rstrip(".") in SURNAME_PARTICLES:
        start -= 1
    return " ".join(words[:start]), " ".join(words[start:])


def family_tie(a: str | None, b: str | None, particles: Iterable[str] = ()) -> bool:
    ps = tuple(particles)
    return bool(set(name_tokens(a, ps)) & set(name_tokens(b, ps)))


def fold_steps() -> tuple[tuple[str, str], ...]:
    return _FOLD_STEPS
