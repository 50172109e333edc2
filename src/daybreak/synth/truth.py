"""Ground truth: labels for customers and beneficiaries, and the records tied to each case.

labels.csv: subject_type (customer | beneficiary), subject_id, label (1 = pays for or
facilitates live-streamed abuse), scenario, case_id.
account_labels.csv (worlds with planted platform behaviour only,
``generate_world(grooming_priors=...)``): the same columns for platform accounts,
subject_type account, subject_id "service:account_id", label 1 = grooms minors; with
``generate_world(sextortion=...)`` also subject_type payer_handle, subject_id
"customer_id>receiver_id", label 1 = a family's payments to an extortion ring's handle
(0 = a look-alike: game shop, friend abroad, tutor, relative), by scenario.
links.csv: case_id, source, record_id; sources are customers (customer_id), beneficiaries
(receiver_id), transactions (txn_id), accounts ("service:account_id"), reports
(report_id), platform_events (event_id), media_sightings (sighting_id), platform_ads
(ad_id). With ``generate_world(ads_priors=...)`` account_labels.csv also has one row per
ad or profile (subject_type ad, subject_id ad_id, label 1 = a recruitment network's).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from daybreak.synth.ledger import Receivers
from daybreak.synth.payers import PayerPlan
from daybreak.synth.population import ROLES, Population

LABEL_SCHEMA = {
    "subject_type": pl.String(),
    "subject_id": pl.String(),
    "label": pl.Int8(),
    "scenario": pl.String(),
    "case_id": pl.String(),
}
LINK_SCHEMA = {"case_id": pl.String(), "source": pl.String(), "record_id": pl.String()}


def case_id(ring: int) -> str:
    return f"case-{ring:04d}"


def labels(
    pop: Population,
    plan: PayerPlan,
    receivers: Receivers,
    used: npt.NDArray[np.bool_],
) -> pl.DataFrame:
    """Every customer, and every receiver that ``used`` marks as paid at least once."""
    n = len(pop)
    scenario = [ROLES[r] for r in pop.role]
    label = np.zeros(n, dtype=np.int8)
    case: list[str | None] = [None] * n
    for i, c in enumerate(plan.payers):
        scenario[c] = plan.scenario[i]
        label[c] = 1
        case[c] = case_id(int(plan.case[i]))
    for i, j in plan.linked.items():
        scenario[j] = "known_offender_linked_account"
        label[j] = 1
        case[j] = case_id(int(plan.case[i]))
    customers = pl.DataFrame(
        {
            "subject_type": ["customer"] * n,
            "subject_id": pop.ids,
            "label": label,
            "scenario": scenario,
            "case_id": case,
        },
        schema=LABEL_SCHEMA,
    )
    beneficiaries = pl.DataFrame(
        {
            "subject_type": ["beneficiary"] * len(receivers.ids),
            "subject_id": receivers.ids.values,
            "label": receivers.label,
            "scenario": receivers.scenario,
            "case_id": [case_id(c) if c >= 0 else None for c in receivers.case],
        },
        schema=LABEL_SCHEMA,
    ).filter(pl.Series(used))
    return pl.concat([customers, beneficiaries])


def links_of(source: str, case_ids: pl.Series, record_ids: pl.Series) -> pl.DataFrame:
    return pl.DataFrame(
        {"case_id": case_ids, "source": [source] * len(case_ids), "record_id": record_ids},
        schema=LINK_SCHEMA,
    )


def ad_links(ad_labels: pl.DataFrame) -> pl.DataFrame:
    """Each case's ads and profiles (``platform_ads.ad_id``)."""
    cased = ad_labels.filter(pl.col("case_id").is_not_null())
    return links_of("platform_ads", cased["case_id"], cased["subject_id"])


def base_links(labels_frame: pl.DataFrame) -> pl.DataFrame:
    """Customers and beneficiaries of each case, from the labels."""
    return (
        labels_frame.filter(
            pl.col("case_id").is_not_null()
            # other truth rows (e.g. sextortion's payer_handle pairs) are no case records
            & pl.col("subject_type").is_in(["customer", "account", "beneficiary"])
        )
        .select(
            "case_id",
            pl.when(pl.col("subject_type") == "customer")
            .then(pl.lit("customers"))
            .when(pl.col("subject_type") == "account")
            .then(pl.lit("accounts"))
            .otherwise(pl.lit("beneficiaries"))
            .alias("source"),
            pl.col("subject_id").alias("record_id"),
        )
        .cast(LINK_SCHEMA)  # type: ignore[arg-type]
    )
