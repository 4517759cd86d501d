"""A case's evidence written in bulk is exactly what writing it item by item stores."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, update

from bastion.store.attest import tracked
from bastion.store.db import open_engine
from bastion.store.schema import evidence_blobs, evidence_refs
from bastion.store.threats import threat_case_items, threat_custody
from bastion.threats.cases import CaseStore, EvidenceItem
from bastion.threats.custody import custody_entries, verify_chain

T0 = datetime(2026, 12, 4, 12, tzinfo=UTC)


def _open(engine: Engine) -> tuple[CaseStore, str]:
    store = CaseStore(engine, clock=lambda: T0)
    with engine.begin() as conn:
        case_id = store.open_case(conn, post_id="p1", account_id="a1", severity=0.9, level="high", assets=["hq"],
                                  hashtags=[], fingerprint=[], actor="test")
    return store, case_id


ITEMS = [
    EvidenceItem.of_json("post", "p1", {"text": "the post"}),
    EvidenceItem("media", "m1", b"\x89PNG not really", "application/octet-stream", {"kind": "image"}),
    EvidenceItem.of_json("related", "p2", {"text": "another"}),
    EvidenceItem.of_json("related", "p2", {"text": "another"}),  # the same item twice: stored once
    EvidenceItem.of_json("thread", "p2", {"text": "another"}),  # the same bytes in another role: a new item
    EvidenceItem.of_json("purged", "p3", {"text": "kept again"}),
]


def _dump(engine: Engine, case_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        return {
            "items": [tuple(r)[1:] for r in conn.execute(select(threat_case_items).order_by(threat_case_items.c.seq))],
            "blobs": sorted(tuple(r) for r in conn.execute(select(evidence_blobs))),
            "refs": sorted(tuple(r)[1:] for r in conn.execute(select(evidence_refs))),
            "custody": custody_entries(conn, case_id),
        }


def _seed_purged(engine: Engine, store: CaseStore) -> None:
    """A blob that was stored earlier for another subject and purged since."""
    with engine.begin() as conn:
        sha = store.evidence.put(ITEMS[-1].data, "application/json", subject_kind="post", subject_id="old",
                                 role="post", now=T0, conn=conn)
        with tracked(conn, evidence_blobs, [sha]):
            conn.execute(update(evidence_blobs).where(evidence_blobs.c.sha256 == sha).values(data=None, purged_at=T0))


def test_bulk_items_store_what_one_by_one_stores(tmp_path: Any) -> None:
    one = open_engine(f"sqlite:///{tmp_path / 'one.db'}")
    bulk = open_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    try:
        store1, case1 = _open(one)
        store2, case2 = _open(bulk)
        assert case1 == case2
        _seed_purged(one, store1)
        _seed_purged(bulk, store2)
        with one.begin() as conn:
            shas1 = [store1.add_item(conn, case1, it.role, it.subject_id, it.data, it.media_type, actor="test",
                                     details=it.details) for it in ITEMS]
        with bulk.begin() as conn:
            shas2 = store2.add_items(conn, case2, ITEMS, actor="test")
        assert shas1 == shas2
        d1, d2 = _dump(one, case1), _dump(bulk, case2)
        assert d2 == d1
        assert len(d2["items"]) == 5  # the repeated item once
        assert all(b[3] is not None for b in d2["blobs"])  # the purged blob's bytes are back
        assert verify_chain(d2["custody"]) == []
        with bulk.connect() as conn:
            assert [r.event for r in conn.execute(select(threat_custody.c.event).where(
                threat_custody.c.case_id == case2).order_by(threat_custody.c.seq))] == ["created"] + ["item_added"] * 5
        with bulk.begin() as conn:  # adding the same items again adds nothing
            store2.add_items(conn, case2, ITEMS, actor="test")
        assert _dump(bulk, case2) == d2
    finally:
        one.dispose()
        bulk.dispose()


def test_related_posts_are_the_latest_others_under_the_same_hashtag(tmp_path: Any,
                                                                     monkeypatch: Any) -> None:
    """A case's ``related`` evidence: other accounts' posts under one of the post's hashtags (folded:
    ``#Tag`` is ``#tag``), newest first, whole rows, at most ``RELATED_POSTS`` of them."""
    from datetime import timedelta

    from bastion.records import AccountId, Post, PostId
    from bastion.store.schema import posts
    from bastion.store.writer import post_row
    from bastion.threats import sink as sink_module
    from bastion.threats.sink import SecuritySink

    engine = open_engine(f"sqlite:///{tmp_path / 'b.db'}")

    def post(pid: str, account: str, tags: tuple[str, ...], minutes: int) -> Post:
        return Post(id=PostId(pid), account_id=AccountId(account), text=f"text of {pid}", hashtags=tags,
                    created_at=T0 + timedelta(minutes=minutes))

    threat = post("t", "a", ("Tag",), 60)
    stored = [threat, post("own", "a", ("tag",), 50), post("old", "b", ("tag",), 1), post("mid", "c", ("TAG",), 20),
              post("other", "d", ("else",), 30), post("new", "e", ("x", "tag"), 40), post("none", "f", (), 45)]
    with engine.begin() as conn, tracked(conn, posts, [p.id for p in stored]):
        conn.execute(posts.insert(), [post_row(p, T0) for p in stored])
    sink = SecuritySink(engine, clock=lambda: T0)
    with engine.connect() as conn:
        related = sink._context(conn, threat)["related"]
        assert [r["id"] for r in related] == ["new", "mid", "old"]
        assert related[0]["text"] == "text of new" and related[0]["hashtags"] == ["x", "tag"]  # whole rows
        monkeypatch.setattr(sink_module, "RELATED_POSTS", 2)
        assert [r["id"] for r in sink._context(conn, threat)["related"]] == ["new", "mid"]


