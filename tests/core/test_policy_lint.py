"""``bastion policy check``: every rule, or part of one, that can never hold or do anything as written is reported,
at its line and field path, all at once - unknown signals, labels and reporter kinds, thresholds outside a signal's
range, conditions no input satisfies."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bastion.errors import PolicyError
from bastion.policy.lint import Labels, problems, warnings
from bastion.policy.loader import parse_policy
from bastion.policy.model import Policy

OWNERS = {"propaganda": "propaganda", "reporting": "propaganda", "threat": "threat", "threat_stance": "threat",
          "campaign": "campaign"}
LABELS = Labels.of(["stance:issue", "stance:report", "barrage", "asset:"])


def text(*rules: str) -> str:
    """A policy file of the given rules, each the YAML of one list item's body (``id: a\nwhen: ...``)."""
    items = ["  - " + "\n    ".join(r.strip().splitlines()) for r in rules]
    return "policy: t\nversion: '1'\nrules:\n" + "\n".join(items) + "\n"


def policy(*rules: str) -> Policy:
    return parse_policy(text(*rules), "p.yaml")


def rule(when: str, *, rid: str = "r", subject: str = "post", effects: str = "[remove_post]") -> str:
    return (f"id: {rid}\nsubject: {subject}\ncategory: STATEMENT_CATEGORY_VIOLENCE\nwhen: {when}\n"
            f"effects: {effects}")


def found(*rules: str) -> list[str]:
    return problems(policy(*rules), OWNERS, LABELS)


def test_a_clean_policy_has_no_problems() -> None:
    assert found(rule("{all: [{signal: propaganda, gte: 0.9}, {signal: reporting, lt: 0.5}]}"),
                 rule("{all: [{signal: threat, gte: 0.5}, {label: 'stance:issue'}, {label: 'asset:bridge'}]}",
                      rid="t"),
                 rule("{reporter: authority}", rid="rep", subject="report"),
                 rule("{signal: campaign, gte: 0.8}", rid="c",
                      effects="[{detrend_hashtag: {hashtags_from: campaign}}]")) == []


def test_unknown_signal_is_reported_at_its_field() -> None:
    out = found(rule("{all: [{signal: reporting, lt: 0.5}, {signal: propganda, gte: 0.9}]}"))
    assert len(out) == 1
    assert out[0].startswith("p.yaml:7: rule 'r' at when.all[1].signal: no detector emits signal 'propganda'")


def test_unknown_signal_in_an_effect_parameter() -> None:
    out = found(rule("{signal: campaign, gte: 0.8}", effects="[{detrend_hashtag: {hashtags_from: campagn}}]"))
    assert out == ["p.yaml:4: rule 'r' at effects[0].detrend_hashtag.hashtags_from: no detector emits signal "
                   "'campagn', so 'hashtags' is always empty (known: campaign, propaganda, reporting, threat, "
                   "threat_stance)"]


def test_threshold_outside_the_signals_range() -> None:
    out = found(rule("{signal: propaganda, lte: 1.5}"), rule("{signal: reporting, gte: -0.1}", rid="neg"))
    assert out == ["p.yaml:7: rule 'r' at when.lte: threshold 1.5 on 'propaganda' is outside [0, 1], the range of "
                   "every signal",
                   "p.yaml:12: rule 'neg' at when.gte: threshold -0.1 on 'reporting' is outside [0, 1], the range of "
                   "every signal"]


def test_unknown_label_in_a_closed_namespace_is_a_problem() -> None:
    out = found(rule("{all: [{signal: threat, gte: 0.5}, {not: {label: 'stance:reprot'}}]}"))
    assert out == ["p.yaml:7: rule 'r' at when.all[1].not.label: no detector emits label 'stance:reprot' "
                   "(known: stance:issue, stance:report)"]


def test_label_no_detector_names_is_a_warning_as_data_may_carry_it() -> None:
    pol = policy(rule("{all: [{label: barage}, {label: 'asset:bridge'}, {label: 'ideology:x'}, {label: barrage}]}"))
    assert problems(pol, OWNERS, LABELS) == []
    out = warnings(pol, OWNERS, LABELS)
    assert [w.split(": no detector")[0] for w in out] == [
        "p.yaml:7: warning: rule 'r' at when.all[0].label", "p.yaml:7: warning: rule 'r' at when.all[2].label"]
    assert "'barage'" in out[0] and "known: barrage; namespaced: asset:" in out[0]
    assert warnings(pol, OWNERS) == []  # without a vocabulary, labels are not judged


