"""Load a synthetic world's reports (``daybreak synth``) into the store and triage them.

Report ids are kept, so the world's truth files still point at them, and loading twice
stores nothing twice (each report is submitted with its id as Idempotency-Key). The
identifiers that carry other detectors' alerts (payments, media) are marked first, so
reports about them get triage's boost for linked alerts.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from daybreak.graph.keys import CUSTOMER, MEDIA, REPORT, NodeKeyError, split_key, subject_key
from daybreak.model.alerts import Alert
from daybreak.store.auth import SYSTEM
from daybreak.store.reports import Submission
from daybreak.store.store import ClusterSummary, TiplineStore
from daybreak.tipline.world import world_reports

LOADER = "world-import"
# Node kinds that are records, not identifiers a report can carry.
_NOT_IDENTIFIERS = (CUSTOMER, REPORT, MEDIA)


def alerted_identifiers(alerts: Iterable[Alert]) -> dict[str, list[str]]:
    """Detector -> the identifier keys its alerts are about (``payment_handle:…`` for a
    beneficiary, ``account:…`` for a media sighting's account). Tipline alerts and
    subjects that are records (customers, reports, media items) are left out."""
    keys: dict[str, set[str]] = defaultdict(set)
    for alert in alerts:
        if alert.detector == "tipline":
            continue
        try:
            key = subject_key(alert.subject_type, alert.subject_id)
        except NodeKeyError:
            continue  # a subject the graph does not know is no identifier of a report
        if split_key(key)[0] not in _NOT_IDENTIFIERS:
            keys[alert.detector].add(key)
    return {detector: sorted(found) for detector, found in sorted(keys.items())}


def load_world_reports(
    store: TiplineStore,
    world_dir: Path,
    *,
    limit: int = 1000,
    alerts: Iterable[Alert] = (),
    progress: Callable[[int, int], None] | None = None,
) -> list[ClusterSummary]:
    """Store a world's reports in ``store`` and return the triaged queue (most urgent
    first). The identifiers of ``alerts`` (other detectors' alerts) are marked as
    alerted before the reports are triaged."""
    for detector, keys in alerted_identifiers(alerts).items():
        store.reports.mark_alerted(keys, detector)
    items = world_reports(Path(world_dir))
    subs = [
        Submission(
            report,
            LOADER,
            "world",
            received_at=received,
            report_id=rid,
            idempotency_key=rid,
            request_hash=hashlib.sha256(report.model_dump_json().encode()).hexdigest(),
        )
        for rid, received, report in items
    ]
    for start in range(0, len(subs), 1000):
        store.reports.add_many(subs[start : start + 1000])
        if progress:
            progress(min(start + 1000, len(subs)), len(subs))
    return store.reports.queue(SYSTEM, limit)
