"""The platform detectors scored against a synthetic world's truth.

:func:`evaluate_actors` scores the grooming detector's accounts against the account
labels and :func:`evaluate_payer_handles` the sextortion detector's (customer,
beneficiary) pairs against theirs; the rest of this module is the coincidence
detector's.

*Planted pairs* are what the world put there: a show (stream or call) linked to a case
and the case payment, from the viewer's own bank customer to the streamer's country,
that the show was planted around (from 60 minutes before the show starts to 20 after;
``daybreak.synth.events``). A candidate pair is *true* when both its show and its
payment are records of a case (``truth/links.csv``), and *false* otherwise: an innocent
call, an innocent payment, or both (relatives' calls and payments around them are the
look-alike). Average precision ranks every candidate pair by its triple's score, with
every planted pair in the denominator, so a planted pair the detector never paired
lowers it.
"""

from __future__ import annotations

from typing import Any

import polars as pl

PLANTED_BEFORE_MIN = 60  # a planted payment up to 60 minutes before its show starts
PLANTED_AFTER_MIN = 20  # ... or up to 20 minutes after


def planted_pairs(
    links: pl.DataFrame,
    platform_events: pl.DataFrame,
    transactions: pl.DataFrame,
    identifiers: pl.DataFrame,
) -> pl.DataFrame:
    """(event_id, txn_id) of every planted show and the payment it was planted around."""
    case_events = links.filter(pl.col("source") == "platform_events").select(
        pl.col("record_id").alias("event_id"), "case_id"
    )
    case_txns = links.filter(pl.col("source") == "transactions").select(
        pl.col("record_id").alias("txn_id"), "case_id"
    )
    owners = identifiers.filter(
        (pl.col("source") == "customers") & (pl.col("kind") == "account")
    ).select(pl.col("value").str.to_lowercase().alias("viewer"), pl.col("source_id"))
    shows = (
        platform_events.filter(pl.col("event_type").is_in(["stream", "call"]))
        .join(case_events, on="event_id")
        .with_columns(
            viewer=(pl.col("service") + ":" + pl.col("counterparty_account_id")).str.to_lowercase()
        )
        .join(owners, on="viewer")
        .select("event_id", "case_id", "source_id", "started_at", "country")
    )
    pays = transactions.join(case_txns, on="txn_id").select(
        "txn_id", "case_id", pl.col("sender_id").alias("source_id"), "timestamp",
        "receiver_country",
    )  # fmt: skip
    gap = (pl.col("timestamp") - pl.col("started_at")).dt.total_seconds() / 60.0
    return (
        shows.join(pays, on=["case_id", "source_id"])
        .filter(
            (pl.col("receiver_country") == pl.col("country"))
            & (gap >= -PLANTED_BEFORE_MIN)
            & (gap <= PLANTED_AFTER_MIN)
        )
        .select("event_id", "txn_id")
        .unique()
    )


def relatives_calls(
    links: pl.DataFrame, platform_events: pl.DataFrame, identifiers: pl.DataFrame
) -> pl.DataFrame:
    """Calls to a bank customer's platform account that belong to no case: relatives
    calling home (the look-alike ``relatives_calls=True`` adds to a world)."""
    owned = (
        identifiers.filter((pl.col("source") == "customers") & (pl.col("kind") == "account"))[
            "value"
        ]
        .str.to_lowercase()
        .to_list()
    )
    cased = links.filter(pl.col("source") == "platform_events")["record_id"].to_list()
    viewer = (pl.col("service") + ":" + pl.col("counterparty_account_id")).str.to_lowercase()
    return platform_events.filter(
        (pl.col("event_type") == "call") & viewer.is_in(owned) & ~pl.col("event_id").is_in(cased)
    )


def average_precision(scores: list[float], hits: list[bool], positives: int) -> float | None:
    """AP of a ranking (ties broken by input order) with ``positives`` in the denominator."""
    if positives == 0:
        return None
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    tp, total = 0, 0.0
    for rank, i in enumerate(order, start=1):
        if hits[i]:
            tp += 1
            total += tp / rank
    return total / positives


