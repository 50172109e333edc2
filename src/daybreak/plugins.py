"""Plug-in registries: detectors, exporters, signal types and sources, found by entry point.

Daybreak's own detectors, exporters, hash types and readers are declared in its
``pyproject.toml`` under the same entry-point groups a third-party package uses
(``[project.entry-points."daybreak.exporters"]`` and so on), and loaded by the same code,
so a plug-in is a first-class citizen of the CLI, the demo and the console (the datasette
and python-threatexchange pattern).

Each entry point names a small *description* object (an
:class:`~daybreak.exporters.info.ExporterInfo`, a
:class:`~daybreak.detectors.info.DetectorInfo`, a
:class:`~daybreak.model.signal_types.SignalType` subclass or a :class:`SourceInfo`)
in a module that imports nothing heavy: the code that does the work (an XSD validator,
a SQL engine) is named by a ``"module:attribute"`` string and imported only when it is
used (:func:`resolve`), so listing what is installed stays fast.

This module imports only the standard library.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload

if TYPE_CHECKING:
    from daybreak.model.signal_types import SignalType

DETECTORS = "daybreak.detectors"
EXPORTERS = "daybreak.exporters"
SIGNAL_TYPES = "daybreak.signal_types"
SOURCES = "daybreak.sources"
STREAM_DETECTORS = "daybreak.stream_detectors"
GROUPS = (DETECTORS, EXPORTERS, SIGNAL_TYPES, SOURCES, STREAM_DETECTORS)


class PluginError(RuntimeError):
    """A plug-in that cannot be loaded: names the entry point, its package and why."""


T = TypeVar("T")


def _where(ep: EntryPoint) -> str:
    dist = ep.dist.name if ep.dist is not None else "an unknown package"
    return f"entry point {ep.name!r} = {ep.value!r} in group {ep.group!r} (from {dist})"


@cache
def _entry_points(group: str) -> tuple[EntryPoint, ...]:
    # Sorted by name so every listing is stable whatever order packages were installed.
    return tuple(sorted(entry_points(group=group), key=lambda ep: (ep.name, ep.value)))


def _load(ep: EntryPoint, kind: type[T] | tuple[type, ...]) -> T:
    try:
        obj = ep.load()
    except Exception as exc:  # any import error of a third-party package
        raise PluginError(f"{_where(ep)} cannot be imported: {exc}") from exc
    if not (isinstance(obj, kind) or (isinstance(obj, type) and issubclass(obj, kind))):
        want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise PluginError(f"{_where(ep)} is a {type(obj).__name__}, expected a {want}")
    name = getattr(obj, "name", None)
    if name != ep.name:
        raise PluginError(f"{_where(ep)} describes itself as {name!r}; the two names must agree")
    return obj  # type: ignore[return-value]  # checked by isinstance/issubclass above


_LOADED: dict[str, dict[str, Any]] = {}


def load_group(group: str, kind: type[T] | tuple[type, ...]) -> dict[str, T]:
    """Every plug-in of ``group`` by name (loaded once per process; :func:`refresh`
    forgets them). Two packages claiming one name is an error (which one would run is
    otherwise an accident of installation order)."""
    if group not in _LOADED:
        _LOADED[group] = _load_all(group, kind)
    return dict(_LOADED[group])


def _load_all(group: str, kind: type[T] | tuple[type, ...]) -> dict[str, T]:
    found: dict[str, T] = {}
    claimed: dict[str, EntryPoint] = {}
    for ep in _entry_points(group):
        if ep.name in claimed and claimed[ep.name].value != ep.value:
            raise PluginError(
                f"two plug-ins claim the name {ep.name!r} in {group!r}: "
                f"{_where(claimed[ep.name])} and {_where(ep)}"
            )
        claimed[ep.name] = ep
        found[ep.name] = _load(ep, kind)
    return found


def refresh() -> None:
    """Forget the loaded plug-ins (after installing a package in a running process)."""
    _entry_points.cache_clear()
    _LOADED.clear()
    _signal_types.cache_clear()


def resolve(ref: str | Callable[..., Any], what: str = "plug-in") -> Any:
    """The object named by ``"package.module:attribute"`` (imported now), or ``ref`` itself
    when it is already a callable."""
    if not isinstance(ref, str):
        return ref
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise PluginError(f"{what}: {ref!r} is not of the form 'package.module:attribute'")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"{what}: cannot load {ref!r}: {exc}") from exc
    return obj


OptionKind = Literal["text", "path", "int", "flag"]


@dataclass(frozen=True)
class PluginOption:
    """One setting a plug-in takes, passed to its factory as the keyword ``name``; the
    CLI offers it as ``flag`` (``--incident-type``)."""

    name: str
    flag: str
    help: str
    kind: OptionKind = "text"
    choices: tuple[str, ...] = ()
    multiple: bool = False  # repeatable; the factory receives a list
    default: Any = None
    required: bool = False
    envvar: str | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or not self.flag.startswith("--"):
            raise ValueError(
                f"plug-in option {self.name!r}/{self.flag!r}: name must be an identifier "
                "and flag must start with '--'"
            )


@dataclass(frozen=True)
class SourceInfo:
    """A reader of one kind of input into a public schema (``daybreak.sources``).

    ``reader`` names a callable ``(path) -> polars.DataFrame`` (or any frame the
    ``table`` schema describes); ``table`` is the public schema it produces
    (``daybreak.schema.TABLES``), ``suffixes`` the file name endings it reads."""

    name: str
    label: str
    table: str
    reader: str | Callable[..., Any]
    suffixes: tuple[str, ...] = ()
    description: str = ""
    #: optional callable ``(path, out) -> rows`` that streams the file into the Parquet
    #: file ``out`` without holding it (large inputs); else :meth:`read` then write
    parquet_writer: str | Callable[..., Any] | None = None

    def read(self, path: Any, **options: Any) -> Any:
        return resolve(self.reader, f"source {self.name}")(path, **options)

    def write_parquet(self, path: Any, out: Any) -> int:
        """Convert ``path`` into the Parquet file ``out``; returns the number of rows."""
        if self.parquet_writer is not None:
            rows = resolve(self.parquet_writer, f"source {self.name}")(path, out)
            return int(rows)
        frame = self.read(path)
        frame.write_parquet(out)
        return int(frame.height)


def sources() -> dict[str, SourceInfo]:
    """Every registered source by name."""
    return load_group(SOURCES, SourceInfo)


def source_for(path: Any, table: str) -> SourceInfo | None:
    """The registered source that reads files named like ``path`` (by suffix, any case)
    into ``table``, or None (a CSV or Parquet file in the public schema). Sources are
    tried by name, so the choice is the same on every installation."""
    suffix = "." + str(path).rsplit(".", 1)[-1].lower() if "." in str(path) else ""
    for source in sources().values():
        if source.table == table and suffix in (s.lower() for s in source.suffixes):
            return source
    return None


# -- signal types -------------------------------------------------------------------------


def signal_types() -> dict[str, type[SignalType]]:
    """Every registered hash type by canonical name (``daybreak.signal_types``)."""
    return dict(_signal_types())


@cache
def _signal_types() -> dict[str, type[SignalType]]:
    from daybreak.model.signal_types import SignalType

    # load_group checks each is a SignalType subclass (classes, not instances)
    found = cast("dict[str, type[SignalType]]", load_group(SIGNAL_TYPES, SignalType))
    ordered = sorted(found.values(), key=lambda st: (st.listing_order, st.name))
    return {st.name: st for st in ordered}


def signal_type(name: str, where: str = "hash type") -> type[SignalType]:
    """The signal type called ``name`` or one of its aliases (any case); ValueError naming
    ``where`` and the known names otherwise."""
    wanted = name.strip().lower()
    known = _signal_types()
    for st in known.values():
        if wanted == st.name or wanted in st.aliases:
            return st
    raise ValueError(f"{where}: unsupported hash type {name!r}, expected one of {', '.join(known)}")


def is_signal_type(name: str) -> bool:
    """True when ``name`` is a registered hash type or one of its aliases."""
    wanted = name.strip().lower()
    return any(wanted == st.name or wanted in st.aliases for st in _signal_types().values())


class SignalTypeNames(Sequence[str]):
    """The registered hash type names, read from the registry on first use (a module
    that lists them at import time, like the public schema, stays cheap to import)."""

    def _names(self) -> tuple[str, ...]:
        return tuple(_signal_types())

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __eq__(self, other: object) -> bool:
        return tuple(self) == (tuple(other) if isinstance(other, Sequence) else other)

    def __hash__(self) -> int:
        return hash(self._names())

    def __repr__(self) -> str:
        return repr(self._names())


SIGNAL_TYPE_NAMES: Sequence[str] = SignalTypeNames()