def test_unknown_reporter_kind() -> None:
    out = found(rule("{reporter: authorty}", subject="report"))
    assert out[0] == ("p.yaml:7: rule 'r' at when.reporter: reporter kind 'authorty' is not one of: user, "
                      "trusted_flagger, authority")
    assert out[1:] == ["p.yaml:7: rule 'r' at when: the rule can never apply: no values of its signals in [0, 1] "
                       "(or their absence), labels or reporter kind satisfy it"]


NEVER = "the rule can never apply"


@pytest.mark.parametrize("when", [
    "{signal: propaganda, gt: 1}",
    "{signal: propaganda, gte: 1.01}",
    "{signal: propaganda, lt: 0}",
    "{all: [{signal: propaganda, gte: 0.8}, {signal: propaganda, lt: 0.5}]}",
    "{all: [{signal: propaganda, gt: 0.5}, {signal: propaganda, lt: 0.5}]}",
    "{all: [{signal: propaganda, gte: 0.5}, {signal: reporting, lt: 0.5}, {not: {signal: propaganda, gte: 0.4}}]}",
    "{all: [{signal: propaganda, eq: 0.3}, {signal: propaganda, eq: 0.4}]}",
    "{all: [{label: barrage}, {not: {label: barrage}}]}",
    "{not: {any: [{signal: propaganda, gte: 0.5}, {not: {signal: propaganda, gte: 0.5}}]}}",
])
def test_a_condition_no_input_satisfies_is_reported(when: str) -> None:
    out = found(rule(when))
    assert any(p.startswith(f"p.yaml:7: rule 'r' at when: {NEVER}") for p in out), out


@pytest.mark.parametrize("when", [
    "{signal: propaganda, gte: 1}",
    "{signal: propaganda, lte: 0}",
    "{signal: propaganda, eq: 0.5}",
    "{all: [{signal: propaganda, gte: 0.5}, {signal: propaganda, lte: 0.5}]}",
    "{all: [{signal: propaganda, gte: 0.5}, {signal: propaganda, lt: 0.6}]}",
    "{not: {signal: propaganda, gte: 0}}",  # holds when the signal is absent or unavailable
    "{all: [{signal: propaganda, gte: 0.9}, {not: {signal: reporting, gte: 0.5}}]}",
    "{all: [{label: barrage}, {not: {label: hijack}}]}",
])
def test_conditions_some_input_satisfies_are_not(when: str) -> None:
    assert found(rule(when)) == []


def test_a_branch_of_any_that_can_never_hold_is_reported_at_its_path() -> None:
    out = found(rule("""
  any:
    - {signal: propaganda, gte: 0.9}
    - all:
        - {signal: reporting, gte: 0.5}
        - any:
            - {signal: threat, gte: 0.5}
            - all: [{signal: threat, gte: 0.8}, {signal: threat, lt: 0.2}]
""".replace("\n", "\n  ")))
    assert out == ["p.yaml:14: rule 'r' at when.any[1].all[1].any[1]: this condition can never hold, so this part "
                   "of the rule never applies: no values of its signals in [0, 1] (or their absence), labels or "
                   "reporter kind satisfy it"]


def test_reporter_holds_only_in_report_rules() -> None:
    out = found(rule("{any: [{reporter: user}, {signal: propaganda, gte: 0.9}]}", subject="post"),
                rule("{reporter: user}", rid="acct", subject="account"))
    assert out == [
        "p.yaml:7: rule 'r' at when.any[0]: this condition can never hold, so this part of the rule never applies: "
        "only reports have a reporter, and this rule's subject is 'post'",
        f"p.yaml:12: rule 'acct' at when: {NEVER}: only reports have a reporter, and this rule's subject is 'account'"]
    # a reporter is not what keeps this rule from applying
    out = found(rule("{all: [{not: {reporter: user}}, {signal: propaganda, gt: 1}]}"))
    assert out == [f"p.yaml:7: rule 'r' at when: {NEVER}: no values of its signals in [0, 1] (or their absence), "
                   "labels or reporter kind satisfy it"]


