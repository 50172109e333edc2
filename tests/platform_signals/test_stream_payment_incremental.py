"""The stream-payment coincidence fed a batch at a time (the stream detector) gives the
batch detector's alerts, whatever the batch sizes; a batch delivered again changes
nothing; the pairing window stays bounded by the window."""

from __future__ import annotations

from functools import cache

import polars as pl
import pytest

from daybreak.detectors import DetectorError
from daybreak.detectors.streaming import StreamDetector, stream_detector_info
from daybreak.engines.stream_payment import default_params, run_frames
from daybreak.model.alerts import Alert
from daybreak.platform.coincidence_stream import CoincidenceStream, owners_and_zones
from daybreak.platform.inputs import StreamPaymentInput
from daybreak.synth import World, generate_world


@cache
def _world(seed: int) -> World:
    return generate_world(customers=1500, months=2, seed=seed)


def _batch_alerts(w: World) -> list[Alert]:
    data = StreamPaymentInput(w.platform_events, w.identifiers, w.transactions, w.customers)
    return run_frames(data).alerts


def _detector(w: World, lateness_minutes: int = 1440) -> CoincidenceStream:
    owners, zones = owners_and_zones(w.identifiers, w.customers)
    return CoincidenceStream(default_params(), owners, zones, lateness_minutes)


def _feed(det: CoincidenceStream, w: World, events: int, txns: int) -> list[Alert]:
    """Both kinds in time order, ``events`` and ``txns`` rows a batch, alternating; the
    alerts as the hook keeps them (the last version of each, less the withdrawn)."""
    ev, tx = w.platform_events.sort("started_at"), w.transactions.sort("timestamp")
    kept: dict[str, Alert] = {}
    i = j = 0
    while i < ev.height or j < tx.height:
        for table, frame in (
            ("platform_events", ev[i : i + events]),
            ("transactions", tx[j : j + txns]),
        ):
            changes = det.observe(table, frame)
            kept.update((a.alert_id, a) for a in changes.raised)
            for gone in changes.withdrawn:
                del kept[gone]
        i, j = i + events, j + txns
    return sorted(kept.values(), key=lambda a: (-a.score, a.alert_id))


@pytest.mark.parametrize(("seed", "events", "txns"), [(3, 50, 500), (4, 7, 1000), (5, 400, 90)])
def test_batches_give_the_batch_detectors_alerts(seed: int, events: int, txns: int) -> None:
    w = _world(seed)
    batch = _batch_alerts(w)
    assert len(batch) >= 10
    det = _detector(w)
    assert _feed(det, w, events, txns) == batch
    assert det.current_alerts() == batch
    assert det.late == 0


def test_a_batch_delivered_again_changes_nothing() -> None:
    """The consumer never hands over a message already stored; a row published twice
    (another stream sequence) within the window is recognised by its id."""
    w = _world(3)
    det = _detector(w)
    _feed(det, w, 100, 1000)
    size = det.state_size()
    end = w.transactions["timestamp"].max()
    recent = pl.col("started_at") >= pl.lit(end).dt.offset_by("-12h")
    again = det.observe("transactions", w.transactions.sort("timestamp").tail(3000))
    again_shows = det.observe("platform_events", w.platform_events.filter(recent))
    assert again.raised == again_shows.raised == () and det.state_size() == size
    assert det.current_alerts() == _batch_alerts(w)


def test_the_pairing_window_is_bounded_by_the_window() -> None:
    w = _world(3)
    det = _detector(w, lateness_minutes=60)
    ev, tx = w.platform_events.sort("started_at"), w.transactions.sort("timestamp")
    largest, shown = 0, 0
    for k in range(0, tx.height, 500):
        det.observe("transactions", tx[k : k + 500])
        until = tx[min(k + 499, tx.height - 1)]["timestamp"].item()
        upto = ev.filter(pl.col("started_at") <= until).height
        if k + 500 >= tx.height:
            upto = ev.height
        det.observe("platform_events", ev[shown:upto])
        shown = upto
        s = det.state_size()
        largest = max(largest, s["window_shows"] + s["window_payments"])
    # window + lateness = 2.5 h of a two-month feed, plus a batch: a small share
    assert largest < 0.02 * (ev.height + tx.height)
    assert det.late == 0
    assert det.current_alerts() == _batch_alerts(w)


def test_registered_and_checked() -> None:
    info = stream_detector_info("stream_payment")
    assert info.reads == ("platform_events", "transactions")
    with pytest.raises(DetectorError, match="unknown stream detector 'nope'"):
        stream_detector_info("nope")
    assert isinstance(_detector(_world(3)), StreamDetector)