def evaluate_pairs(
    pairs: pl.DataFrame,
    planted: pl.DataFrame,
    links: pl.DataFrame,
    labels: pl.DataFrame,
    threshold: float,
) -> dict[str, Any]:
    """Recall of planted pairs, the share of false pairs among those reported, the
    look-alike false-alarm rate, AP, and recall by the payer's scenario."""
    case_events = set(links.filter(pl.col("source") == "platform_events")["record_id"].to_list())
    case_txns = set(links.filter(pl.col("source") == "transactions")["record_id"].to_list())
    scenario = {
        str(i): str(s)
        for i, s in labels.filter(pl.col("subject_type") == "customer")
        .select("subject_id", "scenario")
        .iter_rows()
    }
    # sorted first: ties in score are then ranked the same way on every run and engine
    cand = (
        pairs.sort("event_id", "txn_id")
        .select("event_id", "txn_id", "customer_id", "score")
        .unique(subset=["event_id", "txn_id"], keep="first", maintain_order=True)
    )
    is_true = [
        e in case_events and t in case_txns
        for e, t in zip(cand["event_id"].to_list(), cand["txn_id"].to_list(), strict=True)
    ]
    cand = cand.with_columns(true_pair=pl.Series(is_true, dtype=pl.Boolean))
    reported = cand.filter(pl.col("score") >= threshold)
    found = planted.join(reported.select("event_id", "txn_id"), on=["event_id", "txn_id"])
    innocent = cand.filter(~pl.col("true_pair"))
    innocent_hit = innocent.filter(pl.col("score") >= threshold)
    relatives = innocent.filter(
        pl.col("customer_id").replace_strict(scenario, default="") == "family_remitter"
    )
    in_candidates = planted.join(cand.select("event_id", "txn_id"), on=["event_id", "txn_id"])
    # Abuse pairs that were not planted together (a payer's payment to one facilitator
    # during another's stream) are neither right nor wrong for AP: left out of it.
    planted_keys = set(zip(planted["event_id"].to_list(), planted["txn_id"].to_list(), strict=True))
    keys = list(zip(cand["event_id"].to_list(), cand["txn_id"].to_list(), strict=True))
    ranked = [(s, k in planted_keys) for s, k, t in zip(cand["score"].to_list(), keys, is_true,
                                                        strict=True) if not t or k in planted_keys]  # fmt: skip
    ap = average_precision([r[0] for r in ranked], [r[1] for r in ranked], planted.height)
    by_scenario: dict[str, dict[str, int]] = {}
    planted_cust = planted.join(
        cand.select("event_id", "txn_id", "customer_id"), on=["event_id", "txn_id"], how="left"
    )
    found_keys = set(zip(found["event_id"].to_list(), found["txn_id"].to_list(), strict=True))
    for e, t, c in planted_cust.iter_rows():
        s = scenario.get(str(c), "(not paired)") if c is not None else "(not paired)"
        row = by_scenario.setdefault(s, {"planted": 0, "found": 0})
        row["planted"] += 1
        row["found"] += (e, t) in found_keys
    return {
        "planted_pairs": planted.height,
        "planted_in_candidates": in_candidates.height,
        "found": found.height,
        "recall": _ratio(found.height, planted.height),
        "reported_pairs": reported.height,
        "false_pairs": innocent_hit.height,
        "false_pair_share": _ratio(innocent_hit.height, reported.height),
        "innocent_candidates": innocent.height,
        "lookalike_false_alarm_rate": _ratio(innocent_hit.height, innocent.height),
        "relative_candidates": relatives.height,
        "relative_false_alarms": relatives.filter(pl.col("score") >= threshold).height,
        "average_precision": None if ap is None else round(ap, 4),
        "recall_by_scenario": by_scenario,
    }


def evaluate_actors(actors: pl.DataFrame, labels: pl.DataFrame, threshold: float) -> dict[str, Any]:
    """The grooming detector's scored actors against a world's account labels: AP over
    every scored account with every planted groomer account in the denominator (one the
    detector never scored lowers it), recall by groomer scenario, the false-alarm rate
    of each look-alike scenario (over all its accounts, scored or not) and the alerts on
    accounts nobody planted."""
    truth = labels.filter(pl.col("subject_type") == "account").select(
        pl.col("subject_id").alias("subject"), "label", "scenario"
    )
    out = _evaluate_subjects(actors.select(pl.col("actor").alias("subject"), "score"), truth,
                             threshold)  # fmt: skip
    out["groomer_accounts"] = out.pop("positives")
    return out


def evaluate_payer_handles(
    episodes: pl.DataFrame, labels: pl.DataFrame, threshold: float
) -> dict[str, Any]:
    """The sextortion detector's scored episodes against a world's ``payer_handle``
    truth, per beneficiary (the alert's subject) and per paying family.

    A beneficiary scores as its alert does (``handle_score``) and is an extortion
    handle when any planted extortion pair paid it; a look-alike's handle (game shop,
    friend, tutor, seller, relative) otherwise. Returned: AP over every scored
    beneficiary with every extortion handle in the denominator, recall, the false-alarm
    rate over the look-alikes' handles (scored or not), by scenario; and under
    ``pairs`` the same per (customer, beneficiary) pair, each pair scoring as its
    beneficiary (a family is found when the handle it paid is alerted), with recall by
    victim scenario (no call, old account, one payment) and false alarms by look-alike.
    """
    truth = labels.filter(pl.col("subject_type") == "payer_handle").with_columns(
        pl.col("subject_id").str.split_exact(">", 1).struct.field("field_1").alias("handle")
    )
    handle_score = episodes.group_by("receiver_id").agg(pl.col("handle_score").max().alias("score"))
    handles = truth.group_by("handle").agg(
        pl.col("label").max(),
        pl.when(pl.col("label").max() == 1)
        .then(pl.lit("extortion_handle"))
        .otherwise(pl.col("scenario").min())
        .alias("scenario"),
    )
    out = _evaluate_subjects(
        handle_score.select(pl.col("receiver_id").alias("subject"), "score"),
        handles.select(pl.col("handle").alias("subject"), "label", "scenario"),
        threshold,
    )
    out["extortion_handles"] = out.pop("positives")
    pair_score = (
        episodes.select("customer_id", "receiver_id")
        .unique()
        .join(handle_score, on="receiver_id")
        .select((pl.col("customer_id") + ">" + pl.col("receiver_id")).alias("subject"), "score")
    )
    pairs = _evaluate_subjects(
        pair_score, truth.select(pl.col("subject_id").alias("subject"), "label", "scenario"),
        threshold,
    )  # fmt: skip
    pairs["extortion_pairs"] = pairs.pop("positives")
    out["pairs"] = pairs
    return out