def test_the_thread_of_an_escalated_post_is_found_by_index(tmp_path: Any) -> None:
    """A case reads the replies to an escalated post (``reply_to``): through an index, not by reading every
    stored post (a migrated database has it; without it, each escalation scanned the whole table)."""
    from datetime import timedelta

    from sqlalchemy import text

    from bastion.records import AccountId, Post, PostId
    from bastion.store.schema import posts
    from bastion.store.writer import post_row
    from bastion.threats.sink import SecuritySink, thread_query

    engine = open_engine(f"sqlite:///{tmp_path / 't.db'}")
    rows = [Post(id=PostId("t"), account_id=AccountId("a"), text="the threat", reply_to=PostId("root"),
                 created_at=T0),
            Post(id=PostId("r1"), account_id=AccountId("b"), text="a reply", reply_to=PostId("t"),
                 created_at=T0 + timedelta(minutes=1)),
            Post(id=PostId("x"), account_id=AccountId("c"), text="elsewhere", created_at=T0)]
    with engine.begin() as conn, tracked(conn, posts, [p.id for p in rows]):
        conn.execute(posts.insert(), [post_row(p, T0) for p in rows])
    with engine.connect() as conn:
        assert {r["id"] for r in SecuritySink(engine, clock=lambda: T0)._context(conn, rows[0])["thread"]} == {"r1"}
        sql = str(thread_query(rows[0]).compile(conn, compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    engine.dispose()
    assert "ix_posts_reply_to" in plan and "SCAN" not in plan, plan


def _escalations() -> list[tuple[Any, Any, Any]]:
    """Escalations that open cases, join them by author, by shared hashtag and asset, and by quoted text, and
    one post escalated twice (the second finds it already held)."""
    from bastion.detector import PostContext
    from bastion.policy.model import Action
    from bastion.records import AccountId, Post, PostId
    from bastion.signals import Signal

    def call(pid: str, account: str, text: str, tags: tuple[str, ...], assets: list[str]) -> tuple[Any, Any, Any]:
        post = Post(id=PostId(pid), account_id=AccountId(account), text=text, hashtags=tags, created_at=T0)
        sev = Signal("threat_severity", 0.8, "threat", "1", details={"level": "high", "assets": assets})
        action = Action("escalate", "threat-escalate@1", "default@1")
        return (type("D", (), {"id": f"dec-{pid}"})(), action, PostContext(post, None, {"threat_severity": sev}))

    return [call("p1", "a1", "we will find your office in the city and wait there", ("tagx",), ["hq"]),
            call("p2", "a1", "another one from the same author entirely different words", (), []),
            call("p3", "a2", "a third account with its own words about nothing alike", ("tagx",), ["hq"]),
            call("p4", "a3", "we will find your office in the city and wait there", (), ["dublin"]),
            call("p5", "a4", "unrelated words from an unrelated account of its own here", ("other",), ["hq"]),
            call("p6", "a5", "another one from the same author entirely different words", (), []),
            call("p1", "a1", "we will find your office in the city and wait there", ("tagx",), ["hq"])]


def _case_tables(engine: Engine) -> dict[str, Any]:
    from bastion.store.threats import threat_cases

    with engine.connect() as conn:
        return {"cases": sorted(tuple(r) for r in conn.execute(select(threat_cases))),
                "items": [tuple(r) for r in conn.execute(select(threat_case_items).order_by(threat_case_items.c.seq))],
                "custody": [tuple(r) for r in conn.execute(select(threat_custody).order_by(
                    threat_custody.c.case_id, threat_custody.c.seq))]}


def test_a_batch_of_escalations_writes_what_escalating_one_by_one_writes(tmp_path: Any) -> None:
    from bastion.threats.sink import SecuritySink

    one = SecuritySink(open_engine(f"sqlite:///{tmp_path / 'one.db'}"), clock=lambda: T0)
    many = SecuritySink(open_engine(f"sqlite:///{tmp_path / 'many.db'}"), clock=lambda: T0)
    calls = _escalations()
    by_one = [one.perform(*c) for c in calls]
    by_many = many.perform_many(calls)
    assert by_many == by_one
    # p2 joins p1's case by author, p3 by hashtag and asset, p4 by quoted text; p5 shares nothing: its own
    # case; p6 quotes p2, whose words the case gained when p2 joined it
    assert [r["case_id"] == by_one[0]["case_id"] for r in by_one] == [True, True, True, True, False, True, True]
    assert by_one[6] == by_one[0]  # escalated again: the case that holds it
    assert _case_tables(many.engine) == _case_tables(one.engine)


def test_the_pipeline_acts_on_a_batch_at_once_and_one_by_one_when_the_batch_fails(tmp_path: Any) -> None:
    """A sink's ``perform_many`` gets the batch's actions in one call; if it raises, each action goes to
    ``perform`` alone, so the decisions carry the same parameters either way."""
    from bastion.pipeline.runtime import Pipeline
    from bastion.policy.engine import PolicyEngine
    from bastion.policy.loader import parse_policy
    from bastion.policy.model import Subject

    policy = parse_policy("policy: t\nversion: '1'\nrules:\n  - id: esc\n    category: STATEMENT_CATEGORY_VIOLENCE\n"
                          "    when: {signal: threat_severity, gte: 0.5}\n    effects: [escalate]\n", "t.yaml")
    calls = _escalations()[:5]
    contexts = {c[2].post.id: c[2] for c in calls}

    class Sink:
        name, handles = "s", frozenset({"escalate"})

        def __init__(self, fail: bool) -> None:
            self.fail, self.batches, self.single = fail, 0, 0

        def perform(self, decision: Any, action: Any, ctx: Any) -> dict[str, Any]:
            self.single += 1
            return {"case_id": f"case-{ctx.post.account_id}"}

        def perform_many(self, batch: list[Any]) -> list[dict[str, Any]]:
            self.batches += 1
            if self.fail:
                raise RuntimeError("database is locked")
            return [{"case_id": f"case-{ctx.post.account_id}"} for _, _, ctx in batch]

    got = {}
    for fail in (False, True):
        sink = Sink(fail)
        engine = PolicyEngine(policy)
        pipe = Pipeline(engine=engine, detectors=[], store=None, sinks=[sink])
        decisions = [engine.decide(Subject.POST, pid, dict(ctx.signals), now=T0) for pid, ctx in contexts.items()]
        acted = pipe._act_all(decisions, contexts, set())
        got[fail] = [a.params for d in acted for a in d.actions]
        assert (sink.batches, sink.single) == ((1, 5) if fail else (1, 0))
    assert got[False] == got[True] and got[False][0] == {"case_id": "case-a1"}
