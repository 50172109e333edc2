"""The case record as JSON: an exporter in the shape every Daybreak exporter has."""

from __future__ import annotations

from pydantic import ValidationError

from daybreak.exporters.base import Exporter, ValidationProblem
from daybreak.exporters.bundle import CaseBundle
from daybreak.model.cases import Case


class CaseJsonExporter(Exporter):
    name = "case_json"
    media_type = "application/json"
    suffix = "json"
    validates_against = "daybreak.model.cases.Case"

    def export(self, bundle: CaseBundle) -> bytes:
        return bundle.case.model_dump_json(indent=2).encode()

    def validate(self, data: bytes) -> list[ValidationProblem]:
        try:
            Case.model_validate_json(data)
        except ValidationError as exc:
            return [ValidationProblem(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
        return []
