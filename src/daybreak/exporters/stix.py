"""A STIX 2.1 bundle for a case, for hotlines and threat-intel partners.

Objects: the reporting organisation and the services where matched media was seen
(``identity``), a TLP ``marking-definition`` on every object we create, observables
(``file`` with MD5/SHA-256, ``url``, ``email-addr``, ``user-account``,
``ipv4-addr``/``ipv6-addr``), ``indicator`` objects for reported URLs and for exact hashes
that matched a list of known material (with ``observed-data`` + ``sighting``), a ``note``
for each matched PDQ hash (a similarity hash has no STIX pattern), and a ``grouping``
that is the case.

Partners get no data of the reporting institution's customers: identifiers of
beneficiaries and reported accounts are shared, payers and every value the institution
holds about a customer (``identifiers`` with ``source=customers``) are not, and the
grouping's name and description (:func:`partner_narrative`) carry no customer name,
customer id, amount or payment-alert text. Hash sightings that matched no list are not
sent. Valid under ``stix2-validator`` in strict mode and ``stix2.parse(allow_custom=False)``
(no custom properties: the service of an account is part of its ``user_id``,
``service:account``).

Ids: observables get the spec's deterministic UUIDv5 (the ``stix2`` library computes
them); our other objects get a version-4-format UUID derived from the case and the
object's content, so a re-export of the same case keeps its ids.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import stix2

from daybreak.exporters.base import Exporter, ValidationProblem
from daybreak.exporters.bundle import CaseBundle, Row, as_utc, text, unique
from daybreak.exporters.narrative import match_phrase, partner_narrative
from daybreak.exporters.parties import case_parties, reported_accounts
from daybreak.model.alerts import HashMatch
from daybreak.plugins import signal_type

TLP = {
    "clear": stix2.TLP_WHITE,
    "white": stix2.TLP_WHITE,
    "green": stix2.TLP_GREEN,
    "amber": stix2.TLP_AMBER,
    "red": stix2.TLP_RED,
}
# Hashes a STIX pattern can match by equality (names from hash-algorithm-ov).
EXACT_HASH_KEYS = {"md5": "MD5", "sha256": "SHA-256"}
MATCH_LABEL = "hash-list-match"
ACCOUNT_TYPES = {"facebook", "skype", "twitter", "openid", "ldap", "nis", "radius", "tacacs"}


class StixExporter(Exporter):
    name = "stix"
    media_type = "application/stix+json;version=2.1"
    suffix = "json"
    validates_against = "stix2-validator (STIX 2.1, strict) and stix2.parse(allow_custom=False)"

    def validate(self, data: bytes) -> list[ValidationProblem]:
        try:
            json.loads(data)
        except ValueError as exc:
            return [ValidationProblem("", f"not JSON: {exc}")]
        # Imported here: stix2validator takes seconds to import.
        from stix2validator import ValidationOptions, validate_string

        result = validate_string(
            data.decode("utf-8"), ValidationOptions(version="2.1", strict=True)
        )
        results = result if isinstance(result, list) else [result]
        problems = _library_problems(data)
        for r in results:
            for item in [*r.errors, *r.warnings]:
                problems.append(ValidationProblem(str(r.object_id or "bundle"), str(item)))
            if not r.is_valid and not (r.errors or r.warnings):
                problems.append(ValidationProblem(str(r.object_id or "bundle"), "invalid"))
        return problems

    def export(self, bundle: CaseBundle) -> bytes:
        build = _Builder(bundle)
        return build.run().encode("utf-8")


def _library_problems(data: bytes) -> list[ValidationProblem]:
    """What the ``stix2`` library refuses without custom content: receivers using it
    (the usual Python consumer) parse this way; e.g. it rejects hash names outside
    the spec's vocabulary, which the validator lets through with an ``x_`` prefix."""
    try:
        stix2.parse(data.decode("utf-8"), allow_custom=False)
    except Exception as exc:  # the library raises many unrelated types, all invalid
        return [ValidationProblem("bundle", f"stix2.parse(allow_custom=False): {exc}")]
    return []


