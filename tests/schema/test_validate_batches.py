"""validate_records' batch path: a batch it vouches for is typed exactly as the
per-record path types it, and any defect the per-record path finds sends the batch to
that path (which names it). Checked over random corruptions of well-formed batches."""

from __future__ import annotations

import copy

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from daybreak.schema.columns import TABLES
from daybreak.schema.validate import (
    RecordsResult,
    _validate_one_by_one,
    _well_formed_frame,
    certain_record,
    validate_record,
    validate_records,
)

# Well-formed records of four tables, in the shapes a feed sends: Z and +00:00
# timestamps, fractions, whole and decimal amounts, optional fields left out or null,
# names starting with a non-ASCII letter.
WELL_FORMED: dict[str, list[dict[str, object]]] = {
    "transactions": [
        {"txn_id": "t1", "timestamp": "2025-03-01T22:15:00Z", "sender_id": "C1",
         "sender_name": "Ann Lee", "sender_country": "AU", "receiver_id": "gcash:+639171234567",
         "receiver_name": "Élise Santos", "receiver_country": "PH", "amount": 48.5,
         "currency": "AUD", "channel": "remittance", "reference": "school fees"},
        {"txn_id": "t2", "timestamp": "2025-03-02T10:00:00.123Z", "sender_id": "C1",
         "sender_name": None, "sender_country": "AU", "receiver_id": "shop:1",
         "receiver_country": "AU", "amount": 12, "currency": "AUD", "channel": "card",
         "merchant_category": "5411"},
        {"txn_id": "t3", "timestamp": "2024-02-29T23:59:59+00:00", "sender_id": "C2",
         "sender_country": "GB", "receiver_id": "bdo:0012", "receiver_country": "PH",
         "amount": 0, "currency": "GBP", "channel": "wire", "reference": None},
        {"txn_id": "t4", "timestamp": "2025-03-02T10:00:00.5+00:00", "sender_id": "C3",
         "sender_country": "US", "receiver_id": "w:9", "receiver_country": "PH",
         "amount": 1e-07, "currency": "USD", "channel": "crypto"},
    ],
    "platform_events": [
        {"event_id": "e1", "service": "vidchat", "event_type": "stream", "account_id": "a1",
         "counterparty_account_id": "a2", "started_at": "2025-03-01T22:00:00Z",
         "ended_at": "2025-03-01T22:15:00Z", "ip": "203.0.113.9", "country": "PH"},
        {"event_id": "e2", "service": "vidchat", "event_type": "login", "account_id": "a2",
         "started_at": "2025-03-01T21:00:00+00:00", "ended_at": None, "device_id": "d-7"},
        {"event_id": "e3", "service": "msg", "event_type": "message", "account_id": "a3",
         "started_at": "2025-03-01T21:00:00.000001Z", "country": None},
    ],
    "customers": [
        {"customer_id": "C1", "name": "Ann Lee", "birth_year": 1961, "gender": "F",
         "country": "AU", "timezone": "Australia/Sydney", "known_offender": False},
        {"customer_id": "C2", "name": "Ólafur Bob", "country": "GB", "timezone": "Europe/London",
         "known_offender": True, "birth_year": None},
    ],
    "platform_accounts": [
        {"service": "vidchat", "account_id": "a1", "created_at": "2024-01-01T00:00:00Z",
         "age_band": "25+", "is_minor": False, "country": "AU", "verified": False},
        {"service": "vidchat", "account_id": "a2", "created_at": "2024-01-01T00:00:00Z",
         "age_band": "13-15", "is_minor": True, "verified": True},
        {"service": "vidchat", "account_id": "a3", "created_at": "2024-01-01T00:00:00Z",
         "verified": False},
    ],
}  # fmt: skip

