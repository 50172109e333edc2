"""The detector hook without a server: batches stored as the consumer stores them, handed
over, then the hook restarted (as after ``kill -9``) from the stored files: the state is
rebuilt, the alerts are those of the batch run, and nothing is recorded twice."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from daybreak.cli.main import app
from daybreak.connectors.stream_config import DetectorSettings, InboundSettings, Subjects
from daybreak.connectors.stream_files import StreamFiles
from daybreak.connectors.stream_hook import ALERT_ACTIONS, DetectorHook, read_current_alerts
from daybreak.detectors import DetectorError
from daybreak.engines.stream_payment import run_frames
from daybreak.platform.inputs import StreamPaymentInput
from daybreak.store import TiplineStore
from daybreak.synth import World, generate_world


def settings(tmp: Path, reference: Path) -> InboundSettings:
    options = {"reference": str(reference), "lateness_minutes": 1440}
    return InboundSettings(
        stream="S", subjects=Subjects(transactions="t", platform_events="e"),
        output_dir=tmp / "out", detectors=[DetectorSettings(name="stream_payment", options=options)],
    )  # fmt: skip


def world_and_hook_settings(tmp: Path) -> tuple[World, InboundSettings, StreamFiles]:
    """A development world, its reference folder, and the hook's settings and files."""
    w = generate_world(customers=500, months=1, seed=7)  # a development seed
    reference = tmp / "reference"
    reference.mkdir()
    w.identifiers.write_parquet(reference / "identifiers.parquet")
    w.customers.write_parquet(reference / "customers.parquet")
    s = settings(tmp, reference)
    return w, s, StreamFiles(s.output_dir, s.stream)


def test_a_restarted_hook_rebuilds_its_state_and_records_nothing_twice(tmp_path: Path) -> None:
    w, s, files = world_and_hook_settings(tmp_path)
    ev, tx = w.platform_events.sort("started_at"), w.transactions.sort("timestamp")
    batches = [("platform_events", ev[i : i + 100]) for i in range(0, ev.height, 100)]
    batches += [("transactions", tx[i : i + 1000]) for i in range(0, tx.height, 1000)]
    batches.sort(key=lambda b: b[1][0, "started_at" if b[0] == "platform_events" else "timestamp"])
    half = len(batches) // 2
    expected = run_frames(StreamPaymentInput(ev, w.identifiers, tx, w.customers)).alerts
    assert len(expected) >= 3

    with TiplineStore.open(tmp_path / "store", dev=True) as store:
        hook = DetectorHook(s, files, store)
        assert hook.restore() == 0
        seq = 0
        for n, (table, frame) in enumerate(batches):
            seq += frame.height
            files.write(table, frame, range(seq - frame.height + 1, seq + 1))
            if n == half:
                break  # killed after this durable write, before its alerts
            hook.on_batch(table, frame)
        first_raised = hook.raised

        again = DetectorHook(s, files, store)  # the restarted consumer
        assert again.restore() == sum(f.height for _, f in batches[: half + 1])
        for table, frame in batches[half + 1 :]:
            seq += frame.height
            files.write(table, frame, range(seq - frame.height + 1, seq + 1))
            again.on_batch(table, frame)
        third = DetectorHook(s, files, store)  # restarted once more, at the end
        assert third.restore() == ev.height + tx.height
        assert third.raised == third.withdrawn == 0  # everything was recorded already
        entries = store.outbound.events_after(0, ALERT_ACTIONS, 100_000)

    assert first_raised > 0 and again.raised > 0
    assert list(read_current_alerts(s.output_dir, "stream_payment")) == expected
    versions = Counter((e.object_id, e.detail["digest"]) for e in entries)
    assert max(versions.values()) == 1
    assert {e.object_id for e in entries} >= {a.alert_id for a in expected}


def stored_world(tmp: Path) -> tuple[World, InboundSettings, StreamFiles]:
    """A development world's events, stored as the consumer stores them, not yet handed
    to a hook."""
    w, s, files = world_and_hook_settings(tmp)
    files.write("platform_events", w.platform_events, range(1, w.platform_events.height + 1))
    files.write("transactions", w.transactions, range(10**6, 10**6 + w.transactions.height))
    return w, s, files


def test_the_alerts_a_batch_raises_share_a_commit_of_the_audit_trail(tmp_path: Path) -> None:
    _, s, files = stored_world(tmp_path)
    with TiplineStore.open(tmp_path / "store", dev=True) as store:
        before = store._reads.batches
        hook = DetectorHook(s, files, store)
        hook.restore()  # stored, never handed over: every alert is recorded now, at once
        commits, entries = (a - b for a, b in zip(store._reads.batches, before, strict=True))
    assert hook.raised >= 3 and entries == hook.raised
    # handed to the store together, not one committed (and awaited) after the other
    assert commits < entries


def test_an_audit_commit_that_fails_is_retried_alone_and_the_file_follows(
    tmp_path: Path,
) -> None:
    w, s, files = stored_world(tmp_path)
    expected = run_frames(
        StreamPaymentInput(w.platform_events, w.identifiers, w.transactions, w.customers)
    ).alerts
    with TiplineStore.open(tmp_path / "store", dev=True) as store:
        record_later = store.audit.record_later
        calls = []

        def second_fails(*args: Any, **kwargs: Any) -> Future[None]:
            calls.append(args)
            if len(calls) == 2:  # the store refuses this one entry
                failed: Future[None] = Future()
                failed.set_exception(OSError("disk full"))
                return failed
            return record_later(*args, **kwargs)

        store.audit.record_later = second_fails  # type: ignore[method-assign]
        hook = DetectorHook(s, files, store)
        hook.restore()
        assert hook.raised == len(expected) - 1  # all but the refused one
        assert read_current_alerts(s.output_dir, "stream_payment") == []  # not before it
        hook.on_batch("transactions", w.transactions.clear())  # the next batch retries
        entries = store.outbound.events_after(0, ALERT_ACTIONS, 100_000)
    assert hook.raised == len(expected)
    assert len(calls) == len(expected) + 1  # only the refused entry was sent again
    assert list(read_current_alerts(s.output_dir, "stream_payment")) == expected
    assert sorted(e.object_id for e in entries) == sorted(a.alert_id for a in expected)


def test_an_unknown_stream_detector_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "stream.yaml"
    config.write_text(yaml.safe_dump({
        "store": {"data_dir": str(tmp_path / "store"), "dev": True},
        "inbound": {"subjects": {"transactions": "in.txn"}, "output_dir": str(tmp_path / "o"),
                    "detectors": [{"name": "stream_paymnet"}]},
    }))  # fmt: skip
    result = CliRunner().invoke(app, ["stream", "run", "--config", str(config)])
    assert result.exit_code == 2
    assert "unknown stream detector 'stream_paymnet'" in result.output
    assert "stream_payment" in result.output


def test_options_a_detector_does_not_take_are_refused(tmp_path: Path) -> None:
    s = InboundSettings(
        subjects=Subjects(transactions="t"), output_dir=tmp_path,
        detectors=[DetectorSettings(name="stream_payment", options={"windw_minutes": 5})],
    )  # fmt: skip
    with pytest.raises(
        DetectorError, match=r"inbound.detectors\[0\] \(stream_payment\): options: .*windw_minutes"
    ):
        DetectorHook(s, StreamFiles(tmp_path, "S"), None)
