"""`daybreak media hash|match|bank|index|watch` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from daybreak.cli.media import app

from .gen import encode, shapes

runner = CliRunner()


def store_opts(tmp_path: Path) -> list[str]:
    """The case store the bank metadata lives in (a dev key generated in the folder)."""
    return ["--data-dir", str(tmp_path / "data"), "--dev"]


def test_hash_json_lines(tmp_path: Path, scene_video: bytes) -> None:
    img = tmp_path / "a.png"
    img.write_bytes(encode(shapes(seed=31)))
    vid = tmp_path / "v.mp4"
    vid.write_bytes(scene_video)
    r = runner.invoke(app, ["hash", "--json", str(img), str(vid)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["path"] for row in rows] == [str(img), str(vid)]
    for row in rows:
        assert len(row["pdq"]) == 64 and len(row["md5"]) == 32 and len(row["sha256"]) == 64
        assert isinstance(row["quality"], int)
    assert "frames" not in rows[0] and len(rows[1]["frames"]) == 4


def test_hash_reports_bad_files_and_exits_non_zero(tmp_path: Path) -> None:
    good = tmp_path / "g.png"
    good.write_bytes(encode(shapes(seed=32)))
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.txt"
    text.write_text("hello " * 50)
    r = runner.invoke(
        app, ["hash", "--json", str(good), str(empty), str(text), str(tmp_path / "missing.png")]
    )
    assert r.exit_code == 2
    assert len(r.stdout.splitlines()) == 1  # the good file still printed
    assert "empty.jpg: empty file" in r.stderr and "notes.txt" in r.stderr
    assert "missing.png" in r.stderr and "Traceback" not in r.output


def test_bank_import_index_build_and_match(tmp_path: Path) -> None:
    home = tmp_path / "media"
    img = tmp_path / "a.png"
    img.write_bytes(encode(shapes(seed=33)))
    row = json.loads(runner.invoke(app, ["hash", "--json", str(img)]).stdout)
    lst = tmp_path / "list.csv"
    lst.write_text(f"hash,type,labels\n{row['pdq']},pdq,test-label\n{row['md5']},md5,\n")
    r = runner.invoke(
        app,
        [
            "bank",
            "import",
            str(lst),
            "--bank",
            "known",
            "--source",
            "unit",
            "--home",
            str(home),
            *store_opts(tmp_path),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "known: 2 added" in r.stdout
    r = runner.invoke(app, ["index", "build", "--home", str(home), *store_opts(tmp_path)])
    assert r.exit_code == 0 and "indexed 1 PDQ hashes" in r.stdout
    r = runner.invoke(
        app, ["match", "--json", "--home", str(home), *store_opts(tmp_path), row["pdq"], row["md5"]]
    )
    assert r.exit_code == 0, r.output
    got = [json.loads(x) for x in r.stdout.splitlines()]
    assert [(g["hash_type"], g["bank"], g["distance"]) for g in got] == [
        ("pdq", "known", 0),
        ("md5", "known", 0),
    ]
    r = runner.invoke(
        app, ["match", "--json", "--home", str(home), *store_opts(tmp_path), "--file", str(img)]
    )
    assert {json.loads(x)["hash_type"] for x in r.stdout.splitlines()} == {"pdq", "md5"}
    runner.invoke(app, ["bank", "disable", "known", "--home", str(home), *store_opts(tmp_path)])
    r = runner.invoke(app, ["match", "--home", str(home), *store_opts(tmp_path), row["pdq"]])
    assert "no match" in r.stdout
    r = runner.invoke(app, ["bank", "list", "--home", str(home), *store_opts(tmp_path)])
    assert "known" in r.stdout and "False" in r.stdout
    r = runner.invoke(app, ["match", "--home", str(home), *store_opts(tmp_path), "xyz"])
    assert r.exit_code == 2 and "hexadecimal" in r.stderr


def test_bad_list_imports_nothing(tmp_path: Path) -> None:
    lst = tmp_path / "bad.csv"
    lst.write_text("hash,type\nnothex,pdq\n")
    r = runner.invoke(
        app,
        [
            "bank",
            "import",
            str(lst),
            "--bank",
            "b",
            "--home",
            str(tmp_path / "m"),
            *store_opts(tmp_path),
        ],
    )
    assert r.exit_code == 2 and "bad.csv:2" in r.stderr
    assert not (tmp_path / "m" / "banks" / "entries").exists()


def test_watch_a_listed_video(tmp_path: Path, scene_video: bytes) -> None:
    home = tmp_path / "media"
    vid = tmp_path / "v.mp4"
    vid.write_bytes(scene_video)
    r = runner.invoke(
        app, ["bank", "add-media", "known", str(vid), "--home", str(home), *store_opts(tmp_path)]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, ["watch", "--json", "--home", str(home), *store_opts(tmp_path), str(vid)]
    )
    assert r.exit_code == 0, r.output
    events = [json.loads(x) for x in r.stdout.splitlines()]
    assert sum(e["event"] == "match" for e in events) == 4 and events[-1]["event"] == "end"
    r = runner.invoke(
        app, ["match", "--json", "--home", str(home), *store_opts(tmp_path), "--file", str(vid)]
    )
    video_rows = [json.loads(x) for x in r.stdout.splitlines() if '"vpdq"' in x]
    assert video_rows and video_rows[0]["matched"] and video_rows[0]["video"] == "v"
    r = runner.invoke(
        app, ["watch", "--home", str(home), *store_opts(tmp_path), str(tmp_path / "none.mp4")]
    )
    assert r.exit_code == 2 and "no such file" in r.stdout


def test_watch_reads_a_pipe(tmp_path: Path) -> None:
    from .gen import make_video, scene

    home = tmp_path / "media"
    vid = tmp_path / "v.mp4"
    vid.write_bytes(make_video(scene))
    assert (
        runner.invoke(
            app,
            ["bank", "add-media", "known", str(vid), "--home", str(home), *store_opts(tmp_path)],
        ).exit_code
        == 0
    )
    ts = make_video(scene, fmt="mpegts", codec="mpeg2video")
    r = runner.invoke(
        app, ["watch", "--json", "--home", str(home), *store_opts(tmp_path), "-"], input=ts
    )
    assert r.exit_code == 0, r.output
    events = [json.loads(x) for x in r.stdout.splitlines()]
    assert any(e["event"] == "match" for e in events) and events[-1]["event"] == "end"


def test_a_bank_imported_by_the_cli_while_the_server_runs_is_kept(tmp_path: Path) -> None:
    """The reported loss: the server's banks were loaded before the CLI imported a
    list, and its next change wrote its old copy back."""
    from daybreak.media.banks import BankEntry
    from daybreak.store import TiplineStore
    from daybreak.store.auth import Actor, Role

    home = tmp_path / "media"
    with TiplineStore.open(tmp_path / "data", dev=True) as server_store:
        server = server_store.banks.open(home / "banks", Actor("sam", Role.SUPERVISOR))
        server.create("partner-list")
        lst = tmp_path / "list.csv"
        lst.write_text("hash,type\n" + "ab" * 16 + ",md5\n")
        r = runner.invoke(
            app,
            ["bank", "import", str(lst), "--bank", "from-cli", "--home", str(home),
             *store_opts(tmp_path)],
        )  # fmt: skip
        assert r.exit_code == 0, r.output
        server.add("partner-list", [BankEntry("md5", "cd" * 16)])
        assert {b.name for b in server.banks()} == {"partner-list", "from-cli"}
        trail = [(e.action, e.object_id) for e in server_store.audit.trail(Actor("a", Role.ADMIN))]
    assert [t for t in trail if t[0].startswith("bank.")] == [
        ("bank.create", "partner-list"),
        ("bank.create", "from-cli"),
        ("bank.add", "from-cli"),
        ("bank.add", "partner-list"),
    ]
    r = runner.invoke(app, ["bank", "list", "--home", str(home), *store_opts(tmp_path)])
    assert "from-cli" in r.stdout and "partner-list" in r.stdout
