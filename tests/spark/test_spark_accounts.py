"""The account stage on Spark (``--detectors ...,account_risk``): groupBy, joins and iterative joins compute what
the in-process ``account_risk`` detector holds for each account after reading the same records."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from bastion.spark.score import Config

SAMPLE = Path(__file__).parents[2] / "examples" / "sample-stream.jsonl"
NOW = "2026-12-05T00:00:00+00:00"
CONTENT = "lexicon,propaganda,threat"


def _in_process(path: Path) -> dict[str, tuple[float, list[str]]]:
    """Every account's final (score, worst neighbours) from the detector itself: the records read in order,
    content detectors then the account detector on every post, the posts' own suspensions observed, and the
    network propagated once over everything read - the Spark stage's documented semantics."""
    from bastion import catalogue
    from bastion.accounts.detector import AccountRiskDetector
    from bastion.detector import PostContext, run_detectors
    from bastion.ingest.native import record_from
    from bastion.pipeline.runtime import own_suspensions
    from bastion.policy.engine import PolicyEngine
    from bastion.policy.loader import load_policy
    from bastion.policy.model import Subject
    from bastion.records import Account, Edge, EnforcementEvent, Post

    content = catalogue.build(CONTENT.split(","))
    acct = AccountRiskDetector()
    engine = PolicyEngine(load_policy(None))
    records = [record_from(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]
    acct.observe([r for r in records if isinstance(r, Edge | EnforcementEvent)])
    acct.detect_accounts([r for r in records if isinstance(r, Account)])
    contexts = [PostContext(r) for r in records if isinstance(r, Post)]
    run_detectors(content, contexts, {})
    now = datetime.fromisoformat(NOW)
    decisions = [engine.decide(Subject.POST, c.post.id, c.signals, now=now, account_id=c.post.account_id,
                               content=c.post.content_digest()) for c in contexts]
    acct.detect(contexts)
    acct.observe(own_suspensions(decisions, now))
    acct.refresh_network()
    return {aid: (acct.model.score(st), st.network_refs) for aid, st in acct.states.items()}


def test_account_risk_on_spark_equals_the_detectors_own_state(spark: Any, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from bastion.spark.job import scan
    from bastion.spark.manifest import verify

    summary = scan(spark, [str(SAMPLE)], tmp_path / "out", Config(now=NOW, detectors=CONTENT + ",account_risk"))
    rows = pq.read_table(tmp_path / "out" / "accounts").to_pylist()
    on_spark = {r["subject_id"]: json.loads(r["decision"]) for r in rows}
    local = _in_process(SAMPLE)
    emitted = {aid for aid, (score, _) in local.items() if score >= 0.05}
    assert set(on_spark) == emitted and summary["account_decisions"] == len(emitted) > 10
    for aid, d in on_spark.items():
        assert abs(d["scores"]["account_risk"] - local[aid][0]) <= 1e-6, aid
        assert d["subject"] == "account" and d["account_id"] == aid
    # the network part is in those scores: two of the sample's accounts interact with suspended ones
    assert len({aid for aid, (_, refs) in local.items() if refs and aid in on_spark}) >= 2
    assert any(d["actions"] for d in on_spark.values())  # the policy's account rules act on them
    assert verify(tmp_path / "out") == []  # the account decisions are chained in the manifest too


def _chain(path: Path) -> Path:
    """Schematic: a suspended account, accounts that follow, mention and repost it and each other a few hops
    away (one reposted by it: amplification), each with an ordinary post; one account reinstated."""
    t = "2015-02-01T12:00:00Z"
    lines: list[dict[str, Any]] = [{"type": "account", "id": f"a{i}", "handle": f"h{i}", "created_at": t}
                                   for i in range(7)]
    lines += [{"type": "post", "id": f"p{i}", "account_id": f"a{i}", "text": f"good morning number {i}",
               "created_at": t} for i in range(1, 7)]
    lines += [{"type": "edge", "src": s, "dst": d, "kind": k, "created_at": t} for s, d, k in (
        ("a1", "a0", "repost"), ("a1", "a0", "follow"), ("a2", "a1", "repost"), ("a3", "a2", "mention"),
        ("a0", "a4", "repost"), ("a5", "a4", "follow"), ("a6", "a5", "reply"), ("a6", "a1", "mention"),
        ("a2", "a6", "mention"))]
    lines += [{"type": "enforcement", "id": "e1", "kind": "suspend", "target_kind": "account", "target_id": "a0",
               "created_at": t},
              {"type": "enforcement", "id": "e2", "kind": "suspend", "target_kind": "account", "target_id": "a6",
               "created_at": t},
              {"type": "enforcement", "id": "e3", "kind": "reinstate", "target_kind": "account",
               "target_id": "a6", "created_at": t}]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def test_network_risk_by_iterative_joins_equals_the_detectors_propagation(spark: Any, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from bastion.spark.job import scan

    data = _chain(tmp_path / "chain.jsonl")
    scan(spark, [str(data)], tmp_path / "out", Config(now=NOW, detectors=CONTENT + ",account_risk"))
    on_spark = {r["subject_id"]: json.loads(r["decision"])["scores"]["account_risk"]
                for r in pq.read_table(tmp_path / "out" / "accounts").to_pylist()}
    local = _in_process(data)
    assert set(on_spark) == {aid for aid, (score, _) in local.items() if score >= 0.05}
    # one to three hops from a0; a5 follows a4, which a0 reposted (badness flows back through amplification),
    # while a4 itself interacts with no one; a6 was reinstated: no seed (else a2, which mentions it, would be
    # worse), yet its own neighbours are bad
    assert {"a1", "a2", "a3", "a5", "a6"} <= set(on_spark) and "a4" not in on_spark
    for aid, value in on_spark.items():
        assert abs(value - local[aid][0]) <= 1e-6, aid
    assert on_spark["a1"] > on_spark["a2"] > on_spark["a3"]  # fading with every hop


def test_an_edited_account_decision_fails_verification(spark: Any, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bastion.spark.job import scan
    from bastion.spark.manifest import verify

    out = tmp_path / "out"
    scan(spark, [str(SAMPLE)], out, Config(now=NOW, detectors=CONTENT + ",account_risk"))
    f = next(f for f in sorted((out / "accounts").glob("*.parquet")) if pq.read_table(f).num_rows)
    table = pq.read_table(f)
    decisions = table.column("decision").to_pylist()
    decisions[0] = decisions[0].replace('"account_risk": 0.', '"account_risk": 0.0')
    pq.write_table(table.set_column(table.schema.get_field_index("decision"), "decision",
                                    pa.array(decisions)), f)
    assert any("accounts" in p for p in verify(out))


def test_spark_load_stores_the_account_decisions_once(spark: Any, tmp_path: Path) -> None:
    import sqlite3

    from typer.testing import CliRunner

    from bastion.cli.main import app
    from bastion.spark.job import scan

    out = tmp_path / "out"
    summary = scan(spark, [str(SAMPLE)], out, Config(now=NOW, detectors=CONTENT + ",account_risk"))
    db = tmp_path / "b.db"

    def stored() -> tuple[Any, ...]:
        with sqlite3.connect(db) as c:
            return (c.execute("select count(*) from decisions where subject_kind = 'account'").fetchone()[0],
                    c.execute("select count(*) from decisions").fetchone()[0],
                    c.execute("select count(*) from review_jobs where subject_kind = 'account'").fetchone()[0])

    for _ in range(2):  # loading again adds nothing
        res = CliRunner().invoke(app, ["spark", "load", str(out), "--db", f"sqlite:///{db}"])
        assert res.exit_code == 0, res.output
        accounts, total, jobs = stored()
        assert accounts == summary["account_decisions"] and total == accounts + summary["decisions"]
        assert jobs == 1  # the account the policy sends to review (u_x1)


def test_with_the_account_stage_spark_differs_from_scan_only_as_documented(spark: Any, tmp_path: Path) -> None:
    """The account stage's documented differences, shown against ``bastion scan`` itself on the sample (read in
    one batch, so the scan too propagates the network once over everything read): Spark's post decisions carry
    no per-post ``account_risk`` signal and are otherwise the scan's (ids, actions, every other score); each
    account is decided once, on its final score, with the scan's decision id and actions, and an account whose
    risk stays under the emitting threshold (0.05) is not decided at all. (An account decision's id is keyed by
    its outcome, so the scan stores an account's first decision with that outcome and a later one with the same
    rules but a moved score is the same decision; Spark's carries the final score: u_newsdesk's 0.084 -> 0.151.)"""
    import sqlite3

    import pyarrow.parquet as pq
    from typer.testing import CliRunner

    from bastion.cli.main import app
    from bastion.spark.job import read_decisions, scan

    detectors = CONTENT + ",account_risk"
    scan(spark, [str(SAMPLE)], tmp_path / "out", Config(now=NOW, detectors=detectors))
    res = CliRunner().invoke(app, ["scan", str(SAMPLE), "--db", f"sqlite:///{tmp_path / 'b.db'}", "--detectors",
                                   detectors, "--out", str(tmp_path / "scan.jsonl"), "--quiet", "--workers", "1"])
    assert res.exit_code == 0, res.output

    local = {d["decision_id"]: d for d in map(json.loads, (tmp_path / "scan.jsonl").read_text().splitlines())}
    posts = {d["decision_id"]: d for d in read_decisions(spark, tmp_path / "out") if d["subject"] == "post"}
    assert set(posts) == set(local) and len(local) > 20
    for did, d in local.items():
        s = posts[did]
        assert "account_risk" in d["scores"] and "account_risk" not in s["scores"], did  # the difference
        assert s["scores"].keys() == d["scores"].keys() - {"account_risk"}
        assert all(abs(s["scores"][k] - v) <= 1e-6 for k, v in s["scores"].items()), did
        assert [a["action"] for a in s["actions"]] == [a["action"] for a in d["actions"]], did

    with sqlite3.connect(tmp_path / "b.db") as c:
        scanned = {sid: (did, json.loads(scores)["account_risk"], [a["action"] for a in json.loads(actions)])
                   for did, sid, scores, actions in c.execute(
                       "select id, subject_id, scores, actions from decisions where subject_kind = 'account'")}
    accounts = {r["subject_id"]: json.loads(r["decision"])
                for r in pq.read_table(tmp_path / "out" / "accounts").to_pylist()}
    assert len(scanned) == len(set(scanned)) > 10  # one decision per account in a one-batch scan
    assert {aid for aid, (_, score, _) in scanned.items() if score >= 0.05} == set(accounts)
    final = _in_process(SAMPLE)
    for aid, d in accounts.items():
        did, _, actions = scanned[aid]
        assert d["decision_id"] == did and [a["action"] for a in d["actions"]] == actions, aid
        assert abs(d["scores"]["account_risk"] - final[aid][0]) <= 1e-6, aid
    assert any(actions for _, _, actions in scanned.values())
