"""A STIX 2.1 bundle for a case, for hotlines and threat-intel partners.

Objects: the reporting organisation and the services where media was seen
(``identity``), a TLP ``marking-definition`` on
every object we create, observables (``file`` with MD5/SHA-256 and PDQ under the custom
hash key ``x_pdq``, ``url``, ``email-addr``, ``user-account``, ``ipv4-addr``/``ipv6-addr``),
``indicator`` objects for hashes and URLs, ``observed-data`` + ``sighting`` for each
media sighting, and a ``grouping`` that is the case. Identifiers of beneficiaries and
reported accounts are shared; the institution's own customers (payers) are not. Valid under ``stix2-validator``
in strict mode (no custom properties: the service of an account is part of its
``user_id``, ``service:account``).

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
from datetime import datetime
from typing import Any

import stix2

from daybreak.exporters.base import Exporter, ValidationProblem
from daybreak.exporters.bundle import CaseBundle, Row, as_utc, text, unique
from daybreak.exporters.narrative import partner_narrative
from daybreak.exporters.parties import case_parties, reported_accounts

TLP = {
    "clear": stix2.TLP_WHITE,
    "white": stix2.TLP_WHITE,
    "green": stix2.TLP_GREEN,
    "amber": stix2.TLP_AMBER,
    "red": stix2.TLP_RED,
}
HASH_KEYS = {"md5": "MD5", "sha256": "SHA-256", "pdq": "x_pdq"}
ACCOUNT_TYPES = {"facebook", "skype", "twitter", "openid", "ldap", "nis", "radius", "tacacs"}


class StixExporter(Exporter):
    name = "stix"
    media_type = "application/stix+json;version=2.1"
    suffix = "json"
    validates_against = "stix2-validator (STIX 2.1, strict)"

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
        problems = []
        for r in results:
            for item in [*r.errors, *r.warnings]:
                problems.append(ValidationProblem(str(r.object_id or "bundle"), str(item)))
            if not r.is_valid and not (r.errors or r.warnings):
                problems.append(ValidationProblem(str(r.object_id or "bundle"), "invalid"))
        return problems

    def export(self, bundle: CaseBundle) -> bytes:
        build = _Builder(bundle)
        return build.run().encode("utf-8")


class _Builder:
    def __init__(self, bundle: CaseBundle) -> None:
        self.b = bundle
        self.now = as_utc(bundle.generated_at)
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

    def account(self, value: str, login: str = "") -> Any:
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

    def ip(self, value: str) -> Any | None:
        try:
            addr = ipaddress.ip_address(value)
        except ValueError:
            return None
        cls = stix2.IPv4Address if addr.version == 4 else stix2.IPv6Address
        return self.add(cls(value=str(addr)))

    def indicator(self, name: str, pattern: str, first: datetime, about: str) -> Any:
        return self.add(
            stix2.Indicator(
                id=self._id("indicator", pattern),
                name=name,
                description=about,
                pattern=pattern,
                pattern_type="stix",
                valid_from=first,
                indicator_types=["malicious-activity"],
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
            name=self.b.case.title or f"Daybreak case {self.b.case.case_id}",
            description=partner_narrative(self.b),
            context="suspicious-activity",
            object_refs=refs or [self.identity.id],
            external_references=[{"source_name": "daybreak", "external_id": self.b.case.case_id}],
            **self._common(),
        )
        objects = [self.tlp, self.identity, *self.objects.values(), grouping]
        bundle = stix2.Bundle(objects=objects, id=self._id("bundle", "b"), allow_custom=True)
        return str(bundle.serialize(pretty=True))

    def _parties(self) -> None:
        # Beneficiaries only: payers are the institution's customers, whose data goes
        # to the FIU (goAML) under its legal gateway, not to threat-intel partners.
        _, beneficiaries = case_parties(self.b)
        for party in beneficiaries.values():
            for email in party.emails:
                self.add(stix2.EmailAddress(value=email))
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
                    self.add(stix2.EmailAddress(value=email))
                for seen in party.ips.values():
                    self.ip(seen.ip)
                for url in party.urls:
                    self.add(stix2.URL(value=url))
                    self.indicator(
                        f"URL named in report {report_id}",
                        f"[url:value = '{_quote(url)}']",
                        first,  # type: ignore[arg-type]
                        f"URL reported to {self.org_name} (Daybreak report {report_id}).",
                    )

    def _media(self) -> None:
        groups: defaultdict[tuple[str, str], list[Row]] = defaultdict(list)
        for m in self.b.media_sightings:
            groups[(text(m.get("hash_type")).lower(), text(m.get("hash_value")))].append(m)
        for (hash_type, value), rows in sorted(groups.items()):
            key = HASH_KEYS.get(hash_type)
            if key is None or not value:
                continue
            file_obj = self.add(stix2.File(hashes={key: value}, allow_custom=True))
            times = sorted(t for t in (as_utc(r.get("seen_at")) for r in rows) if t is not None)
            first, last = (times[0], times[-1]) if times else (self.now, self.now)
            quoted = key if key == "MD5" or key.startswith("x_") else f"'{key}'"
            ind = self.indicator(
                f"Known-material {hash_type.upper()} hash",
                f"[file:hashes.{quoted} = '{_quote(value)}']",
                first,  # type: ignore[arg-type]
                "Hash of media matching a list of known child sexual abuse material "
                "(hash only; no media is shared).",
            )
            refs = [file_obj.id]
            for url in unique(text(r.get("location")) for r in rows):
                if url.startswith(("http://", "https://")):
                    refs.append(self.add(stix2.URL(value=url)).id)
            where = []
            for r in rows:
                service = text(r.get("service"))
                acc = text(r.get("account_id"))
                if acc:
                    refs.append(self.account(f"{service}:{acc}").id)
                if service:
                    where.append(self.service(service).id)
            observed = self.add(
                stix2.ObservedData(
                    id=self._id("observed-data", hash_type, value),
                    first_observed=first,
                    last_observed=last,
                    number_observed=len(rows),
                    object_refs=unique(refs),
                    **self._common(),
                )
            )
            self.add(
                stix2.Sighting(
                    id=self._id("sighting", hash_type, value),
                    sighting_of_ref=ind.id,
                    observed_data_refs=[observed.id],
                    where_sighted_refs=unique(where) or [self.identity.id],
                    first_seen=first,
                    last_seen=last,
                    count=len(rows),
                    **self._common(),
                )
            )


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
