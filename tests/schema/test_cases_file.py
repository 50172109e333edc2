"""The one reader of cases.jsonl, shared by the case commands and the exporters."""

from __future__ import annotations

from pathlib import Path

import pytest

from daybreak.exporters import ExportError, load_cases
from daybreak.graph.files import write_cases
from daybreak.model.cases import Case
from daybreak.schema.results import CASES_FILE, CasesFileError, read_cases


def test_cases_written_by_the_graph_read_back_in_both_readers(tmp_path: Path) -> None:
    path = tmp_path / CASES_FILE
    # A line separator inside a string is not the end of a line of the file.
    cases = [
        Case(case_id="C-1", title="a\u2028b", priority=0.4),
        Case(case_id="C-2", title="x", priority=0.2),
    ]
    written = write_cases(path, cases)
    assert read_cases(path) == written == load_cases(path)
    assert {c.title for c in written} == {"a\u2028b", "x"}


def test_a_missing_file_is_no_cases_only_when_allowed(tmp_path: Path) -> None:
    path = tmp_path / CASES_FILE
    assert read_cases(path, missing_ok=True) == []
    with pytest.raises(CasesFileError, match="cases file not found"):
        read_cases(path)
    with pytest.raises(ExportError, match="cases file not found"):
        load_cases(path)


def test_a_bad_line_is_named_by_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / CASES_FILE
    path.write_text('\n{"case_id": "X", "title": "t", "priority": 7}\n', encoding="utf-8")
    with pytest.raises(CasesFileError, match=r"cases\.jsonl, line 2, field priority"):
        read_cases(path)
