"""The statistical shape of the world, asserted against payments-indicators.md."""

from __future__ import annotations

import polars as pl
import pytest

from daybreak.synth import World, share_family_name

from .conftest import abuse_payments, beneficiary_scenarios, with_local_hour

CORRIDOR_BENIGN = ("family", "freelancer", "charity", "romance")


def _night_share(frame: pl.DataFrame) -> float:
    hour = frame.get_column("local_hour")
    return float(((hour >= 22) | (hour < 6)).mean())  # type: ignore[operator]


def test_abuse_payments_are_markedly_more_often_at_night(world: World) -> None:
    abuse = with_local_hour(abuse_payments(world), world.customers)
    benign = with_local_hour(
        world.transactions.join(beneficiary_scenarios(world), on="receiver_id").filter(
            pl.col("scenario").is_in(CORRIDOR_BENIGN)
        ),
        world.customers,
    )
    assert abuse.height >= 100 and benign.height >= 100
    night_abuse, night_benign = _night_share(abuse), _night_share(benign)
    assert night_abuse > 0.4, night_abuse
    assert night_abuse > 3 * night_benign, (night_abuse, night_benign)


def test_abuse_amounts_sit_in_the_published_bands(world: World) -> None:
    # AUSTRAC: AUD 10-100 typical, most under 500; AIC T&I 639: median AUD 51.
    amount = abuse_payments(world).get_column("amount")
    median = float(amount.median())  # type: ignore[arg-type]
    assert 35 <= median <= 75, median
    typical = float(amount.is_between(10, 100).mean())  # type: ignore[arg-type]
    assert typical >= 0.6, typical
    assert float((amount < 500).mean()) >= 0.95  # type: ignore[arg-type]
    assert float(amount.min()) >= 5  # type: ignore[arg-type]


def test_family_remittances_are_larger_than_abuse_payments(world: World) -> None:
    family = world.transactions.join(beneficiary_scenarios(world), on="receiver_id").filter(
        pl.col("scenario") == "family"
    )
    assert (
        family.get_column("amount").median()
        > 2
        * abuse_payments(world)
        .get_column(  # type: ignore[operator]
            "amount"
        )
        .median()
    )


def _shared_surname_rate(frame: pl.DataFrame) -> float:
    pairs = frame.select("sender_name", "receiver_name").iter_rows()
    hits = [share_family_name(a, b) for a, b in pairs]
    return sum(hits) / len(hits)


def test_family_remittances_mostly_share_a_surname_abuse_payments_do_not(world: World) -> None:
    family = world.transactions.join(beneficiary_scenarios(world), on="receiver_id").filter(
        pl.col("scenario") == "family"
    )
    assert family.height >= 100
    assert _shared_surname_rate(family) > 0.7
    assert _shared_surname_rate(abuse_payments(world)) < 0.05


def test_family_receiver_names_need_a_proper_comparison(world: World) -> None:
    """Plain last-word equality misses many family ties that the name comparison finds."""
    family = world.transactions.join(beneficiary_scenarios(world), on="receiver_id").filter(
        pl.col("scenario") == "family"
    )
    naive = family.select(
        (
            pl.col("sender_name").str.split(" ").list.last()
            == pl.col("receiver_name").str.split(" ").list.last()
        ).mean()
    ).item()
    assert naive < _shared_surname_rate(family) - 0.15


def test_abuse_payments_use_risky_channels_and_cover_words(world: World) -> None:
    abuse = abuse_payments(world)
    channels = set(abuse.get_column("channel").unique().to_list())
    assert channels <= {"remittance", "wallet", "p2p", "crypto", "wire"}
    assert {"remittance", "wallet"} <= channels
    refs = abuse.get_column("reference").drop_nulls().str.to_lowercase()
    cover = refs.str.contains("school fees|gift|medical bills|uniform|accommodation|family")
    assert float(cover.sum()) / abuse.height > 0.2


def test_facilitators_are_shared_and_payers_pay_several(world: World) -> None:
    abuse = abuse_payments(world)
    senders_per_fac = abuse.group_by("receiver_id").agg(pl.col("sender_id").n_unique())
    assert senders_per_fac.get_column("sender_id").max() >= 3  # type: ignore[operator]
    facs_per_payer = abuse.group_by("sender_id").agg(pl.col("receiver_id").n_unique())
    assert facs_per_payer.get_column("receiver_id").max() >= 3  # type: ignore[operator]


def test_careful_payers_show_fewer_signs(world: World) -> None:
    careful = world.labels.filter(pl.col("scenario") == "careful").get_column("subject_id")
    abuse = with_local_hour(abuse_payments(world), world.customers)
    is_careful = abuse.get_column("sender_id").is_in(careful.implode())
    assert is_careful.any() and (~is_careful).any()
    assert _night_share(abuse.filter(is_careful)) < _night_share(abuse.filter(~is_careful)) / 2
    # One facilitator (at most their wallet and bank handle) and hardly any cover words.
    per_payer = abuse.group_by("sender_id").agg(pl.col("receiver_id").n_unique())
    careful_max = per_payer.filter(pl.col("sender_id").is_in(careful.implode()))
    assert careful_max.get_column("receiver_id").max() <= 2  # type: ignore[operator]
    assert per_payer.get_column("receiver_id").max() >= 3  # type: ignore[operator]
    cover = pl.col("reference").str.to_lowercase().str.contains("school|gift|medical|uniform")
    share = abuse.group_by(is_careful.alias("careful")).agg(cover.fill_null(False).mean())
    by = dict(share.iter_rows())
    assert by[True] < by[False] / 3, by


