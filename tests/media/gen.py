"""Generated benign media for the media tests: gradients, noise, shapes, small videos."""

from __future__ import annotations

import io
from collections.abc import Callable
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw


def gradient(w: int = 320, h: int = 240, angle: int = 0) -> npt.NDArray[np.uint8]:
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    t = (np.cos(np.radians(angle)) * x / w + np.sin(np.radians(angle)) * y / h) % 1.0
    rgb = np.stack([t * 255, (1 - t) * 200, (x / w) * 120 + 60], axis=2)
    return rgb.astype(np.uint8)


def noise(w: int = 320, h: int = 240, seed: int = 0) -> npt.NDArray[np.uint8]:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC))


def shapes(w: int = 320, h: int = 240, seed: int = 0) -> npt.NDArray[np.uint8]:
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (w, h), tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(8):
        x0, y0 = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
        x1, y1 = x0 + int(rng.integers(20, 160)), y0 + int(rng.integers(20, 120))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    return np.asarray(img)


def encode(rgb: npt.NDArray[np.uint8], fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format=fmt, **kw)
    return buf.getvalue()


def make_video(
    frame_fn: Callable[[int], npt.NDArray[np.uint8]],
    seconds: float = 4.0,
    fps: int = 10,
    fmt: str = "mp4",
    codec: str = "mpeg4",
) -> bytes:
    """Encode frames (all the same size) into a small video in memory."""
    buf = io.BytesIO()
    first = frame_fn(0)
    with av.open(buf, mode="w", format=fmt) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = first.shape[1], first.shape[0]
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(frame_fn(i), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def scene(i: int, fps: int = 10, w: int = 320, h: int = 240) -> npt.NDArray[np.uint8]:
    """A benign 'scene': each second shows different shapes."""
    return shapes(w, h, seed=100 + i // fps)
