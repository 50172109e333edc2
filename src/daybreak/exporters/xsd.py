"""Load an XML Schema at run time and validate documents against it.

goAML is a family of schemas (each FIU issues its own), so the XSD is a run-time input,
never baked in. Schemas that declare ``vc:minVersion="1.1"`` get an XSD 1.1 processor:
an XSD 1.0 processor would skip such a schema without a word.

Some FIUs write their patterns in ECMAScript style (``^[a-z]*$``, as the goAML portal
evaluates them); in W3C XSD regex ``^`` and ``$`` are literal characters, so a strict
processor rejects every ordinary name. ``dialect="ecmascript"`` strips those outer
anchors in memory (the file is never changed) to match what the portal accepts. The
default, ``auto``, does so only when the schema contains such patterns: no schema author
means a name to start with a literal ``^``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from daybreak.exporters.base import ExportError, ValidationProblem

XS = "http://www.w3.org/2001/XMLSchema"
VC_MIN_VERSION = "{http://www.w3.org/2007/XMLSchema-versioning}minVersion"


class RegexDialect(StrEnum):
    AUTO = "auto"  # ecmascript when the schema has '^...$' patterns, else xsd
    XSD = "xsd"  # W3C semantics: ^ and $ are literal characters
    ECMASCRIPT = "ecmascript"  # the goAML portal's reading: outer ^...$ are anchors


@dataclass(frozen=True)
class LoadedSchema:
    path: Path
    xsd_version: str  # "1.0" or "1.1"
    dialect: RegexDialect
    rewritten_patterns: int
    schema: Any  # xmlschema.XMLSchema10 | XMLSchema11 (untyped library)

    @property
    def label(self) -> str:
        extra = ""
        if self.dialect is RegexDialect.ECMASCRIPT:
            extra = f", {self.rewritten_patterns} '^...$' patterns read as anchored"
        return f"{self.path.name} (XSD {self.xsd_version}{extra})"

    def validate(self, data: bytes) -> list[ValidationProblem]:
        import xmlschema  # imported on first use: it costs a second at CLI start-up

        try:
            # No network, no entities, no file access from inside the document.
            resource = xmlschema.XMLResource(io.BytesIO(data), allow="none", defuse="always")
            errors = list(self.schema.iter_errors(resource))
        except (xmlschema.XMLResourceError, etree.XMLSyntaxError, SyntaxError) as exc:
            return [ValidationProblem("", f"not well-formed XML: {exc}")]
        return [_problem(e) for e in errors]

    def enumeration(self, type_name: str) -> list[str]:
        """The allowed values of a named simple type (e.g. goAML ``report_type``)."""
        xsd_type = self.schema.types.get(type_name)
        values = getattr(xsd_type, "enumeration", None) if xsd_type is not None else None
        return [str(v) for v in values] if values else []


def _problem(error: Any) -> ValidationProblem:
    path = str(getattr(error, "path", "") or "")
    reason = str(getattr(error, "reason", None) or error.message or error)
    elem = getattr(error, "elem", None)
    value = elem.text if elem is not None and len(elem) == 0 and elem.text else None
    if value is not None and "pattern" in reason:
        reason += f" (value {value[:60]!r})"
        pattern = str(getattr(getattr(error, "validator", None), "regexps", "") or "")
        if "^" in pattern or "\\^" in reason:
            reason += (
                "; the schema writes this pattern ECMAScript-style ('^...$'), which a W3C "
                "XSD processor reads as literal characters: the default --regex-dialect auto reads them as anchors"
            )
    return ValidationProblem(path, reason)


def _strip_anchors(pattern: str) -> str:
    anchored = pattern.startswith("^") and pattern.endswith("$")
    if len(pattern) >= 2 and anchored and not pattern.endswith("\\$"):
        return pattern[1:-1]
    return pattern


def _source(path: Path, dialect: RegexDialect) -> tuple[bytes, int]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        tree = etree.parse(str(path), parser)
    except (OSError, etree.XMLSyntaxError) as exc:
        raise ExportError(f"{path}: cannot read the XSD: {exc}") from exc
    changed = 0
    if dialect is not RegexDialect.XSD:
        for node in tree.iter(f"{{{XS}}}pattern"):
            old = node.get("value", "")
            new = _strip_anchors(old)
            if new != old:
                node.set("value", new)
                changed += 1
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8"), changed


@lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int, dialect: RegexDialect) -> LoadedSchema:
    import xmlschema

    source, changed = _source(path, dialect)
    root = etree.fromstring(source, etree.XMLParser(resolve_entities=False, no_network=True))
    if root.tag != f"{{{XS}}}schema":
        raise ExportError(f"{path}: not an XML Schema (root element is {root.tag!r})")
    wants_11 = float(root.get(VC_MIN_VERSION, "1.0") or "1.0") >= 1.1
    cls = xmlschema.XMLSchema11 if wants_11 else xmlschema.XMLSchema10
    try:
        # includes/imports resolve only inside the schema's own folder: never the network
        schema = cls(
            source.decode("utf-8"), base_url=str(path.parent), allow="sandbox", defuse="always"
        )
    except (xmlschema.XMLSchemaException, etree.XMLSyntaxError, ValueError) as exc:
        raise ExportError(f"{path}: the XSD does not compile: {exc}") from exc
    if dialect is RegexDialect.AUTO:
        dialect = RegexDialect.ECMASCRIPT if changed else RegexDialect.XSD
    return LoadedSchema(path, "1.1" if wants_11 else "1.0", dialect, changed, schema)


def load_schema(path: Path | str, dialect: RegexDialect | str = RegexDialect.AUTO) -> LoadedSchema:
    """Compile the XSD at ``path`` (cached per file version and dialect)."""
    p = Path(path).resolve()
    if not p.is_file():
        raise ExportError(f"{path}: XSD file not found")
    try:
        d = RegexDialect(dialect)
    except ValueError as exc:
        raise ExportError(
            f"unknown regex dialect {dialect!r}; expected auto, xsd or ecmascript"
        ) from exc
    return _load(p, p.stat().st_mtime_ns, d)
