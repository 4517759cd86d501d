"""Look-ups identical to python-threatexchange's ``PDQIndex`` (issue #17 target): on ThreatExchange's own PDQ
test hashes (three references: C++/WASM, pure-Python README and unit-test constants, plus their bit-flipped
neighbours), a bank of those hashes answers every query with exactly the entries pytx's index finds at its
threshold (31), at the same distances."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from bastion.media.banks.bankset import BankSet, Query
from bastion.media.banks.model import BankConfig, BankEntry

pytest.importorskip("threatexchange")
PDQ_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "media-test-vectors" / "pdq"


def te_hashes() -> list[str]:
    files = {"wasm/test/TestData/PDQMD5TestData.csv": "Hash", "python_reference_hashes_from_README.csv": "pdq_hash",
             "python_pdq_test_expected_hashes.csv": "expected_pdq_hash"}
    out: list[str] = []
    for name, column in files.items():
        with (PDQ_DIR / name).open(newline="") as fh:
            out += [r[column].strip().lower() for r in csv.DictReader(fh) if len(r[column].strip()) == 64]
    return sorted(set(out))


def flip(h: str, bits: int, rng: random.Random) -> str:
    v = int(h, 16)
    for b in rng.sample(range(256), bits):
        v ^= 1 << b
    return f"{v:064x}"


@pytest.mark.skipif(not PDQ_DIR.is_dir(), reason="needs ../shared/data/media-test-vectors")
def test_lookups_equal_pytx_pdq_index() -> None:
    from threatexchange.signal_type.pdq.signal import PdqSignal

    banked = te_hashes()
    assert len(banked) >= 20
    rng = random.Random(5)
    queries = banked + [flip(h, n, rng) for h in banked for n in (5, 20, 31, 32, 60)]
    index = PdqSignal.get_index_cls().build([(h, i) for i, h in enumerate(banked)])
    threshold = index.get_match_threshold()
    bs = BankSet([BankConfig("TE", pdq_threshold=threshold)])
    entries = bs.add_entries([BankEntry(bank="TE", signal_type="pdq", signal=h) for h in banked])
    id_of = {e.id: i for i, e in enumerate(entries)}
    compared = 0
    for q in queries:
        theirs = sorted((r.metadata, int(r.similarity_info.distance)) for r in index.query(q))
        ours = sorted((id_of[m.entry.id], m.distance) for m in bs.lookup(Query(pdq=q)))
        assert ours == theirs, q
        compared += len(theirs)
    assert compared > len(banked)  # near-duplicates (the bridge edits) match one another
