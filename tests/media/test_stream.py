"""Live watch: matches raised as frames arrive; ended and stalled streams stop cleanly.

How fast (decoded frames per second, match latency and lag against a 30 fps source) is
measured by ``benchmarks/media_stream.py``, not here: wall-clock limits flake on a
loaded machine."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from daybreak.media import stream
from daybreak.media.banks import BankStore
from daybreak.media.matcher import MediaMatcher, frames_to_entries
from daybreak.media.stream import WatchStats, watch
from daybreak.media.video import hash_video_bytes

from .gen import make_video, scene


@pytest.fixture
def matcher(tmp_path: Path, scene_video: bytes) -> MediaMatcher:
    store = BankStore(tmp_path / "banks")
    store.create("listed")
    frames = hash_video_bytes(scene_video).frames
    store.add("listed", frames_to_entries("scene", frames[2:3], ["test"]))  # one listed frame
    return MediaMatcher.build(store)


def test_file_stream_raises_the_match_and_ends(
    tmp_path: Path, scene_video: bytes, matcher: MediaMatcher
) -> None:
    path = tmp_path / "scene.mp4"
    path.write_bytes(scene_video)
    stats = WatchStats()
    events = list(watch(str(path), matcher.match_pdq, fps=2.0, stats=stats))
    kinds = [e.kind for e in events]
    assert kinds[-1] == "end" and "ended after 40 frames" in events[-1].message
    matches = [e for e in events if e.kind == "match"]
    assert matches and {round(e.frame.timestamp) for e in matches if e.frame} <= {2, 3}
    assert all(0.0 <= e.latency <= stats.max_latency for e in matches)
    assert stats.hashed == 8 and stats.decoded == 40


class ReaderClock:
    """Stands in for the stream module's clock: time moves only when the reader sleeps
    to wait for a frame's due time, so pacing is checked without the wall clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


@pytest.mark.parametrize("realtime", [True, False])
def test_realtime_playback_is_paced_like_a_live_source_and_matches(
    tmp_path: Path, matcher: MediaMatcher, monkeypatch: pytest.MonkeyPatch, realtime: bool
) -> None:
    # a 30 fps 'live' source, sampled at 1 fps
    video = make_video(lambda i: scene(i, fps=30), seconds=4, fps=30)
    path = tmp_path / "live.mp4"
    path.write_bytes(video)
    clock = ReaderClock()
    monkeypatch.setattr(stream, "time", clock)
    events = list(watch(str(path), matcher.match_pdq, realtime=realtime, fps=1.0))
    match = next(e for e in events if e.kind == "match")
    assert match.frame is not None and round(match.frame.timestamp) in (2, 3)
    assert events[-1].kind == "end"
    if realtime:
        # Paced: each frame waits for its due time, so the clock stands at the last
        # frame's time (just under 4 s), never ahead of it; the frame at 3 s is hashed.
        assert 3.9 < clock.now < 4.0 and all(s > 0 for s in clock.sleeps)
    else:  # a file is read as fast as it decodes
        assert clock.sleeps == [] and clock.now == 0.0


@pytest.fixture
def stalling_server(scene_video: bytes) -> Iterator[int]:
    """Serves an MPEG-TS stream over TCP on 127.0.0.1, then stops sending (a stall)."""
    ts = make_video(scene, seconds=4, fmt="mpegts", codec="mpeg2video")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    done = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(ts[: len(ts) // 2])
            done.wait(10)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    done.set()
    thread.join(5)
    server.close()


def test_stalled_stream_stops_cleanly(stalling_server: int, matcher: MediaMatcher) -> None:
    # The server keeps the connection open (without sending) for 10 s: only the stall
    # timeout ends the watch with "stalled"; the server closing it would be an "end".
    source = f"tcp://127.0.0.1:{stalling_server}"
    events = list(watch(source, matcher.match_pdq, stall_timeout=1.0, open_timeout=2.0))
    assert events[-1].kind == "stalled"
    assert "stall" in events[-1].message or "no frame" in events[-1].message


def test_missing_and_undecodable_sources(tmp_path: Path, matcher: MediaMatcher) -> None:
    events = list(watch(str(tmp_path / "nope.mp4"), matcher.match_pdq, stall_timeout=2))
    assert [e.kind for e in events] == ["error"] and "no such file" in events[0].message
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a stream at all " * 100)
    events = list(watch(str(junk), matcher.match_pdq, stall_timeout=2))
    assert [e.kind for e in events] == ["error"]
    with pytest.raises(ValueError, match="fps"):
        next(watch(str(junk), matcher.match_pdq, fps=0))