class _Builder:
    def __init__(self, bundle: CaseBundle) -> None:
        self.b = bundle
        self.now = as_utc(bundle.generated_at) or datetime.now(UTC)  # as_utc is typed Optional
        self.tlp = TLP[bundle.org.tlp]
        # STIX needs a name for the producer's identity; --check flags it when unset.
        self.org_name = bundle.org.name or "Reporting organisation (name not configured)"
        self.identity = stix2.Identity(
            id=self._id("identity", "org", self.org_name),
            name=self.org_name,
            identity_class="organization",
            created=self.now,
            modified=self.now,
            object_marking_refs=[self.tlp],
        )
        self.objects: dict[str, Any] = {}
        self.withheld = customer_values(bundle)

    def shareable(self, value: str) -> bool:
        """False for anything the institution holds about its own customers."""
        return bool(value) and value.lower() not in self.withheld

    def _id(self, kind: str, *parts: str) -> str:
        digest = hashlib.sha256("\x1f".join([self.b.case.case_id, kind, *parts]).encode()).digest()
        return f"{kind}--{uuid.UUID(bytes=digest[:16], version=4)}"

    def _common(self) -> dict[str, Any]:
        return {
            "created": self.now,
            "modified": self.now,
            "created_by_ref": self.identity.id,
            "object_marking_refs": [self.tlp],
        }

    def add(self, obj: Any) -> Any:
        self.objects.setdefault(obj.id, obj)
        return self.objects[obj.id]

    # --- observables ---------------------------------------------------------------

    def account(self, value: str, login: str = "") -> Any | None:
        if not (self.shareable(value) and self.shareable(value.partition(":")[2])):
            return None
        service = value.partition(":")[0].lower()
        kwargs: dict[str, Any] = {"user_id": value}
        if login:
            kwargs["account_login"] = login
        if service in ACCOUNT_TYPES:
            kwargs["account_type"] = service
        return self.add(stix2.UserAccount(**kwargs))

    def service(self, name: str) -> Any:
        """The platform where something was seen, as an identity."""
        return self.add(
            stix2.Identity(
                id=self._id("identity", "service", name.lower()),
                name=name,
                identity_class="organization",
                description=f"Online service {name}",
                **self._common(),
            )
        )

    def email(self, value: str) -> Any | None:
        return self.add(stix2.EmailAddress(value=value)) if self.shareable(value) else None

    def url(self, value: str) -> Any | None:
        return self.add(stix2.URL(value=value)) if self.shareable(value) else None

    def ip(self, value: str) -> Any | None:
        if not self.shareable(value):
            return None
        try:
            addr = ipaddress.ip_address(value)
        except ValueError:
            return None
        cls = stix2.IPv4Address if addr.version == 4 else stix2.IPv6Address
        return self.add(cls(value=str(addr)))

    def indicator(self, name: str, pattern: str, first: datetime, about: str, **extra: Any) -> Any:
        return self.add(
            stix2.Indicator(
                id=self._id("indicator", pattern),
                name=name,
                description=about,
                pattern=pattern,
                pattern_type="stix",
                valid_from=first,
                indicator_types=["malicious-activity"],
                **extra,
                **self._common(),
            )
        )

    # --- the case --------------------------------------------------------------------

    def run(self) -> str:
        self._parties()
        self._reports()
        self._media()
        refs = sorted(self.objects)
        grouping = stix2.Grouping(
            id=self._id("grouping", "case"),
            # Not the case title: it names the anchor entity, often a customer.
            name=f"Daybreak case {self.b.case.case_id} (tier {int(self.b.case.tier)})",
            description=partner_narrative(self.b),
            context="suspicious-activity",
            object_refs=refs or [self.identity.id],
            external_references=[{"source_name": "daybreak", "external_id": self.b.case.case_id}],
            **self._common(),
        )
        objects = [self.tlp, self.identity, *self.objects.values(), grouping]
        bundle = stix2.Bundle(objects=objects, id=self._id("bundle", "b"))
        return str(bundle.serialize(pretty=True))

    def _parties(self) -> None:
        # Beneficiaries only: payers are the institution's customers, whose data goes
        # to the FIU (goAML) under its legal gateway, not to threat-intel partners.
        _, beneficiaries = case_parties(self.b)
        for party in beneficiaries.values():
            for email in party.emails:
                self.email(email)
            for acc in party.accounts:
                self.account(acc)
            for name in party.usernames:
                self.account(name, name.partition(":")[2])
            for seen in party.ips.values():
                self.ip(seen.ip)

    def _reports(self) -> None:
        for report in self.b.reports:
            report_id = text(report.get("report_id"))
            first = (
                as_utc(report.get("occurred_at")) or as_utc(report.get("received_at")) or self.now
            )
            for party in reported_accounts(self.b, report_id).values():
                for acc in party.accounts:
                    self.account(acc)
                for name in party.usernames:
                    self.account(name, name.partition(":")[2])
                for email in party.emails:
                    self.email(email)
                for seen in party.ips.values():
                    self.ip(seen.ip)
                for url in party.urls:
                    if self.url(url) is None:
                        continue
                    self.indicator(
                        f"URL named in report {report_id}",
                        f"[url:value = '{_quote(url)}']",
                        first,
                        f"URL reported to {self.org_name} (Daybreak report {report_id}).",
                    )

    def _media(self) -> None:
        """Matched sightings only: a sighting whose hash matched no list is not evidence
        of known material, and a partner who received it would have no way to tell it
        from one that did (the grouping's narrative counts them instead)."""
        groups: defaultdict[tuple[str, str], list[tuple[Row, list[HashMatch]]]] = defaultdict(list)
        for row, matches in self.b.matched_sightings():
            key = (text(row.get("hash_type")).lower(), text(row.get("hash_value")))
            groups[key].append((row, matches))
        for (hash_type, value), seen in sorted(groups.items()):
            if not value:
                continue
            if hash_type in EXACT_HASH_KEYS:
                self._exact_match(hash_type, value, seen)
            else:
                self._similarity_match(hash_type, value, seen)

    def _where_seen(self, rows: list[Row]) -> tuple[list[str], list[str]]:
        """(ids of the URLs and accounts where the hash was seen, ids of the services)."""
        refs: list[Any] = []
        services: list[str] = []
        for r in rows:
            url = text(r.get("location"))
            if url.startswith(("http://", "https://")):
                refs.append(self.url(url))
            service, acc = text(r.get("service")), text(r.get("account_id"))
            if acc:
                refs.append(self.account(f"{service}:{acc}" if service else acc))
            if service:
                services.append(self.service(service).id)
        return unique(obj.id for obj in refs if obj is not None), unique(services)

    def _observed(
        self, hash_type: str, value: str, rows: list[Row], refs: list[str]
    ) -> tuple[Any, datetime, datetime]:
        times = sorted(t for t in (as_utc(r.get("seen_at")) for r in rows) if t is not None)
        first, last = (times[0], times[-1]) if times else (self.now, self.now)
        observed = self.add(
            stix2.ObservedData(
                id=self._id("observed-data", hash_type, value),
                first_observed=first,
                last_observed=last,
                number_observed=len(rows),
                object_refs=refs,
                **self._common(),
            )
        )
        return observed, first, last

    def _exact_match(
        self, hash_type: str, value: str, seen: list[tuple[Row, list[HashMatch]]]
    ) -> None:
        """MD5/SHA-256: a STIX pattern a receiver matches by equality."""
        key = EXACT_HASH_KEYS[hash_type]
        rows = [row for row, _ in seen]
        file_obj = self.add(stix2.File(hashes={key: value}))
        where, services = self._where_seen(rows)
        observed, first, last = self._observed(hash_type, value, rows, [file_obj.id, *where])
        about = match_description(hash_type, value, seen)
        quoted = key if key.isalnum() else f"'{key}'"
        ind = self.indicator(
            f"Known-material {hash_type.upper()} hash (matched a hash list)",
            f"[file:hashes.{quoted} = '{_quote(value)}']",
            first,
            about,
            labels=[MATCH_LABEL],
            external_references=bank_references(seen),
        )
        self.add(
            stix2.Sighting(
                id=self._id("sighting", hash_type, value),
                sighting_of_ref=ind.id,
                observed_data_refs=[observed.id],
                where_sighted_refs=services or [self.identity.id],
                first_seen=first,
                last_seen=last,
                count=len(rows),
                description=about,
                **self._common(),
            )
        )

    def _similarity_match(
        self, hash_type: str, value: str, seen: list[tuple[Row, list[HashMatch]]]
    ) -> None:
        """PDQ: a similarity hash has no STIX pattern (equality cannot find a near
        match, and neither a ``hashes`` key nor a ``pattern_type`` outside the STIX
        vocabularies passes both ``stix2.parse(allow_custom=False)`` and the strict
        validator), so the hash and how to match it travel in a ``note`` on where it
        was seen, in a fixed sentence a receiver can parse."""
        rows = [row for row, _ in seen]
        where, services = self._where_seen(rows)
        refs = where
        if where:
            observed, _, _ = self._observed(hash_type, value, rows, where)
            refs = [observed.id, *where]
        self.add(
            stix2.Note(
                id=self._id("note", hash_type, value),
                abstract=f"Known-material {hash_type.upper()} hash (matched a hash list)",
                content=match_description(hash_type, value, seen),
                object_refs=refs or services or [self.identity.id],
                labels=[MATCH_LABEL],
                external_references=bank_references(seen),
                **self._common(),
            )
        )


