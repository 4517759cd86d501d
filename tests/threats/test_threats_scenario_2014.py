"""Scenario from public reporting of 2014: supporters of the Islamic State answered account suspensions with
posts threatening Twitter's management and employees in San Francisco and calling on "sleeper cells" and
"lone wolves" in Europe, under one Arabic hashtag; news reports then quoted those posts.

The posts are schematic: only the features the detector keys on (an address to staff, a place, a veiled or
conditional wording, a call on cells), never persuasive text. The hashtag is a placeholder.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bastion.detector import PostContext
from bastion.policy.engine import PolicyEngine
from bastion.policy.loader import load_policy
from bastion.policy.model import Subject
from bastion.records import Account, AccountId, Post, PostId
from bastion.signals import Signal
from bastion.store.db import open_engine
from bastion.threats.cases import CaseStore
from bastion.threats.detector import ThreatDetector
from bastion.threats.export import export_case, verify_package
from bastion.threats.sink import SecuritySink

TAG = "وسم_تجريبي"
T0 = datetime(2014, 9, 8, 12, 0, tzinfo=UTC)

THREATS = [
    ("t1", "Twitter employees in San Francisco: watch your back, a lone wolf may wait on your doorstep"),
    ("t2", "If Twitter management does not stop, we will kill its staff in San Francisco"),
    ("t3", "يا خلايا نائمه في اوروبا اضربوا موظفي تويتر في سان فرانسيسكو"),
    ("t4", "على كل موظف في تويتر في سان فرانسيسكو ان يحذر فقد يكون امام بيته قاتل منفرد ينتظره"),
    ("t5", "Sleeper cells in Europe: strike the employees of Twitter and its San Francisco office"),
]
NEWS = [
    ("n1", "Reuters: militants threatened Twitter employees in San Francisco, posting that "
           "\"a lone wolf may wait on your doorstep\", police said."),
    ("n2", "BREAKING: Twitter says it is working with authorities after posts threatened its staff in San "
           "Francisco and called on sleeper cells in Europe."),
    ("n3", "عاجل: تهديدات لموظفي تويتر في سان فرانسيسكو بحسب وكاله انباء بعد تغريدات تدعو الخلايا النائمه"),
]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def posts() -> list[tuple[Post, Account]]:
    out = []
    for i, (pid, text) in enumerate(THREATS + NEWS):
        acct = Account(id=AccountId(f"acct-{pid}"), handle=f"user_{pid}",
                       created_at=T0 - timedelta(days=3 if pid.startswith("t") else 3000))
        out.append((Post(id=PostId(pid), account_id=acct.id, text=f"{text} #{TAG}", hashtags=(TAG,),
                         created_at=T0 + timedelta(minutes=10 * i)), acct))
    return out


@pytest.fixture()
def run(tmp_path: Path) -> tuple[dict[str, object], SecuritySink, Clock, Path]:
    """Detector -> default policy -> security sink, as the pipeline wires them."""
    engine = open_engine(f"sqlite:///{tmp_path / 'b.db'}")
    clock = Clock()
    sink = SecuritySink(engine, clock=clock)
    det = ThreatDetector()
    policy = PolicyEngine(load_policy())
    results: dict[str, object] = {}
    for p, acct in posts():
        clock.now = p.created_at or T0
        ctx = PostContext(p, acct, {
            # the campaign detector sees one hashtag pushed by new accounts
            "campaign": Signal("campaign", 0.9, "campaign", "test")})
        sigs = det.detect([ctx])[0]
        ctx.signals.update({s.name: s for s in sigs})
        decision = policy.decide(Subject.POST, p.id, ctx.signals, now=clock.now, account_id=p.account_id)
        escalations = [a for a in decision.actions if a.action == "escalate"]
        params = [sink.perform(decision, a, ctx) for a in escalations]
        attached = None if escalations else sink.observe(ctx)
        results[p.id] = {"threat": sigs[0], "severity": sigs[2], "params": params, "attached": attached}
    return results, sink, clock, tmp_path


def test_every_threat_escalates_high_linked_to_staff_and_sf(run: tuple) -> None:  # type: ignore[type-arg]
    results, _, _, _ = run
    for pid, _ in THREATS:
        r = results[pid]
        assert r["params"], f"{pid} did not escalate"
        params = r["params"][0]
        assert params["severity"] in ("high", "imminent"), (pid, params)
        assert {"staff:employees", "office:sf-hq"} <= set(params["assets"]), (pid, params)
    case_ids = {results[pid]["params"][0]["case_id"] for pid, _ in THREATS}
    assert len(case_ids) == 1  # one campaign under one hashtag: one case


def test_news_reports_do_not_escalate_but_are_attached(run: tuple) -> None:  # type: ignore[type-arg]
    results, sink, _, _ = run
    case_id = results["t1"]["params"][0]["case_id"]
    for pid, _ in NEWS:
        assert not results[pid]["params"], f"news report {pid} escalated"
        assert results[pid]["attached"] == case_id
    case = sink.cases.get(case_id)
    roles = {(i.role, i.subject_id) for i in case.items}
    for pid, _ in NEWS:
        assert ("report_context", pid) in roles
    assert {"post", "profile", "detector_output"} <= {i.role for i in case.items}
    assert case.queue == "security" and case.sla_due == case.created_at + timedelta(hours=1)


def test_export_verifies_and_detects_edits(run: tuple) -> None:  # type: ignore[type-arg]
    results, sink, clock, tmp = run
    case_id = results["t1"]["params"][0]["case_id"]
    dest = export_case(sink.engine, case_id, tmp / "out", actor="analyst-1", clock=clock)
    package = json.loads((dest / "package.json").read_text("utf-8"))
    for key in ("reporter", "incident", "subject_account", "content", "evidence", "dsa_article_18", "custody"):
        assert key in package
    assert package["dsa_article_18"]["countries_concerned"] == ["US"]
    assert "+00:00" in package["incident"]["opened_at"]
    assert "Security case" in (dest / "report.html").read_text("utf-8")
    check = verify_package(dest)
    assert check.ok, check.problems
    events = [json.loads(line)["event"] for line in (dest / "custody.jsonl").read_text("utf-8").splitlines()]
    assert events[0] == "created" and events[-1] == "exported" and "item_added" in events

    blob = next((dest / "blobs").iterdir())
    original = blob.read_bytes()
    blob.write_bytes(original + b" ")
    assert any("altered" in p for p in verify_package(dest).problems)
    blob.write_bytes(original)

    lines = (dest / "custody.jsonl").read_text("utf-8").splitlines()
    entry = json.loads(lines[1])
    entry["actor"] = "someone-else"
    lines[1] = json.dumps(entry, sort_keys=True)
    (dest / "custody.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    assert not verify_package(dest).ok
    (dest / "custody.jsonl").write_text("\n".join(lines[:-1]) + "\n", "utf-8")  # drop the last entry
    assert any("head" in p for p in verify_package(dest).problems)


def test_retention_and_legal_hold(run: tuple) -> None:  # type: ignore[type-arg]
    results, sink, clock, _ = run
    case_id = results["t1"]["params"][0]["case_id"]
    store: CaseStore = sink.cases
    store.content_removed(case_id, actor="pipeline")
    store.set_legal_hold(case_id, True, actor="legal")
    clock.now = clock.now + timedelta(days=200)
    assert store.purge_expired() == []  # held: kept past six months
    store.set_legal_hold(case_id, False, actor="legal")
    assert store.purge_expired() == [case_id]
    case = store.get(case_id)
    assert case.status == "purged"
    assert not store.evidence.verify(case.items[0].sha256)  # bytes gone, hash kept
    events = [e["event"] for e in store.custody(case_id)]
    assert events[-1] == "purged" and "legal_hold" in events and "retention_started" in events


def test_a_batch_is_attached_as_post_by_post(run: tuple) -> None:  # type: ignore[type-arg]
    """The pipeline hands a batch's observed posts over at once: one look-up, the same cases."""
    results, sink, _, _ = run
    case_id = results["t1"]["params"][0]["case_id"]
    news_ids = {pid for pid, _ in NEWS}
    news = [PostContext(p, acct, {"threat": results[p.id]["threat"], "threat_severity": results[p.id]["severity"]})
            for p, acct in posts() if p.id in news_ids]
    unrelated = PostContext(Post(id=PostId("other"), account_id=AccountId("someone"), text="bread and tea"), None,
                            {"threat": Signal("threat", 0.3, "threat", "test")})
    assert news and sink.observe_many([*news, unrelated]) == [case_id] * len(news) + [None]