# Values put into any field: every kind of defect the per-record path detects (type,
# blank, code, range, timestamp shape and calendar, nesting), and values it accepts
# that the batch path leaves to it (numbers as text, booleans as words, leap seconds,
# other offsets, characters only Python calls blank).
ODD_VALUES: list[object] = [
    None, "", " ", "\t", "\u00a0", "\u3000", "\x1c", " x", "É", "x", "-5",
    True, False, 0, 7, -1, 1.5, -0.0, -1.5, 2**70, 10**400, 1930, 1899, 2031,
    "1930", "true", "yes", "0", "12.5", "five", "nan", "inf",
    {"a": 1}, [1], [],
    "AU", "au", "XX", "AUD", "aud", "ABC", "GBP", "wire", "Wire", "teleport", "stream",
    "F", "f", "M", "25+", "13-15", "under_13", "Australia/Sydney", "Mars/Base",
    "5411", "541", "54111", "54a1", "٤٥٤١", 5411,
    "2025-03-01T22:15:00Z", "2025-03-01T22:15:00.123456Z", "2025-03-01T22:15:00.1234567Z",
    "2025-03-01T22:15:00+00:00", "2025-03-01T22:15:00+08:00", "2025-03-01T22:15:00-05:30",
    "2025-03-01T22:15:00z", "2025-03-01 22:15:00Z", "2025-03-01T22:15Z", "2025-03-01",
    "2025-02-29T00:00:00Z", "2024-02-30T00:00:00Z", "2025-13-01T00:00:00Z",
    "2025-03-01T24:00:00Z", "2025-03-01T23:60:00Z", "2025-12-31T23:59:60Z",
    "0000-01-01T00:00:00Z", "+2025-03-01T22:15:00Z", " 2025-03-01T22:15:00Z",
    "2025-03-01T22:15:00Z ", 1740867300,
]  # fmt: skip


def _corruption(table: str) -> st.SearchStrategy[tuple[str, int, str, object]]:
    rows = len(WELL_FORMED[table])
    fields = [*TABLES[table].names, "unexpected_field"]
    return st.tuples(
        st.sampled_from(["set", "drop", "replace_record"]),
        st.integers(0, rows - 1),
        st.sampled_from(fields),
        st.sampled_from(ODD_VALUES),
    )


def _corrupt(records: list[object], change: tuple[str, int, str, object]) -> None:
    how, row, field, value = change
    record = records[row]
    if how == "replace_record":
        records[row] = value  # not an object, or a scalar where an object belongs
    elif isinstance(record, dict):
        if how == "drop":
            record.pop(field, None)
        else:
            record[field] = copy.deepcopy(value)


def _same(fast: RecordsResult, slow: RecordsResult) -> None:
    assert fast.positions == slow.positions
    assert {i: [str(p) for p in ps] for i, ps in fast.problems.items()} == {
        i: [str(p) for p in ps] for i, ps in slow.problems.items()
    }
    assert_frame_equal(fast.frame, slow.frame)


@pytest.mark.parametrize("table", sorted(WELL_FORMED))
def test_well_formed_batches_take_the_batch_path_typed_as_one_by_one(table: str) -> None:
    records: list[object] = [dict(r) for r in WELL_FORMED[table]] * 3
    names = [f"msg {i}" for i in range(len(records))]
    frame = _well_formed_frame(records, TABLES[table])
    assert frame is not None  # the batch path takes the usual case
    assert frame.height == len(records)
    _same(
        validate_records(records, table, names), _validate_one_by_one(records, TABLES[table], names)
    )


@pytest.mark.parametrize("table", sorted(WELL_FORMED))
def test_each_odd_value_in_each_field(table: str) -> None:
    """Every odd value in every field of a well-formed record (and each field left out
    of each record, the record replaced by each value), next to well-formed records:
    where the per-record path finds a defect, the batch path refuses the batch; where
    it vouches for it, its row is the per-record path's."""
    spec = TABLES[table]
    base: list[object] = copy.deepcopy(WELL_FORMED[table])
    changes = [("set", 0, field, value) for field in spec.names for value in ODD_VALUES]
    changes += [
        ("set", 0, "unexpected_field", "x"),
        *(("replace_record", 0, "", v) for v in ODD_VALUES),
    ]
    changes += [("drop", row, field, None) for row in range(len(base)) for field in spec.names]
    cases: list[object] = []
    for change in changes:
        case = copy.deepcopy(base)
        _corrupt(case, change)
        cases.append(case[change[1]])
    slow = _validate_one_by_one(cases, spec, [f"case {i}" for i in range(len(cases))])
    typed = {at: row for row, at in enumerate(slow.positions)}
    vouched = 0
    for i, case in enumerate(cases):
        frame = _well_formed_frame([*base, case], spec)
        if i in slow.problems:
            assert frame is None, (case, slow.problems[i])
        elif frame is not None:
            assert_frame_equal(frame[len(base) :], slow.frame[typed[i] : typed[i] + 1])
            vouched += 1
    assert slow.problems and vouched > len(slow.positions) // 2  # both paths exercised


