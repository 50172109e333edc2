"""The same people across sources: reports, platform events and media sightings."""

from __future__ import annotations

import re

import polars as pl

from daybreak.synth import World

from .conftest import abuse_payments, with_local_hour


def _payer_ids(world: World) -> pl.Series:
    return world.labels.filter(
        (pl.col("subject_type") == "customer") & (pl.col("label") == 1)
    ).get_column("subject_id")


def _payer_accounts(world: World) -> pl.DataFrame:
    return world.identifiers.filter(
        (pl.col("source") == "customers")
        & (pl.col("kind") == "account")
        & pl.col("source_id").is_in(_payer_ids(world).implode())
    )


def test_payers_accounts_are_reported_by_platform_panic_buttons(world: World) -> None:
    reported = world.identifiers.filter(
        (pl.col("source") == "reports") & (pl.col("role") == "reported_account")
    )
    hits = _payer_accounts(world).join(reported, on="value", suffix="_report")
    assert hits.get_column("source_id").n_unique() >= 1
    reports = world.reports.filter(
        pl.col("report_id").is_in(hits.get_column("source_id_report").implode())
    )
    assert (reports.get_column("reporter_type") == "platform").any()
    assert (reports.get_column("incident_type") == "live_streaming_abuse").any()


def test_a_facilitator_handle_and_phone_appear_in_case_reports(bigger_world: World) -> None:
    w = bigger_world
    case_reports = w.links.filter(pl.col("source") == "reports").get_column("record_id")
    tips = w.identifiers.filter(
        (pl.col("source") == "reports") & pl.col("source_id").is_in(case_reports.implode())
    )
    handles = set(tips.filter(pl.col("kind") == "payment_handle").get_column("value"))
    assert handles and handles <= set(abuse_payments(w).get_column("receiver_id"))
    assert tips.filter(pl.col("kind") == "phone").height >= len(handles)


def test_phones_are_valid_and_ips_geolocate_to_their_country(world: World) -> None:
    import warnings

    import phonenumbers

    with warnings.catch_warnings():  # geoip2fast 1.2 has an invalid escape in a regex
        warnings.simplefilter("ignore")
        from geoip2fast import GeoIP2Fast

    phones = world.identifiers.filter(pl.col("kind") == "phone").get_column("value")
    for value in phones.head(300):
        assert phonenumbers.is_valid_number(phonenumbers.parse(value)), value
    geo = GeoIP2Fast()
    sample = world.platform_events.filter(pl.col("ip").is_not_null()).unique("ip").head(300)
    for ip, country in sample.select("ip", "country").iter_rows():
        assert geo.lookup(ip).country_code == country, (ip, country)


def test_media_hashes_are_seen_on_case_accounts(world: World) -> None:
    m = world.media_sightings
    assert m.get_column("hash_value").str.contains(r"^[0-9a-f]+$").all()
    lengths = m.group_by("hash_type").agg(pl.col("hash_value").str.len_chars().unique())
    expected = {"pdq": [64], "md5": [32], "sha256": [64]}
    assert {t: sorted(v) for t, v in lengths.iter_rows()} == expected
    linked = world.links.filter(pl.col("source") == "media_sightings").get_column("record_id")
    case_sightings = m.filter(pl.col("sighting_id").is_in(linked.implode()))
    assert case_sightings.height > 0
    case_accounts = world.links.filter(pl.col("source") == "accounts").get_column("record_id")
    seen_on = case_sightings.select(pl.concat_str("service", pl.lit(":"), "account_id"))
    assert seen_on.to_series().is_in(case_accounts.implode()).all()
    noise = m.filter(~pl.col("sighting_id").is_in(linked.implode()))
    assert noise.height > case_sightings.height


def test_streams_between_payers_and_facilitators_happen_at_payers_night(world: World) -> None:
    linked = world.links.filter(pl.col("source") == "platform_events").get_column("record_id")
    ev = world.platform_events.filter(
        pl.col("event_id").is_in(linked.implode()) & pl.col("event_type").is_in(["stream", "call"])
    )
    assert ev.height > 0
    assert ev.get_column("ended_at").null_count() == 0
    assert (ev.get_column("ended_at") > ev.get_column("started_at")).all()
    owners = _payer_accounts(world).select(
        pl.col("value").str.split(":").list.last().alias("counterparty_account_id"),
        pl.col("source_id").alias("sender_id"),
    )
    shows = ev.join(owners, on="counterparty_account_id").rename({"started_at": "timestamp"})
    local = with_local_hour(shows, world.customers)
    night = ((local.get_column("local_hour") >= 22) | (local.get_column("local_hour") < 6)).mean()
    assert night is not None and float(night) > 0.35  # type: ignore[arg-type]


def test_identifier_values_are_normalised(world: World) -> None:
    ids = world.identifiers
    phones = ids.filter(pl.col("kind") == "phone").get_column("value")
    assert phones.str.contains(r"^\+[1-9]\d{7,14}$").all()
    emails = ids.filter(pl.col("kind") == "email").get_column("value")
    assert emails.str.contains(r"^[a-z0-9.]+@[a-z.]+$").all()
    accounts = ids.filter(pl.col("kind") == "account").get_column("value")
    assert accounts.str.contains(r"^[a-z]+:u[a-z0-9]{10}$").all()
    for value in ids.filter(pl.col("kind") == "ip").get_column("value"):
        assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", value)


def test_everyday_noise_dominates_every_source(world: World) -> None:
    links = world.links
    for source, frame, key in (
        ("reports", world.reports, "report_id"),
        ("platform_events", world.platform_events, "event_id"),
    ):
        linked = links.filter(pl.col("source") == source).height
        assert frame.height > 3 * linked, source
        assert frame.get_column(key).is_unique().all()
