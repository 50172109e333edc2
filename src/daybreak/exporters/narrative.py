"""The plain-language account of a case that every report format carries.

Neutral facts only: which signals point at which entities, counts, dates and ids. It
never quotes report descriptions verbatim (they may hold details about a child); the
receiver gets the report ids to ask for them.

Two audiences, two builders:

* :func:`case_narrative` is for the reporting institution's own regulator or for
  investigators (goAML to an FIU, FollowTheMoney): it may name the institution's
  customers and payments, because those reports are about them.
* :func:`partner_narrative` is for partners (STIX to hotlines and platforms,
  CyberTipline to NCMEC): it says nothing about the institution's customers — no
  name, customer id, amount or payment-alert text — only reports, reported accounts
  and hash matches.

Media: only sightings whose hash matched a list of known material (the case's alerts
carry the match) are called known material; others are counted as unmatched.
"""

from __future__ import annotations

from daybreak.exporters.bundle import CaseBundle, as_utc, text, unique
from daybreak.model.alerts import HashMatch

MAX_IDS = 20


def signals(bundle: CaseBundle) -> list[str]:
    """Signal families and typology ids present, used to pick indicator codes."""
    found = [s for s in bundle.case.sources if s != "media"]
    if bundle.transactions:
        found.append("payments")
    if bundle.reports:
        found.append("reports")
    if bundle.hash_matches():
        found.append("media")
    if any(bool(r.get("is_live")) for r in bundle.reports):
        found.append("live")
    return unique([*found, *bundle.typologies()])


# Every narrative under the demo identity opens with this, so no receiver mistakes it.
DEMO_LINE = (
    "DEMONSTRATION ONLY: made by `daybreak demo` from synthetic data under a demo "
    "identity; this is not a real report and concerns no real person."
)


def _demo_lines(bundle: CaseBundle) -> list[str]:
    return [DEMO_LINE] if bundle.org.demo else []


def _case_facts(bundle: CaseBundle) -> str:
    """ "Daybreak case ID: priority P, tier N (name)", without a full stop."""
    case = bundle.case
    tier = case.tier.name.lower().replace("_", " ")
    return f"Daybreak case {case.case_id}: priority {case.priority:.2f}, tier {int(case.tier)} ({tier})"


def _reports_line(bundle: CaseBundle) -> str | None:
    if not bundle.reports:
        return None
    live = sum(1 for r in bundle.reports if r.get("is_live"))
    kinds = ", ".join(unique(text(r.get("incident_type")) for r in bundle.reports))
    ids = ", ".join(text(r.get("report_id")) for r in bundle.reports[:MAX_IDS])
    more = f" and {len(bundle.reports) - MAX_IDS} more" if len(bundle.reports) > MAX_IDS else ""
    return (
        f"{len(bundle.reports)} tipline report(s) ({kinds}; {live} about a live stream "
        f"in progress): {ids}{more}."
    )


def match_phrase(m: HashMatch) -> str:
    """One match in words: type, list, version, distance and threshold."""
    version = f" version {m.bank_version}" if m.bank_version is not None else ""
    limit = f", threshold {m.threshold}" if m.threshold is not None else ""
    return f"{m.hash_type} hash matched list '{m.bank}'{version} at distance {m.distance}{limit}"


def media_lines(bundle: CaseBundle) -> list[str]:
    """What the case's hash sightings show: matched ones with their match, and how many
    did not match (never called known material)."""
    matched = bundle.matched_sightings()
    lines = []
    if matched:
        shown = [
            f"{text(row.get('sighting_id'))}: " + "; ".join(match_phrase(m) for m in ms)
            for row, ms in matched[:MAX_IDS]
        ]
        more = f" and {len(matched) - MAX_IDS} more" if len(matched) > MAX_IDS else ""
        lines.append(
            f"{len(matched)} hash sighting(s) matched lists of known material (hashes only; "
            f"no media is held): {', '.join(shown)}{more}."
        )
    unmatched = len(bundle.media_sightings) - len(matched)
    if unmatched > 0:
        lines.append(
            f"{unmatched} other hash sighting(s) on the case's accounts matched no list of "
            "known material and are not claimed to be known material."
        )
    return lines


def _payments_line(bundle: CaseBundle) -> str | None:
    if not bundle.transactions:
        return None
    total: dict[str, float] = {}
    for t in bundle.transactions:
        cur = text(t.get("currency")).upper()
        total[cur] = total.get(cur, 0.0) + float(t.get("amount") or 0.0)
    times = [x for x in (as_utc(t.get("timestamp")) for t in bundle.transactions) if x]
    senders = unique(text(t.get("sender_id")) for t in bundle.transactions)
    receivers = unique(text(t.get("receiver_id")) for t in bundle.transactions)
    span = f" between {min(times):%Y-%m-%d} and {max(times):%Y-%m-%d}" if times else ""
    amounts = ", ".join(f"{v:.2f} {k}" for k, v in sorted(total.items()))
    return (
        f"{len(bundle.transactions)} transaction(s){span} totalling {amounts}, "
        f"from {len(senders)} payer(s) to {len(receivers)} beneficiary account(s)."
    )


def case_narrative(bundle: CaseBundle) -> str:
    """The account for an FIU or investigators (goAML, FollowTheMoney).

    Each finding is stated once: the case's reasons (the fusion's sentences), else its
    explanation, which is the same sentences joined."""
    case = bundle.case
    lines = [*_demo_lines(bundle), f"{case.title} ({_case_facts(bundle)})."]
    if case.reasons:
        lines += [f"- {reason}" for reason in unique(case.reasons)]
    elif case.explanation:
        lines.append(case.explanation.strip())
    lines += [x for x in (_payments_line(bundle), _reports_line(bundle)) if x]
    lines += media_lines(bundle)
    if bundle.alerts:
        lines.append(
            "Alerts: "
            + "; ".join(
                f"{a.detector} {a.subject_type} {a.subject_id} score {a.score:.2f}"
                for a in bundle.alerts[:MAX_IDS]
            )
            + "."
        )
    return "\n".join(lines)


def partner_narrative(bundle: CaseBundle) -> str:
    """The account for partners (STIX, CyberTipline): reports, reported accounts and
    hash matches only; nothing about the reporting institution's customers."""
    lines = [*_demo_lines(bundle), _case_facts(bundle) + "."]
    report_line = _reports_line(bundle)
    if report_line:
        lines.append(report_line)
    lines += media_lines(bundle)
    if bundle.transactions:
        lines.append(
            "The reporting organisation also holds payment records linked to this case; "
            "they are reported to the competent financial intelligence unit, not here."
        )
    return "\n".join(lines)
