"""Jurisdiction routing: which country a report points to, and who receives it.

The country comes from, in order of trust: the victim's stated location, the victim's
phone, a reported account's estimated location or phone, then the first public IP of a
reported account looked up in an offline GeoIP table (``geoip2fast``, shipped inside the
package: no network at run time). The country -> agency table is YAML data
(``agencies.yaml`` beside this module by default) so receivers can be changed without
code.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import phonenumbers
import yaml

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


@functools.cache
def _geoip() -> Any:
    with warnings.catch_warnings():
        # geoip2fast's source has invalid escape sequences that warn when first compiled.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        from geoip2fast import GeoIP2Fast  # loads a ~2 MB table once, offline

        return GeoIP2Fast(verbose=False)


def ip_country(ip: str) -> str | None:
    """Country of a public IP from the offline table; None for private/unknown IPs."""
    result = _geoip().lookup(ip)
    code = getattr(result, "country_code", "") or ""
    return code if len(code) == 2 and code.isalpha() else None


def phone_country(e164: str) -> str | None:
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None
    # Unassigned or fictional ranges have no region; the calling code still names one
    # (its main country for shared codes such as +1).
    region: str | None = phonenumbers.region_code_for_number(parsed)
    if not region and parsed.country_code:
        region = phonenumbers.region_code_for_country_code(parsed.country_code)
    return region if region and region != "ZZ" else None


def report_country(report: ReportIn) -> tuple[str | None, str]:
    victim = report.victim
    if victim and victim.country:
        return victim.country, "victim_location"
    if victim and victim.phone and (c := phone_country(victim.phone)):
        return c, "victim_phone"
    for acc in report.reported_accounts:
        if acc.country:
            return acc.country, "account_location"
    for acc in report.reported_accounts:
        for phone in acc.phones:
            if c := phone_country(phone):
                return c, "account_phone"
    for acc in report.reported_accounts:
        for ev in acc.ip_events:
            if c := ip_country(ev.ip):
                return c, "ip"
    return None, "none"


def route(report: ReportIn, table: AgencyTable) -> Route:
    country, basis = report_country(report)
    return Route(country=country, basis=basis, agency=table.agency_for(country))
