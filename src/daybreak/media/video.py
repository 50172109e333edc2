"""Video hashing (vPDQ-style frame lists) and the video-vs-video match rule.

Frames are sampled at a fixed rate (default one a second) by presentation time,
letterbox borders are cropped (black bars shift PDQ hashes), and each sampled frame is
PDQ-hashed. The whole file also gets MD5/SHA-256 for exact matching.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import av
import numpy as np
import numpy.typing as npt

from daybreak.media.hashing import (
    HASH_MAX_SIDE,
    MAX_PIXELS,
    MIN_QUALITY,
    CorruptMedia,
    DecompressionBomb,
    EmptyMedia,
    UnsupportedMedia,
    digests,
    pdq_of_rgb,
)
from daybreak.media.index import hamming, parse_pdq

DEFAULT_FPS = 1.0
BORDER_LUMA = 24  # rows/columns darker than this on average count as letterbox
MAX_BORDER_SHARE = 0.4  # never crop more than this share of a side
MAX_FRAMES = 36_000  # 10 hours at 1 fps: a bound on what one upload may cost


@dataclass(frozen=True)
class FrameHash:
    frame: int  # index of the sampled frame in decode order
    timestamp: float  # seconds
    quality: int
    pdq: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "frame": self.frame,
            "timestamp": round(self.timestamp, 3),
            "quality": self.quality,
            "pdq": self.pdq,
        }


@dataclass(frozen=True)
class VideoHashes:
    md5: str
    sha256: str
    duration: float
    frames: list[FrameHash] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        best = max(self.frames, key=lambda f: f.quality, default=None)
        return {
            "kind": "video",
            "md5": self.md5,
            "sha256": self.sha256,
            "duration": round(self.duration, 3),
            # pdq/quality of the best frame, so image and video rows share columns
            "pdq": best.pdq if best else None,
            "quality": best.quality if best else 0,
            "frames": [f.to_dict() for f in self.frames],
        }


def crop_letterbox(
    rgb: npt.NDArray[np.uint8], threshold: int = BORDER_LUMA
) -> npt.NDArray[np.uint8]:
    """Remove dark bars on all four sides (at most MAX_BORDER_SHARE of each side)."""
    luma = rgb.mean(axis=2)
    h, w = luma.shape
    rows = luma.mean(axis=1) >= threshold
    cols = luma.mean(axis=0) >= threshold
    if not rows.any() or not cols.any():
        return rgb  # an all-dark frame: nothing sensible to crop
    top = min(int(np.argmax(rows)), int(h * MAX_BORDER_SHARE))
    bottom = min(int(np.argmax(rows[::-1])), int(h * MAX_BORDER_SHARE))
    left = min(int(np.argmax(cols)), int(w * MAX_BORDER_SHARE))
    right = min(int(np.argmax(cols[::-1])), int(w * MAX_BORDER_SHARE))
    return rgb[top : h - bottom, left : w - right]


def hash_frame(rgb: npt.NDArray[np.uint8]) -> tuple[str, int]:
    return pdq_of_rgb(crop_letterbox(rgb))


def frame_rgb(frame: Any) -> npt.NDArray[np.uint8]:
    """RGB pixels of a decoded frame, scaled by FFmpeg to at most HASH_MAX_SIDE."""
    scale = min(1.0, HASH_MAX_SIDE / max(frame.width, frame.height))
    width, height = max(2, round(frame.width * scale)), max(2, round(frame.height * scale))
    rgb: npt.NDArray[np.uint8] = frame.to_ndarray(format="rgb24", width=width, height=height)
    return rgb


def sample_frames(
    container: Any,
    fps: float = DEFAULT_FPS,
    max_frames: int = MAX_FRAMES,
    max_pixels: int = MAX_PIXELS,
) -> Iterator[tuple[int, float, Any]]:
    """(index, timestamp, av.VideoFrame) for one frame per 1/fps seconds."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not container.streams.video:
        raise UnsupportedMedia("no video stream found")
    stream = container.streams.video[0]
    width, height = stream.codec_context.width or 0, stream.codec_context.height or 0
    if width * height > max_pixels:
        raise DecompressionBomb(
            f"declared frame size {width}x{height} exceeds the limit of {max_pixels:,} pixels"
        )
    stream.thread_type = "AUTO"
    step = 1.0 / fps
    next_t: float | None = None
    taken = 0
    for i, frame in enumerate(container.decode(stream)):
        t = float(frame.time) if frame.time is not None else i / float(stream.average_rate or 30)
        if next_t is None:
            next_t = t
        if t + 1e-6 < next_t:
            continue
        yield i, t, frame
        taken += 1
        if taken >= max_frames:
            return
        next_t += step * max(1, int((t - next_t) / step) + 1)


