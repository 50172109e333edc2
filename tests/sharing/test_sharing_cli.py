"""`daybreak share keygen|export|match`: what is shared, from where, and what is skipped."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from share_world import (
    AU_E164,
    AU_NATIONAL,
    CUSTOMER_OWN,
    FACILITATOR,
    K1_SHAREABLE,
    K2_PHONE,
    cases,
    write_cases,
    write_world,
)
from typer.testing import CliRunner

from daybreak.cli.main import app
from daybreak.sharing import keyed_hash

runner = CliRunner()


@dataclass(frozen=True)
class Org:
    world: Path
    cases: Path
    key: Path
    tmp: Path

    @property
    def secret(self) -> bytes:
        return self.key.read_bytes().strip()

    def export(self, *args: str, out: str = "out.share") -> tuple[int, str, set[str]]:
        path = self.tmp / out
        res = runner.invoke(app, ["share", "export", "--group", "g", "--secret-file",
                                  str(self.key), "--out", str(path), *args])  # fmt: skip
        hashes = set()
        if res.exit_code == 0:
            hashes = {json.loads(x)["hash"] for x in path.read_text().splitlines()[1:]}
        return res.exit_code, res.output, hashes

    def hashes_of(self, identifiers: set[tuple[str, str]]) -> set[str]:
        return {keyed_hash(self.secret, k, v) for k, v in identifiers}


@pytest.fixture()
def org(tmp_path: Path) -> Org:
    key = tmp_path / "group.key"
    assert runner.invoke(app, ["share", "keygen", "--out", str(key)]).exit_code == 0
    world = write_world(tmp_path / "world")
    return Org(world, write_cases(tmp_path / "cases.jsonl"), key, tmp_path)


def test_keygen_writes_a_private_secret_and_never_overwrites(org: Org) -> None:
    assert oct(org.key.stat().st_mode)[-3:] == "600"
    before = org.key.read_bytes()
    res = runner.invoke(app, ["share", "keygen", "--out", str(org.key)])
    assert res.exit_code == 2 and "refusing to overwrite" in res.output
    assert org.key.read_bytes() == before


def test_export_shares_only_the_chosen_cases_identifiers(org: Org) -> None:
    code, output, hashes = org.export("--cases", str(org.cases), "--case", "K1",
                                      "--world", str(org.world))  # fmt: skip
    assert code == 0, output
    assert hashes == org.hashes_of(K1_SHAREABLE)
    # Not the other case, not the customers' own e-mails/phones/accounts.
    assert not hashes & org.hashes_of({("phone", K2_PHONE), *CUSTOMER_OWN})
    assert "left out 2 identifier(s) of your own customers" in output


def test_several_cases_and_customers_identifiers_only_on_request(org: Org) -> None:
    base = ["--cases", str(org.cases), "--case", "K1", "--case", "K2", "--world", str(org.world)]
    code, output, hashes = org.export(*base)
    assert code == 0, output
    assert hashes == org.hashes_of({*K1_SHAREABLE, ("phone", K2_PHONE)})
    code, output, hashes = org.export(*base, "--include-customer-identifiers")
    assert code == 0, output
    own_in_k1 = {("email", "c1@bank.example"), ("account", "kumu:payer_one")}
    assert hashes == org.hashes_of({*K1_SHAREABLE, ("phone", K2_PHONE), *own_in_k1})


def test_case_from_the_store(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    store_mod = pytest.importorskip("daybreak.store")
    monkeypatch.delenv("DAYBREAK_FIELD_KEY", raising=False)
    data_dir = org.tmp / "data"
    store = store_mod.TiplineStore.open(data_dir, dev=True)
    try:
        store.cases.upsert(cases())
    finally:
        store.close()
    url = f"sqlite:///{data_dir / 'daybreak.db'}"
    code, output, hashes = org.export("--db", url, "--data-dir", str(data_dir), "--dev",
                                      "--case", "K1", "--world", str(org.world))  # fmt: skip
    assert code == 0, output
    assert hashes == org.hashes_of(K1_SHAREABLE)


def test_whole_world_only_with_all_identifiers_and_a_warning(org: Org) -> None:
    code, output, _ = org.export("--world", str(org.world))  # exported everything before
    assert code == 2 and "--all-identifiers" in output and "--case ID" in output
    code, output, hashes = org.export("--all-identifiers", "--world", str(org.world))
    assert code == 0, output
    assert "warning: --all-identifiers: publishing keyed hashes of every identifier" in output
    world_ids = {*K1_SHAREABLE, ("phone", K2_PHONE), ("payment_handle", "bdo:999000111")}
    assert hashes == org.hashes_of(world_ids)
    assert "0412 345 678" in output  # the national number is reported, not dropped
    assert "left out 5 identifier(s) of your own customers" in output
    code, output, hashes = org.export("--all-identifiers", "--world", str(org.world),
                                      "--default-region", "AU")  # fmt: skip
    assert code == 0, output
    assert hashes == org.hashes_of({*world_ids, ("phone", AU_E164)})


def test_default_region_reads_national_numbers(org: Org) -> None:
    csv = org.tmp / "ids.csv"
    csv.write_text(f"kind,value\nphone,{AU_NATIONAL}\nphone,+639171234567\n")
    code, output, hashes = org.export("--input", str(csv))
    assert code == 0, output
    assert f"skipped (does not normalise): phone:'{AU_NATIONAL}'" in output
    assert hashes == org.hashes_of({("phone", "+639171234567")})
    code, output, hashes = org.export("--input", str(csv), "--default-region", "au")
    assert code == 0, output
    assert hashes == org.hashes_of({("phone", AU_E164), ("phone", "+639171234567")})
    code, output, _ = org.export("--input", str(csv), "--default-region", "UK")
    assert code == 2 and "ISO 3166 alpha-2" in output


def test_match_reports_every_skipped_value(org: Org) -> None:
    theirs_csv = org.tmp / "b.csv"
    theirs_csv.write_text(f"kind,value\nphone,{AU_E164}\npayment_handle,{FACILITATOR}\n")
    code, output, _ = org.export("--input", str(theirs_csv), out="b.share")
    assert code == 0, output
    mine = org.tmp / "a.csv"
    mine.write_text(
        f"kind,value\nphone,{AU_NATIONAL}\nphone,bad\nbeneficiary,GCash:+639171234567\n"
    )
    args = ["share", "match", "--input", str(mine), "--theirs", str(org.tmp / "b.share"),
            "--secret-file", str(org.key), "--json"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert [json.loads(x) for x in res.stdout.splitlines()] == [
        {"kind": "payment_handle", "value": FACILITATOR, "group": "g"}
    ]
    assert "skipped (does not normalise): phone:'bad'" in res.stderr
    assert f"skipped (does not normalise): phone:'{AU_NATIONAL}'" in res.stderr
    assert "2 skipped" in res.stderr
    res = runner.invoke(app, [*args, "--default-region", "AU"])
    assert res.exit_code == 0, res.output
    assert {json.loads(x)["value"] for x in res.stdout.splitlines()} == {AU_E164, FACILITATOR}
    assert "phone:'bad'" in res.stderr and AU_NATIONAL not in res.stderr


def test_share_errors_are_clear(org: Org, tmp_path: Path) -> None:
    env = {"DAYBREAK_SHARE_SECRET": "x" * 40}
    base = ["share", "export", "--group", "g", "--out", str(tmp_path / "x")]
    res = runner.invoke(app, base, env=env)
    assert res.exit_code == 2 and "say what to share" in res.output
    res = runner.invoke(app, [*base, "--case", "K1"], env=env)
    assert res.exit_code == 2 and "--cases FILE or --db URL" in res.output
    res = runner.invoke(app, [*base, "--cases", str(org.cases), "--case", "NOPE"], env=env)
    assert res.exit_code == 2 and "case 'NOPE' not found" in res.output
    res = runner.invoke(app, [*base, "--cases", str(org.cases), "--case", "K1",
                              "--world", str(tmp_path / "nowhere")], env=env)  # fmt: skip
    assert res.exit_code == 2 and "world folder not found" in res.output
    assert "--include-customer-identifiers" in res.output
    res = runner.invoke(app, [*base, "--input", str(tmp_path / "none.csv")],
                        env={"DAYBREAK_SHARE_SECRET": "short"})  # fmt: skip
    assert res.exit_code == 2 and "at least 32 bytes" in res.output
