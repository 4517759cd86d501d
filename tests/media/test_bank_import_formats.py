"""Every bank-import format the hash-sharing world uses (issue #17): bare hash lists, pytx CSV and signals-only
output, vPDQ hash files, ThreatExchange objects with reactions and Graph-API tags, and the exact-match
signal types (``url``, ``url_md5``, ``raw_text``). A non-empty file that imports nothing exits non-zero and
creates no bank. Fixtures are schematic (random hashes, example.org URLs)."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.media.banks.bankset import BankSet, Query
from bastion.media.banks.model import BankConfig, BankEntry, Opinion
from bastion.media.formats import read_bank, write_bank
from bastion.media.formats.base import entry

runner = CliRunner()
VECTORS = Path(__file__).resolve().parents[2].parent / "shared/data/media-test-vectors"


def pdqs(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.getrandbits(256):064x}" for _ in range(n)]


def cli(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.output


def bank_counts(db: str) -> dict[str, dict[str, int]]:
    code, out = cli("bank", "list", "--json", "--db", db)
    assert code == 0, out
    return {b["name"]: b["counts"] for b in json.loads(out)}


def test_a_bare_list_of_1350_pdq_hashes_imports_1350(tmp_path: Path) -> None:
    f = tmp_path / "hashes.txt"
    f.write_text("\n".join(pdqs(1350)) + "\n")
    db = str(tmp_path / "b.db")
    code, out = cli("bank", "import", str(f), "--format", "list", "--type", "pdq", "--bank", "COLLAB",
                    "--create", "--db", db)
    assert code == 0, out
    assert "added 1350" in out and bank_counts(db) == {"COLLAB": {"pdq": 1350}}


def test_a_bare_list_keeps_the_first_field_and_skips_a_header(tmp_path: Path) -> None:
    hashes = pdqs(3)
    f = tmp_path / "with-quality.csv"
    f.write_text("pdq_hash,quality,path\n" + "".join(f"{h},100,img{i}.jpg\n" for i, h in enumerate(hashes)))
    imported = read_bank(f, "list", "B", "pdq")
    assert [e.signal for e in imported.entries] == hashes and imported.skipped == []


def test_a_list_without_a_type_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "h.txt"
    f.write_text(pdqs(1)[0] + "\n")
    code, out = cli("bank", "import", str(f), "--format", "list", "--bank", "B", "--create",
                    "--db", str(tmp_path / "b.db"))
    assert code != 0 and "--type" in out


def test_a_non_empty_file_that_imports_nothing_fails_and_creates_no_bank(tmp_path: Path) -> None:
    """Before: 0 of 1,350 imported with exit code 0 and an empty bank created (bare hashes read as HMA lines)."""
    f = tmp_path / "hashes.txt"
    f.write_text("\n".join(pdqs(20)) + "\n")
    db = str(tmp_path / "b.db")
    code, out = cli("bank", "import", str(f), "--format", "hma", "--bank", "COLLAB", "--create", "--db", db)
    assert code != 0 and "nothing imported" in out
    assert "COLLAB" not in bank_counts(db)


def test_hma_signals_only_output_with_a_default_type(tmp_path: Path) -> None:
    """``threatexchange dataset -S`` prints ``<type> <signal>`` with several types, the bare signal with one."""
    h = pdqs(2)
    f = tmp_path / "signals.txt"
    f.write_text(f"pdq {h[0]}\n{h[1]}\nurl https://Example.ORG/a path?q=1\nraw_text Join  US now\n")
    imported = read_bank(f, "hma", "B", "pdq")
    got = [(e.signal_type, e.signal) for e in imported.entries]
    assert got[:2] == [("pdq", h[0]), ("pdq", h[1])]
    assert imported.skipped[0][0].endswith(":3")  # a url with a space is not a url
    assert got[2] == ("raw_text", "join us now")


def test_pytx_csv_reads_every_signal_type_and_category(tmp_path: Path) -> None:
    h = pdqs(1)[0]
    md5 = "0" * 31 + "1"
    sha = "ab" * 32
    url = "https://example.org/banked/page"
    f = tmp_path / "collab.csv"
    f.write_text("signal_type,signal_str,collab,category,tags\n"
                 f"pdq,{h},Sample Data,POSITIVE_CLASS,entity:orga glorification\n"
                 f"video_md5,{md5},Sample Data,NEGATIVE_CLASS,\n"
                 f"video_sha256,{sha},Sample Data,DISPUTED,\n"
                 f"url,{url},Sample Data,INVESTIGATION_SEED,\n"
                 f"url_md5,{hashlib.md5(url.encode()).hexdigest()},Sample Data,POSITIVE_CLASS,\n"
                 "raw_text,some banked text,Sample Data,POSITIVE_CLASS,\n"
                 f"pdq,{h},Other,NO_SUCH_CATEGORY,\n")
    imported = read_bank(f, "csv", "B")
    by_type = {e.signal_type: e for e in imported.entries}
    assert set(by_type) == {"pdq", "md5", "sha256", "url", "url_md5", "raw_text"}
    assert by_type["pdq"].labels.entity == "orga" and "glorification" in by_type["pdq"].labels.tags
    assert by_type["pdq"].labels.source == "Sample Data"
    assert by_type["md5"].labels.opinion is Opinion.NEGATIVE
    assert by_type["sha256"].labels.opinion is Opinion.DISPUTED
    assert by_type["url"].labels.confidence == 0.5
    assert len(imported.skipped) == 1 and "NO_SUCH_CATEGORY" in imported.skipped[0][1]
    out = tmp_path / "back.csv"
    write_bank(out, "csv", BankConfig("B"), imported.entries)
    again = read_bank(out, "csv", "B")
    assert sorted((e.signal_type, e.signal, e.labels.opinion) for e in again.entries) == \
        sorted((e.signal_type, e.signal, e.labels.opinion) for e in imported.entries)


def test_exact_signals_match_after_normalisation() -> None:
    url = "https://example.org/banked/page"
    bs = BankSet([BankConfig("B")])
    bs.add_entries(read_bank_entries({"url": "HTTPS://EXAMPLE.org/banked/page",
                                      "raw_text": "Some   Banked TEXT",
                                      "url_md5": hashlib.md5(b"https://example.org/other").hexdigest()}))
    assert {m.signal_type for m in bs.lookup(Query(url=url))} == {"url"}
    assert {m.signal_type for m in bs.lookup(Query(url="https://example.org/other/"[:-1]))} == {"url_md5"}
    assert {m.signal_type for m in bs.lookup(Query(text="some banked text"))} == {"raw_text"}
    assert bs.lookup(Query(url="https://example.org/Banked/page")) == []  # paths are case-sensitive
    assert bs.lookup(Query(url="not a url")) == []


def read_bank_entries(signals: dict[str, str]) -> list[BankEntry]:
    return [entry("B", st, s) for st, s in signals.items()]


def test_threatexchange_reactions_and_graph_api_tags(tmp_path: Path) -> None:
    """pytx's reading: ``tags: {"data": [{"text": ...}]}`` are tag names (not a tag named ``data``), and a
    ``DISAGREE_WITH_TAGS`` reaction (``[{"key", "value": owner ids}]``) makes the opinion disputed."""
    h = pdqs(2)
    records = [
        {"id": "1", "indicator": h[0], "type": "HASH_PDQ", "last_updated": 1700000000, "should_delete": False,
         "descriptors": {"data": [{"id": "11", "owner": {"id": "5"}, "status": "MALICIOUS",
                                   "added_on": "2024-01-01T00:00:00+0000",
                                   "tags": {"data": [{"id": "t1", "text": "violent_extremism"}]},
                                   "reactions": [{"key": "DISAGREE_WITH_TAGS", "value": "6,7"}]}]}},
        {"id": "2", "indicator": h[1], "type": "HASH_PDQ", "last_updated": 1700000000, "should_delete": False,
         "descriptors": {"data": [{"id": "12", "owner": {"id": "5"}, "status": "MALICIOUS",
                                   "tags": ["violent_extremism"],
                                   "reactions": [{"key": "HELPFUL", "value": "6"}]}]}},
        {"id": "3", "indicator": "https://example.org/x", "type": "URI", "last_updated": 1700000000,
         "should_delete": False, "descriptors": {"data": [{"id": "13", "status": "MALICIOUS", "tags": []}]}},
        {"id": "4", "indicator": "banked words", "type": "TEXT_STRING", "last_updated": 1700000000,
         "should_delete": False, "descriptors": {"data": [{"id": "14", "status": "MALICIOUS"}]}},
        {"id": "5", "indicator": "ab" * 32, "type": "HASH_VIDEO_SHA256", "last_updated": 1700000000,
         "should_delete": False, "descriptors": {"data": [{"id": "15", "status": "MALICIOUS"}]}},
    ]
    f = tmp_path / "te.json"
    f.write_text(json.dumps({"data": records}))
    imported = read_bank(f, "te", "B")
    assert imported.skipped == []
    first, second, url, text, sha = imported.entries
    assert first.labels.tags == ("violent_extremism",) and first.labels.opinion is Opinion.DISPUTED
    assert second.labels.tags == ("violent_extremism",) and second.labels.opinion is Opinion.POSITIVE
    assert (url.signal_type, url.signal) == ("url", "https://example.org/x")
    assert (text.signal_type, text.signal) == ("raw_text", "banked words")
    assert sha.signal_type == "sha256"


def test_a_vpdq_hash_file_is_one_video(tmp_path: Path) -> None:
    h = pdqs(3)
    f = tmp_path / "clip.txt"
    f.write_text("".join(f"{i},{100 - i},{x},{i / 10:.3f}\n" for i, x in enumerate(h)) + "bad,line\n")
    imported = read_bank(f, "vpdq", "B")
    assert len(imported.entries) == 1 and imported.entries[0].external_id == "clip"
    frames = json.loads(imported.entries[0].signal)
    assert frames == [f"{x},{100 - i},{i / 10:.3f}" for i, x in enumerate(h)]
    assert len(imported.skipped) == 1
    bs = BankSet([BankConfig("B")])
    bs.add_entries(imported.entries)
    from bastion.media.hashers.vpdq import parse_vpdq

    assert bs.lookup(Query(vpdq=parse_vpdq(imported.entries[0].signal)))


@pytest.mark.skipif(not (VECTORS / "vpdq/sample-hashes").is_dir(), reason="needs ../shared/data media vectors")
def test_metas_vpdq_sample_hashes_import_one_entry_per_file(tmp_path: Path) -> None:
    d = VECTORS / "vpdq/sample-hashes"
    files = sorted(d.glob("*.txt"))
    imported = read_bank(d, "vpdq", "B")
    assert len(imported.entries) == len(files) and not imported.skipped
    db = str(tmp_path / "b.db")
    code, out = cli("bank", "import", str(d), "--format", "vpdq", "--bank", "VIDEOS", "--create", "--db", db)
    assert code == 0, out
    assert bank_counts(db)["VIDEOS"] == {"vpdq": len(files)}
