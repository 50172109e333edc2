"""The cases file ``daybreak cases build`` writes (JSON lines, one case each), read in
one place for every reader: the case commands, the exporters and the console."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from daybreak.model.cases import Case

CASES_FILE = "cases.jsonl"


class CasesFileError(ValueError):
    """A cases file that cannot be read; the message names the file, line and field."""


def read_cases(path: Path | str, *, missing_ok: bool = False) -> list[Case]:
    """The cases in a JSON-lines file; a missing file is no cases when ``missing_ok``.
    Blank lines are skipped."""
    path = Path(path)
    if not path.is_file():
        if missing_ok:
            return []
        raise CasesFileError(f"{path}: cases file not found")
    out = []
    # Lines end at newlines only: a JSON string may hold other line separators.
    with path.open(encoding="utf-8", newline="\n") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                out.append(Case.model_validate_json(line))
            except ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(x) for x in first["loc"]) or "(line)"
                raise CasesFileError(f"{path}, line {n}, field {field}: {first['msg']}") from None
    return out
