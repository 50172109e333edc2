"""Every operator command that reads or writes one organisation's data takes ``--org``
(default "default") and keeps to that organisation (#18): accounts, keys, retention,
reports, cases, labels, exports, sharing, banks and the audit trail."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from daybreak.cli.main import app
from daybreak.model.cases import Case, Tier
from daybreak.store import Role, Submission, TiplineStore
from daybreak.store.auth import operator_in
from daybreak.store.keys import generate_key
from daybreak.tipline.intake import ReportIn

runner = CliRunner()
PASSWORD = "a long analyst password"
# Commands that touch the store but no single organisation's data: the schema, keys,
# the organisations themselves, the one audit chain of the deployment (verify,
# checkpoint), the server, the demo and the stream workers (which take the organisation
# of each event from its source; see docs/operations.md).
DEPLOYMENT_WIDE = {
    "admin migrate",
    "admin rotate-field-key",
    "admin rotate-audit-key",
    "admin orgs create",
    "admin orgs list",
    "audit verify",
    "audit checkpoint",
    "serve",
    "demo",
}


def _commands(group: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf command of Typer's command tree, by its path (``admin users list``)."""
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):
            yield from _commands(command, path + " ")
        else:
            yield path, command


def _options(command: Any) -> dict[str, Any]:
    return {flag: p for p in command.params for flag in getattr(p, "opts", [])}


def test_every_command_on_the_store_takes_org_with_default_default() -> None:
    """A command with --db (the store) either takes --org, defaulting to the default
    organisation, or is one of the few that act on the whole deployment."""
    root = typer.main.get_command(app)
    missing, checked = [], []
    for path, command in _commands(root):
        options = _options(command)
        if "--db" not in options or path in DEPLOYMENT_WIDE or path.startswith("stream"):
            continue
        if "--org" not in options:
            missing.append(path)
            continue
        checked.append(path)
        assert options["--org"].default == "default", path
    assert not missing, f"no --org on: {missing}"
    for expected in (
        "admin users list",
        "admin users disable",
        "admin keys revoke",
        "admin retention",
        "reports queue",
        "reports import",
        "reports submit",
        "cases label",
        "audit trail",
        "export case_json",
        "share export",
        "media bank list",
        "payments train",
    ):
        assert expected in checked, expected


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[tuple[dict[str, str], TiplineStore]]:
    """A store with two organisations, each with a user, a key, an old report, a case."""
    env = {"DAYBREAK_FIELD_KEY": generate_key(), "DAYBREAK_AUDIT_KEY": generate_key()}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        store = TiplineStore.open(tmp_path)
    store.organisations.create("acme", "Acme hotline")
    old = datetime.now(UTC) - timedelta(days=30)
    for org, user, country in (("default", "dana", "PH"), ("acme", "alex", "TH")):
        store.accounts.create(user, PASSWORD, Role.ANALYST, org_id=org)
        report = ReportIn.model_validate(
            {
                "reporter": {"type": "platform"},
                "incident_type": "online_enticement",
                "reported_accounts": [{"service": "examplestream", "account_id": f"u-{org}"}],
                "victim": {"age_estimate": 10, "country": country},
                "description": "Synthetic description",
            }
        )
        store.reports.add_many([Submission(report, "cli", "import", received_at=old, org_id=org)])
        case = Case.model_validate(
            {
                "case_id": f"C-{org}",
                "title": f"case of {org}",
                "priority": 0.5,
                "tier": Tier.KNOWN_OFFENDER_ACCESS,
                "entity_keys": [f"phone:+6391712345{len(org)}"],
                "report_ids": [],
                "reasons": ["synthetic"],
            }
        )
        store.cases.upsert([case], operator_in(org))
    try:
        yield env, store
    finally:
        store.close()


def _run(args: list[str], env: dict[str, str], data_dir: Path) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)], env=env)
    return result.exit_code, result.output


