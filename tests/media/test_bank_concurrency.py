"""Bank lists of a folder without a case store (``FileBankMeta``: banks.json) written by
several processes at once: no change is lost, and every change lands in the append-only
audit log. With a store, tests/store/test_media_banks.py (issue #18 item 7)."""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import time
from multiprocessing.synchronize import Event
from pathlib import Path

from daybreak.media.banks import AUDIT_FILE, BankEntry, BankStore
from daybreak.media.matcher import MediaMatcher

WRITERS = 4
BANKS_EACH = 8


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _write_banks(root: str, writer: int, start: Event) -> None:
    """One process: create its own banks and add one hash per bank to a shared bank."""
    start.wait()  # all writers start together
    store = BankStore(root, actor=f"writer-{writer}")
    for n in range(BANKS_EACH):
        store.create(f"w{writer}-b{n}", source=f"writer {writer}")
        store.add("shared", [BankEntry("sha256", sha(f"{writer}/{n}"))])


def test_banks_created_by_concurrent_processes_are_all_kept(tmp_path: Path) -> None:
    root = tmp_path / "banks"
    BankStore(root).create("shared", source="test")
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    workers = [ctx.Process(target=_write_banks, args=(str(root), w, start)) for w in range(WRITERS)]
    for p in workers:
        p.start()
    start.set()
    for p in workers:
        p.join(120)
        assert p.exitcode == 0
    store = BankStore(root)
    expected = {f"w{w}-b{n}" for w in range(WRITERS) for n in range(BANKS_EACH)}
    assert {b.name for b in store.banks()} == expected | {"shared"}
    hashes = set(store.entries("shared")["hash"].to_list())
    assert hashes == {sha(f"{w}/{n}") for w in range(WRITERS) for n in range(BANKS_EACH)}
    assert store.get("shared").count == WRITERS * BANKS_EACH
    assert store.get("shared").version == 1 + WRITERS * BANKS_EACH  # create + each add
    log = store.audit_log()
    assert len(log) == 1 + 2 * WRITERS * BANKS_EACH
    for w in range(WRITERS):
        mine = [r for r in log if r["actor"] == f"writer-{w}"]
        assert sorted(r["bank"] for r in mine if r["action"] == "create") == sorted(
            f"w{w}-b{n}" for n in range(BANKS_EACH)
        )
        assert sorted(r["hashes"][0] for r in mine if r["action"] == "add") == sorted(
            f"sha256:{sha(f'{w}/{n}')}" for n in range(BANKS_EACH)
        )


def test_a_change_from_a_stale_copy_keeps_what_another_process_wrote(tmp_path: Path) -> None:
    """The reported loss: the server's store, loaded before the CLI created a bank,
    rewrote banks.json from its old copy on its next change."""
    server = BankStore(tmp_path, actor="server")
    server.create("partner-list")
    cli = BankStore(tmp_path, actor="cli")
    cli.create("from-cli", source="cli import")
    cli.add("from-cli", [BankEntry("md5", "d35c785545392755e7e4164457657269")])
    server.update("partner-list", enabled=False)
    server.add("partner-list", [BankEntry("sha256", sha("x"))])
    for view in (server, BankStore(tmp_path)):
        assert {b.name for b in view.banks()} == {"partner-list", "from-cli"}
        assert view.get("from-cli").count == 1 and view.get("from-cli").source == "cli import"
        assert view.get("partner-list").enabled is False


def test_the_audit_log_says_who_did_what_and_when_and_is_only_appended_to(
    tmp_path: Path,
) -> None:
    store = BankStore(tmp_path, actor="cli-user")
    store.create("known", threshold=20)
    store.add("known", [BankEntry("sha256", sha("a")), BankEntry("sha256", sha("b"))])
    before = (tmp_path / AUDIT_FILE).read_bytes()
    store.update("known", enabled=False, actor="console:sam")
    assert store.remove("known", [("sha256", sha("a")), ("sha256", sha("zz"))]) == 1
    store.quarantine("known", sha("b"), "too many matches")
    assert store.release("known", sha("b"))
    assert not store.release("known", sha("b"))  # nothing to release: nothing recorded
    assert (tmp_path / AUDIT_FILE).read_bytes().startswith(before)
    log = store.audit_log("known")
    assert [(r["actor"], r["action"]) for r in log] == [
        ("cli-user", "create"),
        ("cli-user", "add"),
        ("console:sam", "update enabled"),
        ("cli-user", "remove"),
        ("cli-user", "quarantine"),
        ("cli-user", "release"),
    ]
    assert log[0]["threshold"] == 20 and log[2]["enabled"] is False
    assert log[1]["hashes"] == [f"sha256:{sha('a')}", f"sha256:{sha('b')}"]
    assert log[3]["hashes"] == [f"sha256:{sha('a')}"] and log[3]["changed"] == 1
    assert [r["version"] for r in log[:4]] == [1, 2, 3, 4]
    assert all(r["at"] <= s["at"] for r, s in itertools.pairwise(log))


def test_a_change_another_process_made_still_reaches_the_live_index(tmp_path: Path) -> None:
    """A change of the server's own re-reads banks.json under the lock; the matcher must
    still learn that the CLI changed the banks meanwhile."""
    store = BankStore(tmp_path)
    store.create("known")
    store.create("other")
    store.add("known", [BankEntry("sha256", sha("old"))])
    server = MediaMatcher.build(store)
    BankStore(tmp_path).add("known", [BankEntry("sha256", sha("from-cli"))])
    time.sleep(0.01)
    store.add("other", [BankEntry("sha256", sha("server"))])  # absorbs the CLI's change
    got = server.match([("sha256", sha("from-cli")), ("sha256", sha("old"))])
    assert [(m.query, m.bank) for m in got] == [(0, "known"), (1, "known")]
