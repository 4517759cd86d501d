"""scripts/get-data.sh: the layout and checksum logic, on local file trees (CI has no network)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "get-data.sh"
DATA = ROOT.parent / "shared" / "data"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, check=False)


def _tree(tmp: Path) -> tuple[Path, Path]:
    """An upstream (file:// URLs), a mirror directory, and a manifest naming files from both."""
    upstream, mirror = tmp / "upstream", tmp / "mirror"
    files = {"media-test-vectors/pdq/a.jpg": (upstream, b"benign image bytes"),
             "eval/small-dev.jsonl": (mirror, b'{"id": "1", "class": "ordinary", "text": "hello"}\n')}
    lines = ["# path\tsha256\tbytes\tsource"]
    for path, (base, body) in files.items():
        where = base / path
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_bytes(body)
        source = where.as_uri() if base is upstream else "mirror"
        lines.append(f"{path}\t{hashlib.sha256(body).hexdigest()}\t{len(body)}\t{source}")
    manifest = tmp / "manifest.tsv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest, mirror


def test_fetches_into_the_layout_and_checks_every_file(tmp_path: Path) -> None:
    manifest, mirror = _tree(tmp_path)
    dest = tmp_path / "data"
    res = _run("--manifest", str(manifest), "--dest", str(dest), "--mirror", str(mirror))
    assert res.returncode == 0, res.stderr
    assert (dest / "media-test-vectors/pdq/a.jpg").read_bytes() == b"benign image bytes"
    assert (dest / "eval/small-dev.jsonl").exists()
    again = _run("--manifest", str(manifest), "--dest", str(dest), "--check")
    assert again.returncode == 0 and "2 present" in again.stdout


def test_a_wrong_or_missing_file_is_named_and_fails(tmp_path: Path) -> None:
    manifest, mirror = _tree(tmp_path)
    (mirror / "eval/small-dev.jsonl").write_bytes(b"tampered\n")
    dest = tmp_path / "data"
    res = _run("--manifest", str(manifest), "--dest", str(dest), "--mirror", str(mirror))
    assert res.returncode == 1
    assert "eval/small-dev.jsonl: fetched file has checksum" in res.stderr
    assert not (dest / "eval/small-dev.jsonl").exists()  # a bad download is not kept
    res = _run("--manifest", str(manifest), "--dest", str(dest))  # no mirror configured
    assert res.returncode == 1 and "BASTION_DATA_MIRROR" in res.stderr
    res = _run("--manifest", str(manifest), "--dest", str(tmp_path / "empty"), "--check")
    assert res.returncode == 1 and "missing" in res.stderr


@pytest.mark.skipif(not DATA.exists(), reason="../shared/data is not on this machine")
def test_the_shared_data_matches_the_manifest() -> None:
    res = _run("--check", "--dest", str(DATA))
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("args", [
    ["eval", "text", "--data", "{d}/tvec-dev.jsonl", "--json", "{d}/r.json"],
    ["eval", "threat", "--data", "{d}/threat-dev.jsonl"],
    ["eval", "accounts", "--data", "{d}/tvec-dev.jsonl", "--families", "{d}/families.json"],
    ["eval", "campaigns", "--data", "{d}/tvec-dev.jsonl", "--json", "{d}/r.json"],
    ["train", "text", "--data", "{d}/tvec-dev.jsonl", "--out", "{d}/m.npz"],
])
def test_a_command_whose_data_is_missing_names_it_and_points_to_the_data_page(args: list[str],
                                                                             tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bastion.cli.main import app

    res = CliRunner().invoke(app, [a.format(d=tmp_path) for a in args])
    text = " ".join(res.output.split())
    assert res.exit_code == 2, res.output
    assert str(tmp_path) in text and "docs/data.md" in text and "Traceback" not in text
