"""What a detector says about itself: the ``daybreak.detectors`` entry point.

A :class:`DetectorInfo` names the detector, says what it reads and how to make it, and
how to read its input from a world folder (the layout ``daybreak synth`` writes and the
public schemas describe), so ``daybreak detect NAME``, the demo and the console can run
any installed detector. ``factory`` and ``read_world`` are ``"module:attribute"``
strings imported when the detector runs, so listing detectors imports no engine.

A plug-in package declares one in its ``pyproject.toml``::

    [project.entry-points."daybreak.detectors"]
    round_amounts = "my_package.info:ROUND_AMOUNTS"
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daybreak.plugins import DETECTORS, PluginOption, load_group, resolve

DetectorOption = PluginOption


@dataclass(frozen=True)
class DetectorInfo:
    """One detector, as the registry lists it."""

    name: str  # registry name; the detector's ``id`` (written to ``Alert.detector``)
    label: str  # for screens
    description: str  # one sentence for `daybreak detect --list`
    factory: str | Callable[..., Any]  # "module:Class" -> a Detector
    read_world: str | Callable[..., Any]  # "module:function": world folder -> input
    reads: tuple[str, ...] = ()  # the public tables of a world folder it reads
    options: tuple[PluginOption, ...] = ()  # passed to ``factory``
    order: int = 100  # position in listings; plug-ins come after the built-ins

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"detector name must be an identifier, got {self.name!r}")

    def create(self, **options: Any) -> Any:
        """The detector (imported now), checked against the Detector protocol."""
        from daybreak.detectors import Detector, DetectorError

        made = resolve(self.factory, f"detector {self.name}")(**options)
        if not isinstance(made, Detector):
            raise DetectorError(
                f"detector {self.name}: {self.factory!r} made a {type(made).__name__}, "
                "which lacks id, version or detect()"
            )
        if made.id != self.name:
            raise DetectorError(
                f"detector {self.name}: the detector's id is {made.id!r}; the two must agree"
            )
        return made

    def input_from_world(self, world: Path) -> Any:
        """The detector's input read from a world folder."""
        return resolve(self.read_world, f"detector {self.name}")(Path(world))


def detectors() -> dict[str, DetectorInfo]:
    """Every installed detector (Daybreak's own and plug-ins'), in listing order."""
    found = load_group(DETECTORS, DetectorInfo)
    return {i.name: i for i in sorted(found.values(), key=lambda i: (i.order, i.name))}


def detector_info(name: str) -> DetectorInfo:
    """The detector called ``name``; DetectorError naming the known ones otherwise."""
    from daybreak.detectors import DetectorError

    known = detectors()
    if name not in known:
        raise DetectorError(f"unknown detector {name!r}; expected one of {sorted(known)}")
    return known[name]
