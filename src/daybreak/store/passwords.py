"""The password policy for analyst accounts.

A password must have 12 to 1024 characters and must not be guessable from a short list:
not one of the most common passwords (nor one of them with digits or symbols stuck
around it), not one character repeated, not a run along the alphabet, the digits or a
keyboard row, not a short piece repeated (``abcabcabcabc``), and not containing the user name.

``data/common-passwords.txt.gz`` holds the 10,000 most common passwords, lower-cased,
most common first: the head of the list Django ships for its ``CommonPasswordValidator``
(``django/contrib/auth/common-passwords.txt.gz``, 20,000 passwords compiled by Royce
Williams from breach corpora; Django is BSD-3-Clause licensed). Regenerate with::

    zcat common-passwords.txt.gz | head -10000 | tr A-Z a-z | awk '!seen[$0]++' \\
        | gzip -9n > src/daybreak/store/data/common-passwords.txt.gz
"""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources

MIN_LENGTH = 12
MAX_LENGTH = 1024
# Rows of a keyboard and the orders people type in; a password that is one stretch of
# any of them (forwards or backwards) is refused.
_RUNS = (
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789012345678901234567890",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
)
_AFFIXES = "0123456789!@#$%^&*()-_=+.,;:?~ "


class PasswordRejected(ValueError):
    """The password breaks the policy; the message says which rule (never the password)."""


@cache
def common_passwords() -> frozenset[str]:
    data = resources.files("daybreak.store").joinpath("data/common-passwords.txt.gz")
    text = gzip.decompress(data.read_bytes()).decode("utf-8")
    return frozenset(line for line in text.splitlines() if line)


def _is_run(text: str) -> bool:
    return any(text in run or text in run[::-1] for run in _RUNS)


def _is_repeated_piece(text: str) -> bool:
    """``abcabcabcabc``: a piece of at most a third of the length, repeated."""
    n = len(text)
    return any(n % size == 0 and text == text[:size] * (n // size) for size in range(1, n // 3 + 1))


def check_password(password: str, username: str = "") -> None:
    """Raise :class:`PasswordRejected` unless ``password`` meets the policy."""
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(f"password: at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"password: at most {MAX_LENGTH} characters")
    folded = password.casefold()
    compact = "".join(folded.split())
    if _is_repeated_piece(compact):
        raise PasswordRejected("password: one character or a short piece repeated")
    if _is_run(compact):
        raise PasswordRejected("password: a run of letters, digits or keys in a row")
    core = folded.strip(_AFFIXES)
    common = common_passwords()
    if folded in common or compact in common or (len(core) >= 4 and core in common):
        raise PasswordRejected("password: one of the most common passwords")
    if len(core) >= 4 and (_is_run(core) or _is_repeated_piece(core)):
        raise PasswordRejected("password: a run or a repeated piece with digits added")
    name = username.casefold()
    # Short names ("ana") are part of many words ("analyst"): only longer ones count
    # as contained; any name counts when it is the whole password bar digits.
    if name and (core == name or (len(name) >= 4 and name in folded)):
        raise PasswordRejected("password: must not contain the user name")
