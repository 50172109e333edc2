"""Plain sentences a compliance officer can paste into a report.

Typology templates use ``{feature}`` or ``{feature:fmt}`` with fmt one of ``int``,
``pct``, ``money`` (in the subject's own currency) or ``num``; any other text is literal.
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import cache
from itertools import repeat
from typing import Any

import pycountry

from daybreak.payments.context import TIE_PAYMENTS

FORMATS = ("int", "pct", "money", "num", "")


def check_template(template: str, features: Collection[str]) -> None:
    """Raise ValueError naming the first unknown field or format."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"explanation template is malformed: {exc}") from exc
    for _, name, spec, _ in parsed:
        if name is None:
            continue
        if name not in features:
            raise ValueError(f"explanation names unknown feature '{name}'")
        if spec not in FORMATS:
            raise ValueError(f"unknown format ':{spec}' for '{name}'; use int, pct, money or num")


def render(template: str, row: Mapping[str, Any]) -> str:
    out = []
    for literal, name, spec in _parsed(template):
        out.append(literal)
        if name is not None:
            out.append(_fmt(row.get(name), spec or "", row))
    return "".join(out)


def render_rows(
    template: str, columns: Mapping[str, Sequence[Any]], rows: Sequence[int]
) -> list[str]:
    """``render`` for the rows at positions ``rows`` of ``columns`` (one list of values
    per field, ``currency`` among them when a field is money), field by field: each
    field is formatted over the selected rows at once, and the pieces joined per row.
    A field missing from ``columns`` reads as unknown, as ``render``'s missing key."""
    currencies = columns.get("currency")
    selected_currencies = [currencies[i] for i in rows] if currencies is not None else None
    pieces: list[Iterable[str]] = []
    for literal, name, spec in _parsed(template):
        pieces.append(repeat(literal))
        if name is not None:
            values = columns.get(name)
            selected = [values[i] for i in rows] if values is not None else [None] * len(rows)
            pieces.append(format_column(selected, spec or "", selected_currencies))
    if all(isinstance(p, repeat) for p in pieces):  # no field: the template is the text
        return [render(template, {})] * len(rows)
    return ["".join(p) for p in zip(*pieces, strict=False)]


def fields(template: str) -> tuple[str, ...]:
    """The feature names a template reads."""
    return tuple(name for _, name, _ in _parsed(template) if name is not None)


@cache
def _parsed(template: str) -> tuple[tuple[str, str | None, str | None], ...]:
    return tuple((lit, name, spec) for lit, name, spec, _ in string.Formatter().parse(template))


def _fmt(value: Any, spec: str, row: Mapping[str, Any]) -> str:
    return format_column([value], spec, [row.get("currency")])[0]


def format_column(
    values: Sequence[Any], spec: str, currencies: Sequence[Any] | None = None
) -> list[str]:
    """Each value as a template field with format ``spec`` writes it (``money`` in the
    currency at the same position of ``currencies``); a null or NaN is "unknown"."""
    if spec == "money":
        codes = currencies if currencies is not None else [None] * len(values)
        return [
            _UNKNOWN if _missing(v) else money(float(v), str(c or ""))
            for v, c in zip(values, codes, strict=True)
        ]
    text = _FORMATTERS.get(spec, str)
    return [_UNKNOWN if _missing(v) else text(v) for v in values]


_UNKNOWN = "unknown"
_FORMATTERS: dict[str, Callable[[Any], str]] = {
    "int": lambda v: f"{round(float(v)):,}",
    "pct": lambda v: f"{round(100 * float(v))}%",
    "num": lambda v: f"{float(v):.2f}",
}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def money(value: float, currency: str) -> str:
    amount = f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.2f}"
    return f"{currency} {amount}".strip()


@cache
def country_name(code: str | None) -> str:
    if not code:
        return "the corridor"
    found = pycountry.countries.get(alpha_2=code)
    if found is None:
        return code
    name = str(getattr(found, "common_name", None) or found.name)
    return f"the {name}" if name in {"Philippines", "Dominican Republic", "United States"} else name


