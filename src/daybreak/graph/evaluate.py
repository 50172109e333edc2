"""How well cases recover the synthetic world's truth (``truth/links.csv``).

Each truth record is reduced to the graph entities it stands for: a customer, a
beneficiary, an account, a report or a sighting is one entity; a transaction is its payer
*and* payee; a platform event is the account that acted. A record is *in* a case when
all of its entities are.

- completeness of a truth case: the largest share of its records that one case holds;
- purity of a case: the share of its record entities (customers, beneficiaries,
  accounts, reports, sightings) that belong to its majority truth case — entities from no
  truth case count against it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from daybreak.graph import keys
from daybreak.model.cases import SUPERSEDED, Case

RECORD_KINDS = ("customer", "payment_handle", "account", "report", "media")


@dataclass(frozen=True)
class CaseRecovery:
    truth_cases: int
    predicted_cases: int
    cases_touching_truth: int
    truth_cases_found: int  # completeness >= 0.5 in one case
    mean_completeness: float
    mean_purity: float  # weighted by record entities per case
    false_positive_cases: int  # cases with no truth entity at all
    per_truth_case: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def entity_keys_of(source: str, record_id: str) -> list[str]:
    """Entities of a record that needs no look-up; [] for transactions and events."""
    match source:
        case "customers":
            return [keys.customer_key(record_id)]
        case "beneficiaries":
            return [keys.beneficiary_key(record_id)]
        case "accounts":
            return [keys.identifier_key("account", record_id)]
        case "reports":
            return [keys.make_key(keys.REPORT, record_id)]
        case "media_sightings":
            return [keys.make_key(keys.MEDIA, record_id)]
    return []


def truth_entities(
    links: pl.DataFrame,
    txns: pl.DataFrame,
    events: pl.DataFrame,
) -> dict[tuple[str, str, str], list[str]]:
    """(case_id, source, record_id) -> entity keys; ``txns``/``events`` are the rows of
    the truth's transactions and platform events."""
    txn_keys = {
        t: [keys.customer_key(s), keys.beneficiary_key(r)]
        for t, s, r in txns.select("txn_id", "sender_id", "receiver_id").iter_rows()
    }
    event_keys = {
        e: [keys.account_key(svc, a)]
        for e, svc, a in events.select("event_id", "service", "account_id").iter_rows()
    }
    out: dict[tuple[str, str, str], list[str]] = {}
    for case_id, source, rid in links.select("case_id", "source", "record_id").iter_rows():
        if source == "transactions":
            ents = txn_keys.get(rid, [])
        elif source == "platform_events":
            ents = event_keys.get(rid, [])
        else:
            ents = entity_keys_of(source, rid)
        if ents:
            out[(case_id, source, rid)] = ents
    return out


def evaluate_cases(
    cases: Sequence[Case],
    truth: dict[tuple[str, str, str], list[str]],
    *,
    is_record_entity: Callable[[str], bool] | None = None,
) -> CaseRecovery:
    live = [c for c in cases if c.outcome not in SUPERSEDED]
    members = [set(c.entity_keys) for c in live]
    by_truth: dict[str, list[list[str]]] = {}
    entity_case: dict[str, str] = {}
    for (case_id, source, _), ents in truth.items():
        by_truth.setdefault(case_id, []).append(ents)
        if source not in ("transactions", "platform_events"):
            for e in ents:
                entity_case[e] = case_id
    completeness: dict[str, float] = {}
    for case_id, records in by_truth.items():
        best = max((sum(all(e in m for e in ents) for ents in records) for m in members), default=0)
        completeness[case_id] = best / len(records)
    record_entity = is_record_entity or (lambda k: k.partition(":")[0] in RECORD_KINDS)
    pure = total = touching = fp = 0
    for m in members:
        ents = [k for k in m if record_entity(k)]
        labels = Counter(entity_case[k] for k in ents if k in entity_case)
        if not labels:
            fp += 1
            continue
        touching += 1
        pure += labels.most_common(1)[0][1]
        total += len(ents)
    n_truth = len(by_truth)
    return CaseRecovery(
        truth_cases=n_truth,
        predicted_cases=len(live),
        cases_touching_truth=touching,
        truth_cases_found=sum(v >= 0.5 for v in completeness.values()),
        mean_completeness=round(sum(completeness.values()) / n_truth, 4) if n_truth else 0.0,
        mean_purity=round(pure / total, 4) if total else 0.0,
        false_positive_cases=fp,
        per_truth_case={k: round(v, 4) for k, v in sorted(completeness.items())},
    )