def match_description(hash_type: str, value: str, seen: list[tuple[Row, list[HashMatch]]]) -> str:
    """The match facts in words: the hash (for PDQ, how to match it), then each
    sighting with the list, version, distance and threshold it matched at."""
    limits = [m.threshold for _, ms in seen for m in ms if m.threshold is not None]
    rule = signal_type(hash_type).match_rule(min(limits) if limits else None)
    head = f"{hash_type.upper()} {value}; {rule}."
    lines = [
        head,
        "Hash of media that matched a list of known child sexual abuse material "
        "(hash only; no media is shared).",
    ]
    for row, matches in seen:
        when = as_utc(row.get("seen_at"))
        at = f" seen {when:%Y-%m-%dT%H:%M:%SZ}" if when else ""
        lines.append(
            f"Sighting {text(row.get('sighting_id'))}{at}: "
            + "; ".join(match_phrase(m) for m in matches)
            + "."
        )
    return "\n".join(lines)


def bank_references(seen: list[tuple[Row, list[HashMatch]]]) -> list[dict[str, str]]:
    """One external reference per list entry that matched: the list is the source,
    the listed hash its id, so a receiver holding the same list can check the claim."""
    refs: dict[tuple[str, str], dict[str, str]] = {}
    for _, matches in seen:
        for m in matches:
            ref = {"source_name": f"hash list {m.bank}", "description": match_phrase(m)}
            if m.listed_hash:
                ref["external_id"] = m.listed_hash
            refs.setdefault((m.bank, m.listed_hash), ref)
    return list(refs.values())


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def customer_values(bundle: CaseBundle) -> set[str]:
    """Lower-cased values partners must never get: the customers' ids and names and
    every identifier the institution holds about them (``source=customers``)."""
    values = {text(r.get("value")) for r in bundle.identifiers if r.get("source") == "customers"}
    for row in bundle.customers:
        values |= {text(row.get("customer_id")), text(row.get("name"))}
    for txn in bundle.transactions:
        values |= {text(txn.get("sender_id")), text(txn.get("sender_name"))}
    return {v.lower() for v in values if v}
