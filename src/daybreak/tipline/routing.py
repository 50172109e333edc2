"""Jurisdiction routing: which country a report points to, and who receives it.

The country comes from, in order of trust: the victim's stated location, the victim's
phone, a reported account's estimated location or phone, then the first public IP of a
reported account; what a phone or an IP says about a country is its identifier type's
country hint (:class:`daybreak.model.identifiers.IdentifierType`, the IP's from an offline
GeoIP table: no network at run time). The country -> agency table is YAML data
(``agencies.yaml`` beside this module by default) so receivers can be changed without
code.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from daybreak.model.identifiers import TYPES, IdentifierKind
from daybreak.tipline.intake import ReportIn

DEFAULT_TABLE = "agencies.yaml"


class RoutingTableError(ValueError):
    """The agency table file is missing or malformed."""


@dataclass(frozen=True, slots=True)
class AgencyTable:
    countries: dict[str, str]
    eu_members: frozenset[str]
    eu_default: str
    default: str

    def agency_for(self, country: str | None) -> str:
        if country is None:
            return self.default
        code = country.upper()
        if code in self.countries:
            return self.countries[code]
        if code in self.eu_members:
            return self.eu_default
        return self.default

    @classmethod
    def load(cls, path: Path | None = None) -> AgencyTable:
        if path is None:
            text = resources.files("daybreak.tipline").joinpath(DEFAULT_TABLE).read_text("utf-8")
            where = f"daybreak/tipline/{DEFAULT_TABLE}"
        else:
            try:
                text = Path(path).read_text("utf-8")
            except OSError as exc:
                raise RoutingTableError(f"{path}: cannot read agency table ({exc})") from exc
            where = str(path)
        try:
            data: Any = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise RoutingTableError(f"{where}: not valid YAML ({exc})") from exc
        if not isinstance(data, dict) or not isinstance(data.get("countries"), dict):
            raise RoutingTableError(f"{where}: expected a mapping with a 'countries' mapping")
        countries = {str(k).upper(): str(v) for k, v in data["countries"].items()}
        bad = [k for k in countries if len(k) != 2 or not k.isalpha()]
        if bad:
            raise RoutingTableError(f"{where}: 'countries' keys must be ISO alpha-2 codes: {bad}")
        return cls(
            countries=countries,
            eu_members=frozenset(str(c).upper() for c in data.get("eu_members", [])),
            eu_default=str(data.get("eu_default", "Europol EC3")),
            default=str(data.get("default", "INTERPOL")),
        )


@dataclass(frozen=True, slots=True)
class Route:
    country: str | None
    basis: str  # victim_location | victim_phone | account_location | account_phone | ip | none
    agency: str


_PHONE = TYPES[IdentifierKind.PHONE]
_IP = TYPES[IdentifierKind.IP]


def report_country(report: ReportIn) -> tuple[str | None, str]:
    victim = report.victim
    if victim and victim.country:
        return victim.country, "victim_location"
    if victim and victim.phone and (c := _PHONE.country_of(victim.phone)):
        return c, "victim_phone"
    for acc in report.reported_accounts:
        if acc.country:
            return acc.country, "account_location"
    for acc in report.reported_accounts:
        for phone in acc.phones:
            if c := _PHONE.country_of(phone):
                return c, "account_phone"
    for acc in report.reported_accounts:
        for ev in acc.ip_events:
            if c := _IP.country_of(ev.ip):
                return c, "ip"
    return None, "none"


def route(report: ReportIn, table: AgencyTable) -> Route:
    country, basis = report_country(report)
    return Route(country=country, basis=basis, agency=table.agency_for(country))
