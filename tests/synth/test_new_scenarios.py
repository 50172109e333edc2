"""The further look-alikes (label 0) and kinds of careful payer (label 1) behave as
documented in docs/synthetic-world.md."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from daybreak.synth import Band, Priors, World, generate_world, share_family_name
from daybreak.synth.careful import KINDS
from daybreak.synth.payers import CAREFUL_KINDS

from .conftest import with_local_hour


def _scenario_rows(world: World, customer: str, beneficiary: str) -> pl.DataFrame:
    """Payments from customers of one scenario to beneficiaries of another, with the
    sender's local hour and date."""
    labels = world.labels
    senders = labels.filter(
        (pl.col("subject_type") == "customer") & (pl.col("scenario") == customer)
    ).get_column("subject_id")
    receivers = labels.filter(
        (pl.col("subject_type") == "beneficiary") & (pl.col("scenario") == beneficiary)
    ).get_column("subject_id")
    rows = world.transactions.filter(
        pl.col("sender_id").is_in(senders.implode())
        & pl.col("receiver_id").is_in(receivers.implode())
    )
    assert rows.height > 0, (customer, beneficiary)
    return with_local_hour(rows, world.customers)


def _profile(world: World) -> dict[str, Any]:
    assert world.params is not None
    profile: dict[str, Any] = world.params["profile"]
    return profile


def _behaviour(world: World) -> dict[str, Any]:
    behaviour: dict[str, Any] = _profile(world)["behaviour"]
    return behaviour


def _labels_of(world: World, subject_type: str, scenario: str) -> pl.Series:
    rows = world.labels.filter(
        (pl.col("subject_type") == subject_type) & (pl.col("scenario") == scenario)
    )
    assert rows.height > 0, scenario
    return rows.get_column("label")


@pytest.mark.parametrize(
    ("customer", "beneficiary"),
    [
        ("payroll_firm", "contractor"),
        ("importer", "supplier"),
        ("student_parent", "student"),
        ("private_sponsor", "sponsored"),
        ("in_law_remitter", "in_law"),
        ("gift_giver", "gift_recipient"),
        ("corridor_traveller", "own_account_abroad"),
        ("corridor_traveller", "hotel"),
    ],
)
def test_each_new_lookalike_appears_with_label_zero(
    random_world: World, customer: str, beneficiary: str
) -> None:
    assert (_labels_of(random_world, "customer", customer) == 0).all()
    assert (_labels_of(random_world, "beneficiary", beneficiary) == 0).all()
    assert _scenario_rows(random_world, customer, beneficiary).height >= 5


def test_payroll_runs_monthly_in_office_hours_with_round_fees(random_world: World) -> None:
    pay = _scenario_rows(random_world, "payroll_firm", "contractor")
    assert float(pay.get_column("local_hour").is_between(8, 18).mean()) > 0.95  # type: ignore[arg-type]
    assert float(((pay.get_column("amount") % 50) == 0).mean()) > 0.85  # type: ignore[arg-type]
    # One payroll day per firm and month, however many contractors it pays.
    runs = pay.with_columns(month=pl.col("local_date").dt.month()).group_by("sender_id", "month")
    per_run = runs.agg(
        days=pl.col("local_date").n_unique(), contractors=pl.col("receiver_id").n_unique()
    )
    assert (per_run.get_column("days") == 1).all()
    firms = pay.group_by("sender_id").agg(pl.col("receiver_id").n_unique())
    assert firms.get_column("receiver_id").min() >= 3  # type: ignore[operator]
    assert firms.get_column("receiver_id").max() <= 20  # type: ignore[operator]
    shared = pay.group_by("receiver_id").agg(pl.col("sender_id").n_unique())
    assert shared.get_column("sender_id").max() >= 2  # type: ignore[operator]
    invoices = pay.get_column("reference").str.to_lowercase().str.contains("inv")
    assert float(invoices.mean()) > 0.3  # type: ignore[arg-type]


def test_importers_pay_deposits_and_balances_in_office_hours(random_world: World) -> None:
    pay = _scenario_rows(random_world, "importer", "supplier")
    assert float(pay.get_column("local_hour").is_between(8, 18).mean()) > 0.95  # type: ignore[arg-type]
    refs = pay.get_column("reference")
    assert refs.str.contains("deposit").any() and refs.str.contains("balance").any()
    assert float(pay.get_column("amount").median()) > 100  # type: ignore[arg-type]


