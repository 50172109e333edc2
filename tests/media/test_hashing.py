"""Image hashing on generated images, and every kind of bad input."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from daybreak.media.hashing import (
    MIN_QUALITY,
    CorruptMedia,
    DecompressionBomb,
    EmptyMedia,
    UnsupportedMedia,
    hash_image_bytes,
)
from daybreak.media.index import hamming, parse_pdq

from .gen import encode, gradient, noise, shapes


def dist(a: str, b: str) -> int:
    return int(hamming(parse_pdq([a]), parse_pdq([b]))[0])


def test_hashes_and_digests_of_a_png() -> None:
    data = encode(shapes(seed=1))
    h = hash_image_bytes(data)
    assert len(h.pdq) == 64 and int(h.pdq, 16) >= 0
    assert h.md5 == hashlib.md5(data).hexdigest()
    assert h.sha256 == hashlib.sha256(data).hexdigest()
    assert (h.width, h.height) == (320, 240)
    assert h.quality >= MIN_QUALITY and h.matchable


@pytest.mark.parametrize(
    "fmt,kw",
    [("JPEG", {"quality": 70}), ("GIF", {}), ("BMP", {}), ("WEBP", {"quality": 80}), ("TIFF", {})],
)
def test_every_pillow_format_gives_a_close_hash(fmt: str, kw: dict[str, object]) -> None:
    rgb = shapes(seed=2)
    ref = hash_image_bytes(encode(rgb)).pdq
    assert dist(hash_image_bytes(encode(rgb, fmt, **kw)).pdq, ref) <= 20


def test_edits_match_and_different_images_do_not() -> None:
    rgb = shapes(seed=3)
    ref = hash_image_bytes(encode(rgb)).pdq
    small = np.asarray(Image.fromarray(rgb).resize((160, 120)))
    assert dist(hash_image_bytes(encode(small, "JPEG", quality=60)).pdq, ref) <= 31
    others = [shapes(seed=4), noise(seed=5), gradient(angle=30)]
    for other in others:
        assert dist(hash_image_bytes(encode(other)).pdq, ref) > 31


def test_flat_image_has_low_quality() -> None:
    flat = np.full((100, 100, 3), 128, dtype=np.uint8)
    assert not hash_image_bytes(encode(flat)).matchable


def test_exif_orientation_is_honoured() -> None:
    rgb = shapes(seed=6)
    upright = hash_image_bytes(encode(rgb)).pdq
    # Store the pixels rotated and tag them "rotate 90 CW to display" (orientation 6).
    stored = Image.fromarray(rgb).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    stored.save(buf, format="JPEG", quality=95, exif=exif)
    tagged = hash_image_bytes(buf.getvalue())
    assert (tagged.width, tagged.height) == (320, 240)
    assert dist(tagged.pdq, upright) <= 16


def test_dihedral_variants_catch_rotations_and_mirrors() -> None:
    rgb = shapes(seed=8)
    h = hash_image_bytes(encode(rgb), dihedral=True)
    assert len(h.dihedral) == 8 and h.dihedral["orig"] == h.pdq
    rotated = hash_image_bytes(encode(np.rot90(rgb).copy())).pdq
    mirrored = hash_image_bytes(encode(rgb[:, ::-1].copy())).pdq
    assert dist(rotated, h.pdq) > 31  # PDQ itself is not rotation invariant
    assert min(dist(rotated, v) for v in h.dihedral.values()) <= 8
    assert min(dist(mirrored, v) for v in h.dihedral.values()) <= 8


def test_empty_input() -> None:
    with pytest.raises(EmptyMedia, match="empty"):
        hash_image_bytes(b"")


def test_unsupported_format() -> None:
    with pytest.raises(UnsupportedMedia, match="not an image"):
        hash_image_bytes(b"just some text, not an image\n" * 10)


def test_truncated_and_corrupt_images() -> None:
    jpeg = encode(noise(seed=9), "JPEG")
    with pytest.raises(CorruptMedia, match="truncated or corrupt"):
        hash_image_bytes(jpeg[: len(jpeg) // 3], "cut.jpg")
    png = bytearray(encode(noise(seed=9)))
    png[200:260] = b"\x00" * 60  # damage the compressed stream
    with pytest.raises(CorruptMedia, match=r"cut\.png"):
        hash_image_bytes(bytes(png), "cut.png")


def _png_with_declared_size(width: int, height: int) -> bytes:
    """A tiny valid-looking PNG whose header announces a huge canvas."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(DecompressionBomb, match="decompression bomb"):
        hash_image_bytes(_png_with_declared_size(50_000, 50_000), "bomb.png")
    with pytest.raises(DecompressionBomb, match="decompression bomb"):
        hash_image_bytes(_png_with_declared_size(12_000, 12_000), "big.png")
    # the guard is configurable and names the declared size
    with pytest.raises(DecompressionBomb, match="320x240"):
        hash_image_bytes(encode(noise(seed=1)), max_pixels=1000)
