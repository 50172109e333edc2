"""What an export format says about itself: the ``daybreak.exporters`` entry point.

An :class:`ExporterInfo` carries everything a face needs to offer a format (name, label,
media type, file suffix, the command-line options its constructor takes, the schema the
operator must supply) without importing the exporter: ``factory`` is a
``"module:Class"`` string imported on first use, so ``daybreak export --list``, the
demo and the console list formats without paying for xmlschema or stix2.

A plug-in package declares one in its ``pyproject.toml``::

    [project.entry-points."daybreak.exporters"]
    case_json = "my_package.info:CASE_JSON"
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daybreak.plugins import EXPORTERS, PluginOption, load_group, resolve

if TYPE_CHECKING:
    from daybreak.exporters.base import Exporter
    from daybreak.exporters.bundle import CaseBundle

# Where to find a schema when none is given: $DAYBREAK_STANDARDS_DIR laid out like
# ../shared/standards (the schemas are their issuers' property and not shipped).
STANDARDS_ENV = "DAYBREAK_STANDARDS_DIR"

ExportOption = PluginOption  # a format's extra setting (``--profile``, ``--service``)


@dataclass(frozen=True)
class SchemaSetting:
    """A schema the receiver publishes and the operator supplies (never shipped)."""

    what: str  # for messages: "the FIU's goAML XSD"
    envvar: str  # a file named by this variable is used when no --xsd is given
    standards_path: str  # the file under $DAYBREAK_STANDARDS_DIR
    help: str = ""

    def default(self) -> Path | None:
        """The configured schema: the file ``$envvar`` names, else this schema's file
        under ``$DAYBREAK_STANDARDS_DIR``, else None."""
        direct = os.environ.get(self.envvar, "")
        if direct and Path(direct).is_file():
            return Path(direct)
        root = os.environ.get(STANDARDS_ENV)
        if not root:
            return None
        path = Path(root) / self.standards_path
        return path if path.is_file() else None


@dataclass(frozen=True)
class ExporterInfo:
    """One export format, as the registry lists it."""

    name: str  # command-line name and entry-point name, e.g. ``goaml``
    label: str  # for screens: "goAML STR (XML)"
    media_type: str  # IANA media type of the document
    suffix: str  # file suffix without the dot, e.g. ``xml``
    description: str  # one sentence for `daybreak export --list` and --help
    factory: str | Callable[..., Exporter]  # "module:Class", imported on first use
    options: tuple[ExportOption, ...] = ()
    schema: SchemaSetting | None = None  # validated against a schema the operator supplies
    # "module:function" or callable: why a case cannot be made in this format (None: it can)
    unavailable: str | Callable[[CaseBundle], str | None] | None = None
    order: int = 100  # position in listings; plug-ins come after the built-ins

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"exporter name must be an identifier, got {self.name!r}")
        if "/" not in self.media_type or not self.suffix or "." in self.suffix:
            raise ValueError(
                f"exporter {self.name}: media type {self.media_type!r} must be type/subtype "
                f"and suffix {self.suffix!r} a file ending without the dot"
            )

    def filename(self, case_id: str) -> str:
        """``<case id>.<format>.<suffix>``, with characters unsafe in file names replaced."""
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in case_id)
        return f"{safe}.{self.name}.{self.suffix}"

    def why_not(self, bundle: CaseBundle) -> str | None:
        """The format's own reason this case cannot be made (the schema aside)."""
        if self.unavailable is None:
            return None
        check: Callable[[CaseBundle], str | None] = resolve(
            self.unavailable, f"exporter {self.name}"
        )
        return check(bundle)

    def create(self, xsd: Path | None = None, **options: Any) -> Exporter:
        """The exporter (imported now). Formats with a ``schema`` get it as their first
        argument: ``xsd``, else the configured default, else an ExportError saying how to
        give one."""
        from daybreak.exporters.base import Exporter, ExportError

        factory = resolve(self.factory, f"exporter {self.name}")
        if self.schema is not None:
            path = xsd or self.schema.default()
            if path is None:
                raise ExportError(
                    f"the {self.name} export validates against {self.schema.what}: pass its "
                    f"path (--xsd FILE) or set {STANDARDS_ENV} to a folder laid out like "
                    "shared/standards"
                )
            made = factory(path, **options)
        else:
            made = factory(**options)
        if not isinstance(made, Exporter):
            raise ExportError(
                f"exporter {self.name}: {self.factory!r} made a {type(made).__name__}, "
                "not a daybreak.exporters.base.Exporter"
            )
        return made


_IN_PROCESS: dict[str, ExporterInfo] = {}


def register(info: ExporterInfo | str, factory: Callable[..., Exporter] | None = None) -> None:
    """Add a format for this process only (tests, notebooks). A package that others
    install declares an entry point instead, so every face finds it.

    ``register(info)``, or ``register(name, ExporterClass)`` when the class carries its
    own ``media_type`` and ``suffix``."""
    if isinstance(info, str):
        if factory is None:
            raise ValueError(f"register({info!r}, factory): the factory is missing")
        info = ExporterInfo(
            name=info,
            label=getattr(factory, "label", info),
            media_type=getattr(factory, "media_type", "application/octet-stream"),
            suffix=getattr(factory, "suffix", "bin"),
            description=(factory.__doc__ or info).strip().splitlines()[0],
            factory=factory,
        )
    installed = load_group(EXPORTERS, ExporterInfo)
    if info.name in installed:
        raise ValueError(
            f"export format {info.name!r} is already installed (an entry point); "
            "choose another name"
        )
    _IN_PROCESS[info.name] = info


def unregister(name: str) -> None:
    """Remove a format :func:`register` added in this process (installed ones stay)."""
    _IN_PROCESS.pop(name, None)


def exporters() -> dict[str, ExporterInfo]:
    """Every format: the ``daybreak.exporters`` entry points (Daybreak's own and installed
    plug-ins), then those registered in this process; listing order first, then name."""
    found = {**load_group(EXPORTERS, ExporterInfo), **_IN_PROCESS}
    return {i.name: i for i in sorted(found.values(), key=lambda i: (i.order, i.name))}


def exporter_info(fmt: str) -> ExporterInfo:
    """The format called ``fmt``; ExportError naming the known ones otherwise."""
    from daybreak.exporters.base import ExportError

    known = exporters()
    if fmt not in known:
        raise ExportError(f"unknown export format {fmt!r}; expected one of {sorted(known)}")
    return known[fmt]