def hash_video_bytes(
    data: bytes, name: str = "upload", fps: float = DEFAULT_FPS, max_pixels: int = MAX_PIXELS
) -> VideoHashes:
    if not data:
        raise EmptyMedia(f"{name}: empty file (0 bytes), expected an image or a video")
    md5, sha256 = digests(data)
    frames = _hash_stream(io.BytesIO(data), name, fps, max_pixels)
    duration = frames[-1].timestamp - frames[0].timestamp if frames else 0.0
    return VideoHashes(md5, sha256, duration, frames)


def _hash_stream(source: BinaryIO, name: str, fps: float, max_pixels: int) -> list[FrameHash]:
    try:
        with av.open(source, mode="r") as container:
            out = []
            for i, t, frame in sample_frames(container, fps, max_pixels=max_pixels):
                pdq, quality = hash_frame(frame_rgb(frame))
                out.append(FrameHash(i, t, quality, pdq))
    except UnsupportedMedia as exc:
        raise UnsupportedMedia(f"{name}: {exc}") from None
    except DecompressionBomb as exc:
        raise DecompressionBomb(f"{name}: {exc}") from None
    except av.error.InvalidDataError:
        raise UnsupportedMedia(f"{name}: not an image or video format this server reads") from None
    except (av.error.FFmpegError, OSError) as exc:
        raise CorruptMedia(f"{name}: truncated or corrupt video ({exc})") from None
    if not out:
        raise CorruptMedia(f"{name}: no decodable video frames")
    return out


@dataclass(frozen=True)
class VideoMatchRule:
    """vPDQ's rule: a frame matches within ``frame_distance`` (both frames of quality at
    least ``min_quality``); the videos match when at least ``query_share`` of the query's
    frames match some listed frame and ``listed_share`` of the listed video's frames
    match some query frame. ``listed_share`` 0 lets a clip match the whole video."""

    frame_distance: int = 31
    min_quality: int = MIN_QUALITY
    query_share: float = 0.8
    listed_share: float = 0.0


@dataclass(frozen=True)
class VideoMatch:
    listed: str
    query_share: float
    listed_share: float
    matched: bool


def _usable(frames: Sequence[FrameHash], rule: VideoMatchRule) -> npt.NDArray[np.uint64]:
    return parse_pdq([f.pdq for f in frames if f.quality >= rule.min_quality])


def compare_videos(
    query: Sequence[FrameHash],
    listed: Sequence[FrameHash],
    rule: VideoMatchRule | None = None,
    name: str = "listed",
) -> VideoMatch:
    rule = rule or VideoMatchRule()
    q, c = _usable(query, rule), _usable(listed, rule)
    if q.shape[0] == 0 or c.shape[0] == 0:
        return VideoMatch(name, 0.0, 0.0, False)
    close = hamming(q[:, None, :], c[None, :, :]) <= rule.frame_distance
    q_share = float(close.any(axis=1).mean())
    c_share = float(close.any(axis=0).mean())
    ok = q_share >= rule.query_share and c_share >= rule.listed_share
    return VideoMatch(name, q_share, c_share, ok)


def match_video(
    query: Sequence[FrameHash],
    listed: Mapping[str, Sequence[FrameHash]],
    rule: VideoMatchRule | None = None,
) -> list[VideoMatch]:
    """Compare a query video with each listed video; matches first, best first."""
    results = [compare_videos(query, frames, rule, name) for name, frames in listed.items()]
    return sorted(results, key=lambda m: (not m.matched, -m.query_share, m.listed))
