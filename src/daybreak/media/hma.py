"""What HMA (Meta's Hasher-Matcher-Actioner 2.0) calls things, in Daybreak's terms.

The HMA-compatible HTTP API (:mod:`daybreak.api.hma_routes`) speaks HMA's vocabulary
over Daybreak's banks; this module holds the translation, with no HTTP in it:

* content types: HMA's ``photo`` and ``video`` (the multipart field name of an upload);
* signal types: HMA's names are Daybreak's signal type names or their aliases
  (``video_md5`` is Daybreak's ``md5``); a video's file MD5 is reported as HMA's
  ``video_md5``, a photo's as ``md5``;
* bank content ids: HMA numbers each piece of banked content. Daybreak's banks hold
  (hash type, hash) entries, so the id is derived, never stored in a counter: content
  added through the HMA API carries the label ``hma_content:<id>`` on each of its
  entries (one id for the photo's PDQ and MD5 alike), any other entry (a list imported
  with the CLI) has the id derived from its bank, type and hash. Both are stable across
  restarts and processes and below 2**53 (exact in JSON numbers);
* ``matching_enabled_ratio``: HMA's coin-flip share of lookups a bank takes part in.
  Daybreak banks are on or off, so only 0 and 1 are accepted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from daybreak.media.hashing import EmptyMedia, UnsupportedMedia, hash_image_bytes, is_image
from daybreak.media.hashlists import BankError, normalize_hash
from daybreak.media.video import hash_video_bytes

CONTENT_TYPES = ("photo", "video")
CONTENT_LABEL = "hma_content:"  # label prefix naming the HMA content id of an entry
ID_BITS = 52  # ids stay exact as JSON numbers (doubles)
NOTE_MAX = 255  # HMA's limit on a content note
VIDEO_MD5 = "video_md5"


class HmaError(Exception):
    """A refusal answered in HMA's error shape ``{"message": ...}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _id(text: str) -> int:
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - ID_BITS) or 1


def entry_content_id(bank: str, hash_type: str, value: str, labels: Iterable[str]) -> int:
    """The HMA content id of one bank entry (see the module docstring)."""
    for label in labels:
        if label.startswith(CONTENT_LABEL) and label[len(CONTENT_LABEL) :].isdigit():
            return int(label[len(CONTENT_LABEL) :])
    return _id(f"entry\0{bank}\0{hash_type}\0{value}")


def new_content_id(bank: str, signals: dict[str, str]) -> int:
    """The id of content made of ``signals`` (Daybreak type -> hash) added to ``bank``:
    the same content added again gets the same id."""
    listed = "\0".join(f"{t}:{h}" for t, h in sorted(signals.items()))
    return _id(f"content\0{bank}\0{listed}")


def content_label(content_id: int) -> str:
    return f"{CONTENT_LABEL}{content_id}"


def daybreak_signals(raw: dict[str, Any], where: str = "signal") -> dict[str, str]:
    """HMA signal type name -> hash, checked and translated to Daybreak type -> hash
    (HmaError 400 naming the signal type that is unknown or malformed)."""
    signals: dict[str, str] = {}
    for name, value in raw.items():
        if not isinstance(value, str):
            raise HmaError(400, f"Invalid {name} signal: expected a string, got {value!r}")
        try:
            kind, hexed = normalize_hash(name, value, f"{where} {name}")
        except BankError as exc:
            raise HmaError(400, f"No such signal type or invalid signal: {exc}") from None
        signals[kind] = hexed
    return signals


def check_content_type(name: str) -> str:
    if name not in CONTENT_TYPES:
        raise HmaError(400, f"no such content_type: '{name}' (expected photo or video)")
    return name


def hash_content(content_type: str, data: bytes) -> dict[str, str]:
    """The hashes of an upload, by HMA signal type name. Raises the media errors of
    :mod:`daybreak.media.hashing` (their ``status`` and text say what was wrong)."""
    if not data:
        raise EmptyMedia(f"empty {content_type} upload (0 bytes)")
    if content_type == "photo":
        if not is_image(data):
            raise UnsupportedMedia("the photo field holds no image Daybreak can read")
        image = hash_image_bytes(data, "upload")
        return {"pdq": image.pdq, "md5": image.md5, "sha256": image.sha256}
    video = hash_video_bytes(data, "upload")
    return {VIDEO_MD5: video.md5, "sha256": video.sha256}


def only_types(hashes: dict[str, str], types: str | None) -> dict[str, str]:
    """``hashes`` limited to HMA's ``types`` query parameter (a comma list)."""
    if not types:
        return hashes
    wanted = [t.strip() for t in types.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in hashes]
    if unknown:
        raise HmaError(400, f"signal type '{unknown[0]}' doesn't exist or is disabled")
    if not wanted:
        raise HmaError(400, "empty signal type selection")
    return {t: hashes[t] for t in wanted}


def ratio_to_enabled(value: Any, field: str) -> bool:
    """HMA's ``enabled_ratio``/``matching_enabled_ratio`` as Daybreak's on/off."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HmaError(400, f"{field} must be a number, got {value!r}")
    if value not in (0, 1):
        raise HmaError(
            400,
            f"{field} {value!r}: Daybreak banks are on (1) or off (0); "
            "matching a share of lookups (a coin flip) is not supported",
        )
    return value == 1


def check_note(note: Any) -> None:
    if note is not None and (not isinstance(note, str) or len(note) > NOTE_MAX):
        raise HmaError(400, f"note must be text of at most {NOTE_MAX} characters")


def check_metadata(metadata: Any) -> None:
    if metadata is not None and not isinstance(metadata, dict):
        raise HmaError(400, "metadata should be a json object")


def banks_filter(banks: str | None) -> set[str] | None:
    """HMA's ``banks`` query parameter (a comma list), None when absent."""
    return {b for b in banks.split(",") if b} if banks else None


def hma_name(hash_type: str, video: bool = False) -> str:
    return VIDEO_MD5 if video and hash_type == "md5" else hash_type


def grouped(pairs: Sequence[tuple[str, int, int]]) -> dict[str, list[dict[str, Any]]]:
    """(bank, content id, distance) -> HMA's ``{"<BANK>": [{"bank_content_id",
    "distance"}]}``, one row per content id and bank (the closest), distance a string."""
    best: dict[tuple[str, int], int] = {}
    for bank, cid, distance in pairs:
        key = (bank, cid)
        best[key] = min(distance, best.get(key, distance))
    out: dict[str, list[dict[str, Any]]] = {}
    for (bank, cid), distance in sorted(best.items(), key=lambda kv: (kv[0][0], kv[1])):
        out.setdefault(bank, []).append({"bank_content_id": cid, "distance": str(distance)})
    return out