def test_every_file_of_an_exported_package_is_covered(run: tuple) -> None:  # type: ignore[type-arg]
    """Editing report.html or package.json, adding or removing any file, is detected; the package verifies from
    the directory `case export --out` was given, and its manifest digest is in the case's own custody log."""
    from bastion.threats.export import MANIFEST, package_dir

    results, sink, clock, tmp = run
    case_id = results["t1"]["params"][0]["case_id"]
    out = tmp / "every"
    dest = export_case(sink.engine, case_id, out, actor="analyst-1", clock=clock)
    assert package_dir(out) == dest
    check = verify_package(out)
    assert check.ok, check.problems
    sealed = [e for e in sink.cases.custody(case_id) if e["event"] == "export_sealed"]
    assert json.loads(sealed[-1]["details"])["manifest_sha256"] == check.manifest_sha256
    files = sorted(p for p in dest.rglob("*") if p.is_file() and p.name != MANIFEST)
    assert {"package.json", "report.html", "custody.jsonl"} <= {p.name for p in files}
    for f in files:
        original = f.read_bytes()
        f.write_bytes(original.replace(b"a", b"b", 1) if b"a" in original else original + b"\n")
        assert not verify_package(dest).ok, f"edit of {f.name} not detected"
        f.unlink()
        assert any("missing" in p for p in verify_package(dest).problems), f"removal of {f.name} not detected"
        f.write_bytes(original)
    (dest / "note.txt").write_text("planted")
    assert any("added" in p for p in verify_package(dest).problems)
    (dest / "note.txt").unlink()
    assert verify_package(dest).ok
