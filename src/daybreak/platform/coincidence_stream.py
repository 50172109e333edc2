"""Live stream - payment coincidence, incrementally: the same alerts as the batch SQL
(:mod:`daybreak.platform.coincidence`), from events handed over a batch at a time.

State, and why it stays bounded:

- the *pairing window*: shows and eligible payments whose time is within
  ``window_minutes + lateness_minutes`` of the *watermark* (the earlier of the latest
  show and the latest payment seen: the two kinds arrive on separate consumers, so one
  may lag the other). A new show is paired with the window's payments of its customer
  and a new payment with the window's shows; older entries are evicted, so this part
  is bounded by the events of the window;
- per (customer, streamer): how many shows there were (the explanation's "of the
  streamer's N shows"), a counter;
- per triple (customer, streamer, beneficiary): its coinciding (show, payment) pairs,
  the evidence an alert names, and per streamer its paying viewers.

A show or payment older than the watermark's horizon when it arrives cannot meet the
evicted entries it might have paired with: it is counted in ``late`` (the batch run
would pair it; set ``lateness_minutes`` above the skew of the sources).

The scores are those of :func:`~daybreak.platform.coincidence._scored_sql` computed in
Python from the triple's pairs, and the alerts are built by the batch detector's own
:func:`~daybreak.platform.coincidence.alerts`, so both name the same evidence in the
same words. Pure logic: nothing here reads a file or opens an engine.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from daybreak.detectors.streaming import AlertChanges
from daybreak.model.alerts import Alert
from daybreak.platform.coincidence import (
    DETECTOR_ID,
    SHOW_TYPES,
    SPEND_CHANNELS,
    VERSION,
    CoincidenceParams,
    alerts,
)

Triple = tuple[str, str, str]  # customer, streamer, beneficiary


@dataclass(frozen=True, slots=True)
class _Show:
    event_id: str
    event_type: str
    streamer: str
    customer_id: str
    country: str
    started_at: datetime
    t_s: float


@dataclass(frozen=True, slots=True)
class _Payment:
    txn_id: str
    customer_id: str
    receiver_id: str
    receiver_country: str
    amount: float
    currency: str
    t_s: float
    low_value: float
    night: float


@dataclass
class _Window:
    """Entries of one kind by customer, with the latest time seen."""

    by_customer: dict[str, dict[str, Any]] = field(default_factory=dict)
    latest: float = -math.inf
    size: int = 0

    def add(self, customer: str, key: str, entry: Any) -> bool:
        mine = self.by_customer.setdefault(customer, {})
        if key in mine:
            return False  # delivered again: already paired
        mine[key] = entry
        self.size += 1
        return True

    def evict_before(self, horizon: float) -> None:
        for customer in list(self.by_customer):
            kept = {k: e for k, e in self.by_customer[customer].items() if e.t_s >= horizon}
            self.size -= len(self.by_customer[customer]) - len(kept)
            if kept:
                self.by_customer[customer] = kept
            else:
                del self.by_customer[customer]


class CoincidenceStream:
    """The stream-payment coincidence over events handed in batches (:meth:`observe`).

    ``owners``: platform account (``service:account_id``, any case) -> the bank
    customers owning it (``identifiers`` rows of source ``customers``, kind
    ``account``); ``timezones``: customer -> IANA zone (night is payer-local; UTC when
    unknown), as the batch detector reads them from ``identifiers`` and ``customers``."""

    id = DETECTOR_ID
    version = VERSION
    tables = ("platform_events", "transactions")

    def __init__(
        self,
        params: CoincidenceParams,
        owners: Mapping[str, Iterable[str]],
        timezones: Mapping[str, str | None],
        lateness_minutes: int = 60,
    ) -> None:
        if lateness_minutes < 0:
            raise ValueError(f"lateness_minutes must be at least 0, got {lateness_minutes}")
        self.params = params
        self._owners = {k.lower(): sorted(set(v)) for k, v in owners.items()}
        # Only these accounts' shows and these customers' payments can ever pair: the
        # rest of a batch is dropped in polars before any row reaches Python. Imploded:
        # a plain Series in `is_in` makes polars warn on every batch (deprecated form).
        self._owned = pl.Series(sorted(self._owners), dtype=pl.String).implode()
        self._viewers_customers = pl.Series(
            sorted({c for cs in self._owners.values() for c in cs}), dtype=pl.String
        ).implode()
        self._zones = {c: ZoneInfo(z) for c, z in timezones.items() if z}
        self._window_s = 60.0 * params.window_minutes
        self._keep_s = self._window_s + 60.0 * lateness_minutes
        self._min_score = max(params.alert_score, 1e-12)
        self._caps = dict(params.low_value_caps)
        self._shows = _Window()
        self._payments = _Window()
        self._all_shows: Counter[tuple[str, str]] = Counter()
        self._pairs: dict[Triple, dict[tuple[str, str], dict[str, Any]]] = {}
        self._viewers: dict[str, set[str]] = {}
        self._receivers: dict[tuple[str, str], set[str]] = {}  # (customer, streamer) ->
        self._alerted: set[str] = set()
        self.late = 0

    # -- feeding ---------------------------------------------------------------------

    def observe(self, table: str, frame: pl.DataFrame) -> AlertChanges:
        """Take a batch of ``table`` rows (public schema); the alerts it changes."""
        if table == "platform_events":
            touched = self._add_shows(frame)
        elif table == "transactions":
            touched = self._add_payments(frame)
        else:
            return AlertChanges()
        self._evict()
        return self._rescore(touched)

    def _horizon(self) -> float:
        return min(self._shows.latest, self._payments.latest) - self._keep_s

    def _evict(self) -> None:
        horizon = self._horizon()
        if math.isfinite(horizon):
            self._shows.evict_before(horizon)
            self._payments.evict_before(horizon)

    def _add_shows(self, frame: pl.DataFrame) -> set[Triple]:
        counterparty = pl.concat_str("service", pl.lit(":"), "counterparty_account_id")
        rows = frame.filter(
            pl.col("event_type").is_in(SHOW_TYPES)
            & pl.col("country").is_not_null()
            & counterparty.str.to_lowercase().is_in(self._owned)
        ).select("event_id", "event_type", "service", "account_id", "counterparty_account_id",
                 "started_at", "country")  # fmt: skip
        touched: set[Triple] = set()
        horizon = self._horizon()
        for (
            event_id,
            event_type,
            service,
            account,
            counterparty,
            started,
            country,
        ) in rows.iter_rows():
            customers = self._owners.get(f"{service}:{counterparty}".lower(), ())
            if not customers:
                continue
            t_s = started.timestamp()
            self._shows.latest = max(self._shows.latest, t_s)
            streamer = f"{service}:{account}".lower()
            for customer in customers:
                show = _Show(event_id, event_type, streamer, customer, country, started, t_s)
                if not self._shows.add(customer, event_id, show):
                    continue
                self.late += t_s < horizon
                self._all_shows[(customer, streamer)] += 1
                touched.add((customer, streamer, ""))  # its triples' explanations change
                for pay in self._payments.by_customer.get(customer, {}).values():
                    self._pair(show, pay, touched)
        return touched

    def _add_payments(self, frame: pl.DataFrame) -> set[Triple]:
        # As the SQL: NULL countries or channel never pass `<>` and `NOT IN`.
        rows = frame.filter(
            (pl.col("receiver_country") != pl.col("sender_country"))
            & ~pl.col("channel").is_in(SPEND_CHANNELS)
            & pl.col("sender_id").is_in(self._viewers_customers)
        ).select("txn_id", "sender_id", "receiver_id", "receiver_country", "amount", "currency",
                 "timestamp")  # fmt: skip
        touched: set[Triple] = set()
        horizon = self._horizon()
        for txn_id, sender, receiver, country, amount, currency, paid in rows.iter_rows():
            t_s = paid.timestamp()
            self._payments.latest = max(self._payments.latest, t_s)
            zone = self._zones.get(sender)
            hour = (paid.astimezone(zone) if zone else paid).hour
            night = hour >= self.params.night_start or hour < self.params.night_end
            cap = self._caps.get(currency, self.params.default_low_value_cap)
            pay = _Payment(txn_id, sender, receiver, country, amount, currency, t_s,
                           1.0 if amount <= cap else 0.0, 1.0 if night else 0.0)  # fmt: skip
            if not self._payments.add(sender, txn_id, pay):
                continue
            self.late += t_s < horizon
            for show in self._shows.by_customer.get(sender, {}).values():
                self._pair(show, pay, touched)
        return touched

    def _pair(self, show: _Show, pay: _Payment, touched: set[Triple]) -> None:
        if pay.receiver_country != show.country or abs(pay.t_s - show.t_s) > self._window_s:
            return
        triple = (show.customer_id, show.streamer, pay.receiver_id)
        pairs = self._pairs.setdefault(triple, {})
        pairs[(show.event_id, pay.txn_id)] = {
            "customer_id": triple[0], "streamer": triple[1], "receiver_id": triple[2],
            "event_id": show.event_id, "event_type": show.event_type, "txn_id": pay.txn_id,
            "started_at": show.started_at, "minutes": (pay.t_s - show.t_s) / 60.0,
            "amount": pay.amount, "currency": pay.currency,
            "low_value": pay.low_value, "night": pay.night,
        }  # fmt: skip
        self._receivers.setdefault(triple[:2], set()).add(triple[2])
        viewers = self._viewers.setdefault(triple[1], set())
        if triple[0] not in viewers:
            viewers.add(triple[0])
            touched.add(("", triple[1], ""))  # every triple of the streamer: viewers grew
        touched.add(triple)

    # -- scoring ---------------------------------------------------------------------

    def _expand(self, touched: set[Triple]) -> set[Triple]:
        """The triples whose score or explanation ``touched`` changes."""
        found: set[Triple] = set()
        by_streamer: dict[str, set[str]] | None = None
        for customer, streamer, receiver in touched:
            if receiver:
                found.add((customer, streamer, receiver))
            elif customer:
                found.update(
                    (customer, streamer, r) for r in self._receivers.get((customer, streamer), ())
                )
            else:
                if by_streamer is None:
                    by_streamer = {}
                    for c, s in self._receivers:
                        by_streamer.setdefault(s, set()).add(c)
                for c in by_streamer.get(streamer, ()):
                    found.update((c, streamer, r) for r in self._receivers[(c, streamer)])
        return found

    def _rescore(self, touched: set[Triple]) -> AlertChanges:
        raised: list[Alert] = []
        withdrawn: list[str] = []
        for triple in sorted(self._expand(touched)):
            row, pairs = self._triple_row(triple)
            alert_id = f"{DETECTOR_ID}:{triple[0]}:{triple[1]}:{triple[2]}"
            if row["score"] >= self._min_score:
                raised.extend(alerts([row], pairs))
                self._alerted.add(alert_id)
            elif alert_id in self._alerted:
                self._alerted.discard(alert_id)
                withdrawn.append(alert_id)
        return AlertChanges(tuple(raised), tuple(withdrawn))

    def current_alerts(self) -> list[Alert]:
        """Every alert the events so far give, highest score first (as the batch run)."""
        found: list[Alert] = []
        for triple in sorted(self._pairs):
            row, pairs = self._triple_row(triple)
            if row["score"] >= self._min_score:
                found.extend(alerts([row], pairs))
        return sorted(found, key=lambda a: (-a.score, a.alert_id))

    def _triple_row(self, triple: Triple) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The triple as ``coincidence_triples`` has it, and its pairs in evidence order."""
        pairs = sorted(
            self._pairs[triple].values(),
            key=lambda p: (p["started_at"], p["event_id"], p["txn_id"]),
        )
        n = len(pairs)
        shows = len({p["event_id"] for p in pairs})
        streams = len({p["event_id"] for p in pairs if p["event_type"] == "stream"})
        row: dict[str, Any] = {
            "customer_id": triple[0], "streamer": triple[1], "receiver_id": triple[2],
            "shows": shows, "payments": len({p["txn_id"] for p in pairs}), "streams": streams,
            "paid_before_share": sum(1.0 for p in pairs if p["minutes"] <= 0) / n,
            "median_gap_minutes": statistics.median(abs(p["minutes"]) for p in pairs),
            "low_value_share": sum(p["low_value"] for p in pairs) / n,
            "night_share": sum(p["night"] for p in pairs) / n,
            "median_amount": statistics.median(round(p["amount"] * 100) for p in pairs) / 100.0,
            "currency": min(p["currency"] for p in pairs),
            "first_seen": min(p["started_at"] for p in pairs),
            "last_seen": max(p["started_at"] for p in pairs),
            "all_shows": self._all_shows[triple[:2]],
            "viewers": len(self._viewers[triple[1]]),
        }  # fmt: skip
        row["score"] = self._score(row)
        return row, pairs

    def _score(self, g: Mapping[str, Any]) -> float:
        """``_scored_sql``'s expression, term by term in the same order."""
        if g["shows"] < self.params.min_shows:
            return 0.0
        w = {k: float(v) for k, v in self.params.weights.items()}
        z = (
            w["intercept"]
            + w["log_shows"] * math.log(float(g["shows"]))
            + w["stream_share"] * g["streams"] / g["shows"]
            + w["paid_before_share"] * g["paid_before_share"]
            + w["low_value_share"] * g["low_value_share"]
            + w["night_share"] * g["night_share"]
            + w["log_viewers"] * math.log(float(g["viewers"]))
        )
        return 1.0 / (1.0 + math.exp(-z))

    def state_size(self) -> dict[str, int]:
        """Entries held: the pairing window's shows and payments, and the pairs."""
        return {
            "window_shows": self._shows.size,
            "window_payments": self._payments.size,
            "pairs": sum(len(p) for p in self._pairs.values()),
        }


def owners_and_zones(
    identifiers: pl.DataFrame, customers: pl.DataFrame | None
) -> tuple[dict[str, list[str]], dict[str, str | None]]:
    """The reference ``CoincidenceStream`` needs, from the public ``identifiers`` and
    ``customers`` tables (as ``coincidence_owners`` and the time-zone join read them)."""
    owned = identifiers.filter(
        (pl.col("source") == "customers") & (pl.col("kind") == "account")
    ).select(pl.col("value").str.to_lowercase(), "source_id")
    owners: dict[str, list[str]] = {}
    for account, customer in owned.unique().iter_rows():
        owners.setdefault(account, []).append(customer)
    zones: dict[str, str | None] = {}
    if customers is not None and "timezone" in customers.columns:
        zones = dict(customers.select("customer_id", "timezone").iter_rows())
    return owners, zones


__all__ = ["CoincidenceStream", "owners_and_zones"]