def evaluate_ad_details(
    details: pl.DataFrame, platform_ads: pl.DataFrame, labels: pl.DataFrame, threshold: float
) -> dict[str, Any]:
    """The recruitment-ads detector's scored details (phones, handles, photo hashes)
    against a world's ``ad`` labels. A detail reused in at least two ads is a network's
    when any of its ads is a network's, else a look-alike named by its ads' commonest
    scenario; AP over every scored detail with every network detail in the denominator,
    recall, and the false-alarm rate of each look-alike over its reused details."""
    from daybreak.platform.ads import DETAILS

    ad_truth = labels.filter(pl.col("subject_type") == "ad").select(
        pl.col("subject_id").alias("ad_id"), "label", "scenario"
    )
    uses = pl.concat(
        platform_ads.select("ad_id", pl.lit(kind).alias("kind"), pl.col(col).alias("value"))
        for col, kind in DETAILS
    ).drop_nulls()
    truth = (
        uses.join(ad_truth, on="ad_id")
        .group_by("kind", "value")
        .agg(
            pl.col("label").max(),
            pl.col("scenario").mode().sort().first(),
            pl.col("ad_id").n_unique().alias("ads"),
        )
        .filter(pl.col("ads") >= 2)
        .with_columns(
            pl.when(pl.col("label") == 1).then(pl.lit("network_detail")).otherwise("scenario")
            .alias("scenario"),
            (pl.col("kind") + "|" + pl.col("value")).alias("subject"),
        )
    )  # fmt: skip
    scored = details.select((pl.col("kind") + "|" + pl.col("value")).alias("subject"), "score")
    out = _evaluate_subjects(scored, truth.select("subject", "label", "scenario"), threshold)
    out["network_details"] = out.pop("positives")
    return out


def _evaluate_subjects(
    scored: pl.DataFrame, truth: pl.DataFrame, threshold: float
) -> dict[str, Any]:
    """AP, recall, false alarms by scenario of ``scored`` (subject, score) against
    ``truth`` (subject, label, scenario)."""
    ranked = (
        scored.sort("subject")  # ties in score are then ranked the same way on every run
        .join(truth, on="subject", how="left", maintain_order="left")
        .with_columns(pl.col("label").fill_null(0), pl.col("scenario").fill_null("(unlabelled)"))
    )
    every = truth.join(ranked.select("subject", "score"), on="subject", how="left").with_columns(
        pl.col("score").fill_null(0.0)
    )
    positives = int(truth["label"].sum())
    ap = average_precision(ranked["score"].to_list(), (ranked["label"] == 1).to_list(), positives)
    by_scenario: dict[str, dict[str, Any]] = {}
    for (scenario, label), rows in sorted(every.group_by("scenario", "label"), key=str):
        hit = rows.filter(pl.col("score") >= threshold).height
        key = "found" if label == 1 else "false_alarms"
        by_scenario[str(scenario)] = {
            "accounts": rows.height,
            key: hit,
            "recall" if label == 1 else "false_alarm_rate": _ratio(hit, rows.height),
        }
    lookalikes = every.filter(pl.col("label") == 0)
    lookalike_hits = lookalikes.filter(pl.col("score") >= threshold).height
    found = every.filter((pl.col("label") == 1) & (pl.col("score") >= threshold)).height
    stray = ranked.filter((pl.col("scenario") == "(unlabelled)") & (pl.col("score") >= threshold))
    return {
        "positives": positives,
        "found": found,
        "recall": _ratio(found, positives),
        "lookalike_accounts": lookalikes.height,
        "lookalike_false_alarms": lookalike_hits,
        "lookalike_false_alarm_rate": _ratio(lookalike_hits, lookalikes.height),
        "unlabelled_alerts": stray.height,
        "average_precision": None if ap is None else round(ap, 4),
        "by_scenario": by_scenario,
    }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


__all__ = [
    "average_precision",
    "evaluate_actors",
    "evaluate_ad_details",
    "evaluate_pairs",
    "evaluate_payer_handles",
    "planted_pairs",
    "relatives_calls",
]
