"""Node keys made on a whole column for the values whose normalisation is plain.

Exact resolution keys each distinct (kind, raw) pair with its kind's
:class:`~daybreak.model.identifiers.IdentifierType`, one value at a time in Python.
Most of a world's values need none of what that does: ASCII without white space is
unchanged by NFKC, by the removal of invisible characters and by ``strip``. For those,
each rule here makes the key the identifier type would make, in polars on the whole
frame, and leaves every other value (and every value that would fail) to the identifier
type, so the keys and the issues are the same (``tests/graph/test_graph_resolution.py``
compares both on thousands of random values).

A rule takes the distinct pairs (columns ``_kind`` and ``_raw``) and returns the rows it
keyed (with ``_key`` and a null ``_err``) and the rows it left.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl

from daybreak.model.identifiers import IdentifierKind, e164_rules

Rule = Callable[[pl.DataFrame], tuple[pl.DataFrame, pl.DataFrame]]

RAW = pl.col("_raw")
KIND = pl.col("_kind")

# Printable ASCII without white space, with at most a service before the first colon
# and something after it: NFKC and the removal of invisible characters and white space
# change nothing, and ``normalize_scoped`` only lower-cases the service.
_PLAIN_SCOPED = r"^[!-9;-~]+(:[!-~]+)?$"
# ``normalize_email``'s pattern, on printable ASCII without white space (where Python's
# ``lower`` and polars' agree and ``strip`` changes nothing).
_PLAIN_EMAIL = r"^[!-?A-~]+@[!-?A-~]+\.[!-?A-~]+$"
# A dotted quad as ``str(ipaddress.ip_address(...))`` prints it: no leading zeros.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PLAIN_IPV4 = rf"^{_OCTET}(?:\.{_OCTET}){{3}}$"
# "+" and ASCII digits: a calling code and at most 17 digits after it.
_PLAIN_E164 = r"^\+[1-9][0-9]{2,19}$"


def _keyed(rows: pl.DataFrame, key: pl.Expr) -> pl.DataFrame:
    return rows.with_columns(key.alias("_key"), pl.lit(None, pl.String).alias("_err"))


def scoped_rule(kinds: Mapping[str, tuple[str, bool]]) -> Rule:
    """``service:id`` values of ``kinds`` (kind -> node kind, whether the whole value is
    lower-cased, as a username is): ``normalize_scoped`` and ``normalize_username``."""
    names = list(kinds)
    node_kind = KIND.replace_strict(names, [kinds[k][0] for k in names], return_dtype=pl.String)
    lower_all = KIND.is_in([k for k in names if kinds[k][1]])
    service = RAW.str.split_exact(":", 1).struct.field("field_0")
    rest = RAW.str.splitn(":", 2).struct.field("field_1")
    value = (
        pl.when(lower_all)
        .then(RAW.str.to_lowercase())
        .when(RAW.str.contains(":", literal=True))
        .then(service.str.to_lowercase() + ":" + rest)
        .otherwise(RAW)
    )

    def rule(pairs: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        plain = KIND.is_in(names) & RAW.str.contains(_PLAIN_SCOPED)
        return _keyed(pairs.filter(plain), node_kind + ":" + value), pairs.filter(~plain)

    return rule


def _pattern_rule(kind: IdentifierKind, pattern: str, value: pl.Expr) -> Rule:
    def rule(pairs: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        plain = KIND.eq(kind.value) & RAW.str.contains(pattern)
        keyed = _keyed(pairs.filter(plain), pl.lit(f"{kind.value}:") + value)
        return keyed, pairs.filter(~plain)

    return rule


email_rule = _pattern_rule(IdentifierKind.EMAIL, _PLAIN_EMAIL, RAW.str.to_lowercase())
ipv4_rule = _pattern_rule(IdentifierKind.IP, _PLAIN_IPV4, RAW)


def _calling_code(digits: pl.Expr, codes: Mapping[str, object]) -> pl.Expr:
    """The first 1, 2 or 3 digits that are a calling code, as ``parse`` tries them."""
    heads = [digits.str.slice(0, width) for width in (1, 2, 3)]
    return pl.coalesce(
        pl.when(head.is_in([c for c in codes if len(c) == width])).then(head)
        for width, head in enumerate(heads, 1)
    )


def phone_rule(pairs: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """E.164 phones that ``normalize_phone`` gives back as they are
    (:class:`~daybreak.model.identifiers.E164Rule`): the key is the value."""
    rules = e164_rules()
    shaped = pairs.filter(KIND.eq(IdentifierKind.PHONE.value) & RAW.str.contains(_PLAIN_E164))
    if not shaped.height:
        return shaped.pipe(_keyed, RAW), pairs
    digits = RAW.str.slice(1)
    shaped = shaped.with_columns(_cc=_calling_code(digits, rules)).with_columns(
        _nsn=digits.str.slice(pl.col("_cc").str.len_bytes())
    )
    nsn = pl.col("_nsn")
    possible = [f"{c}:{n}" for c, r in rules.items() for n in r.lengths]
    ok = (pl.col("_cc") + ":" + nsn.str.len_bytes().cast(pl.String)).is_in(possible)
    ok = ok & ~nsn.str.starts_with("0")
    # No national prefix at the start: one branch per calling code present.
    present = [rules[c] for c in shaped["_cc"].drop_nulls().unique().sort()]
    no_prefix = [
        pl.when(pl.col("_cc") == r.country_code).then(
            ~nsn.str.contains(f"^(?:{r.national_prefix})")
        )
        for r in present
        if r.national_prefix is not None
    ]
    if no_prefix:
        ok = ok & pl.coalesce(no_prefix).fill_null(True)
    shaped = shaped.with_columns(_ok=ok.fill_null(False))
    kept = shaped.filter("_ok").select(pairs.columns)
    keyed = _keyed(kept, pl.lit(f"{IdentifierKind.PHONE.value}:") + RAW)
    rest = pairs.join(kept, on=pairs.columns, how="anti")
    return keyed, rest
