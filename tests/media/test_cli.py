"""`daybreak media hash|match|bank|index|watch` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from daybreak.cli.media import app

from .gen import encode, shapes

runner = CliRunner()


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
        ["bank", "import", str(lst), "--bank", "known", "--source", "unit", "--home", str(home)],
    )
    assert r.exit_code == 0, r.output
    assert "known: 2 added" in r.stdout
    r = runner.invoke(app, ["index", "build", "--home", str(home)])
    assert r.exit_code == 0 and "indexed 1 PDQ hashes" in r.stdout
    r = runner.invoke(app, ["match", "--json", "--home", str(home), row["pdq"], row["md5"]])
    assert r.exit_code == 0, r.output
    got = [json.loads(x) for x in r.stdout.splitlines()]
    assert [(g["hash_type"], g["bank"], g["distance"]) for g in got] == [
        ("pdq", "known", 0),
        ("md5", "known", 0),
    ]
    r = runner.invoke(app, ["match", "--json", "--home", str(home), "--file", str(img)])
    assert {json.loads(x)["hash_type"] for x in r.stdout.splitlines()} == {"pdq", "md5"}
    runner.invoke(app, ["bank", "disable", "known", "--home", str(home)])
    r = runner.invoke(app, ["match", "--home", str(home), row["pdq"]])
    assert "no match" in r.stdout
    r = runner.invoke(app, ["bank", "list", "--home", str(home)])
    assert "known" in r.stdout and "False" in r.stdout
    r = runner.invoke(app, ["match", "--home", str(home), "xyz"])
    assert r.exit_code == 2 and "hexadecimal" in r.stderr


def test_bad_list_imports_nothing(tmp_path: Path) -> None:
    lst = tmp_path / "bad.csv"
    lst.write_text("hash,type\nnothex,pdq\n")
    r = runner.invoke(
        app, ["bank", "import", str(lst), "--bank", "b", "--home", str(tmp_path / "m")]
    )
    assert r.exit_code == 2 and "bad.csv:2" in r.stderr
    assert not (tmp_path / "m" / "banks" / "entries").exists()


def test_watch_a_listed_video(tmp_path: Path, scene_video: bytes) -> None:
    home = tmp_path / "media"
    vid = tmp_path / "v.mp4"
    vid.write_bytes(scene_video)
    r = runner.invoke(app, ["bank", "add-media", "known", str(vid), "--home", str(home)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["watch", "--json", "--home", str(home), str(vid)])
    assert r.exit_code == 0, r.output
    events = [json.loads(x) for x in r.stdout.splitlines()]
    assert sum(e["event"] == "match" for e in events) == 4 and events[-1]["event"] == "end"
    r = runner.invoke(app, ["match", "--json", "--home", str(home), "--file", str(vid)])
    video_rows = [json.loads(x) for x in r.stdout.splitlines() if '"vpdq"' in x]
    assert video_rows and video_rows[0]["matched"] and video_rows[0]["video"] == "v"
    r = runner.invoke(app, ["watch", "--home", str(home), str(tmp_path / "none.mp4")])
    assert r.exit_code == 2 and "no such file" in r.stdout


def test_watch_reads_a_pipe(tmp_path: Path) -> None:
    from .gen import make_video, scene

    home = tmp_path / "media"
    vid = tmp_path / "v.mp4"
    vid.write_bytes(make_video(scene))
    assert (
        runner.invoke(app, ["bank", "add-media", "known", str(vid), "--home", str(home)]).exit_code
        == 0
    )
    ts = make_video(scene, fmt="mpegts", codec="mpeg2video")
    r = runner.invoke(app, ["watch", "--json", "--home", str(home), "-"], input=ts)
    assert r.exit_code == 0, r.output
    events = [json.loads(x) for x in r.stdout.splitlines()]
    assert any(e["event"] == "match" for e in events) and events[-1]["event"] == "end"