@pytest.mark.parametrize("table", sorted(WELL_FORMED))
def test_each_odd_value_in_one_record(table: str) -> None:
    """One record (the real-time route's case), typed in Python: where the per-record
    path finds a defect, ``certain_record`` vouches for nothing and ``validate_record``
    names the same problems; where it vouches, its row is the per-record path's row,
    value for value and type for type (a datetime's zone included)."""
    spec = TABLES[table]
    base = WELL_FORMED[table]
    cases: list[object] = []
    for row in range(len(base)):
        for change in [("set", row, f, v) for f in spec.names for value in ODD_VALUES
                       for v in [value]] + [("drop", row, f, None) for f in spec.names]:  # fmt: skip
            case: list[object] = copy.deepcopy(base)
            _corrupt(case, change)
            cases.append(case[row])
    cases += [*ODD_VALUES, *copy.deepcopy(base)]
    slow = _validate_one_by_one(cases, spec, [f"case {i}" for i in range(len(cases))])
    typed = {at: row for row, at in enumerate(slow.positions)}
    vouched = 0
    for i, case in enumerate(cases):
        row, problems = validate_record(case, spec, f"case {i}")
        certain = certain_record(case, spec)
        if i in slow.problems:
            assert certain is None and row is None, (case, slow.problems[i])
            assert [str(p) for p in problems] == [str(p) for p in slow.problems[i]]
            continue
        try:
            expected = slow.frame.row(typed[i], named=True)
        except ValueError:  # year 0: valid, but no Python datetime holds it
            assert row is None and certain is None and len(problems) == 1
            assert "a year from 1 to 9999" in str(problems[0]), problems
            continue
        assert problems == [] and row == expected, case
        assert [type(v) for v in row.values()] == [type(v) for v in expected.values()]
        assert [getattr(v, "tzinfo", None) for v in row.values()] == [
            getattr(v, "tzinfo", None) for v in expected.values()
        ]
        vouched += certain is not None
    if table == "platform_accounts":  # a rule across columns: always the frame path
        assert vouched == 0
    else:
        assert slow.problems and vouched > len(slow.positions) // 2  # both paths exercised


@pytest.mark.parametrize("table", sorted(WELL_FORMED))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_defect_sends_the_batch_to_the_path_that_names_it(
    table: str, data: st.DataObject
) -> None:
    records: list[object] = copy.deepcopy(WELL_FORMED[table])
    for change in data.draw(st.lists(_corruption(table), min_size=1, max_size=3)):
        _corrupt(records, change)
    names = [f"msg {i}" for i in range(len(records))]
    spec = TABLES[table]
    slow = _validate_one_by_one(records, spec, names)
    if slow.problems:
        assert _well_formed_frame(records, spec) is None
    _same(validate_records(records, table, names), slow)


def test_cross_column_rules_hold_on_the_batch_path() -> None:
    """platform_accounts: is_minor contradicting age_band is a defect of a row whose
    values are each fine alone."""
    records: list[object] = copy.deepcopy(WELL_FORMED["platform_accounts"])
    records[0]["is_minor"] = True  # type: ignore[index]  # age band 25+
    assert _well_formed_frame(records, TABLES["platform_accounts"]) is None
    result = validate_records(records, "platform_accounts", ["a", "b", "c"])
    assert list(result.problems) == [0]
    assert "contradicts age_band" in str(result.problems[0][0])
    assert result.frame.height == 2 and result.frame.schema["is_minor"] == pl.Boolean
