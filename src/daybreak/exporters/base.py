"""The interface every exporter shares, built-in or extension.

An exporter turns a :class:`~daybreak.exporters.bundle.CaseBundle` into bytes in one
format and can check bytes of that format against the format's real schema or
validator. :meth:`Exporter.render` does both and refuses to hand back a document that
does not validate, so nothing invalid is ever written or sent.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from daybreak.exporters.bundle import CaseBundle, OrgSettings

MAX_LISTED = 15


@dataclass(frozen=True, slots=True)
class ValidationProblem:
    """One reason a document is invalid: where (element path, object id or line) and why."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ExportError(ValueError):
    """A case that cannot be exported (missing data, bad settings, unknown format)."""


class ExportValidationError(ExportError):
    """The document does not validate; ``problems`` names each element and reason."""

    def __init__(self, fmt: str, against: str, problems: list[ValidationProblem]) -> None:
        self.fmt = fmt
        self.against = against
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:MAX_LISTED])
        more = len(problems) - MAX_LISTED
        tail = f"\n  … and {more} more" if more > 0 else ""
        super().__init__(
            f"the {fmt} document is not valid against {against} "
            f"({len(problems)} problem(s)):\n{shown}{tail}"
        )


def require_identity(org: OrgSettings, fmt: str) -> None:
    """Refuse to report under a missing identity: name the fields to set."""
    missing = org.missing_for(fmt)
    if missing:
        raise ExportError(
            f"the {fmt} export needs the reporting organisation's {', '.join(missing)}: "
            "give them in the organisation settings (--org-file org.yaml; see docs/exports.md). "
            "Daybreak does not report under a placeholder identity."
        )


class Exporter(ABC):
    """One export format."""

    #: short name used on the command line, e.g. ``goaml``
    name: str
    #: IANA media type of the output
    media_type: str
    #: file suffix without the dot, e.g. ``xml``
    suffix: str
    #: what :meth:`validate` checks against, for messages (schema file, validator)
    validates_against: str

    @abstractmethod
    def export(self, bundle: CaseBundle) -> bytes:
        """The document for ``bundle`` (not yet validated)."""

    @abstractmethod
    def validate(self, data: bytes) -> list[ValidationProblem]:
        """Every problem found in ``data``; an empty list means valid."""

    def notes(self, bundle: CaseBundle) -> list[str]:
        """Plain-language remarks for the analyst: the bundle's own (rows capped by the
        loader) and choices the export made (e.g. a party reported without full KYC)."""
        return list(bundle.notes)

    def render(self, bundle: CaseBundle) -> bytes:
        """Export and validate; raise :class:`ExportValidationError` when invalid."""
        data = self.export(bundle)
        problems = self.validate(data)
        if problems:
            raise ExportValidationError(self.name, self.validates_against, problems)
        return data
