"""Jurisdiction routing: country precedence, offline GeoIP, the YAML agency table."""

from __future__ import annotations

from pathlib import Path

import pytest

from daybreak.model.identifiers import ip_country
from daybreak.tipline.intake import ReportIn
from daybreak.tipline.routing import AgencyTable, RoutingTableError, route


def _r(**kw: object) -> ReportIn:
    return ReportIn.model_validate(
        {"reporter": {"type": "hotline"}, "incident_type": "other", **kw}
    )


ACC = {"service": "s", "account_id": "a"}


def test_country_precedence() -> None:
    table = AgencyTable.load()
    both = _r(victim={"country": "AU", "phone": "+639171234567"})
    assert route(both, table).country == "AU"
    assert route(both, table).basis == "victim_location"
    assert route(_r(victim={"phone": "+447700900123"}), table).basis == "victim_phone"
    acc_loc = _r(reported_accounts=[{**ACC, "country": "TH"}])
    assert (route(acc_loc, table).country, route(acc_loc, table).basis) == (
        "TH",
        "account_location",
    )
    acc_phone = _r(reported_accounts=[{**ACC, "phones": ["+12025550123"]}])
    assert route(acc_phone, table).country == "US"
    assert route(_r(), table).basis == "none"


def test_ip_geolocation_is_offline_and_skips_private_addresses() -> None:
    assert ip_country("10.1.2.3") is None
    assert ip_country("127.0.0.1") is None
    public = ip_country("49.145.0.1")
    assert public is not None and len(public) == 2
    r = _r(
        reported_accounts=[
            {
                **ACC,
                "ip_events": [
                    {"ip": "10.0.0.1", "at": "2026-01-01T00:00:00Z"},
                    {"ip": "49.145.0.1", "at": "2026-01-01T00:00:00Z"},
                ],
            }
        ]
    )
    assert route(r, AgencyTable.load()).country == public
    assert route(r, AgencyTable.load()).basis == "ip"


def test_default_table_names_the_receivers() -> None:
    t = AgencyTable.load()
    assert "AFP" in t.agency_for("AU")
    assert "NCA" in t.agency_for("GB")
    assert "HSI" in t.agency_for("US")
    assert "WCPC" in t.agency_for("PH")
    assert "TICAC" in t.agency_for("TH")
    assert t.agency_for("AT") == "Europol EC3"  # EU member not listed: Europol
    assert "INTERPOL" in t.agency_for(None)


def test_table_is_configurable_and_errors_name_the_file(tmp_path: Path) -> None:
    good = tmp_path / "agencies.yaml"
    good.write_text("default: Hotline X\ncountries:\n  ph: Unit Y\n")
    t = AgencyTable.load(good)
    assert t.agency_for("PH") == "Unit Y"
    assert t.agency_for("FR") == "Hotline X"
    bad = tmp_path / "bad.yaml"
    bad.write_text("countries:\n  PHL: nope\n")
    with pytest.raises(RoutingTableError, match=r"bad\.yaml.*alpha-2"):
        AgencyTable.load(bad)
    with pytest.raises(RoutingTableError, match=r"missing\.yaml"):
        AgencyTable.load(tmp_path / "missing.yaml")
