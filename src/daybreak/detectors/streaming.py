"""Stream detectors: detectors fed a batch at a time by ``daybreak stream run``.

A stream detector keeps its own bounded state and says, after each batch of a table
it reads, which alerts the batch raised or changed and which it withdrew. The
consumer hands it each batch after the batch is durable (its Parquet file written)
and before acknowledging it, and stores and publishes the changes
(:mod:`daybreak.connectors.stream_hook`). Alert ids are derived from the evidence's
subjects, so a batch delivered again changes nothing.

A plug-in declares one in its ``pyproject.toml``::

    [project.entry-points."daybreak.stream_detectors"]
    fan_out = "my_package.info:FAN_OUT"

naming a :class:`StreamDetectorInfo` whose ``factory`` (``"module:attribute"``,
imported when ``stream.yaml`` names the detector) takes the options that
``inbound.detectors[].options`` gives and returns a :class:`StreamDetector`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from daybreak.model.alerts import Alert
from daybreak.plugins import STREAM_DETECTORS, load_group, resolve

if TYPE_CHECKING:  # listing the plug-ins imports no data library
    import polars as pl


@dataclass(frozen=True, slots=True)
class AlertChanges:
    """What one batch changed: alerts raised or updated (the whole alert, as it is
    now), and the ids of alerts withdrawn (their evidence no longer scores enough)."""

    raised: tuple[Alert, ...] = ()
    withdrawn: tuple[str, ...] = ()


@runtime_checkable
class StreamDetector(Protocol):
    """Turns batches of streamed rows into alert changes."""

    @property
    def id(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def tables(self) -> tuple[str, ...]:
        """The public tables (stream kinds) it reads."""
        ...

    def observe(self, table: str, frame: pl.DataFrame) -> AlertChanges:
        """Take a batch of ``table`` rows (public schema, validated); rows seen before
        (a redelivery) must change nothing."""
        ...

    def current_alerts(self) -> list[Alert]:
        """Every alert the rows so far give, highest score first."""
        ...

    def state_size(self) -> dict[str, int]:
        """Entries held, by part (for logs and benchmarks: the state must stay bounded)."""
        ...


@dataclass(frozen=True)
class StreamDetectorInfo:
    """One stream detector, as the ``daybreak.stream_detectors`` registry lists it."""

    name: str  # registry name; the detector's ``id``
    label: str
    description: str
    factory: str | Callable[..., Any]  # "module:function" -> a StreamDetector
    reads: tuple[str, ...] = ()  # the stream kinds it reads

    def create(self, **options: Any) -> StreamDetector:
        from daybreak.detectors import DetectorError

        made = resolve(self.factory, f"stream detector {self.name}")(**options)
        if not isinstance(made, StreamDetector):
            raise DetectorError(
                f"stream detector {self.name}: {self.factory!r} made a "
                f"{type(made).__name__}, which lacks id, tables, observe() or current_alerts()"
            )
        if made.id != self.name:
            raise DetectorError(
                f"stream detector {self.name}: the detector's id is {made.id!r}; the two must agree"
            )
        return made


def stream_detectors() -> dict[str, StreamDetectorInfo]:
    """Every installed stream detector by name."""
    return dict(sorted(load_group(STREAM_DETECTORS, StreamDetectorInfo).items()))


def stream_detector_info(name: str) -> StreamDetectorInfo:
    """The stream detector called ``name``; DetectorError naming the known ones otherwise."""
    from daybreak.detectors import DetectorError

    known = stream_detectors()
    if name not in known:
        raise DetectorError(f"unknown stream detector {name!r}; expected one of {sorted(known)}")
    return known[name]


__all__ = [
    "AlertChanges",
    "StreamDetector",
    "StreamDetectorInfo",
    "stream_detector_info",
    "stream_detectors",
]
