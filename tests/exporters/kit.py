"""The shared test kit every exporter passes, built-in or extension.

``check_exporter(exporter, bundle, broken)`` asserts the Exporter contract:
* it names itself (name, media type, suffix, what it validates against);
* ``export`` gives bytes that its real validator accepts, and ``render`` returns them;
* the same bundle gives the same bytes (reproducible reports);
* ``validate`` is not a rubber stamp: ``broken`` (a damaged document) yields problems,
  each naming where it is, and ``render`` refuses to hand out a broken document.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from daybreak.exporters.base import Exporter, ExportValidationError, ValidationProblem
from daybreak.exporters.bundle import CaseBundle


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
    with pytest.raises(ExportValidationError) as info:
        _Breaking(exporter, damage).render(bundle)
    assert info.value.problems and exporter.name in str(info.value)
    return data
