"""`daybreak share keygen|export|match` between two institutions."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from daybreak.cli.main import app

runner = CliRunner()


def test_two_institutions_find_common_identifiers(tmp_path: Path) -> None:
    secret = tmp_path / "group.key"
    assert runner.invoke(app, ["share", "keygen", "--out", str(secret)]).exit_code == 0
    assert oct(secret.stat().st_mode)[-3:] == "600"
    a = tmp_path / "a.csv"
    a.write_text("kind,value\nphone,+63 917 123 4567\nemail,a@example.org\nphone,bad\n")
    b = tmp_path / "b.csv"
    b.write_text("kind,value\nphone,+639171234567\nemail,b@example.org\n")
    share_b = tmp_path / "b.share.jsonl"
    res = runner.invoke(app, ["share", "export", "--input", str(b), "--group", "ph",
                              "--secret-file", str(secret), "--out", str(share_b)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "b@example.org" not in share_b.read_text()
    res = runner.invoke(app, ["share", "match", "--input", str(a), "--theirs", str(share_b),
                              "--secret-file", str(secret), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in res.output.splitlines()]
    assert rows == [{"kind": "phone", "value": "+639171234567", "group": "ph"}]


def test_share_errors_are_clear(tmp_path: Path) -> None:
    res = runner.invoke(app, ["share", "export", "--group", "g", "--out", str(tmp_path / "x")],
                        env={"DAYBREAK_SHARE_SECRET": "x" * 40})  # fmt: skip
    assert res.exit_code == 2 and "exactly one of --world or --input" in res.output
    res = runner.invoke(app, ["share", "export", "--group", "g", "--out", str(tmp_path / "x"),
                              "--input", str(tmp_path / "none.csv")],
                        env={"DAYBREAK_SHARE_SECRET": "short"})  # fmt: skip
    assert res.exit_code == 2 and "at least 32 bytes" in res.output