def test_shadow_and_draft_rules_are_checked_too() -> None:
    impossible = "{signal: propaganda, gt: 1}"
    out = found(rule(impossible, rid="s") + "\nstatus: shadow", rule(impossible, rid="d") + "\nstatus: draft")
    assert [p.split(": ")[1] for p in out] == ["rule 's' at when", "rule 'd' at when"]


def test_every_problem_is_reported_not_only_the_first() -> None:
    out = found(rule("{all: [{signal: propganda, gte: 0.9}, {signal: reporting, gte: 1.5}]}", rid="a"),
                rule("{all: [{signal: threat, gte: 0.8}, {signal: threat, lt: 0.5}, {label: 'stance:isue'}]}",
                     rid="b"))
    assert [(p.split(": ")[1], p.split(": ")[2][:24]) for p in out] == [
        ("rule 'a' at when.all[0].signal", "no detector emits signal"),
        ("rule 'a' at when.all[1].gte", "threshold 1.5 on 'report"),
        ("rule 'a' at when", "the rule can never apply"),
        ("rule 'b' at when.all[2].label", "no detector emits label "),
        ("rule 'b' at when", "the rule can never apply")]


def test_the_loader_reports_every_field_error_even_of_a_rule_missing_a_key() -> None:
    text = ("policy: x\nversion: 1\nrules:\n"
            "  - {id: a, category: NOPE, effects: [explode]}\n"
            "  - {id: b, category: STATEMENT_CATEGORY_VIOLENCE, when: {signal: s, gt: high}, effects: [smite]}\n")
    with pytest.raises(PolicyError) as err:
        parse_policy(text, "f.yaml")
    assert err.value.problems == [
        "f.yaml:4: rule is missing 'when'",
        "f.yaml:4: category 'NOPE' is not one of: " + err.value.problems[1].split("is not one of: ")[1],
        "f.yaml:4: effect 'explode' is not one of: " + err.value.problems[2].split("is not one of: ")[1],
        "f.yaml:5: threshold of 's' must be a number, not 'high'",
        "f.yaml:5: effect 'smite' is not one of: " + err.value.problems[4].split("is not one of: ")[1]]
    assert "remove_post" in err.value.problems[2]


def check(path: Path) -> tuple[int, list[str]]:
    from bastion.cli.main import app

    result = CliRunner().invoke(app, ["policy", "check", str(path)])
    return result.exit_code, result.output.splitlines()


def test_the_default_policy_checks_clean() -> None:
    code, lines = check(Path("src/bastion/policy/default.yaml"))
    assert code == 0 and len(lines) == 1 and " OK - policy default@" in lines[0], lines


def test_policy_check_cli_lists_every_problem_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text(
        rule("{all: [{signal: propganda, gte: 0.9}, {not: {label: 'severity:hihg'}}]}", rid="a"),
        rule("{all: [{signal: threat, gte: 0.8}, {signal: threat, lt: 0.5}, {label: journalsm}]}", rid="b"),
        rule("{reporter: user}", rid="c", subject="account")))
    code, lines = check(bad)
    assert code == 2, lines
    where = [line.split(": ")[1] for line in lines]
    assert where == ["rule 'a' at when.all[0].signal", "rule 'a' at when.all[1].not.label", "rule 'b' at when",
                     "rule 'c' at when", "warning"], lines
    assert "(known: severity:elevated, severity:high, severity:imminent, severity:low)" in lines[1]
    assert "'journalsm'" in lines[4]
    # the installed detectors' own labels and data namespaces pass
    ok = tmp_path / "ok.yaml"
    ok.write_text(text(rule(
        "{all: [{label: 'stance:issue'}, {label: 'asset:x'}, {label: barrage}, {label: slogan}, "
        "{label: 'ban_evasion:strong'}, {label: 'bank:b'}, {label: 'opinion:disputed'}, {label: attribution}]}")))
    code, lines = check(ok)
    assert code == 0 and len(lines) == 1, lines
