"""Live watch: hash frames of a stream as they arrive and match them at once.

Anything FFmpeg opens works as a source: an RTMP/HLS/RTSP/TCP URL, a file, or ``-``
for standard input. Every frame is decoded (inter-frame codecs need that) but only
``fps`` frames a second are converted, letterbox-cropped and PDQ-hashed, so a 30 fps
stream costs one or two hashes a second. Decoding runs in a reader thread that hands
frames over through a small queue; the watcher notices a stall when nothing arrives for
``stall_timeout`` seconds and stops cleanly, as it does when the stream ends.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import av

from daybreak.media.hashing import MAX_PIXELS
from daybreak.media.matcher import Match
from daybreak.media.video import DEFAULT_FPS, FrameHash, frame_rgb, hash_frame

MatchFn = Callable[[Sequence[str]], list[Match]]


@dataclass(frozen=True)
class StreamEvent:
    kind: str  # match | frame | end | stalled | error
    frame: FrameHash | None = None
    matches: tuple[Match, ...] = ()
    # seconds from the moment the frame was decoded to the moment it was matched
    latency: float = 0.0
    # in --realtime/live use: seconds between the frame's due time and the match
    lag: float = 0.0
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.kind}
        if self.frame is not None:
            out.update(self.frame.to_dict())
            out["latency_s"] = round(self.latency, 3)
            out["lag_s"] = round(self.lag, 3)
        if self.matches:
            out["matches"] = [m.to_dict() for m in self.matches]
        if self.message:
            out["message"] = self.message
        return out


@dataclass
class WatchStats:
    decoded: int = 0
    hashed: int = 0
    matched: int = 0
    max_latency: float = 0.0
    started: float = field(default_factory=time.monotonic)

    @property
    def decode_fps(self) -> float:
        return self.decoded / max(1e-9, time.monotonic() - self.started)


_END = object()


def _put(out: queue.Queue[Any], stop: threading.Event, item: Any) -> None:
    """Hand an item to the watcher unless it has stopped listening (then drop it, so the
    reader thread never blocks forever on a full queue)."""
    while not stop.is_set():
        try:
            out.put(item, timeout=0.5)
            return
        except queue.Full:
            continue


def _reader(
    source: str,
    out: queue.Queue[Any],
    fps: float,
    realtime: bool,
    open_timeout: float,
    read_timeout: float,
    stop: threading.Event,
    stats: WatchStats,
) -> None:
    """Decode in a thread; put (index, stream_time, wall_due, rgb, decoded_at)."""
    try:
        target: Any = sys.stdin.buffer if source == "-" else source
        with av.open(target, mode="r", timeout=(open_timeout, read_timeout)) as container:
            if not container.streams.video:
                _put(out, stop, ValueError(f"{source}: no video stream"))
                return
            stream = container.streams.video[0]
            area = (stream.codec_context.width or 0) * (stream.codec_context.height or 0)
            if area > MAX_PIXELS:
                _put(out, stop, ValueError(f"{source}: frame size over {MAX_PIXELS:,} pixels"))
                return
            stream.thread_type = "AUTO"
            step, next_t, first_t = 1.0 / fps, None, None
            wall0 = time.monotonic()
            for i, frame in enumerate(container.decode(stream)):
                if stop.is_set():
                    return
                stats.decoded += 1
                t = float(frame.time) if frame.time is not None else i / 30.0
                if first_t is None:
                    first_t = next_t = t
                assert next_t is not None
                due = wall0 + (t - first_t)
                if realtime:  # play a file at its own pace, as a live source would
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                if t + 1e-6 < next_t:
                    continue
                next_t += step * max(1, int((t - next_t) / step) + 1)
                _put(out, stop, (i, t, due, frame_rgb(frame), time.monotonic()))
        _put(out, stop, _END)
    except Exception as exc:  # hand every failure to the watcher: never die silently
        _put(out, stop, exc)


def watch(
    source: str,
    match_fn: MatchFn,
    *,
    fps: float = DEFAULT_FPS,
    realtime: bool = False,
    stall_timeout: float = 10.0,
    open_timeout: float = 10.0,
    emit_frames: bool = False,
    stats: WatchStats | None = None,
) -> Iterator[StreamEvent]:
    """Yield match events (and frame events if asked) until the stream ends or stalls."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    stats = stats if stats is not None else WatchStats()
    frames: queue.Queue[Any] = queue.Queue(maxsize=8)
    stop = threading.Event()
    reader = threading.Thread(
        target=_reader,
        name="daybreak-watch-reader",
        daemon=True,
        args=(source, frames, fps, realtime, open_timeout, stall_timeout, stop, stats),
    )
    reader.start()
    try:
        while True:
            try:
                item = frames.get(timeout=stall_timeout + open_timeout * (stats.decoded == 0))
            except queue.Empty:
                yield StreamEvent(
                    "stalled",
                    message=f"{source}: no frame for {stall_timeout:.0f} s; stopped watching",
                )
                return
            if item is _END:
                yield StreamEvent(
                    "end",
                    message=f"{source}: stream ended after "
                    f"{stats.decoded} frames ({stats.hashed} hashed, "
                    f"{stats.matched} matched)",
                )
                return
            if isinstance(item, Exception):
                kind = "stalled" if _is_timeout(item) else "error"
                yield StreamEvent(
                    kind,
                    message=f"{source}: {_describe(item)}; stopped after {stats.decoded} frames",
                )
                return
            index, t, due, rgb, decoded_at = item
            pdq, quality = hash_frame(rgb)
            fh = FrameHash(index, t, quality, pdq)
            stats.hashed += 1
            matches = [m for m in match_fn([pdq]) if m.status == "match"] if quality >= 50 else []
            now = time.monotonic()
            latency, lag = now - decoded_at, max(0.0, now - due) if realtime else 0.0
            stats.max_latency = max(stats.max_latency, latency)
            if matches:
                stats.matched += 1
                yield StreamEvent("match", fh, tuple(matches), latency, lag)
            elif emit_frames:
                yield StreamEvent("frame", fh, (), latency, lag)
    finally:
        stop.set()


def _is_timeout(exc: Exception) -> bool:
    # PyAV's read timeout interrupts FFmpeg, which reports AVERROR_EXIT ("Immediate exit
    # requested"); sockets report ETIMEDOUT.
    text = str(exc).lower()
    if "immediate exit requested" in text:
        return True
    return (
        isinstance(exc, TimeoutError)
        or "timed out" in text
        or "timeout" in text
        or getattr(exc, "errno", None) in (110, 60)
    )


def _describe(exc: Exception) -> str:
    if _is_timeout(exc):
        return "the stream stalled (read timed out)"
    if isinstance(exc, av.error.InvalidDataError):
        return "not a stream FFmpeg can decode"
    if isinstance(exc, FileNotFoundError | av.error.FileNotFoundError):
        return "no such file"
    return str(exc) or type(exc).__name__
