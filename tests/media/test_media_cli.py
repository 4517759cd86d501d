"""``bastion hash`` and ``bastion bank ...`` as the acceptance checks call them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bastion.cli.main import app

from .conftest import benign_array, encode
from .test_media_decode import small_video

runner = CliRunner()


def test_hash_prints_one_json_object_per_file(tmp_path: Path) -> None:
    img = tmp_path / "a.jpg"
    img.write_bytes(encode(benign_array(1)))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    video = tmp_path / "v.mp4"
    video.write_bytes(small_video(frames=25))  # 10 fps
    res = runner.invoke(app, ["hash", str(img), str(bad), str(video), "--every", "1"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert [x["path"] for x in lines] == [str(img), str(bad), str(video)]
    a, b, v = lines
    assert a["kind"] == "image" and len(a["pdq"]) == 64 and 0 <= a["quality"] <= 100
    assert len(a["md5"]) == 32 and len(a["sha256"]) == 64
    assert set(b) == {"path", "error"}
    assert v["kind"] == "video" and len(v["md5"]) == 32 and len(v["sha256"]) == 64
    assert [set(f) for f in v["vpdq"]] == [{"frame", "pdq", "quality", "ts"}] * len(v["vpdq"])
    assert [f["frame"] for f in v["vpdq"]] == [0, 10, 20]


def test_hash_fails_only_when_every_file_failed(tmp_path: Path) -> None:
    res = runner.invoke(app, ["hash", str(tmp_path / "nope.jpg"), str(tmp_path / "nope2.png")])
    assert res.exit_code != 0
    assert all("error" in json.loads(x) for x in res.stdout.splitlines())


def test_bank_commands(tmp_path: Path) -> None:
    db = str(tmp_path / "b.db")
    img = tmp_path / "stand-in.jpg"
    img.write_bytes(encode(benign_array(3)))

    def ok(*args: str) -> str:
        r = runner.invoke(app, [*args, "--db", db])
        assert r.exit_code == 0, r.output
        return r.output

    ok("bank", "create", "demo", "--threshold", "25")
    ok("bank", "add", "demo", str(img), "--entity", "OrgA", "--behaviour", "glorification_of_acts")
    ok("bank", "add", "demo", "0" * 32, "--type", "md5", "--opinion", "disputed")
    listed = json.loads(ok("bank", "list", "--json"))
    assert listed[0]["name"] == "demo" and listed[0]["pdq_threshold"] == 25
    assert listed[0]["counts"] == {"pdq": 1, "md5": 2}
    for fmt in ("bastion", "te"):  # every format's round trip: test_media_formats.py
        out = tmp_path / f"demo.{fmt}"
        ok("bank", "export", "demo", "--format", fmt, "--out", str(out))
        ok("bank", "import", str(out), "--format", fmt, "--bank", f"copy_{fmt}", "--create")
    ok("bank", "disable", "demo", "1", "--reason", "false positive")
    ok("bank", "disable", "copy_te")
    listed = {b["name"]: b for b in json.loads(ok("bank", "list", "--json"))}
    assert listed["copy_bastion"]["counts"] == {"pdq": 1, "md5": 2}
    assert listed["copy_bastion"]["pdq_threshold"] == 25
    assert listed["copy_te"]["counts"] == {"pdq": 1, "md5": 2} and listed["copy_te"]["enabled_ratio"] == 0.0
    assert listed["demo"]["counts"]["disabled"] == 1
    ok("bank", "enable", "demo", "1")
    r = runner.invoke(app, ["bank", "add", "nope", "0" * 32, "--type", "md5", "--db", db])
    assert r.exit_code != 0
    r = runner.invoke(app, ["bank", "add", "demo", "xyz", "--type", "md5", "--db", db])
    assert r.exit_code != 0
