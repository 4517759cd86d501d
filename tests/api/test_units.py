"""Small pieces: span highlighting, the break reminder, the verdict batcher, the token bucket."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from bastion.api.batcher import Batcher
from bastion.api.state import RateLimiter
from bastion.batch import Batch
from bastion.policy.model import Decision, Subject
from bastion.records import Account, AccountId, Post, PostId
from bastion.review.context import Segment, highlight
from bastion.review.wellness import BREAK_AFTER, MEDIA_DAILY_NUDGE, Exposure


def test_highlight_merges_overlaps_and_ignores_bad_spans() -> None:
    text = "abc ZZORG def QQ"
    spans = [{"start": 4, "end": 9, "label": "org"}, {"start": 6, "end": 11, "label": "x"},
             {"start": 14, "end": 99, "label": "out of range"}, {"start": "1", "end": 2}]
    assert highlight(text, spans) == [Segment("abc "), Segment("ZZORG d", "org"), Segment("ef QQ")]
    assert highlight("", []) == [Segment("")]
    assert "".join(s.text for s in highlight(text, spans)) == text


def test_break_reminder() -> None:
    start = datetime(2026, 1, 1, 9, tzinfo=UTC)
    fresh = Exposure(items_today=3, media_today=1, breaks_today=0, last_break=None)
    assert not fresh.needs_break(start, start + timedelta(minutes=10))
    assert fresh.needs_break(start, start + BREAK_AFTER)
    rested = Exposure(3, 1, 1, last_break=start + BREAK_AFTER)
    assert not rested.needs_break(start, start + BREAK_AFTER + timedelta(minutes=5))
    assert Exposure(3, MEDIA_DAILY_NUDGE, 0, None).needs_break(start, start)


def _decision(pid: str) -> Decision:
    return Decision(id=f"d-{pid}", subject_kind=Subject.POST, subject_id=pid, account_id=None,
                    created_at=datetime.now(UTC), scores={}, labels=(), actions=(), shadow_actions=(),
                    explanation="", category=None, versions={})


def test_batcher_merges_posts_and_keeps_other_records_apart() -> None:
    gate, busy = threading.Event(), threading.Event()
    seen: list[list[str]] = []

    def process(batch: Batch) -> list[Decision]:
        busy.set()
        gate.wait(5)
        seen.append([p.id for p in batch.posts] + [a.id for a in batch.accounts])
        return [_decision(p.id) for p in batch.posts]

    b = Batcher(process)
    first = b.submit(Batch(posts=[Post(PostId("p0"), AccountId("a"), "x")]))
    assert busy.wait(5)  # the worker is inside the first batch; the next requests queue up
    later = [b.submit(Batch(posts=[Post(PostId(f"p{i}"), AccountId("a"), "x")])) for i in (1, 2)]
    acct = b.submit(Batch(accounts=[Account(AccountId("a9"), "h")]))
    tail = b.submit(Batch(posts=[Post(PostId("p3"), AccountId("a"), "x")]))
    gate.set()
    assert [d.subject_id for d in first.result(5)] == ["p0"]
    assert [d.subject_id for d in later[0].result(5)] == ["p1"]
    assert [d.subject_id for d in later[1].result(5)] == ["p2"]
    assert acct.result(5) == [] and [d.subject_id for d in tail.result(5)] == ["p3"]
    assert seen == [["p0"], ["p1", "p2"], ["a9"], ["p3"]], "merged, in order, accounts alone"
    b.close()


def test_batcher_reports_failures_to_every_waiting_request() -> None:
    def boom(batch: Batch) -> list[Decision]:
        raise RuntimeError("store down")

    b = Batcher(boom)
    futs = [b.submit(Batch(posts=[Post(PostId(f"p{i}"), AccountId("a"), "x")])) for i in range(3)]
    for f in futs:
        with pytest.raises(RuntimeError, match="store down"):
            f.result(5)
    b.close()


def test_token_bucket() -> None:
    rl = RateLimiter()
    assert [rl.take("k", 1.0, 3.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = rl.take("k", 1.0, 3.0)
    assert 0 < wait <= 1.0
    assert rl.take("other", 1.0, 3.0) == 0.0


def test_the_server_re_propagates_the_account_network_every_32_verdict_batches(sqlite_url: str) -> None:
    from bastion.accounts.detector import AccountRiskDetector
    from bastion.api.app import API_NETWORK_REFRESH_BATCHES, create_app
    from bastion.settings import Settings

    for options, expected in (({}, API_NETWORK_REFRESH_BATCHES), ({"account_risk": {"refresh_every": 1}}, 1)):
        app = create_app(Settings.load(db_url=sqlite_url, detectors="account_risk", detector_options=options))
        (det,) = app.state.bastion.pipeline.detectors
        assert isinstance(det, AccountRiskDetector) and det.refresh_every == expected
        app.state.bastion.batcher.close()
        app.state.bastion.engine.dispose()


def test_forwarded_headers_are_believed_only_from_named_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """`bastion serve` must not let a client on the host pick its own address with X-Forwarded-For."""
    import uvicorn
    from typer.testing import CliRunner

    from bastion.cli.api import proxy_options
    from bastion.cli.main import app

    assert proxy_options([]) == {"proxy_headers": False, "forwarded_allow_ips": ""}
    assert proxy_options(["10.0.0.5", "10.0.0.6,10.0.0.7"]) == {
        "proxy_headers": True, "forwarded_allow_ips": "10.0.0.5,10.0.0.6,10.0.0.7"}
    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app_, **kw: seen.update(kw))
    monkeypatch.delenv("BASTION_TRUSTED_PROXIES", raising=False)
    res = CliRunner().invoke(app, ["serve", "--detectors", "none", "--db", "sqlite://"])
    assert res.exit_code == 0, res.output
    assert seen["proxy_headers"] is False
    CliRunner().invoke(app, ["serve", "--detectors", "none", "--db", "sqlite://", "--trusted-proxy", "10.1.1.1"])
    assert seen["proxy_headers"] is True and seen["forwarded_allow_ips"] == "10.1.1.1"
