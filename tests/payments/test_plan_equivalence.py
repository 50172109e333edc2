"""The faster feature plan computes what the plain definitions say (issue #13, speed).

Some features are computed by a cheaper route than their definition: the median in the
reference currency from the median in the payments' own currency, pay runs from the
payments that share their day with another, blank names without trimming every name,
the sender's name per pair rather than per payment, the sequence window ordered by epoch
seconds rather than the timestamp, the purchase baseline's union of windows from that
same window. Each is checked here against its plain definition, run as SQL over the
pipeline's own ``corridor_payments``, on a world where some senders and beneficiaries
pay or receive in two currencies and some senders make several payments at the same
instant.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
import pytest

from daybreak.engines.duckdb import DuckDBEngine
from daybreak.payments import context
from daybreak.payments.compiler import compile_scan
from daybreak.payments.config import load_pack
from daybreak.payments.context import runs_sql
from payments.failure_modes import small_world


def _varied(tx: pl.DataFrame) -> pl.DataFrame:
    """Every third payment of a third of the senders in EUR instead (the pack converts
    EUR at a different rate from the world's own currency); some beneficiary names
    blank, only spaces, or padded with spaces; the payments of two senders in five at
    the start of their week, so that those paying more often than weekly (payroll firms,
    allowance parents) make payments at the same instant, which only ``txn_id`` orders."""
    mixed = (pl.col("sender_id").hash(7) % 3 == 0) & (pl.col("txn_id").hash(11) % 3 == 0)
    pick = pl.col("txn_id").hash(13) % 10
    name = pl.col("receiver_name")
    start_of_week = pl.col("sender_id").hash(17) % 5 < 2
    ts = pl.col("timestamp")
    return tx.with_columns(
        pl.when(start_of_week).then(ts.dt.truncate("1w")).otherwise(ts).alias("timestamp"),
        pl.when(mixed).then(pl.lit("EUR")).otherwise(pl.col("currency")).alias("currency"),
        pl.when(pick == 0).then(pl.lit("   ")).when(pick == 1).then(pl.lit(""))
        .when(pick == 2).then(pl.lit(" ") + name + pl.lit(" ")).when(pick == 3).then(None)
        .otherwise(name).alias("receiver_name"),
    )  # fmt: skip


@pytest.fixture(scope="module")
def engine() -> Iterator[DuckDBEngine]:
    tx, cu, _ = small_world()
    # The customer file's name, where there is one, wins over the payments' own: some
    # customers have none or are missing, and the payments name every sender otherwise.
    tx = tx.with_columns(pl.concat_str(pl.lit("Payer "), pl.col("sender_id")).alias("sender_name"))
    cu = cu.with_columns(
        pl.when(pl.col("customer_id").hash(5) % 4 == 0).then(None).otherwise(pl.col("name"))
        .alias("name")
    ).filter(pl.col("customer_id").hash(9) % 5 != 0)  # fmt: skip
    eng = DuckDBEngine()
    eng.register("transactions", _varied(tx).to_arrow())
    eng.register("customers", cu.to_arrow())
    eng.run(compile_scan(load_pack(), eng.dialect))
    yield eng
    eng.close()


def _frame(eng: DuckDBEngine, sql: str) -> pl.DataFrame:
    out = pl.from_arrow(eng.fetch(sql))
    assert isinstance(out, pl.DataFrame)
    return out


def _compare(eng: DuckDBEngine, computed: str, plain: str, key: str) -> pl.DataFrame:
    """Rows of ``computed`` (key, value) joined to ``plain`` (key, expected)."""
    both = _frame(eng, computed).join(_frame(eng, plain), on=key, how="inner")
    assert both.height > 0
    return both


# Each corridor payment with the text columns of its transaction, which the compiled
# corridor_payments carries as codes (currency, channel) or not at all (names).
WITH_TEXT = "corridor_payments p JOIN relevant_transactions t ON t.txn_id = p.txn_id"


def test_the_world_has_senders_and_beneficiaries_paid_in_two_currencies(
    engine: DuckDBEngine,
) -> None:
    for key in ("sender_id", "receiver_id"):
        mixed = _frame(
            engine,
            f"SELECT p.{key} FROM {WITH_TEXT} GROUP BY p.{key} "
            "HAVING count(DISTINCT t.currency) > 1",
        )
        assert mixed.height >= 3, key


def test_median_in_the_reference_currency_is_the_median_of_the_converted_payments(
    engine: DuckDBEngine,
) -> None:
    senders = _compare(
        engine,
        "SELECT sender_id, corridor_median_ref AS value FROM customer_activity",
        "SELECT sender_id, median(amount_ref) AS expected FROM corridor_payments "
        "GROUP BY sender_id",
        "sender_id",
    )
    beneficiaries = _compare(
        engine,
        "SELECT receiver_id, inbound_median_ref AS value FROM beneficiary_features",
        "SELECT receiver_id, median(amount_ref) AS expected FROM corridor_payments "
        "GROUP BY receiver_id",
        "receiver_id",
    )
    for both in (senders, beneficiaries):
        assert both["value"].to_list() == pytest.approx(both["expected"].to_list(), rel=1e-12)


def test_run_share_is_the_share_of_payments_in_pay_runs_over_every_payment(
    engine: DuckDBEngine,
) -> None:
    both = _compare(
        engine,
        "SELECT sender_id, run_share AS value FROM customer_activity",
        f"SELECT r.sender_id, r.run_payments / CAST(n.n AS DOUBLE) AS expected "
        f"FROM ({runs_sql()}) r JOIN (SELECT sender_id, count(*) AS n FROM corridor_payments "
        "GROUP BY sender_id) n ON n.sender_id = r.sender_id",
        "sender_id",
    )
    assert both["value"].to_list() == both["expected"].to_list()
    assert both["value"].max() > 0  # the world has pay runs (payroll firms)


def test_unnamed_shares_count_names_that_are_missing_or_only_spaces(engine: DuckDBEngine) -> None:
    unnamed = (
        "avg(CASE WHEN coalesce(trim(t.receiver_name), '') = '' THEN p.channel_w ELSE 0.0 END)"
    )
    for key, feature, table in (
        ("sender_id", "unnamed_share", "customer_activity"),
        ("receiver_id", "inbound_unnamed_share", "beneficiary_features"),
    ):
        both = _compare(
            engine,
            f"SELECT {key}, {feature} AS value FROM {table}",
            f"SELECT p.{key} AS {key}, {unnamed} AS expected FROM {WITH_TEXT} GROUP BY p.{key}",
            key,
        )
        assert both["value"].to_list() == pytest.approx(both["expected"].to_list(), rel=1e-12)
        share = both["value"].fill_null(0.0).sum() / both.height
        assert 0 < share < 1  # blank names, and named ones, are paid


def test_a_pair_names_the_sender_as_the_customer_file_else_as_the_payments(
    engine: DuckDBEngine,
) -> None:
    both = _compare(
        engine,
        "SELECT sender_id || '/' || coalesce(receiver_id, '') AS k, sn AS value FROM pair_names",
        "SELECT p.sender_id || '/' || coalesce(p.receiver_id, '') AS k, "
        f"max(coalesce(c.name, t.sender_name)) AS expected FROM {WITH_TEXT} "
        "LEFT JOIN customers c ON c.customer_id = p.sender_id GROUP BY p.sender_id, p.receiver_id",
        "k",
    )
    assert both["value"].to_list() == both["expected"].to_list()
    named_by_payments = both.filter(pl.col("value").str.starts_with("Payer "))
    assert 0 < named_by_payments.height < both.height


@pytest.mark.parametrize(
    ("key", "table", "feature", "column"),
    [
        ("sender_id", "customer_activity", "currency", "currency"),
        ("sender_id", "customer_activity", "main_channel", "channel"),
        ("sender_id", "customer_activity", "countries", "receiver_country"),
        ("receiver_id", "beneficiary_features", "currency", "currency"),
        ("receiver_id", "beneficiary_features", "countries", "receiver_country"),
    ],
)
def test_text_features_are_the_smallest_text_of_the_payments(
    engine: DuckDBEngine, key: str, table: str, feature: str, column: str
) -> None:
    both = _compare(
        engine,
        f"SELECT {key}, {feature} AS value FROM {table}",
        f"SELECT p.{key} AS {key}, min(t.{column}) AS expected FROM {WITH_TEXT} GROUP BY p.{key}",
        key,
    )
    assert both["value"].to_list() == both["expected"].to_list()
    # the payments hold several currencies, channels and countries
    values = _frame(engine, f"SELECT count(DISTINCT t.{column}) AS n FROM {WITH_TEXT}")
    assert values["n"][0] > 1


def test_the_world_has_senders_paying_twice_at_the_same_instant(engine: DuckDBEngine) -> None:
    tied = _frame(
        engine,
        "SELECT sender_id FROM corridor_payments GROUP BY sender_id HAVING count(*) > "
        "count(DISTINCT ts)",
    )
    assert tied.height >= 3


# The sequence features as defined: each sender's payments ordered by time, ties by txn_id.
PLAIN_SEQUENCE = """
SELECT sender_id, corr(CAST(rn AS DOUBLE), amount_ref) AS amount_trend,
  corr(CAST(rn AS DOUBLE), gap) AS gap_trend, stddev_samp(gap) / avg(gap) AS gap_cv,
  avg(CASE WHEN rn <= 3 THEN amount END) AS first_amounts,
  avg(CASE WHEN rn > n - 3 THEN amount END) AS last_amounts
FROM (SELECT sender_id, amount, amount_ref,
        row_number() OVER (PARTITION BY sender_id ORDER BY ts, txn_id) AS rn,
        count(*) OVER (PARTITION BY sender_id) AS n,
        ts_s - lag(ts_s) OVER (PARTITION BY sender_id ORDER BY ts, txn_id) AS gap
      FROM corridor_payments) o
GROUP BY sender_id
"""


@pytest.mark.parametrize(
    "feature", ["amount_trend", "gap_trend", "gap_cv", "first_amounts", "last_amounts"]
)
def test_sequence_features_order_payments_by_time_then_txn_id(
    engine: DuckDBEngine, feature: str
) -> None:
    both = _compare(
        engine,
        f"SELECT sender_id, {feature} AS value FROM sender_sequence",
        f"SELECT sender_id, {feature} AS expected FROM ({PLAIN_SEQUENCE}) p",
        "sender_id",
    )
    expected = [0.0 if x is None or x != x else x for x in both["expected"].to_list()]
    assert both["value"].to_list() == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert both["value"].n_unique() > 2  # the feature varies in this world


def test_union_of_purchase_windows_is_the_sum_of_capped_gaps(engine: DuckDBEngine) -> None:
    """purchase_baseline's union of the windows around a sender's payments, read from
    the sequence window, against its definition: a window of its own over the payments
    ordered by ts_s."""
    w2 = 2 * load_pack().related_purchase_days * 86400.0
    both = _compare(
        engine,
        "SELECT sender_id, union_s AS value, first_s, last_s FROM sender_sequence",
        f"SELECT sender_id, CAST(sum(least(coalesce(gap, {w2}), {w2})) AS DOUBLE) AS expected, "
        "min(ts_s) AS lo, max(ts_s) AS hi "
        "FROM (SELECT sender_id, ts_s, ts_s - lag(ts_s) OVER (PARTITION BY sender_id "
        "ORDER BY ts_s) AS gap FROM corridor_payments) g GROUP BY sender_id",
        "sender_id",
    )
    assert both["value"].to_list() == pytest.approx(both["expected"].to_list(), rel=1e-12)
    assert both["first_s"].to_list() == both["lo"].to_list()
    assert both["last_s"].to_list() == both["hi"].to_list()
    assert both["value"].n_unique() > 2


# Zones with daylight saving (northern and southern), half-hour offsets and a half-hour
# shift (Lord Howe), and none; a customer without one reads the pack's default.
ZONES = ["Australia/Sydney", "Australia/Adelaide", "Australia/Lord_Howe", "America/New_York",
         "Europe/London", "Asia/Kolkata", None]  # fmt: skip


@pytest.fixture(scope="module")
def zoned() -> Iterator[DuckDBEngine]:
    """The small world with customers in several zones and a third of the senders paying
    around 2025-04-05 16:00 UTC, when Sydney, Adelaide and Lord Howe leave daylight
    saving."""
    tx, cu, _ = small_world()
    zone = pl.col("customer_id").hash(3) % len(ZONES)
    cu = cu.with_columns(
        pl.lit(pl.Series(ZONES, dtype=pl.String)).gather(zone).alias("timezone")
    ).filter(pl.col("customer_id").hash(9) % 6 != 0)  # some payers have no customer row
    moved = pl.datetime(2025, 4, 5, 12, time_zone="UTC") + pl.duration(
        minutes=pl.col("txn_id").hash(21) % 480
    )
    tx = tx.with_columns(
        pl.when(pl.col("sender_id").hash(19) % 3 == 0).then(moved)
        .otherwise(pl.col("timestamp")).dt.cast_time_unit("us").alias("timestamp")
    )  # fmt: skip
    eng = DuckDBEngine()
    eng.register("transactions", tx.to_arrow())
    eng.register("customers", cu.to_arrow())
    pack = load_pack()
    eng.run(compile_scan(pack, eng.dialect))
    yield eng
    eng.close()


def test_local_hour_flags_are_the_time_zone_conversion_of_each_payment(
    zoned: DuckDBEngine,
) -> None:
    """night and office, from the zone's offset per UTC day, against the engine's own
    time zone conversion of every payment."""
    pack = load_pack()
    tz_rows = sorted(pack.default_timezones.items())
    defaults = " ".join(f"WHEN '{c}' THEN '{z}'" for c, z in tz_rows)
    n0, n1 = pack.night.start_hour, pack.night.end_hour
    night = f"(hr >= {n0} OR hr < {n1})" if n0 > n1 else f"(hr >= {n0} AND hr < {n1})"
    o0, o1 = context.OFFICE_HOURS
    both = _compare(
        zoned,
        "SELECT txn_id, night * 2 + office AS value FROM corridor_payments",
        f"SELECT txn_id, CAST({night} AS INTEGER) * 2 + CAST(hr >= {o0} AND hr < {o1} AS "
        "INTEGER) AS expected, tz, hr FROM (SELECT t.txn_id, coalesce(c.timezone, CASE "
        f"t.sender_country {defaults} END, 'UTC') AS tz, hour(timezone(coalesce(c.timezone, "
        f"CASE t.sender_country {defaults} END, 'UTC'), t.timestamp)) AS hr "
        "FROM relevant_transactions t LEFT JOIN customers c ON c.customer_id = t.sender_id) x",
        "txn_id",
    )
    assert both["value"].to_list() == both["expected"].to_list()
    # payments in every zone, at most hours, and on the day a zone changed its offset
    # at hours that day's first offset would have read wrong
    assert both["tz"].n_unique() >= 6 and both["hr"].n_unique() >= 20
    changed = _frame(
        zoned,
        "SELECT count(*) AS n FROM corridor_payments p JOIN relevant_transactions t "
        "ON t.txn_id = p.txn_id JOIN customers c ON c.customer_id = t.sender_id "
        "JOIN zone_days z ON z.tz = c.timezone AND z.day_n = floor(p.ts_s / 86400.0) "
        "WHERE z.o0 <> z.o1 AND hour(timezone(c.timezone, t.timestamp)) "
        "<> floor(((p.ts_s + z.o0) % 86400) / 3600)",
    )
    assert changed["n"][0] >= 3
