"""Policy files: validation with file:line errors; evaluation of live, shadow and draft rules."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bastion.errors import PolicyError
from bastion.policy.engine import PolicyEngine
from bastion.policy.loader import load_policy, parse_policy
from bastion.policy.model import ReasonCategory, Subject
from bastion.signals import Signal

NOW = datetime(2015, 1, 1, tzinfo=UTC)

POLICY = """\
policy: test
version: "7"
rules:
  - id: remove-high
    category: STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY
    when:
      all:
        - {signal: propaganda, gte: 0.9}
        - not: {signal: reporting, gte: 0.5}
    effects: [remove_post, {label: terror}, {review: qa}]
  - id: shadow-lower
    status: shadow
    category: STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY
    when: {signal: propaganda, gte: 0.5}
    effects: [remove_post]
  - id: draft-rule
    status: draft
    category: STATEMENT_CATEGORY_VIOLENCE
    when: {signal: propaganda, gte: 0.0}
    effects: [escalate]
"""


def sig(name: str, value: float, **kw: object) -> Signal:
    return Signal(name=name, value=value, detector="t", version="1", **kw)  # type: ignore[arg-type]


def test_live_shadow_and_draft_rules() -> None:
    engine = PolicyEngine(parse_policy(POLICY, "p.yaml"))
    d = engine.decide(Subject.POST, "p1", {"propaganda": sig("propaganda", 0.95)}, now=NOW, account_id="a")
    assert [a.action for a in d.actions] == ["remove_post", "label", "review"]
    assert [a.action for a in d.shadow_actions] == ["remove_post"]
    assert all(a.shadow for a in d.shadow_actions)
    assert d.labels == ("terror",)
    assert d.category == ReasonCategory.RISK_FOR_PUBLIC_SECURITY.value
    assert d.versions["policy_version"] == "7" and d.versions["rules"] == ["remove-high@1"]
    assert "propaganda=0.950 ≥ 0.9" in d.explanation and "shadow" in d.explanation
    assert not any(a.action == "escalate" for a in d.actions)  # draft rules never run


def test_reporting_blocks_removal_and_unavailable_signals_never_fire() -> None:
    engine = PolicyEngine(parse_policy(POLICY, "p.yaml"))
    d = engine.decide(Subject.POST, "p1", {"propaganda": sig("propaganda", 0.95),
                                           "reporting": sig("reporting", 0.8)}, now=NOW)
    assert d.actions == ()
    gone = Signal.missing("propaganda", "t", "1", "model file missing")
    d2 = engine.decide(Subject.POST, "p2", {"propaganda": gone}, now=NOW)
    assert d2.actions == () and d2.shadow_actions == ()
    assert "model file missing" in d2.explanation


def test_decision_ids_are_stable_and_change_with_fired_rules() -> None:
    engine = PolicyEngine(parse_policy(POLICY, "p.yaml"))
    a = engine.decide(Subject.POST, "p1", {"propaganda": sig("propaganda", 0.95)}, now=NOW)
    b = engine.decide(Subject.POST, "p1", {"propaganda": sig("propaganda", 0.97)}, now=NOW)
    c = engine.decide(Subject.POST, "p1", {"propaganda": sig("propaganda", 0.6)}, now=NOW)
    assert a.id == b.id != c.id


@pytest.mark.parametrize(("text", "line", "message"), [
    ("policy: x\nversion: 1\nrules:\n  - id: a\n    category: NOPE\n    when: {signal: s, gte: 1}\n"
     "    effects: [remove_post]\n", 5, "category 'NOPE' is not one of"),
    ("policy: x\nversion: 1\nrules:\n  - id: a\n    category: STATEMENT_CATEGORY_VIOLENCE\n"
     "    when: {signal: s, gte: high}\n    effects: [remove_post]\n", 6, "must be a number"),
    ("policy: x\nversion: 1\nrules:\n  - id: a\n    category: STATEMENT_CATEGORY_VIOLENCE\n"
     "    when: {signal: s}\n    effects: [remove_post]\n", 6, "needs exactly one comparison"),
    ("policy: x\nversion: 1\nrules:\n  - id: a\n    category: STATEMENT_CATEGORY_VIOLENCE\n"
     "    when: {signal: s, gt: 1}\n    effects: [explode]\n", 7, "effect 'explode' is not one of"),
    ("policy: x\nversion: 1\nrules:\n  - id: a\n    status: live\n    colour: red\n", 6, "unknown rule key"),
    ("policy: x\nversion: 1\nrules: [\n", 4, "not valid YAML"),
])
def test_policy_errors_name_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(text, "bad.yaml")
    assert any(p.startswith(f"bad.yaml:{line}:") and message in p for p in err.value.problems), err.value.problems


def test_duplicate_rule_ids_and_all_problems_reported_at_once() -> None:
    text = ("policy: x\nversion: 1\nrules:\n"
            "  - {id: a, category: STATEMENT_CATEGORY_VIOLENCE, when: {signal: s, gt: 1}, effects: [nope]}\n"
            "  - {id: a, category: STATEMENT_CATEGORY_VIOLENCE, when: {signal: s, gt: 1}, effects: [escalate]}\n")
    with pytest.raises(PolicyError) as err:
        parse_policy(text, "f.yaml")
    assert len(err.value.problems) == 2
    assert "duplicate rule id 'a'" in err.value.problems[1]


def test_default_policy_is_valid_and_never_removes_on_lexicon_alone() -> None:
    pol = load_policy(None)
    engine = PolicyEngine(pol)
    d = engine.decide(Subject.POST, "p", {"lexicon": sig("lexicon", 1.0)}, now=NOW)
    assert [a.action for a in d.actions] == ["review"]
    reported = engine.decide(Subject.REPORT, "r", {}, now=NOW, reporter="authority")
    assert reported.actions[0].params["queue"] == "removal-orders"


def test_default_policy_removes_nothing_on_text_alone_until_a_deployment_makes_it_live() -> None:
    signals = {"propaganda": sig("propaganda", 0.97), "reporting": sig("reporting", 0.1)}
    d = PolicyEngine(load_policy(None)).decide(Subject.POST, "p", signals, now=NOW)
    assert [(a.action, a.params.get("queue"), a.params.get("priority")) for a in d.actions] == [
        ("review", "propaganda", 1)]
    assert "remove_post" in [a.action for a in d.shadow_actions] and not d.enforced
    live = load_policy(None).promote(["propaganda-remove"])
    assert live.version.endswith("+live:propaganda-remove")
    d2 = PolicyEngine(live).decide(Subject.POST, "p", signals, now=NOW)
    # the stand-in review retires with promotion: one QA job for the removal, not a second decision job
    assert [(a.action, a.params.get("queue")) for a in d2.actions] == [
        ("remove_post", None), ("label", None), ("review", "propaganda-qa")]
    with pytest.raises(PolicyError, match="do not exist: nope"):
        load_policy(None).promote(["nope"])


def test_decision_ids_follow_the_documented_scheme() -> None:
    """Ids are what makes rescans idempotent, so the engine's shortcut must keep them exactly."""
    from bastion.policy.engine import decision_id

    pol = parse_policy(POLICY, "p.yaml")
    engine = PolicyEngine(pol)
    fired = engine.decide(Subject.POST, "p1", {"propaganda": sig("propaganda", 0.95)}, now=NOW)
    none = engine.decide(Subject.POST, "p2", {}, now=NOW)
    assert fired.id == decision_id(Subject.POST, "p1", pol, ["shadow-lower@1", "remove-high@1"])
    assert none.id == decision_id(Subject.POST, "p2", pol)
    key = b"post\x1fp1\x1ftest\x1f7\x1fremove-high@1\x1fshadow-lower@1"
    assert fired.id == "dec_" + hashlib.sha256(key).hexdigest()[:24]


