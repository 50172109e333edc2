"""Hash types ("signal types"): one class per kind of media hash, the only place a hash
type is defined (the python-threatexchange ``SignalType`` pattern).

A signal type knows its name and the spellings hash lists use for it, how to check and
normalise a hash, how far apart two hashes are, which index finds near neighbours
(none: exact look-up), the default match threshold and the hash quality below which a
sighting is too unreliable to match. The public schema (``media_sightings.hash_type``),
tipline intake, hash-list import and the matcher all read these classes through the
``daybreak.signal_types`` registry (:func:`daybreak.plugins.signal_types`), so a new
type (an exact hash such as SHA-1, or a Hamming hash of any length) is one module and one
entry point.

Imports nothing of ours (domain model layer) and nothing heavy: the index class is named
by a ``"module:attribute"`` string and imported by the matcher when it builds an index.
"""

from __future__ import annotations

import re
from typing import ClassVar

_HEX = re.compile(r"^[0-9a-f]+$")


class SignalType:
    """Base class: a hexadecimal hash of fixed length compared exactly.

    Subclasses set the class attributes; override :meth:`normalize` and
    :meth:`distance` for hashes that are not fixed-length hex."""

    #: canonical name, written to ``hash_type`` columns and alerts
    name: ClassVar[str]
    #: plain-language label for screens
    label: ClassVar[str]
    #: other spellings found in hash lists (python-threatexchange names, vendor exports)
    aliases: ClassVar[tuple[str, ...]] = ()
    #: number of hexadecimal characters of a hash
    hex_length: ClassVar[int]
    #: the largest distance that still matches when a bank says nothing else (0: exact)
    default_threshold: ClassVar[int] = 0
    #: hashes whose quality (0-100) is below this are not matched; None: no quality
    min_quality: ClassVar[int | None] = None
    #: ``"module:Class"`` of the near-neighbour index; None: exact look-up
    index: ClassVar[str | None] = None
    #: position in listings (forms, error messages); plug-ins come after the built-ins
    listing_order: ClassVar[int] = 100

    @classmethod
    def exact(cls) -> bool:
        """True when only identical hashes match (an exact look-up, no index)."""
        return cls.index is None

    @classmethod
    def normalize(cls, value: str, where: str = "hash") -> str:
        """The canonical form of ``value`` (lower-case hex), or ValueError naming ``where``."""
        hexed = value.strip().lower()
        if len(hexed) != cls.hex_length or not _HEX.match(hexed):
            raise ValueError(
                f"{where}: {cls.name} hash {value!r} is not {cls.hex_length} hexadecimal characters"
            )
        return hexed

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        """0 for equal hashes, 1 otherwise (exact types)."""
        return 0 if cls.normalize(a) == cls.normalize(b) else 1

    @classmethod
    def matches(cls, a: str, b: str, threshold: int | None = None) -> bool:
        limit = cls.default_threshold if threshold is None else threshold
        return cls.distance(a, b) <= limit

    @classmethod
    def match_rule(cls, threshold: int | None = None) -> str:
        """How a hash of this type matches, in words, for reports sent to partners."""
        return "matches by equality"


class HammingSignalType(SignalType):
    """A perceptual hash compared by the number of differing bits.

    Any length: the matcher range-searches a registered subclass with the class its
    ``index`` names (a linear scan unless the subclass names a faster index), within the
    type's ``default_threshold``."""

    index = "daybreak.media.hamming:HammingScan"

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        return (int(cls.normalize(a), 16) ^ int(cls.normalize(b), 16)).bit_count()

    @classmethod
    def match_rule(cls, threshold: int | None = None) -> str:
        return "matches" if threshold is None else f"matches at Hamming distance <= {threshold}"


class PdqSignal(HammingSignalType):
    """Meta's PDQ photo hash: 256 bits, near duplicates within a Hamming distance."""

    name = "pdq"
    label = "PDQ (photo, 256-bit perceptual)"
    aliases = ("pdq",)
    hex_length = 64
    default_threshold = 31  # the distance PDQ's authors recommend for matching
    min_quality = 50  # below this PDQ's authors call the hash unreliable
    index = "daybreak.media.index:HashIndex"
    listing_order = 0


class Md5Signal(SignalType):
    """MD5 of the file: exact copies only."""

    name = "md5"
    label = "MD5 (file, exact)"
    aliases = ("md5", "video_md5", "photo_md5")
    hex_length = 32
    listing_order = 1


class Sha256Signal(SignalType):
    """SHA-256 of the file: exact copies only."""

    name = "sha256"
    label = "SHA-256 (file, exact)"
    aliases = ("sha256", "sha-256", "video_sha256")
    hex_length = 64
    listing_order = 2


BUILT_IN: tuple[type[SignalType], ...] = (PdqSignal, Md5Signal, Sha256Signal)
