"""The CLI groups on the store: admin (keygen, users, keys, retention, migrate),
reports import (NCMEC XML) and queue, and audit verify (exit 1 when tampered)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from daybreak.cli.main import app
from daybreak.store.db import head_revision
from daybreak.store.keys import generate_key

HEAD = head_revision()

runner = CliRunner()

REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<report>
  <incidentSummary>
    <incidentType>Child Sex Trafficking</incidentType>
    <incidentDateTime>2026-11-27T21:15:00+08:00</incidentDateTime>
  </incidentSummary>
  <reporter><reportingPerson><email>safety@example.com</email></reportingPerson></reporter>
  <personOrUserReported><espIdentifier>u-5</espIdentifier><espService>streamx</espService></personOrUserReported>
  <victim><victimPerson><age>12</age></victimPerson><estimatedLocation><countryCode>TH</countryCode></estimatedLocation></victim>
</report>
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"DAYBREAK_FIELD_KEY": generate_key(), "DAYBREAK_AUDIT_KEY": generate_key()}


def _run(args: list[str], env: dict[str, str], tmp_path: Path, **kw: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--data-dir", str(tmp_path)], env={**env, **kw})
    return result.exit_code, result.output


def test_admin_commands(tmp_path: Path, env: dict[str, str]) -> None:
    key = runner.invoke(app, ["admin", "keygen"]).output.strip()
    assert len(key) == 44
    code, out = _run(
        ["admin", "users", "create", "ana", "--role", "supervisor"],
        env,
        tmp_path,
        DAYBREAK_NEW_PASSWORD="a long analyst password",
    )
    assert code == 0 and "created supervisor ana" in out
    code, out = _run(
        ["admin", "users", "create", "bob"], env, tmp_path, DAYBREAK_NEW_PASSWORD="short"
    )
    assert code == 1 and "12 characters" in out
    code, out = _run(["admin", "keys", "create", "acme"], env, tmp_path)
    assert code == 0 and out.startswith("dbk_")
    key_id = out.split("_")[1]
    assert _run(["admin", "keys", "revoke", key_id], env, tmp_path)[0] == 0
    assert _run(["admin", "keys", "revoke", "nope"], env, tmp_path)[0] == 1
    code, out = _run(["admin", "retention", "--days", "30", "--dry-run"], env, tmp_path)
    assert code == 0 and "would delete 0 report(s)" in out
    code, out = _run(["admin", "migrate"], env, tmp_path)
    assert code == 0 and f"revision {HEAD}" in out


def test_account_lifecycle_commands(tmp_path: Path, env: dict[str, str]) -> None:
    pw = {"DAYBREAK_NEW_PASSWORD": "a long analyst password"}
    assert _run(["admin", "users", "create", "ana"], env, tmp_path, **pw)[0] == 0
    code, out = _run(
        ["admin", "users", "create", "eve"], env, tmp_path, DAYBREAK_NEW_PASSWORD="aaaaaaaaaaaa"
    )
    assert code == 1 and "repeated" in out
    code, out = _run(["admin", "users", "disable", "ana"], env, tmp_path)
    assert code == 0 and "disabled ana" in out
    assert re.search(
        r"ana\s+analyst\s+disabled", _run(["admin", "users", "list"], env, tmp_path)[1]
    )
    assert _run(["admin", "users", "enable", "ana"], env, tmp_path)[0] == 0
    assert re.search(r"ana\s+analyst\s+active", _run(["admin", "users", "list"], env, tmp_path)[1])
    code, out = _run(["admin", "users", "set-role", "ana", "supervisor"], env, tmp_path)
    assert code == 0 and "role supervisor for ana" in out
    code, out = _run(
        ["admin", "users", "reset-password", "ana"],
        env,
        tmp_path,
        DAYBREAK_NEW_PASSWORD="password123456",
    )
    assert code == 1 and "most common" in out
    code, out = _run(
        ["admin", "users", "reset-password", "ana"],
        env,
        tmp_path,
        DAYBREAK_NEW_PASSWORD="another long passphrase",
    )
    assert code == 0 and "password reset for ana" in out
    code, out = _run(
        [
            "admin",
            "keys",
            "create",
            "ana-script",
            "--role",
            "analyst",
            "--owner",
            "ana",
            "--expires",
            "2999-01-01",
        ],
        env,
        tmp_path,
    )
    assert code == 0 and out.startswith("dbk_")
    code, out = _run(["admin", "users", "revoke", "ana"], env, tmp_path)
    assert code == 0 and "0 session(s) ended, 1 key(s) revoked" in out
    assert _run(["admin", "users", "disable", "nobody"], env, tmp_path)[0] == 1
    code, out = _run(["admin", "keys", "create", "x", "--expires", "2020-01-01"], env, tmp_path)
    assert code == 1 and "already past" in out
    code, out = _run(["admin", "keys", "create", "x", "--expires", "soon"], env, tmp_path)
    assert code == 2 and "YYYY-MM-DD" in out


def test_missing_key_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["audit", "verify", "--data-dir", str(tmp_path)], env={"DAYBREAK_FIELD_KEY": ""}
    )
    assert result.exit_code == 2 and "DAYBREAK_FIELD_KEY" in result.output


@pytest.mark.shared
def test_import_queue_and_audit_verify(
    tmp_path: Path, env: dict[str, str], shared_dir: Path
) -> None:
    xsd = shared_dir / "standards" / "ncmec" / "cybertipline_report.xsd"
    good = tmp_path / "good.xml"
    good.write_text(REPORT)
    bad = tmp_path / "bad.xml"
    bad.write_text(REPORT.replace("Child Sex Trafficking", "Nope"))
    code, out = _run(["reports", "import", str(good), str(bad), "--xsd", str(xsd)], env, tmp_path)
    assert code == 1 and "bad.xml" in out and "nothing imported" in out
    code, out = _run(["reports", "import", str(good), "--xsd", str(xsd)], env, tmp_path)
    assert code == 0 and "tier 2" in out and "TICAC" in out
    code, out = _run(["reports", "queue"], env, tmp_path)
    assert code == 0 and "TICAC" in out
    code, out = _run(["audit", "verify"], env, tmp_path)
    assert code == 0 and "intact" in out
    engine = create_engine(f"sqlite:///{tmp_path / 'daybreak.db'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET action = 'nothing' WHERE seq = 1"))
    engine.dispose()
    code, out = _run(["audit", "verify"], env, tmp_path)
    assert code == 1 and "entry 1" in out and "BROKEN" in out


def test_team_membership_commands_per_organisation(tmp_path: Path, env: dict[str, str]) -> None:
    pw = {"DAYBREAK_NEW_PASSWORD": "a long analyst password"}
    assert _run(["admin", "orgs", "create", "bank-a", "--name", "Bank A"], env, tmp_path)[0] == 0
    assert _run(["admin", "users", "create", "ana"], env, tmp_path, **pw)[0] == 0
    assert _run(["admin", "users", "create", "bea", "--org", "bank-a"], env, tmp_path, **pw)[0] == 0
    code, out = _run(["admin", "teams", "add", "payments", "ana"], env, tmp_path)
    assert code == 0 and "added ana to team payments in default" in out
    code, out = _run(["admin", "teams", "add", "payments", "bea"], env, tmp_path)
    assert code == 1 and "no user 'bea' in organisation 'default'" in out
    code, out = _run(["admin", "teams", "add", "hotline", "bea", "--org", "bank-a"], env, tmp_path)
    assert code == 0
    code, out = _run(["admin", "teams", "add", "Pay Ments", "ana"], env, tmp_path)
    assert code == 1 and "1-40 characters of a-z" in out
    assert re.search(r"payments\s+ana", _run(["admin", "teams", "list"], env, tmp_path)[1])
    listed = _run(["admin", "teams", "list", "--org", "bank-a"], env, tmp_path)[1]
    assert "hotline" in listed and "payments" not in listed
    code, out = _run(["admin", "teams", "remove", "payments", "ana"], env, tmp_path)
    assert code == 0 and "removed ana from team payments" in out
    assert _run(["admin", "teams", "remove", "payments", "ana"], env, tmp_path)[0] == 1
