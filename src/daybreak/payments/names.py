"""Name comparison for family ties, as SQL and as a Python reference.

Two names share a family tie when, after folding transliteration variants, they share
a name token: "Nguyễn Thị Mai" and "NGUYEN, Van An" (diacritics), "SANTOS, Maria" and
"Jose R. Santos" (order, initials), "Dela Cruz" and "de la Cruz" (particles), "Srisook"
and "Srisuk" (romanisation). The same folding steps build the SQL used by the engines
and :func:`name_tokens` used in Python, and a test checks that they agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache

# (regex, replacement) applied in order to a lower-cased, accent-free name.
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
    words = sorted({fold_word(p) for p in particles if p.strip()} - {""}, key=len, reverse=True)
    inner = "|".join(re.escape(w) for w in words) if words else "\u0000"
    return f" ({inner}|[a-z]) "


def fold_word(text: str) -> str:
    """Fold one string with the same steps as the SQL (no particle removal)."""
    src, dst = accent_map()
    out = text.lower().translate(str.maketrans(src, dst))
    for pattern, repl in _FOLD_STEPS:
        out = re.sub(pattern, repl, out)
    return " ".join(out.split())


def name_tokens(name: str | None, particles: Iterable[str] = ()) -> list[str]:
    """Python reference of the SQL name key: folded tokens, no particles or initials."""
    folded = f" {fold_word(name or '')} "
    pat = particle_pattern(particles)
    for _ in range(2):  # twice, because adjacent particles share a space
        folded = re.sub(pat, " ", folded)
    return folded.split()


def family_tie(a: str | None, b: str | None, particles: Iterable[str] = ()) -> bool:
    ps = tuple(particles)
    return bool(set(name_tokens(a, ps)) & set(name_tokens(b, ps)))


def fold_steps() -> tuple[tuple[str, str], ...]:
    return _FOLD_STEPS
