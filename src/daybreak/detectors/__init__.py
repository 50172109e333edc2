"""The interface every Daybreak detector shares.

A detector reads one kind of input (a world folder, a set of frames, a report feed)
and says which subjects look like abuse, with a calibrated score, plain-language
explanation and the ids of the records behind it. Built-in detectors (payments,
tipline, media) and extensions implement the same small protocol and pass the same
test kit (``tests/detectors/kit.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar, runtime_checkable

from daybreak.model.alerts import Alert

InputT_contra = TypeVar("InputT_contra", contravariant=True)


@runtime_checkable
class Detector(Protocol[InputT_contra]):
    """Something that turns input records into alerts.

    ``id`` is the value written to ``Alert.detector``; ``version`` changes whenever
    the detector's behaviour changes (a new typology pack, a retrained model), so an
    alert can be traced back to what produced it.
    """

    @property
    def id(self) -> str: ...

    @property
    def version(self) -> str: ...

    def detect(self, data: InputT_contra) -> Sequence[Alert]:
        """Return alerts, highest score first. Must be deterministic for equal input."""
        ...


class DetectorError(Exception):
    """Input a detector cannot work with. The message says what and where, for a user."""


__all__ = ["Alert", "Detector", "DetectorError"]
