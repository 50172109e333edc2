"""`daybreak share psi request|respond|finish` between two institutions, as files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from share_world import AU_E164, AU_NATIONAL, FACILITATOR, K1_PHONE, write_cases, write_world
from typer.testing import CliRunner

from daybreak.cli.main import app

runner = CliRunner()


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    """Bank A has the world and cases of share_world; bank B a CSV holding the K1
    facilitator, the K1 phone, an Australian number and one of A's customers' e-mails."""
    theirs = tmp_path / "b.csv"
    theirs.write_text(
        f"kind,value\nbeneficiary,{FACILITATOR}\nphone,{K1_PHONE}\nphone,{AU_E164}\n"
        "email,c1@bank.example\nemail,only-b@example.org\n"
    )
    return {
        "world": write_world(tmp_path / "world"),
        "cases": write_cases(tmp_path / "cases.jsonl"),
        "theirs": theirs,
        "request": tmp_path / "a.request",
        "state": tmp_path / "a.state",
        "response": tmp_path / "b.response",
        "log": tmp_path / "b.log",
    }


def _request(f: dict[str, Path], *extra: str) -> str:
    res = runner.invoke(app, ["share", "psi", "request", "--group", "bank-a",
                              "--out", str(f["request"]), "--state", str(f["state"]),
                              "--cases", str(f["cases"]), "--case", "K1",
                              "--world", str(f["world"]), *extra])  # fmt: skip
    assert res.exit_code == 0, res.output
    return res.output


def _respond(f: dict[str, Path], *extra: str) -> tuple[int, str]:
    res = runner.invoke(app, ["share", "psi", "respond", "--group", "bank-b", "--peer", "bank-a",
                              "--request", str(f["request"]), "--out", str(f["response"]),
                              "--log", str(f["log"]), "--input", str(f["theirs"]),
                              *extra])  # fmt: skip
    return res.exit_code, res.output


def _finish(f: dict[str, Path]) -> tuple[int, str, str]:
    res = runner.invoke(app, ["share", "psi", "finish", "--response", str(f["response"]),
                              "--state", str(f["state"]), "--json"])  # fmt: skip
    return res.exit_code, res.stdout, res.output


def test_psi_round_trip_finds_the_case_identifiers_the_other_side_holds(
    files: dict[str, Path],
) -> None:
    _request(files)
    assert oct(files["state"].stat().st_mode)[-3:] == "600"
    request_text = files["request"].read_text()
    for clear in (FACILITATOR, K1_PHONE, "maria88", "+639"):
        assert clear not in request_text
    code, output = _respond(files)
    assert code == 0, output
    code, stdout, output = _finish(files)
    assert code == 0, output
    rows = [json.loads(x) for x in stdout.splitlines()]
    # The customer's own e-mail B holds is not in A's request (withheld by default).
    assert rows == [
        {"kind": "payment_handle", "value": FACILITATOR, "group": "bank-b"},
        {"kind": "phone", "value": K1_PHONE, "group": "bank-b"},
    ]
    assert not files["state"].exists() and "Deleted" in output
    log = [json.loads(x) for x in files["log"].read_text().splitlines()]
    assert [(e["peer"], e["count"], e["own"], e["outcome"]) for e in log] == [
        ("bank-a", 3, 5, "answered")
    ]


def test_psi_size_only_and_region(files: dict[str, Path]) -> None:
    csv = files["theirs"].with_name("a.csv")
    csv.write_text(f"kind,value\nphone,{AU_NATIONAL}\nphone,{K1_PHONE}\nphone,+15550100\n")
    res = runner.invoke(app, ["share", "psi", "request", "--group", "bank-a", "--size-only",
                              "--out", str(files["request"]), "--state", str(files["state"]),
                              "--input", str(csv), "--default-region", "AU"])  # fmt: skip
    assert res.exit_code == 0, res.output
    code, output = _respond(files)
    assert code == 0, output
    code, stdout, output = _finish(files)
    assert code == 0, output
    assert json.loads(stdout) == {"in_common": 2, "mode": "size", "group": "bank-b",
                                  "requested": 3, "theirs": 5}  # fmt: skip


def test_responder_refuses_replays_and_big_requests_and_logs_them(files: dict[str, Path]) -> None:
    _request(files)
    code, output = _respond(files, "--max-request", "2")
    assert code == 2 and "refused" in output and "3 identifiers; at most 2" in output
    code, output = _respond(files)
    assert code == 0, output
    code, output = _respond(files)
    assert code == 2 and "already answered" in output
    outcomes = [json.loads(x)["outcome"] for x in files["log"].read_text().splitlines()]
    assert outcomes[1] == "answered" and [o.startswith("refused") for o in outcomes] == [
        True,
        False,
        True,
    ]


def test_finish_refuses_another_sessions_response(files: dict[str, Path]) -> None:
    _request(files)
    assert _respond(files)[0] == 0
    files["state"].unlink()
    _request(files)  # a new session, new scalar
    code, _, output = _finish(files)
    assert code == 2 and "values of different sessions never match" in output
    assert files["state"].exists()  # a failed finish keeps the state


def test_malformed_files_give_clear_errors(files: dict[str, Path]) -> None:
    _request(files)
    lines = files["request"].read_text().splitlines()
    files["request"].write_text("\n".join([lines[0], "nothex", *lines[2:]]) + "\n")
    code, output = _respond(files)
    assert code == 2
    assert f"{files['request']}: line 2: expected 64 lower-case hex characters" in output
    files["response"].write_text(lines[0] + "\n")  # a request given as a response
    code, _, output = _finish(files)
    assert code == 2 and "this is a daybreak-psi-request/1 file" in output
    res = runner.invoke(app, ["share", "psi", "request", "--group", "a", "--out",
                              str(files["request"]), "--state", str(files["state"]),
                              "--input", str(files["theirs"])])  # fmt: skip
    assert res.exit_code == 2 and "finish or delete that exchange first" in res.output
