"""The identifiers a member may share, in the one spelling every member computes.

Both sharing modes (keyed hashes and private set intersection) compare normalised
``(kind, value)`` pairs: a phone typed ``0412 345 678`` by one member and
``+61412345678`` by another only meet if both are read as E.164 first, which needs the
region of national-format numbers. Values that do not normalise are returned with the
reason, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

from daybreak.model.identifiers import TYPES, IdentifierError, identifier_type

# The kinds a member may publish (each kind's type says; customer ids never are).
SHAREABLE = frozenset(t.kind for t in TYPES.values() if t.shareable)
SHAREABLE_KINDS = frozenset(k.value for k in SHAREABLE)


class ShareError(ValueError):
    """A bad secret, region or share file that cannot be used; the message says why."""


def check_region(region: str | None) -> str | None:
    """``region`` upper-cased if it is an ISO 3166 alpha-2 code phonenumbers knows."""
    if region is None:
        return None
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ShareError(
            f"default region {region!r}: expected an ISO 3166 alpha-2 code that has a phone "
            "numbering plan, e.g. AU, GB, PH, US"
        )
    return code


def canonical(kind: str, raw: str, region: str | None = None) -> tuple[str, str]:
    """The normalised (kind, value); beneficiaries are payment handles."""
    try:
        t = identifier_type(kind)
    except ValueError as exc:
        raise IdentifierError(f"unknown identifier kind {kind!r}") from exc
    if not t.shareable:
        raise ShareError(f"{kind!r} identifiers are internal ids and are never shared")
    return t.node_kind, t.normalize(raw, region)


@dataclass(frozen=True)
class Prepared:
    """Distinct canonical identifiers, sorted, and what could not be read."""

    identifiers: tuple[tuple[str, str], ...]
    skipped: tuple[str, ...]  # "kind:'raw': reason", one per value that did not normalise


def prepare(pairs: Iterable[tuple[str, str]], region: str | None = None) -> Prepared:
    found: set[tuple[str, str]] = set()
    skipped: list[str] = []
    for kind, raw in pairs:
        try:
            found.add(canonical(kind, raw, region))
        except (IdentifierError, ShareError) as exc:
            skipped.append(f"{kind}:{raw!r}: {exc}")
    return Prepared(tuple(sorted(found)), tuple(skipped))
