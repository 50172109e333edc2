"""Financial sextortion and its look-alikes in the synthetic world: the draw, the
behaviours the bands set, the ties between minors and payers, and the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from daybreak.cli.main import app
from daybreak.schema import read_table
from daybreak.synth import World, generate_world
from daybreak.synth.grooming import GroomingPriors
from daybreak.synth.priors import Band
from daybreak.synth.sextortion import PAIR, SextortionPriors


def _world(seed: int = 4, priors: SextortionPriors | None = None) -> World:
    return generate_world(1000, 3, seed, sextortion_priors=priors or SextortionPriors())


def _ring_events(w: World) -> pl.DataFrame:
    assert w.account_labels is not None
    cases = w.account_labels.filter(pl.col("label") == 1)["case_id"].unique().to_list()
    ids = w.links.filter((pl.col("source") == "platform_events") & pl.col("case_id").is_in(cases))[
        "record_id"
    ]
    return w.platform_events.filter(pl.col("event_id").is_in(ids.implode()))


def _ring_payments(w: World) -> pl.DataFrame:
    assert w.account_labels is not None
    pairs = w.account_labels.filter((pl.col("subject_type") == PAIR) & (pl.col("label") == 1))
    keys = pairs["subject_id"].implode()
    return w.transactions.filter((pl.col("sender_id") + ">" + pl.col("receiver_id")).is_in(keys))


def test_same_seed_same_world_and_the_draw_is_recorded() -> None:
    a, b = _world(), _world()
    assert a.platform_events.equals(b.platform_events)
    assert a.transactions.equals(b.transactions)
    assert a.params is not None and a.params["sextortion"] == SextortionPriors().draw(4)
    assert not _world(5).platform_events.equals(a.platform_events)


def test_the_bands_set_the_rings_behaviour() -> None:
    no_calls = _world(priors=replace(SextortionPriors(), call_share=Band(0.0, 0.0)))
    assert _ring_events(no_calls).filter(pl.col("event_type") == "call").height == 0
    calls = _world(priors=replace(SextortionPriors(), call_share=Band(1.0, 1.0)))
    ring = _ring_events(calls)
    assert ring.filter(pl.col("event_type") == "call").height > 0
    once = _world(priors=replace(SextortionPriors(), single_payment_share=Band(1.0, 1.0)))
    per_family = _ring_payments(once).group_by("sender_id", "receiver_id").len()
    assert per_family["len"].max() == 1
    assert once.account_labels is not None
    ring_pairs = once.account_labels.filter(pl.col("label") == 1)
    assert set(ring_pairs["scenario"].to_list()) <= {
        "sextortion_single_payment", "sextortion_no_call", "sextortion_aged_account"}  # fmt: skip


def test_every_ring_handle_is_paid_abroad_by_several_families_after_a_contact() -> None:
    w = _world()
    pays = _ring_payments(w)
    assert (pays["receiver_country"] != pays["sender_country"]).all()
    assert set(pays["channel"].to_list()) <= {"wallet", "p2p", "remittance"}
    families = pays.group_by("receiver_id").agg(pl.col("sender_id").n_unique())
    assert families["sender_id"].max() >= 2
    # each paying family's teenager was contacted before the first payment
    first_pay = pays.group_by("sender_id").agg(pl.col("timestamp").min())
    assert w.platform_accounts is not None
    teens = w.platform_accounts.filter(pl.col("is_minor")).select(
        (pl.col("service") + ":" + pl.col("account_id")).alias("value"), "account_id"
    )
    tied = w.identifiers.filter(pl.col("kind") == "account").join(teens, on="value")
    contact = (
        _ring_events(w)
        .join(
            tied.select("source_id", pl.col("account_id").alias("counterparty_account_id")),
            on="counterparty_account_id",
        )
        .group_by("source_id")
        .agg(pl.col("started_at").min())
    )
    joined = first_pay.join(contact, left_on="sender_id", right_on="source_id")
    assert joined.height == first_pay.height
    assert (joined["started_at"] < joined["timestamp"]).all()


def _tied_minors(w: World) -> pl.DataFrame:
    """(customer, minor's account id) of the teenagers registered to a customer."""
    assert w.platform_accounts is not None
    teens = w.platform_accounts.filter(pl.col("is_minor")).select(
        (pl.col("service") + ":" + pl.col("account_id")).alias("value"), "account_id"
    )
    ids = w.identifiers.filter(pl.col("kind") == "account")
    return ids.join(teens, on="value").select("source_id", "account_id")


def _unplanted_payees_abroad(w: World, families: pl.Series) -> int:
    assert w.account_labels is not None
    planted = w.account_labels.filter(pl.col("subject_type") == PAIR)["subject_id"].implode()
    pays = w.transactions.filter(
        pl.col("sender_id").is_in(families.implode())
        & (pl.col("receiver_country") != pl.col("sender_country"))
        & pl.col("channel").is_in(["wallet", "p2p", "remittance"])
        & ~(pl.col("sender_id") + ">" + pl.col("receiver_id")).is_in(planted)
    )
    return pays.select("sender_id", "receiver_id").n_unique()


def test_background_strangers_and_payees_abroad_reach_tied_families_unlinked() -> None:
    """The background: strangers befriend tied teenagers and families pay new handles
    abroad, drawn independently and never labelled (the coincidences the detector must
    not alert on)."""
    quiet = replace(
        SextortionPriors(),
        stranger_contact_share=Band(0.0, 0.0),
        handle_abroad_share=Band(0.0, 0.0),
    )
    busy = replace(quiet, stranger_contact_share=Band(1.0, 1.0), handle_abroad_share=Band(1.0, 1.0))
    w0, w1 = _world(priors=quiet), _world(priors=busy)
    tied = _tied_minors(w1)
    assert tied.height >= 0.1 * 1000  # about TEEN_SHARE of the customers, quiet or busy
    assert tied.height == _tied_minors(w0).height
    # one new payee abroad per family, in no planted pair
    extra = _unplanted_payees_abroad(w1, tied["source_id"]) - _unplanted_payees_abroad(
        w0, tied["source_id"]
    )
    assert extra == tied.height

    # a stranger's friend request for every tied teenager, in no case
    def requests(w: World) -> int:
        minors = _tied_minors(w)["account_id"].implode()
        fr = w.platform_events.filter(pl.col("event_type") == "friend_request")
        return fr.filter(
            pl.col("account_id").is_in(minors) | pl.col("counterparty_account_id").is_in(minors)
        ).height

    assert requests(w1) - requests(w0) == tied.height
    assert w0.account_labels is not None and w1.account_labels is not None
    assert w1.account_labels.equals(w0.account_labels)


def test_with_grooming_too_the_cases_do_not_collide() -> None:
    w = generate_world(1000, 3, 4, grooming_priors=GroomingPriors(),
                       sextortion_priors=SextortionPriors())  # fmt: skip
    assert w.account_labels is not None
    groomers = w.account_labels.filter(pl.col("subject_type") == "account")["case_id"]
    rings = w.account_labels.filter(pl.col("subject_type") == PAIR)["case_id"]
    assert groomers.drop_nulls().len() > 0 and rings.drop_nulls().len() > 0
    assert not set(groomers.drop_nulls().to_list()) & set(rings.drop_nulls().to_list())
    payers = w.labels.filter(pl.col("label") == 1)["case_id"].drop_nulls().unique().to_list()
    assert not set(payers) & set(rings.drop_nulls().to_list())


def test_synth_cli_sextortion_writes_the_pairs_and_the_draw(tmp_path: Path) -> None:
    out = tmp_path / "world"
    args = ["synth", "--out", str(out), "--customers", "600", "--months", "2", "--seed", "3",
            "--sextortion", "--format", "csv"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    accounts = read_table(out / "platform_accounts.csv", "platform_accounts").frame
    assert accounts.filter(pl.col("is_minor")).height > 0
    labels = pl.read_csv(out / "truth" / "account_labels.csv")
    assert set(labels["subject_type"].to_list()) == {PAIR}
    assert labels["label"].sum() > 0
    params = json.loads((out / "truth" / "params.json").read_text())
    assert "rings_per_10k" in params["sextortion"]
