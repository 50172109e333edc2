"""The shared test kit every exporter passes, built-in or plug-in.

``check_exporter(exporter, bundle, damage)`` asserts the Exporter contract:
* it names itself (name, media type, suffix, what it validates against);
* ``export`` gives bytes that its real validator accepts, and ``render`` returns them;
* the same bundle gives the same bytes (reproducible reports);
* ``validate`` is not a rubber stamp: ``damage(document)`` yields problems, each naming
  what is wrong, and ``render`` refuses to hand out a damaged document.

:func:`check_exporter_info` also checks a registered format's description against the
exporter it makes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from daybreak.exporters.base import Exporter, ExportValidationError, ValidationProblem
from daybreak.exporters.bundle import CaseBundle
from daybreak.exporters.info import ExporterInfo


class _Breaking(Exporter):
    """Wraps an exporter so that its export is damaged by ``damage``."""

    def __init__(self, inner: Exporter, damage: Callable[[bytes], bytes]) -> None:
        self.inner = inner
        self.damage = damage
        self.name = inner.name
        self.media_type = inner.media_type
        self.suffix = inner.suffix
        self.validates_against = inner.validates_against

    def export(self, bundle: CaseBundle) -> bytes:
        return self.damage(self.inner.export(bundle))

    def validate(self, data: bytes) -> list[ValidationProblem]:
        return self.inner.validate(data)


def check_exporter(
    exporter: Exporter, bundle: CaseBundle, damage: Callable[[bytes], bytes]
) -> bytes:
    assert exporter.name and exporter.name.isidentifier()
    assert "/" in exporter.media_type
    assert exporter.suffix and "." not in exporter.suffix
    assert exporter.validates_against

    data = exporter.export(bundle)
    assert isinstance(data, bytes) and data
    problems = exporter.validate(data)
    assert problems == [], "\n".join(str(p) for p in problems)
    assert exporter.render(bundle) == data
    assert exporter.export(bundle) == data, "export is not reproducible"

    broken = damage(data)
    assert broken != data
    found = exporter.validate(broken)
    assert found, "the validator accepted a damaged document"
    assert all(isinstance(p, ValidationProblem) and p.message for p in found)
    try:
        _Breaking(exporter, damage).render(bundle)
    except ExportValidationError as exc:
        assert exc.problems and exporter.name in str(exc)
    else:
        raise AssertionError("render handed out a document that does not validate")
    return data


def check_exporter_info(
    info: ExporterInfo,
    bundle: CaseBundle,
    damage: Callable[[bytes], bytes],
    xsd: Path | None = None,
    **options: Any,
) -> bytes:
    """A registered format: its description is complete and agrees with the exporter it
    makes (name, media type, suffix), and that exporter passes :func:`check_exporter`."""
    assert info.label.strip() and info.description.strip(), f"{info.name}: label/description"
    exporter = info.create(xsd, **options)
    assert exporter.name == info.name, f"{info.name}: the exporter calls itself {exporter.name}"
    assert exporter.media_type == info.media_type, f"{info.name}: media types differ"
    assert exporter.suffix == info.suffix, f"{info.name}: suffixes differ"
    return check_exporter(exporter, bundle, damage)
