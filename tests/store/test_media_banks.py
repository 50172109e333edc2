"""Hash-list metadata in the store (``store.banks``, issue #18 item 7): two store
instances on one database (the server and the CLI) writing at once lose nothing, every
change is in the audit chain, an old ``banks.json`` is imported once and kept, and each
organisation has its own banks."""

from __future__ import annotations

import hashlib
import multiprocessing
import threading
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from daybreak.media.banks import BankEntry, BankError, BankStore
from daybreak.media.matcher import MediaMatcher
from daybreak.store import Keyring, TiplineStore
from daybreak.store.auth import Actor, Role
from daybreak.store.repositories.context import PermissionDenied

OPERATOR = Actor("operator", Role.ADMIN)
WRITERS = 2
BANKS_EACH = 12


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _write(store: TiplineStore, root: Path, writer: int, start: threading.Barrier) -> None:
    banks = store.banks.open(root, OPERATOR, audit_name=f"writer-{writer}")
    start.wait()
    for n in range(BANKS_EACH):
        banks.create(f"w{writer}-b{n}", source=f"writer {writer}")
        banks.add("shared", [BankEntry("sha256", sha(f"{writer}/{n}"))])
        banks.update("shared", threshold=20 + writer)


def test_two_stores_on_one_database_writing_at_once_lose_nothing(
    db_url: str, keys: Keyring, tmp_path: Path
) -> None:
    root = tmp_path / "banks"
    stores = [TiplineStore(db_url, keys) for _ in range(WRITERS)]
    try:
        stores[0].banks.open(root, OPERATOR).create("shared", source="test")
        start = threading.Barrier(WRITERS)
        threads = [
            threading.Thread(target=_write, args=(s, root, w, start)) for w, s in enumerate(stores)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        view = stores[1].banks.open(root, OPERATOR)
        expected = {f"w{w}-b{n}" for w in range(WRITERS) for n in range(BANKS_EACH)}
        assert {b.name for b in view.banks()} == expected | {"shared"}
        assert set(view.entries("shared")["hash"].to_list()) == {
            sha(f"{w}/{n}") for w in range(WRITERS) for n in range(BANKS_EACH)
        }
        shared = view.get("shared")
        assert shared.count == WRITERS * BANKS_EACH
        assert shared.version == 1 + 2 * WRITERS * BANKS_EACH  # create + each add and update
        log = view.audit_log()
        assert len(log) == 1 + 3 * WRITERS * BANKS_EACH
        for w in range(WRITERS):
            mine = [r for r in log if r["actor"] == f"writer-{w}"]
            assert sorted(r["bank"] for r in mine if r["action"] == "create") == sorted(
                f"w{w}-b{n}" for n in range(BANKS_EACH)
            )
        assert stores[0].audit.verify().ok
    finally:
        for s in stores:
            s.close()


def _process_writer(data_dir: str, root: str, writer: int, start: Event) -> None:
    """One process (the server, or the CLI): its own store on the shared database."""
    with TiplineStore.open(Path(data_dir), dev=True) as store:
        banks = store.banks.open(Path(root), OPERATOR, audit_name=f"process-{writer}")
        start.wait()
        for n in range(BANKS_EACH):
            banks.create(f"p{writer}-b{n}")
            banks.add("shared", [BankEntry("sha256", sha(f"p{writer}/{n}"))])


def test_two_processes_on_one_database_file_lose_nothing(tmp_path: Path) -> None:
    data, root = tmp_path / "data", tmp_path / "banks"
    with TiplineStore.open(data, dev=True) as store:  # migrations and the dev keys first
        store.banks.open(root, OPERATOR).create("shared")
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [
        ctx.Process(target=_process_writer, args=(str(data), str(root), w, start))
        for w in range(WRITERS)
    ]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(900)  # each process imports Daybreak and opens the store: slow when loaded
        assert p.exitcode == 0
    with TiplineStore.open(data, dev=True) as store:
        banks = store.banks.open(root, OPERATOR)
        names = {f"p{w}-b{n}" for w in range(WRITERS) for n in range(BANKS_EACH)}
        assert {b.name for b in banks.banks()} == names | {"shared"}
        assert banks.get("shared").count == WRITERS * BANKS_EACH
        assert banks.entries("shared").height == WRITERS * BANKS_EACH
        assert len(banks.audit_log()) == 1 + 2 * WRITERS * BANKS_EACH
        assert store.audit.verify().ok


def test_a_change_from_a_stale_copy_keeps_what_the_other_store_wrote(
    db_url: str, keys: Keyring, tmp_path: Path
) -> None:
    """The reported loss: the server's banks, loaded before the CLI created a bank."""
    with TiplineStore(db_url, keys) as server_store, TiplineStore(db_url, keys) as cli_store:
        server = server_store.banks.open(tmp_path, OPERATOR, audit_name="server")
        server.create("partner-list")
        cli = cli_store.banks.open(tmp_path, OPERATOR, audit_name="cli")
        cli.create("from-cli", source="cli import")
        cli.add("from-cli", [BankEntry("md5", "d35c785545392755e7e4164457657269")])
        server.update("partner-list", enabled=False)
        assert server.reload_if_changed()  # the server's change absorbed the CLI's
        for view in (server, server_store.banks.open(tmp_path, OPERATOR)):
            assert {b.name for b in view.banks()} == {"partner-list", "from-cli"}
            assert view.get("from-cli").count == 1
            assert view.get("partner-list").enabled is False


def test_every_change_is_in_the_store_audit_chain(store: TiplineStore, tmp_path: Path) -> None:
    banks = store.banks.open(tmp_path, OPERATOR)
    listed = tmp_path / "list.csv"
    listed.write_text(f"hash,type\n{sha('a')},sha256\n{sha('b')},sha256\n")
    banks.import_file(listed, "known", source="partner")
    banks.update("known", enabled=False, actor="console:sam")
    assert banks.remove("known", [("sha256", sha("a"))]) == 1
    banks.quarantine("known", sha("b"), "too many matches")
    assert banks.release("known", sha("b"))
    trail = [
        (e.actor, e.action, e.object_id, e.detail.get("version"))
        for e in store.audit.trail(OPERATOR)
        if e.object_type == "media_bank"
    ]
    assert trail == [
        ("operator", "bank.create", "known", 1),
        ("operator", "bank.add", "known", 2),
        ("console:sam", "bank.update", "known", 3),
        ("operator", "bank.remove", "known", 4),
        ("operator", "bank.quarantine", "known", None),
        ("operator", "bank.release", "known", None),
    ]
    log = banks.audit_log("known")
    assert log[2]["action"] == "update enabled" and log[2]["enabled"] is False
    assert log[1]["hashes"] == [f"sha256:{sha('a')}", f"sha256:{sha('b')}"]
    assert store.audit.verify().ok


def test_an_old_banks_json_is_imported_once_and_kept(store: TiplineStore, tmp_path: Path) -> None:
    root = tmp_path / "banks"
    old = BankStore(root)  # a folder from before the store kept banks
    old.create("ncmec", source="NCMEC", threshold=25)
    old.add("ncmec", [BankEntry("sha256", sha("x")), BankEntry("md5", "0" * 32)])
    old.update("ncmec", enabled=False)
    old.quarantine("ncmec", sha("x"), "flood")
    before = (root / "banks.json").read_bytes()

    banks = store.banks.open(root, OPERATOR)
    bank = banks.get("ncmec")
    assert (bank.enabled, bank.threshold, bank.count, bank.source, bank.version) == (
        False, 25, 2, "NCMEC", 3,
    )  # fmt: skip
    assert banks.quarantined() == {("ncmec", sha("x"))}
    assert [h["action"] for h in banks.history("ncmec")] == ["create", "add", "update enabled"]
    assert set(banks.entries("ncmec")["hash"]) == {sha("x"), "0" * 32}  # entries stay put
    assert not (root / "banks.json").exists()
    (kept,) = root.glob("banks.json.imported-*")
    assert kept.read_bytes() == before  # never lost
    imports = [e for e in store.audit.trail(OPERATOR) if e.action == "bank.import"]
    assert [e.detail["banks"] for e in imports] == [["ncmec"]]

    banks.update("ncmec", enabled=True)
    again = store.banks.open(root, OPERATOR)  # nothing left to import
    assert again.get("ncmec").enabled is True and again.get("ncmec").version == 4
    assert len([e for e in store.audit.trail(OPERATOR) if e.action == "bank.import"]) == 1


def test_a_malformed_banks_json_names_the_file_and_imports_nothing(
    store: TiplineStore, tmp_path: Path
) -> None:
    (tmp_path / "banks.json").write_text('{"banks": {"ok": {"threshold": "high"}}}')
    with pytest.raises(BankError, match=r"banks\.json: bank ok: threshold 'high' outside"):
        store.banks.open(tmp_path, OPERATOR)
    (tmp_path / "banks.json").write_text("{not json")
    with pytest.raises(BankError, match=r"banks\.json: not valid JSON"):
        store.banks.open(tmp_path, OPERATOR)
    assert (tmp_path / "banks.json").exists()  # left for the operator to fix


def test_each_organisation_has_its_own_banks(store: TiplineStore, tmp_path: Path) -> None:
    a = store.banks.open(tmp_path, Actor("admin-a", Role.ADMIN, org_id="bank-a"))
    b = store.banks.open(tmp_path, Actor("admin-b", Role.ADMIN, org_id="bank-b"))
    a.create("partner", source="A's partner")
    a.add("partner", [BankEntry("sha256", sha("a-only"))])
    b.create("partner", source="B's partner")
    assert b.get("partner").source == "B's partner" and b.get("partner").count == 0
    assert b.entries("partner").height == 0
    assert a.entries("partner")["hash"].to_list() == [sha("a-only")]
    assert not b.reload_if_changed() or {x.name for x in b.banks()} == {"partner"}
    assert store.banks.open(tmp_path, OPERATOR).banks() == []  # the default organisation
    assert all(r["actor"] == "admin-a" for r in a.audit_log())


def test_only_managers_change_banks_and_anyone_may_match(
    store: TiplineStore, tmp_path: Path
) -> None:
    store.banks.open(tmp_path, OPERATOR).create("known")
    analyst = store.banks.open(tmp_path, Actor("ana", Role.ANALYST))
    with pytest.raises(PermissionDenied, match="may not change hash banks"):
        analyst.add("known", [BankEntry("sha256", sha("z"))])
    assert analyst.entries("known").height == 0  # refused before the file was written
    with pytest.raises(PermissionDenied):
        analyst.update("known", enabled=False)
    platform = store.banks.open(tmp_path, Actor("key:p1", Role.PLATFORM))
    assert MediaMatcher.build(platform).match([("sha256", sha("z"))]) == []
    platform.quarantine("known", sha("z"), "flood control")  # automatic, any caller
    with pytest.raises(PermissionDenied, match="may not release"):
        platform.release("known", sha("z"))


def test_over_long_or_mistyped_settings_are_refused_clearly(
    store: TiplineStore, tmp_path: Path
) -> None:
    banks = store.banks.open(tmp_path, OPERATOR)
    with pytest.raises(BankError, match=r"bank name 'bbbb.*\(5000 characters\)"):
        banks.create("b" * 5000)
    with pytest.raises(BankError, match="source must be text of at most 200"):
        banks.create("ok", source="s" * 201)
    banks.create("ok")
    with pytest.raises(BankError, match="enabled must be true or false"):
        banks.update("ok", enabled="yes")
    with pytest.raises(BankError, match="description must be text of at most 1000"):
        banks.update("ok", description="d" * 1001)
    assert banks.get("ok").version == 1