def test_student_allowances_are_frequent_small_and_in_the_evening(random_world: World) -> None:
    pay = _scenario_rows(random_world, "student_parent", "student")
    small = pay.filter(pl.col("local_date").dt.day() != 1)  # the monthly rent is on the 1st
    gaps = (
        small.sort("sender_id", "timestamp")
        .with_columns(gap=pl.col("timestamp").diff().over("sender_id").dt.total_hours() / 24)
        .group_by("sender_id")
        .agg(pl.col("gap").median())
    )
    assert float(gaps.get_column("gap").median()) <= 5.5  # type: ignore[arg-type]
    family = _scenario_rows(random_world, "family_remitter", "family")
    assert small.get_column("amount").median() < family.get_column("amount").median() / 2  # type: ignore[operator]
    assert float(small.get_column("local_hour").is_between(17, 23).mean()) > 0.75  # type: ignore[arg-type]
    allowance = set(_behaviour(random_world)["allowance_refs"])
    assert set(small.get_column("reference").drop_nulls()) <= allowance
    pairs = small.select("sender_name", "receiver_name").unique().iter_rows()
    related = [share_family_name(a, b) for a, b in pairs]
    assert sum(related) / len(related) > 0.7


def test_sponsors_pay_a_fixed_sum_on_a_fixed_day(random_world: World) -> None:
    pay = _scenario_rows(random_world, "private_sponsor", "sponsored")
    per = pay.group_by("sender_id").agg(
        amounts=pl.col("amount").n_unique(), days=pl.col("local_date").dt.day().n_unique()
    )
    assert (per.get_column("amounts") == 1).all()
    assert (per.get_column("days") == 1).all()
    hubs = pay.group_by("receiver_id").agg(pl.col("sender_id").n_unique())
    assert hubs.get_column("sender_id").max() >= 2  # type: ignore[operator]


def test_in_laws_share_a_name_with_each_other_not_with_the_sender(random_world: World) -> None:
    pay = _scenario_rows(random_world, "in_law_remitter", "in_law")
    pairs = pay.select("sender_name", "receiver_name").unique().iter_rows()
    tied = [share_family_name(a, b) for a, b in pairs]
    assert sum(tied) / len(tied) < 0.1
    kin = pay.group_by("sender_id").agg(pl.col("receiver_name").unique())
    several = [names for names in kin.get_column("receiver_name").to_list() if len(names) >= 2]
    assert several
    among = [share_family_name(names[0], names[1]) for names in several]
    assert sum(among) / len(among) > 0.5


def test_gift_givers_pay_now_and_then_around_holidays(random_world: World) -> None:
    pay = _scenario_rows(random_world, "gift_giver", "gift_recipient")
    per_year = pay.group_by("sender_id").len().get_column("len")
    assert float(per_year.median()) <= 12  # type: ignore[arg-type]
    december = pay.get_column("local_date").dt.month() == 12
    assert float(december.mean()) > 0.15  # type: ignore[arg-type]


def test_travellers_spend_abroad_and_pay_their_own_account(random_world: World) -> None:
    own = _scenario_rows(random_world, "corridor_traveller", "own_account_abroad")
    pairs = own.select("sender_name", "receiver_name").unique().iter_rows()
    assert all(share_family_name(a, b) for a, b in pairs)
    travellers = own.get_column("sender_id").unique()
    abroad = random_world.transactions.filter(
        pl.col("sender_id").is_in(travellers.implode())
        & (pl.col("channel").is_in(["card", "cash"]))
        & pl.col("receiver_country").is_in(own.get_column("receiver_country").unique().implode())
    )
    assert abroad.height >= 5 * travellers.len()
    flights = random_world.transactions.filter(
        pl.col("sender_id").is_in(travellers.implode())
        & pl.col("merchant_category").is_in(["3008", "3034", "3099", "3136", "3260", "4511"])
    )
    assert flights.get_column("sender_id").n_unique() == travellers.len()