def test_stands_in_for_must_name_a_rule_that_is_not_live() -> None:
    text = POLICY + """  - id: stand-in
    stands_in_for: remove-high
    category: STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY
    when: {signal: propaganda, gte: 0.9}
    effects: [{review: qa}]
"""
    with pytest.raises(PolicyError) as err:
        parse_policy(text, "f.yaml")
    assert err.value.problems == ["f.yaml:21: rule 'stand-in' stands in for 'remove-high', which is not a shadow "
                                  "or draft rule of this policy"]
    fixed = parse_policy(text.replace("stands_in_for: remove-high", "stands_in_for: shadow-lower"), "f.yaml")
    assert fixed.promote(["shadow-lower"]).rules[-1].status.value == "draft"


def test_policy_check_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bastion.cli.main import app

    bad = tmp_path / "bad.yaml"
    bad.write_text("policy: x\nversion: 1\nrules:\n  - id: a\n    category: NOPE\n")
    result = CliRunner().invoke(app, ["policy", "check", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:4: rule is missing 'when'" in result.output
    ok = CliRunner().invoke(app, ["policy", "check", "src/bastion/policy/default.yaml"])
    assert ok.exit_code == 0 and "OK" in ok.output
    # a typo in a signal name and an impossible threshold would silently disable their rules: both reported
    default = Path("src/bastion/policy/default.yaml").read_text("utf-8")
    typo = tmp_path / "typo.yaml"
    typo.write_text(default.replace("signal: propaganda", "signal: propganda", 1).replace("gte: 0.9", "gte: 1.5", 1))
    result = CliRunner().invoke(app, ["policy", "check", str(typo)])
    assert result.exit_code == 2, result.output
    assert "no detector emits signal 'propganda'" in result.output
    assert "threshold 1.5" in result.output and "outside [0, 1]" in result.output


def test_actions_are_what_decide_would_take() -> None:
    """The account-risk strike asks only which actions fire; it must get what a decision would carry."""
    engine = PolicyEngine(load_policy(None).promote(["propaganda-remove"]))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    cases = [
        {},
        {"propaganda": Signal("propaganda", 0.99, "t", "1")},
        {"propaganda": Signal("propaganda", 0.99, "t", "1"), "reporting": Signal("reporting", 0.9, "t", "1")},
        {"threat": Signal("threat", 0.9, "t", "1"), "threat_stance": Signal("threat_stance", 0.9, "t", "1"),
         "threat_severity": Signal("threat_severity", 0.8, "t", "1")},
        {"media_match": Signal("media_match", 1.0, "t", "1")},
    ]
    fired = 0
    for signals in cases:
        expected = engine.decide(Subject.POST, "p", signals, now=now).actions
        assert engine.actions(Subject.POST, signals) == expected
        fired += bool(expected)
    assert fired >= 2


SAMPLED = POLICY.replace("{review: qa}", "{review: {queue: qa, sample: 0.25}}")


def test_a_sampled_review_is_opened_for_that_share_of_posts_and_always_the_same_ones() -> None:
    engine = PolicyEngine(parse_policy(SAMPLED, "p.yaml"))
    signals = {"propaganda": sig("propaganda", 0.95)}
    ids = [f"p{i}" for i in range(4000)]
    taken = {i for i in ids
             if any(a.action == "review" for a in engine.decide(Subject.POST, i, signals, now=NOW).actions)}
    assert 0.22 < len(taken) / len(ids) < 0.28
    for i in ids[:200]:  # the removal and label are never sampled; the same post is always in or out
        d = engine.decide(Subject.POST, i, signals, now=NOW)
        assert [a.action for a in d.actions][:2] == ["remove_post", "label"]
        assert (i in taken) == any(a.action == "review" for a in d.actions)
        assert engine.actions(Subject.POST, signals, i) == d.actions
    assert len(engine.actions(Subject.POST, signals)) == 3  # no subject: what the rule would take at most
    other = PolicyEngine(parse_policy(SAMPLED.replace("sample: 0.25", "sample: 1"), "p.yaml"))
    assert all(any(a.action == "review" for a in other.decide(Subject.POST, i, signals, now=NOW).actions)
               for i in ids[:200])


@pytest.mark.parametrize(("effect", "message"), [
    ("{review: {queue: qa, sample: 0}}", "must be a share in (0, 1]"),
    ("{review: {queue: qa, sample: 1.5}}", "must be a share in (0, 1]"),
    ("{review: {queue: qa, sample: often}}", "must be a share in (0, 1]"),
    ("{escalate: {queue: security, sample: 0.5}}", "applies to review effects only"),
])
def test_a_review_sample_must_be_a_share(effect: str, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(POLICY.replace("{review: qa}", effect), "bad.yaml")
    assert any(message in p for p in err.value.problems), err.value.problems