def test_users_are_listed_and_changed_in_their_organisation_only(
    deployment: tuple[dict[str, str], TiplineStore], tmp_path: Path
) -> None:
    env, store = deployment
    code, text = _run(["admin", "users", "list"], env, tmp_path)
    assert code == 0 and "dana" in text and "alex" not in text, text
    code, text = _run(["admin", "users", "list", "--org", "acme"], env, tmp_path)
    assert code == 0 and "alex" in text and "dana" not in text, text
    code, text = _run(["admin", "users", "list", "--all-orgs"], env, tmp_path)
    assert "alex" in text and "dana" in text
    # alex is acme's: acting for the default organisation, the CLI does not know him
    code, text = _run(["admin", "users", "disable", "alex"], env, tmp_path)
    assert code == 1 and "no user 'alex'" in text, text
    assert {a.username: a.disabled for a in store.accounts.listing()}["alex"] is False
    code, text = _run(["admin", "users", "disable", "alex", "--org", "acme"], env, tmp_path)
    assert code == 0, text
    assert {a.username: a.disabled for a in store.accounts.listing()}["alex"] is True


def test_keys_are_revoked_in_their_organisation_only(
    deployment: tuple[dict[str, str], TiplineStore], tmp_path: Path
) -> None:
    env, store = deployment
    secret = store.api_keys.create("platform-a", Role.PLATFORM, org_id="acme")
    key_id = secret.split("_")[1]
    code, text = _run(["admin", "keys", "revoke", key_id], env, tmp_path)
    assert code == 1 and "no key" in text, text
    assert store.api_keys.check(secret) is not None
    code, text = _run(["admin", "keys", "revoke", key_id, "--org", "acme"], env, tmp_path)
    assert code == 0, text
    assert store.api_keys.check(secret) is None


def test_retention_deletes_one_organisations_reports(
    deployment: tuple[dict[str, str], TiplineStore], tmp_path: Path
) -> None:
    env, store = deployment
    assert (store.reports.count("acme"), store.reports.count("default")) == (1, 1)
    code, text = _run(["admin", "retention", "--days", "7", "--org", "acme"], env, tmp_path)
    assert code == 0 and "deleted 1 report(s)" in text, text
    assert (store.reports.count("acme"), store.reports.count("default")) == (0, 1)


def test_queue_trail_and_export_read_one_organisation(
    deployment: tuple[dict[str, str], TiplineStore], tmp_path: Path
) -> None:
    env, _ = deployment
    code, text = _run(["reports", "queue", "--org", "acme"], env, tmp_path)
    assert code == 0 and "TH" in text and "PH" not in text, text
    code, text = _run(["reports", "queue"], env, tmp_path)
    assert code == 0 and "PH" in text and "TH" not in text, text
    code, text = _run(["audit", "trail", "--org", "acme", "--last", "500"], env, tmp_path)
    orgs = {line.rsplit("\t", 1)[-1] for line in text.strip().splitlines()}
    assert code == 0 and orgs == {"acme"}, text
    db = f"sqlite:///{tmp_path / 'daybreak.db'}"
    out = tmp_path / "case.json"
    world = tmp_path / "world"  # the case record needs none of the world's files
    world.mkdir()
    export = ["export", "case_json", "--case", "C-acme", "--db", db, "--out", str(out)]
    export += ["--world", str(world)]
    code, text = _run(export, env, tmp_path)
    assert code != 0 and "not found in organisation 'default'" in text, text
    code, text = _run([*export, "--org", "acme"], env, tmp_path)
    assert code == 0, text
    assert json.loads(out.read_text())["case_id"] == "C-acme"


def test_an_unknown_organisation_is_named_with_the_known_ones(
    deployment: tuple[dict[str, str], TiplineStore], tmp_path: Path
) -> None:
    env, _ = deployment
    code, text = _run(["reports", "queue", "--org", "org.yaml"], env, tmp_path)
    assert code == 2, text
    assert re.search(r"no organisation 'org.yaml' \(there are: acme, default\)", text), text
