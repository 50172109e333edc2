"""The grooming behaviour and its look-alikes in the synthetic world, and the
platform_accounts table every world now has."""

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


def _groomed(seed: int = 4, priors: GroomingPriors | None = None) -> World:
    return generate_world(800, 3, seed, grooming_priors=priors or GroomingPriors())


def _keys(frame: pl.DataFrame, service: str = "service", account: str = "account_id") -> pl.Series:
    return frame[service] + ":" + frame[account]


def test_same_seed_same_world_and_the_draw_is_recorded() -> None:
    a, b = _groomed(), _groomed()
    assert a.platform_events.equals(b.platform_events)
    assert a.platform_accounts is not None and b.platform_accounts is not None
    assert a.platform_accounts.equals(b.platform_accounts)
    assert a.params is not None and set(a.params["grooming"]) == set(GroomingPriors().draw(4))
    assert not _groomed(5).platform_events.equals(a.platform_events)


def test_groomers_reach_out_to_minors_who_do_not_know_each_other() -> None:
    w = _groomed(priors=replace(GroomingPriors(), snowball_share=Band(0.0, 0.0)))
    assert w.platform_accounts is not None and w.account_labels is not None
    minors = set(_keys(w.platform_accounts.filter(pl.col("is_minor")))).__contains__
    ev = w.platform_events.with_columns(
        src=_keys(w.platform_events),
        dst=pl.col("service") + ":" + pl.col("counterparty_account_id"),
    )
    groomers = w.account_labels.filter(pl.col("label") == 1)["subject_id"].to_list()
    requests = ev.filter((pl.col("event_type") == "friend_request") & pl.col("src").is_in(groomers))
    assert requests.height >= 3 * len(groomers)
    assert all(minors(d) for d in requests["dst"].to_list())
    # friendships among minors exist, but few among one groomer's targets
    among = ev.filter(pl.col("src").map_elements(minors, return_dtype=pl.Boolean)
                      & pl.col("dst").map_elements(minors, return_dtype=pl.Boolean))  # fmt: skip
    assert among.height > 1000
    friends = set(zip(among["src"].to_list(), among["dst"].to_list(), strict=True))
    linked = total = 0
    for g in groomers:
        targets = set(requests.filter(pl.col("src") == g)["dst"].to_list())
        total += len(targets)
        linked += sum(any((t, u) in friends or (u, t) in friends for u in targets) for t in targets)
    assert linked <= 0.25 * total


def test_lookalikes_have_their_shapes() -> None:
    w = _groomed()
    assert w.platform_accounts is not None and w.account_labels is not None
    facts = w.platform_accounts.with_columns(subject_id=_keys(w.platform_accounts))
    lab = w.account_labels.join(facts, on="subject_id")
    start = pl.datetime(2025, 1, 1, time_zone="UTC")
    old = lab.filter(pl.col("created_at") < start - pl.duration(days=150))["scenario"]
    assert {"teacher_coach", "family_member", "gaming_friend", "popular_creator"} <= set(
        old.to_list()
    )
    creators = lab.filter(pl.col("scenario") == "popular_creator")["subject_id"].to_list()
    ev = w.platform_events.with_columns(
        dst=pl.col("service") + ":" + pl.col("counterparty_account_id")
    )
    inbound = ev.filter((pl.col("event_type") == "friend_request") & pl.col("dst").is_in(creators))
    assert inbound.height >= 40 * len(creators)
    # a recreated groomer account shares the device of an earlier one on the same service
    re = lab.filter(pl.col("scenario") == "groomer_recreated")
    if re.height:
        acting = w.platform_events.with_columns(key=_keys(w.platform_events))
        dev = acting.filter(pl.col("key") == re["subject_id"][0])["device_id"][0]
        same = acting.filter(pl.col("device_id") == dev)["key"].unique()
        assert same.len() >= 2


def test_synth_cli_grooming_writes_accounts_and_their_labels(tmp_path: Path) -> None:
    out = tmp_path / "world"
    args = ["synth", "--out", str(out), "--customers", "300", "--months", "2", "--seed", "3",
            "--grooming", "--format", "csv"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    accounts = read_table(out / "platform_accounts.csv", "platform_accounts").frame
    assert accounts.filter(pl.col("is_minor")).height >= 2000
    labels = pl.read_csv(out / "truth" / "account_labels.csv")
    assert set(labels["subject_type"].to_list()) == {"account"}
    assert set(labels["subject_id"].to_list()) <= set(_keys(accounts).to_list())
    params = json.loads((out / "truth" / "params.json").read_text())
    assert "fanout" in params["grooming"]
    plain = tmp_path / "plain"
    CliRunner().invoke(app, ["synth", "--out", str(plain), "--customers", "300", "--months", "2"])
    assert not (plain / "truth" / "account_labels.csv").exists()
    assert (plain / "platform_accounts.parquet").is_file()