@pytest.fixture(scope="module", params=sorted(KINDS))
def kind_world(request: pytest.FixtureRequest) -> tuple[str, World]:
    """A world whose payers are mostly careful payers of one kind."""
    kind: str = request.param
    priors = Priors().restrict(
        careful_kinds=(kind,), careful_share=Band(0.9, 0.9), prevalence=Band(0.02, 0.02)
    )
    return kind, generate_world(2000, 6, 3, priors=priors)


def _kind_payments(world: World, kind: str) -> pl.DataFrame:
    payers = world.labels.filter(pl.col("scenario") == kind)
    assert payers.height >= 10
    assert (payers.get_column("label") == 1).all()
    assert payers.get_column("case_id").null_count() == 0
    pay = world.transactions.join(
        world.labels.filter(pl.col("subject_type") == "beneficiary").select(
            pl.col("subject_id").alias("receiver_id"), "scenario", "label"
        ),
        on="receiver_id",
    ).filter(
        pl.col("sender_id").is_in(payers.get_column("subject_id").implode())
        & (pl.col("scenario") == "facilitator")
    )
    assert (pay.get_column("label") == 1).all()
    return with_local_hour(pay, world.customers)


def test_careful_kinds_are_the_documented_ones() -> None:
    assert set(KINDS) == set(CAREFUL_KINDS) - {"careful"}


def test_each_careful_kind_behaves_as_documented(kind_world: tuple[str, World]) -> None:
    kind, world = kind_world
    pay = _kind_payments(world, kind)
    hour = pay.get_column("local_hour")
    night = float(((hour >= 22) | (hour < 6)).mean())  # type: ignore[arg-type]
    per_payer = pay.group_by("sender_id").agg(
        receivers=pl.col("receiver_id").n_unique(), count=pl.len()
    )
    refs = pay.get_column("reference")
    if kind == "careful_steady":
        assert (per_payer.get_column("receivers") == 1).all()
        assert float(hour.is_between(8, 18).mean()) > 0.95  # type: ignore[arg-type]
        assert float(refs.is_null().mean()) > 0.85  # type: ignore[arg-type]
        assert set(pay.get_column("channel")) <= {"remittance", "wallet"}
        gaps = (
            pay.sort("sender_id", "timestamp")
            .with_columns(gap=pl.col("timestamp").diff().over("sender_id").dt.total_hours() / 24)
            .get_column("gap")
            .drop_nulls()
        )
        assert float(gaps.quantile(0.05)) >= 8 and float(gaps.quantile(0.95)) <= 32  # type: ignore[arg-type]
    elif kind == "careful_split_wallets":
        assert set(pay.get_column("channel")) == {"wallet"}
        assert (per_payer.get_column("receivers") == 2).all()
        # Each payment is two transfers minutes apart, to two wallets of one family.
        pairs = pay.sort("sender_id", "timestamp").with_columns(
            gap=pl.col("timestamp").diff().over("sender_id").dt.total_minutes(),
            other=pl.col("receiver_name").shift().over("sender_id"),
        )
        close = pairs.filter(pl.col("gap") < 45)
        assert close.height >= pay.height * 0.4
        names = close.select("receiver_name", "other").iter_rows()
        assert all(share_family_name(a, b) for a, b in names)
        assert night < 0.35
    elif kind == "careful_crypto":
        assert set(pay.get_column("channel")) == {"crypto"}
        assert refs.null_count() == pay.height
        assert float(((pay.get_column("amount") % 1) != 0).mean()) > 0.9  # type: ignore[arg-type]
    else:
        assert kind == "careful_family_mimic"
        assert (per_payer.get_column("receivers") == 1).all()
        family = set(_behaviour(world)["family_refs"])
        assert set(refs.drop_nulls()) <= family
        assert float(refs.is_not_null().mean()) > 0.5  # type: ignore[arg-type]
        assert night < 0.25
        pairs = pay.select("sender_name", "receiver_name").unique().iter_rows()
        assert not any(share_family_name(a, b) for a, b in pairs)
        bold = _behaviour(world)["payer_median"] * _profile(world)["amount_scale"]
        assert float(pay.get_column("amount").median()) > bold  # type: ignore[arg-type]
