"""Reports: platform panic-button reports naming payers' and facilitators' accounts,
hotline tips carrying a facilitator's phone and payment handle, law-enforcement notes
on known offenders - and the much larger stream of unrelated reports (spam, grooming,
sextortion where our customers are the victims) that an analyst must wade through.

Descriptions are short neutral summaries; no content of any kind."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from daybreak.synth import clock, handles
from daybreak.synth.accounts import Accounts
from daybreak.synth.context import Ctx
from daybreak.synth.frames import conform, ids, utc
from daybreak.synth.payers import PayerPlan
from daybreak.synth.truth import case_id

MIN = 60 * clock.US_PER_S
PLATFORM_TEXT = (
    "Panic-button report during a live video call; reporter believes a child is at risk."
)
VIEWER_TEXT = (
    "Account flagged for repeated paid video calls with accounts reported for child abuse."
)
HOTLINE_TEXT = "Tip: children seen brought to a house for 'online work'; caller gave a phone and a wallet number."
POLICE_TEXT = "Registered offender: notification of new accounts and contact details."
NOISE = (
    ("platform", "other", "Spam / scam messages reported by several users."),
    ("platform", "grooming", "User reported for persistent contact with a teenage account."),
    ("public", "sextortion", "Reporter is being blackmailed after a video chat."),
    ("public", "other", "Suspicious advertisement for 'online jobs'."),
    ("hotline", "online_enticement", "Parent reports an adult messaging their child."),
    ("platform", "child_sexual_abuse_material", "Automated match reported to the hotline."),
)


@dataclass
class _Out:
    reports: list[dict[str, object]] = field(default_factory=list)
    idents: list[tuple[int, str, str, str, int]] = field(default_factory=list)  # report, kind..
    case: list[int] = field(default_factory=list)

    def report(
        self,
        received: int,
        reporter: str,
        incident: str,
        occurred: int | None,
        live: bool,
        service: str | None,
        age: int | None,
        victim_country: str | None,
        text: str,
        case: int = -1,
    ) -> int:
        self.reports.append(
            {
                "received_at": received,
                "reporter_type": reporter,
                "incident_type": incident,
                "occurred_at": occurred,
                "is_live": live,
                "service": service,
                "victim_age_estimate": age,
                "victim_country": victim_country,
                "description": text,
            }
        )
        self.case.append(case)
        return len(self.reports) - 1

    def ident(self, r: int, kind: str, value: str, role: str, seen: int) -> None:
        self.idents.append((r, kind, value, role, seen))


def generate(
    ctx: Ctx,
    pl_: PayerPlan,
    acc: Accounts,
    pay_utc: np.ndarray,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(reports, their identifiers, case links)."""
    rng = ctx.rng("reports")
    out = _Out()
    _case_reports(ctx, rng, pl_, acc, pay_utc, out)
    _noise(ctx, rng, acc, out)
    return _frames(out)


def _case_reports(
    ctx: Ctx,
    rng: np.random.Generator,
    pl_: PayerPlan,
    acc: Accounts,
    pay_utc: np.ndarray,
    out: _Out,
) -> None:
    f = pl_.fac
    cases = np.unique(pl_.pay_case)
    payer_case = {int(c): int(pl_.case[i]) for i, c in enumerate(pl_.payers)}
    reported: set[int] = set()
    for case in cases:
        rows = np.flatnonzero(pl_.pay_case == case)
        facs = sorted(
            {int(x) for x in pl_.pay_fac[rows]} & {k for k, r in enumerate(f.ring) if r == case}
        ) or [int(pl_.pay_fac[rows[0]])]
        when = int(pay_utc[rows[int(rng.integers(0, len(rows)))]])
        if rng.random() < 0.65:  # the platform's panic button, often while live
            delay = (
                int(rng.integers(1, 30)) * MIN
                if rng.random() < 0.5
                else int(rng.integers(1, 72)) * 60 * MIN
            )
            r = out.report(
                when + delay,
                "platform",
                "live_streaming_abuse",
                when,
                delay <= 30 * MIN,
                f.service[facs[0]],
                int(rng.integers(5, 16)),
                f.country[facs[0]],
                PLATFORM_TEXT,
                int(case),
            )
            for fi in facs[: 1 + int(rng.integers(0, 2))]:
                out.ident(r, "account", acc.value(acc.by_facilitator[fi]), "reported_account", when)
                out.ident(r, "ip", f.ip[fi], "reported_ip", when)
            payers = sorted({int(c) for c in pl_.pay_cust[rows]})
            for c in rng.permutation(payers)[: 1 + int(rng.integers(0, 3))]:
                out.ident(
                    r, "account", acc.value(acc.by_customer[int(c)][0]), "reported_account", when
                )
                reported.add(int(c))
        if rng.random() < 0.45:  # a hotline tip with the facilitator's phone and handle
            fi = facs[0]
            handle_rows = rows[pl_.pay_fac[rows] == fi]
            tip = when + int(rng.integers(1, 20)) * clock.US_PER_DAY
            r = out.report(
                tip,
                str(rng.choice(["hotline", "public"])),
                str(rng.choice(["live_streaming_abuse", "child_sex_trafficking"])),
                None,
                False,
                None,
                None,
                f.country[fi],
                HOTLINE_TEXT,
                int(case),
            )
            out.ident(r, "phone", f.phone[fi], "suspect_phone", tip)
            if len(handle_rows):
                recv = ctx.ledger.receivers.ids.values[int(pl_.pay_recv[handle_rows[0]])]
                out.ident(r, "payment_handle", recv, "payment_handle", tip)
            out.ident(r, "username", f"{f.service[fi]}:{f.username[fi]}", "suspect_username", tip)
    # Viewers flagged on their own (fewer careful ones).
    careful = {int(pl_.payers[i]) for i in np.flatnonzero(pl_.careful)}
    for c in sorted({int(x) for x in pl_.pay_cust} - reported):
        main = c if c in payer_case else None
        if main is None:
            continue
        if rng.random() < (0.1 if c in careful else 0.35):
            rows = np.flatnonzero(pl_.pay_cust == c)
            when = int(pay_utc[rows[int(rng.integers(0, len(rows)))]])
            a = acc.by_customer[c][0]
            r = out.report(
                when + int(rng.integers(1, 96)) * 60 * MIN,
                "platform",
                "live_streaming_abuse",
                when,
                False,
                acc.service[a],
                None,
                None,
                VIEWER_TEXT,
                payer_case[c],
            )
            out.ident(r, "account", acc.value(a), "reported_account", when)
    # Known offenders: a law-enforcement notification with their contact details.
    for i in np.flatnonzero([ctx.pop.known_offender[int(c)] is True for c in pl_.payers]):
        if rng.random() < 0.5:
            c = int(pl_.payers[i])
            t = ctx.window.start_us + int(rng.integers(0, ctx.window.days)) * clock.US_PER_DAY
            r = out.report(
                t,
                "law_enforcement",
                "other",
                None,
                False,
                None,
                None,
                None,
                POLICE_TEXT,
                int(pl_.case[i]),
            )
            out.ident(r, "email", ctx.pop.email[c], "subject_email", t)
            out.ident(r, "phone", ctx.pop.phone[c], "subject_phone", t)