# What each subject's opening sentence reads (besides ``currency``).
LEAD_FIELDS = {
    "customer": ("unrelated_beneficiaries", "female_beneficiaries", "corridor_beneficiaries",
                 "active_days", "countries", "corridor_payments", "median_amount",
                 "night_share", "first_amounts", "last_amounts", "hub_accounts"),
    "beneficiary": ("countries", "inbound_payments", "inbound_senders", "unrelated_senders",
                    "inbound_median", "sole_sender", "sole_sender_score", "capped_by_sender",
                    "raised_by_sender", "sole_sender_tie", "person_accounts"),
}  # fmt: skip


def customer_lead(row: Mapping[str, Any]) -> str:
    """The opening sentence, e.g. 'Paid 3 unrelated beneficiaries in the Philippines 41
    times over 90 days, median AUD 48, 68% between 22:00 and 06:00 local time; amounts
    rose from 25 to 90.'"""
    n_unrel = int(row.get("unrelated_beneficiaries") or 0)
    n_female = int(row.get("female_beneficiaries") or 0)
    who = (
        f"{n_female} unrelated {'woman' if n_female == 1 else 'women'}"
        if n_female and n_female == n_unrel
        else f"{n_unrel} unrelated beneficiar{'y' if n_unrel == 1 else 'ies'}"
    )
    if n_unrel == 0:
        who = f"{int(row.get('corridor_beneficiaries') or 0)} relative(s)"
    days = max(1, round(float(row.get("active_days") or 0)))
    text = (
        f"Paid {who} in {country_name(row.get('countries'))} "
        f"{int(row.get('corridor_payments') or 0)} times in {days} days, median "
        f"{money(float(row.get('median_amount') or 0), str(row.get('currency') or ''))}, "
        f"{round(100 * float(row.get('night_share') or 0))}% between 22:00 and 06:00 local time"
    )
    first, last = row.get("first_amounts"), row.get("last_amounts")
    if first and last and float(last) > 1.2 * float(first):
        text += f"; amounts rose from {float(first):,.0f} to {float(last):,.0f}"
    accounts = int(row.get("hub_accounts") or 1)
    return (
        text
        + "."
        + (
            f" One person paid is known on {accounts} accounts under one full name (given "
            "name and two family names, one country, each at another provider): her or his "
            "other senders count as senders of the same beneficiary."
            if accounts > 1
            else ""
        )
    )


def _tie_weight(payments: int) -> str:
    """How the cap of a sole sender's beneficiary weighs his score (``TIE_PAYMENTS``)."""
    lo, hi = TIE_PAYMENTS
    weight = min(1.0, max(0.0, (payments - lo) / (hi - lo)))
    if weight >= 1.0:
        return "."
    return (
        f" (that score times {weight:.2f}, the weight of {payments} payment(s); two or more"
        " count fully)."
    )


def beneficiary_lead(row: Mapping[str, Any]) -> str:
    accounts = int(row.get("person_accounts") or 1)
    return (
        (
            f"Beneficiary in {country_name(row.get('countries'))} received "
            f"{int(row.get('inbound_payments') or 0)} payments from "
            f"{int(row.get('inbound_senders') or 0)} senders "
            f"({int(row.get('unrelated_senders') or 0)} without a family tie), median "
            f"{money(float(row.get('inbound_median') or 0), str(row.get('currency') or ''))}."
        )
        + (
            f" Paid by one customer only ({row.get('sole_sender')}, score "
            f"{float(row.get('sole_sender_score') or 0):.2f}): ranked no higher than that customer"
            + _tie_weight(int(row.get("inbound_payments") or 0))
            if row.get("capped_by_sender")
            else f" Paid by one customer only ({row.get('sole_sender')}, alerted at "
            f"{float(row.get('sole_sender_score') or 0):.2f}), without a family tie: ranked "
            f"with that customer (that score times {float(row.get('sole_sender_tie') or 0):.2f}, "
            f"the weight of {int(row.get('inbound_payments') or 0)} payment(s); two or more "
            "count fully)."
            if row.get("raised_by_sender")
            else ""
        )
        + (
            f" One of {accounts} accounts under the same full name (given name and two "
            "family names) in this country, each at another provider, read as one person: "
            "the senders and evidence through the payment graph are that person's."
            if accounts > 1
            else ""
        )
    )
