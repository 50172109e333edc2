"""The plain-language account of a case that every report format carries.

Neutral facts only: which signals point at which entities, counts, dates and ids. It
never quotes report descriptions verbatim (they may hold details about a child); the
receiver gets the report ids to ask for them.
"""

from __future__ import annotations

from daybreak.exporters.bundle import CaseBundle, as_utc, text, unique


def signals(bundle: CaseBundle) -> list[str]:
    """Signal families and typology ids present, used to pick indicator codes."""
    found = list(bundle.case.sources)
    if bundle.transactions:
        found.append("payments")
    if bundle.reports:
        found.append("reports")
    if bundle.media_sightings:
        found.append("media")
    if any(bool(r.get("is_live")) for r in bundle.reports):
        found.append("live")
    return unique([*found, *bundle.typologies()])


def case_narrative(bundle: CaseBundle) -> str:
    case = bundle.case
    lines = [
        f"{case.title} (Daybreak case {case.case_id}, priority {case.priority:.2f}, "
        f"tier {int(case.tier)})."
    ]
    if case.explanation:
        lines.append(case.explanation.strip())
    for reason in case.reasons:
        lines.append(f"- {reason}")
    if bundle.transactions:
        total: dict[str, float] = {}
        for t in bundle.transactions:
            cur = text(t.get("currency")).upper()
            total[cur] = total.get(cur, 0.0) + float(t.get("amount") or 0.0)
        times = [x for x in (as_utc(t.get("timestamp")) for t in bundle.transactions) if x]
        senders = unique(text(t.get("sender_id")) for t in bundle.transactions)
        receivers = unique(text(t.get("receiver_id")) for t in bundle.transactions)
        span = f" between {min(times):%Y-%m-%d} and {max(times):%Y-%m-%d}" if times else ""
        amounts = ", ".join(f"{v:.2f} {k}" for k, v in sorted(total.items()))
        lines.append(
            f"{len(bundle.transactions)} transaction(s){span} totalling {amounts}, "
            f"from {len(senders)} payer(s) to {len(receivers)} beneficiary account(s)."
        )
    if bundle.reports:
        live = sum(1 for r in bundle.reports if r.get("is_live"))
        kinds = ", ".join(unique(text(r.get("incident_type")) for r in bundle.reports))
        ids = ", ".join(text(r.get("report_id")) for r in bundle.reports[:20])
        lines.append(
            f"{len(bundle.reports)} tipline report(s) ({kinds}; {live} about a live stream "
            f"in progress): {ids}."
        )
    if bundle.media_sightings:
        lines.append(
            f"{len(bundle.media_sightings)} sighting(s) of hashes matching known material "
            "(hashes only; no media is held)."
        )
    if bundle.alerts:
        lines.append(
            "Alerts: "
            + "; ".join(
                f"{a.detector} {a.subject_type} {a.subject_id} score {a.score:.2f}"
                for a in bundle.alerts[:20]
            )
            + "."
        )
    return "\n".join(lines)