def _noise(ctx: Ctx, rng: np.random.Generator, acc: Accounts, out: _Out) -> None:
    n = len(ctx.pop)
    count = max(30, int(0.03 * n * ctx.window.months / 12 + 0.01 * n))
    public = acc.of_kind("public")
    customers = acc.of_kind("customer")
    family = acc.of_kind("family")
    span = ctx.window.end_us - ctx.window.start_us
    for _ in range(count):
        reporter, incident, text = NOISE[int(rng.integers(0, len(NOISE)))]
        t = ctx.window.start_us + int(rng.random() * span)
        a = int(public[int(rng.integers(0, len(public)))])
        r = out.report(
            t + int(rng.integers(0, 72)) * 60 * MIN,
            reporter,
            incident,
            t,
            False,
            acc.service[a],
            None,
            None,
            text,
        )
        out.ident(r, "account", acc.value(a), "reported_account", t)
        if incident == "sextortion" and len(customers):  # our customers as victims
            v = int(customers[int(rng.integers(0, len(customers)))])
            out.ident(r, "account", acc.value(v), "victim", t)
        elif rng.random() < 0.1 and len(family):  # a mistaken report about a family
            fa = int(family[int(rng.integers(0, len(family)))])
            out.ident(r, "account", acc.value(fa), "reported_account", t)
        elif rng.random() < 0.3:
            c = str(rng.choice(["PH", "NG", "GH", "US", "TH"]))
            out.ident(r, "phone", handles.phones(rng, c, 1)[0], "suspect_phone", t)


def _frames(out: _Out) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    sec = clock.US_PER_S
    received = np.array([r["received_at"] for r in out.reports], dtype=np.int64) // sec * sec
    order = np.lexsort((np.arange(len(received)), received))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    report_ids = ids("R", len(order), 8)
    rows = [out.reports[i] for i in order]
    occurred = (
        np.array(
            [r["occurred_at"] if r["occurred_at"] is not None else 0 for r in rows], dtype=np.int64
        )
        // sec
        * sec
    )
    frame = pl.DataFrame(
        {
            "report_id": report_ids,
            "received_at": utc(received[order]),
            "reporter_type": [r["reporter_type"] for r in rows],
            "incident_type": [r["incident_type"] for r in rows],
            "occurred_at": utc(occurred),
            "is_live": [r["is_live"] for r in rows],
            "service": [r["service"] for r in rows],
            "victim_age_estimate": pl.Series(
                [r["victim_age_estimate"] for r in rows], dtype=pl.Int64
            ),
            "victim_country": [r["victim_country"] for r in rows],
            "description": [r["description"] for r in rows],
        }
    ).with_columns(
        occurred_at=pl.when(pl.Series([r["occurred_at"] is not None for r in rows])).then(
            pl.col("occurred_at")
        )
    )
    idents = pl.DataFrame(
        {
            "source": ["reports"] * len(out.idents),
            "source_id": [report_ids[int(rank[r])] for r, *_ in out.idents],
            "kind": [k for _, k, _, _, _ in out.idents],
            "value": [v for _, _, v, _, _ in out.idents],
            "role": [role for _, _, _, role, _ in out.idents],
            "seen_at": utc(np.array([s for *_, s in out.idents], dtype=np.int64) // sec * sec),
        },
        schema_overrides={"source_id": pl.String, "value": pl.String},
    ).sort("source_id", maintain_order=True)
    linked = [
        (case_id(out.case[i]), report_ids[int(rank[i])])
        for i in range(len(out.case))
        if out.case[i] >= 0
    ]
    links = pl.DataFrame(
        {
            "case_id": [c for c, _ in linked],
            "source": ["reports"] * len(linked),
            "record_id": [r for _, r in linked],
        },
        schema={"case_id": pl.String, "source": pl.String, "record_id": pl.String},
    )
    return conform("reports", frame), conform("identifiers", idents), links
