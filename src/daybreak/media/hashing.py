"""Image hashing: PDQ (with quality), MD5, SHA-256, optional dihedral variants.

Everything works on bytes in memory: nothing here writes media to disk or logs. Errors
are :class:`MediaError` subclasses with a message naming what was wrong and what was
expected, so faces can turn them into a 4xx or a one-line CLI error.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image, ImageOps, UnidentifiedImageError

MIN_QUALITY = 50  # below this PDQ considers the hash too unreliable to match
MAX_PIXELS = 89_478_485  # decompression-bomb guard on declared size (Pillow's default)
# PDQ reduces every image to 64x64 internally: hashing a copy at most 512 pixels on a
# side is 5x faster on 1-megapixel photos and stays within 10 bits of the reference
# hashes (256 does not: 26 bits).
HASH_MAX_SIDE = 512
DIHEDRAL_NAMES = (
    "orig",
    "rot90",
    "rot180",
    "rot270",
    "flipx",
    "flipy",
    "flip_plus1",
    "flip_minus1",
)


class MediaError(ValueError):
    """Media that cannot be hashed; ``str()`` says why and what was expected."""

    status = 422


class EmptyMedia(MediaError):
    status = 400


class UnsupportedMedia(MediaError):
    status = 415


class CorruptMedia(MediaError):
    status = 422


class DecompressionBomb(MediaError):
    status = 422


@dataclass(frozen=True)
class ImageHashes:
    pdq: str  # 64 hex chars
    quality: int
    md5: str
    sha256: str
    width: int
    height: int
    dihedral: dict[str, str] = field(default_factory=dict)

    @property
    def matchable(self) -> bool:
        return self.quality >= MIN_QUALITY

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if not self.dihedral:
            out.pop("dihedral")
        out["kind"] = "image"
        return out


def digests(data: bytes) -> tuple[str, str]:
    return hashlib.md5(data, usedforsecurity=False).hexdigest(), hashlib.sha256(data).hexdigest()


def bits_to_hex(bits: npt.NDArray[Any]) -> str:
    """pdqhash's 256 0/1 values (most significant first) -> 64 hex chars."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def pdq_of_rgb(rgb: npt.NDArray[np.uint8]) -> tuple[str, int]:
    """PDQ hash and quality of an ``(h, w, 3)`` uint8 RGB array."""
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return bits_to_hex(bits), int(quality)


def pdq_dihedral_of_rgb(rgb: npt.NDArray[np.uint8]) -> tuple[dict[str, str], int]:
    """All 8 rotations/mirrors: PDQ is not invariant to them (~120 bits apart)."""
    hashes, quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
    return (
        {name: bits_to_hex(h) for name, h in zip(DIHEDRAL_NAMES, hashes, strict=True)},
        int(quality),
    )


def open_image(data: bytes, name: str = "upload", max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open and decode an image from bytes, honouring EXIF orientation, as RGB.

    The declared size is checked *before* decoding, so a tiny file announcing a huge
    canvas is rejected without allocating it.
    """
    if not data:
        raise EmptyMedia(f"{name}: empty file (0 bytes), expected an image or a video")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
            width, height = opened.size
            if width * height > max_pixels:
                raise DecompressionBomb(
                    f"{name}: declared size {width}x{height} exceeds the limit of "
                    f"{max_pixels:,} pixels (possible decompression bomb)"
                )
            # Let JPEG decode at a reduced scale when the image is much larger than
            # what PDQ looks at; other formats ignore draft().
            opened.draft("RGB", (HASH_MAX_SIDE, HASH_MAX_SIDE))
            image = ImageOps.exif_transpose(opened)
            image = image.convert("RGB")
            image.load()
    except MediaError:
        raise
    except UnidentifiedImageError:
        raise UnsupportedMedia(f"{name}: not an image format this server reads") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DecompressionBomb(
            f"{name}: declared size too large to decode safely, possible decompression bomb ({exc})"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptMedia(f"{name}: truncated or corrupt image ({exc})") from None
    return image


def hash_image_bytes(
    data: bytes, name: str = "upload", dihedral: bool = False, max_pixels: int = MAX_PIXELS
) -> ImageHashes:
    md5, sha256 = digests(data)
    image = open_image(data, name, max_pixels)
    width, height = image.size
    if max(width, height) > HASH_MAX_SIDE:
        image.thumbnail((HASH_MAX_SIDE, HASH_MAX_SIDE), Image.Resampling.BILINEAR)
    rgb = np.asarray(image, dtype=np.uint8)
    if dihedral:
        variants, quality = pdq_dihedral_of_rgb(rgb)
        pdq = variants["orig"]
    else:
        (pdq, quality), variants = pdq_of_rgb(rgb), {}
    return ImageHashes(pdq, quality, md5, sha256, width, height, variants)


def is_image(data: bytes) -> bool:
    """True when Pillow recognises the bytes as an image (header only)."""
    try:
        with Image.open(io.BytesIO(data)):
            return True
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False
    except Image.DecompressionBombError:
        return True