def test_related_purchases_are_more_common_among_payers(world: World) -> None:
    """VPN/software (5734, 5817, 4816) from the same vendors: many payers, few others."""
    customers = world.labels.filter(pl.col("subject_type") == "customer")
    payers = customers.filter(pl.col("label") == 1).get_column("subject_id")
    vendors = world.transactions.filter(
        pl.col("receiver_name").is_in(["ShieldTunnel VPN", "PrivaNet", "GhostLine VPN"])
    )
    buyers = set(vendors.get_column("sender_id"))
    payer_share = len(buyers & set(payers)) / payers.len()
    others = customers.height - payers.len()
    other_share = len(buyers - set(payers)) / others
    assert payer_share >= 0.3, payer_share
    assert 0 < other_share < payer_share / 4, (other_share, payer_share)
    assert set(vendors.get_column("merchant_category")) <= {"5734", "5817", "4816"}


def test_known_offenders_have_linked_second_accounts() -> None:
    from daybreak.synth import generate_world

    w = generate_world(6000, 2, 5, "default")
    ko = w.customers.filter(pl.col("known_offender").fill_null(False))
    labels = w.labels.filter(pl.col("subject_type") == "customer")
    ko_payers = labels.filter(pl.col("subject_id").is_in(ko.get_column("customer_id").implode()))
    assert ko_payers.filter(pl.col("label") == 1).height >= 1
    linked = labels.filter(pl.col("scenario") == "known_offender_linked_account")
    assert linked.height >= 1
    for account, case in linked.select("subject_id", "case_id").iter_rows():
        second = w.customers.filter(pl.col("customer_id") == account).row(0, named=True)
        assert second["known_offender"] is not True  # the bank has not connected them
        mains = w.customers.filter(
            pl.col("customer_id").is_in(
                labels.filter(pl.col("case_id") == case).get_column("subject_id").implode()
            )
            & pl.col("known_offender").fill_null(False)
            & (pl.col("birth_year") == second["birth_year"])
        )
        assert any(share_family_name(n, second["name"]) for n in mains.get_column("name"))


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Maria C. Santos", "SANTOS, Maria Cruz", True),
        ("Juan dela Cruz", "DELACRUZ, Ana", True),
        ("Juan García López", "GARCIA, Rosa", True),
        ("Somchai Srisuk", "Wannee Srisook", True),
        ("Peter Smith", "Maria Santos", False),
        ("Maria Santos", "Maria Reyes", False),
    ],
)
def test_family_name_comparison(a: str, b: str, same: bool) -> None:
    assert share_family_name(a, b) is same


def test_escalating_payers_pay_more_and_more_often(bigger_world: World) -> None:
    """AUSTRAC / AIC 589: amounts rise and gaps shrink over successive payments."""
    w = bigger_world
    escalating = w.labels.filter(pl.col("scenario") == "escalation").get_column("subject_id")
    pays = (
        abuse_payments(w)
        .filter(pl.col("sender_id").is_in(escalating.implode()))
        .sort("sender_id", "timestamp")
        .with_columns(
            half=(pl.int_range(pl.len()).over("sender_id") * 2 >= pl.len().over("sender_id")),
            gap=pl.col("timestamp").diff().over("sender_id").dt.total_hours(),
        )
    )
    by_half = pays.group_by("sender_id", "half").agg(
        pl.col("amount").median(), pl.col("gap").median()
    )
    wide = by_half.pivot("half", index="sender_id", values=["amount", "gap"]).drop_nulls()
    assert wide.height >= 3
    assert (wide.get_column("amount_true") > wide.get_column("amount_false")).mean() >= 0.8  # type: ignore[operator]
    assert (wide.get_column("gap_true") < wide.get_column("gap_false")).mean() >= 0.6  # type: ignore[operator]


def test_family_remittances_follow_payday_and_payroll_month_end(world: World) -> None:
    """Default profile: fortnightly Thursday paydays; freelancers paid at month end."""
    scen = world.transactions.join(beneficiary_scenarios(world), on="receiver_id")
    local = with_local_hour(scen, world.customers).with_columns(
        local=pl.col("timestamp").dt.convert_time_zone("Australia/Sydney")
    )
    family = local.filter(pl.col("scenario") == "family")
    near_payday = family.get_column("local").dt.weekday().is_in([4, 5, 6]).mean()
    assert near_payday is not None and float(near_payday) > 0.7  # type: ignore[arg-type]
    abuse = local.filter(pl.col("scenario") == "facilitator")
    abuse_share = abuse.get_column("local").dt.weekday().is_in([4, 5, 6]).mean()
    assert abuse_share is not None and float(abuse_share) < 0.6  # type: ignore[arg-type]
    payroll = local.filter(pl.col("scenario") == "freelancer").get_column("local").dt.day()
    assert float((payroll >= 25).mean()) > 0.8  # type: ignore[arg-type]
