"""Ban evasion on Spark (``--detectors ...,ban_evasion``): the fingerprint index's look-up written as joins finds
the same suspended accounts, with the same scores, as the index itself and as ``bastion scan``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.spark.score import Config

SAMPLE = Path(__file__).parents[2] / "examples" / "sample-stream.jsonl"
NOW = "2026-12-05T00:00:00+00:00"
CONTENT = "lexicon,propaganda,threat"


def _accounts(out: Path) -> dict[str, dict[str, Any]]:
    import pyarrow.parquet as pq

    return {r["subject_id"]: {**json.loads(r["decision"]), "decision_id": r["id"]}
            for r in pq.read_table(out / "accounts").to_pylist()}


def _scan_accounts(path: Path, detectors: str, tmp_path: Path) -> dict[str, dict[str, Any]]:
    res = CliRunner().invoke(app, ["scan", str(path), "--db", f"sqlite:///{tmp_path / 'b.db'}", "--detectors",
                                   detectors, "--quiet", "--workers", "1"])
    assert res.exit_code == 0, res.output
    with sqlite3.connect(tmp_path / "b.db") as c:
        return {sid: {"decision_id": i, "scores": json.loads(sc), "actions": json.loads(a)}
                for i, sid, sc, a in c.execute("select id, subject_id, scores, actions from decisions "
                                               "where subject_kind = 'account'")}


@pytest.mark.parametrize("detectors", [f"{CONTENT},ban_evasion", f"{CONTENT},account_risk,ban_evasion"])
def test_the_returning_account_is_found_and_decided_as_scan_decides_it(spark: Any, tmp_path: Path,
                                                                        detectors: str) -> None:
    from bastion.spark.job import scan
    from bastion.spark.manifest import verify

    scan(spark, [str(SAMPLE)], tmp_path / "out", Config(now=NOW, detectors=detectors))
    on_spark, local = _accounts(tmp_path / "out"), _scan_accounts(SAMPLE, detectors, tmp_path)
    evading = {a for a, d in local.items() if d["scores"].get("ban_evasion", 0.0) >= 0.05}
    assert evading == {a for a, d in on_spark.items() if "ban_evasion" in d["scores"]} == {"u_x2"}
    d, s = local["u_x2"], on_spark["u_x2"]
    assert s["decision_id"] == d["decision_id"]  # the same signals fire the same rules: the same decision
    assert s["scores"].keys() == d["scores"].keys()
    assert all(abs(s["scores"][k] - v) <= 1e-6 for k, v in d["scores"].items())
    assert [a["action"] for a in s["actions"]] == [a["action"] for a in d["actions"]] == ["suspend_account",
                                                                                         "review"]
    signal = next(x for x in s["signals"] if x["name"] == "ban_evasion")
    assert signal["details"]["candidates"][0]["account_id"] == "u_x1"  # the evidence names whom it evades
    assert verify(tmp_path / "out") == []


def test_lookups_by_join_equal_the_index_on_a_synthetic_population(spark: Any, tmp_path: Path) -> None:
    """200 suspended synthetic profiles, 40 re-registrations of some of them and 40 new people: every account's
    best candidate and score on Spark equal the fingerprint index's own query."""
    from bastion.accounts.evasion_index import FingerprintIndex
    from bastion.accounts.features import reregistration_marker
    from bastion.accounts.fingerprint import Derived, Fingerprint
    from bastion.accounts.synthetic import Population
    from bastion.ingest.native import record_from
    from bastion.records import Account
    from bastion.spark.job import scan

    pop = Population(seed=7)
    suspended = [pop.profile() for _ in range(200)]
    others = [pop.evade(suspended[i * 5]) for i in range(40)] + [pop.profile() for _ in range(40)]
    t = "2015-02-01T12:00:00Z"

    def record(fp: Fingerprint) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "account", "id": fp.account_id, "handle": fp.handle,
                               "display_name": fp.display_name, "bio": fp.bio, "location": fp.location,
                               "links": [f"https://{link}" for link in fp.links], "created_at": t}
        if fp.avatar_pdq:
            out["avatar"] = {"id": f"av-{fp.account_id}", "pdq": fp.avatar_pdq}
        return out

    lines = [record(fp) for fp in suspended + others]
    lines += [{"type": "enforcement", "id": f"e-{fp.account_id}", "kind": "suspend", "target_kind": "account",
               "target_id": fp.account_id, "created_at": t} for fp in suspended]
    path = tmp_path / "population.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")

    scan(spark, [str(path)], tmp_path / "out", Config(now=NOW, detectors="ban_evasion"))
    decided = _accounts(tmp_path / "out")
    on_spark = {a: d["scores"]["ban_evasion"] for a, d in decided.items()}
    accounts = {str(r.id): r for r in (record_from(x) for x in lines) if isinstance(r, Account)}
    index = FingerprintIndex()
    index.add_many([Fingerprint.of(accounts[fp.account_id]) for fp in suspended])
    expected = {}
    for fp in others:
        account = accounts[fp.account_id]
        matches = index.query(Derived.of(Fingerprint.of(account), marker=reregistration_marker(account)), k=5)
        if matches and matches[0].score >= 0.05:
            expected[fp.account_id] = matches[0]
    assert set(on_spark) == set(expected) and len(expected) >= 30
    for aid, m in expected.items():
        assert abs(on_spark[aid] - m.score) <= 1e-6, aid
        # a decision keeps the signals that carry labels: the medium and strong ones, with their evidence
        kept = [x for x in decided[aid]["signals"] if x["name"] == "ban_evasion"]
        assert bool(kept) == (m.score >= 0.6), aid
        assert not kept or kept[0]["details"]["candidates"][0]["account_id"] == m.account_id, aid
    found = {aid for aid, v in on_spark.items() if v >= 0.6}
    evaders = {fp.account_id for fp in others[:40]}
    assert found == evaders  # every return found at 0.6 or more; no new person accused
