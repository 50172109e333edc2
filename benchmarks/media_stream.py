"""Live-watch benchmark: can `daybreak media watch` keep up with a 30 fps stream?

    .venv/bin/python benchmarks/media_stream.py                   # 720p and 480p, 20 s
    .venv/bin/python benchmarks/media_stream.py --seconds 60 --sizes 1920x1080

Generates a benign 30 fps video (moving shapes) per size, lists one of its frames in a
bank, then watches it (a) as fast as possible: decoded frames per second must exceed 30
to keep up, and (b) with --realtime pacing, like a live source: the lag between a frame's
due time and its match alert must stay under 2 s, and the watch must finish within 2 s of
the stream's end. Prints both, side by side per size, then which targets were missed;
exits 1 if any was. (These are the timing limits tests/media/test_stream.py does not
assert: wall-clock limits in tests flake on a loaded machine.)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from daybreak.media.banks import BankStore
from daybreak.media.matcher import MediaMatcher, frames_to_entries
from daybreak.media.stream import WatchStats, watch
from daybreak.media.video import hash_video_bytes


def frame(i: int, w: int, h: int, fps: int) -> np.ndarray:
    rng = np.random.default_rng(i // fps)  # a new scene every second, motion within it
    img = Image.new("RGB", (w, h), tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(img)
    shift = (i % fps) * w // (4 * fps)
    for _ in range(6):
        x, y = int(rng.integers(0, w // 2)) + shift, int(rng.integers(0, h // 2))
        draw.ellipse(
            (x, y, x + w // 4, y + h // 4), fill=tuple(int(v) for v in rng.integers(0, 256, 3))
        )
    return np.asarray(img)


def make_video(path: Path, w: int, h: int, seconds: int, fps: int = 30) -> None:
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.bit_rate = 4_000_000
        for i in range(seconds * fps):
            vf = av.VideoFrame.from_ndarray(frame(i, w, h, fps), format="rgb24")
            vf.pts = i
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


LAG_TARGET_S = 2.0  # a match alert at most this long after its frame was due
KEEP_UP_FPS = 30  # the source's frame rate: decoding must be at least this fast


def missed_targets(decode_fps: float, lags: list[float], late_s: float) -> list[str]:
    """The targets a size missed, in words (empty when it kept up)."""
    missed = []
    if decode_fps < KEEP_UP_FPS:
        missed.append(f"decodes {decode_fps:.0f} frames/s < {KEEP_UP_FPS}")
    if not lags:
        missed.append("no match while paced")
    elif max(lags) >= LAG_TARGET_S:
        missed.append(f"match lag {max(lags):.2f} s >= {LAG_TARGET_S} s")
    if late_s >= LAG_TARGET_S:
        missed.append(f"finished {late_s:.2f} s after the stream (>= {LAG_TARGET_S} s)")
    return missed


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="1280x720,854x480", help="frame sizes WxH")
    ap.add_argument("--seconds", type=int, default=20, help="length of the stream")
    ap.add_argument("--fps", type=float, default=1.0, help="frames hashed per second")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="daybreak-stream-"))
    failures: list[str] = []
    for size in args.sizes.split(","):
        w, h = (int(v) for v in size.split("x"))
        path = work / f"live-{w}x{h}.mp4"
        make_video(path, w, h, args.seconds)
        frames = hash_video_bytes(path.read_bytes()).frames
        store = BankStore(work / f"banks-{w}")
        store.create("listed")
        listed = frames[len(frames) // 2]
        store.add("listed", frames_to_entries("live", [listed]))
        matcher = MediaMatcher.build(store)

        stats = WatchStats()
        t = time.perf_counter()
        fast = list(watch(str(path), matcher.match_pdq, fps=args.fps, stats=stats))
        took = time.perf_counter() - t
        decode_fps = stats.decoded / took
        fast_matches = [e for e in fast if e.kind == "match"]

        t = time.perf_counter()
        live = list(watch(str(path), matcher.match_pdq, fps=args.fps, realtime=True))
        live_took = time.perf_counter() - t
        lags = [e.lag for e in live if e.kind == "match"]
        print(
            f"{w}x{h} 30 fps, {args.seconds} s: unpaced {decode_fps:,.0f} frames/s decoded "
            f"({decode_fps / 30:.1f}x real time; {stats.hashed} hashed, max hash+match "
            f"{stats.max_latency * 1000:.0f} ms, {len(fast_matches)} match events) | paced "
            f"like a live source: finished {live_took - args.seconds:+.2f} s after the "
            f"stream, match lag max {max(lags, default=float('nan')):.2f} s "
            f"(target < 2 s)"
        )
        failures += [
            f"{w}x{h}: {m}" for m in missed_targets(decode_fps, lags, live_took - args.seconds)
        ]
    print("targets missed: " + "; ".join(failures) if failures else "all targets met")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
