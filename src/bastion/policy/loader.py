"""Load and validate a YAML policy, reporting every problem as ``file:line: message``.

The file is composed into YAML nodes (which keep their line numbers) and validated by hand, so that
``bastion policy check`` can point at the exact line of each mistake, all of them at once.

Format::

    policy: default            # name
    version: "2026.11"         # bumped on every change; recorded on each decision
    rules:
      - id: propaganda-remove
        status: live           # live | shadow | draft
        subject: post          # post | account | report
        category: STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY
        description: ...
        when:
          all:
            - {signal: propaganda, gte: 0.97}
            - {signal: reporting, lt: 0.5}
            - not: {label: journalism}
        effects:
          - remove_post
          - review: propaganda            # queue name
          - label: propaganda
          - escalate: {queue: security, sla_hours: 4}
"""

from __future__ import annotations

from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bastion import yamlio
from bastion.errors import InputError, PolicyError
from bastion.policy.model import (
    Condition,
    Effect,
    EffectKind,
    LearningSpec,
    Policy,
    ReasonCategory,
    Rule,
    RuleStatus,
    Subject,
)

COMPARATORS = ("gte", "gt", "lte", "lt", "eq")
LEAVES = ("signal", "label", "reporter")


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def error(self, node: Node | None, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 0
        self.problems.append(f"{self.source}:{line}: {message}")

    # -- node helpers -------------------------------------------------------------------------------
    def mapping(self, node: Node, what: str) -> dict[str, tuple[Node, Node]] | None:
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping")
            return None
        out: dict[str, tuple[Node, Node]] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                self.error(key, f"{what}: keys must be plain names")
                continue
            if key.value in out:
                self.error(key, f"{what}: duplicate key {key.value!r}")
            out[key.value] = (key, value)
        return out

    def scalar(self, node: Node, what: str) -> str | None:
        if not isinstance(node, ScalarNode):
            self.error(node, f"{what} must be a single value")
            return None
        return str(node.value)

    def number(self, node: Node, what: str) -> float | None:
        text = self.scalar(node, what)
        if text is None:
            return None
        try:
            return float(text)
        except ValueError:
            self.error(node, f"{what} must be a number, not {text!r}")
            return None

    def enum(self, node: Node, enum: type[Any], what: str) -> Any:
        text = self.scalar(node, what)
        if text is None:
            return None
        try:
            return enum(text)
        except ValueError:
            allowed = ", ".join(e.value for e in enum)
            self.error(node, f"{what} {text!r} is not one of: {allowed}")
            return None

    # -- structure ----------------------------------------------------------------------------------
    def learning(self, node: Node) -> LearningSpec:
        """The ``learning`` section (active sampling for the model, :class:`LearningSpec`)."""
        fields = self.mapping(node, "learning")
        spec = LearningSpec(line=node.start_mark.line + 1)
        if fields is None:
            return spec
        known = {f for f in LearningSpec.__dataclass_fields__ if f != "line"}
        values: dict[str, Any] = {}
        for k, (knode, vnode) in fields.items():
            if k not in known:
                self.error(knode, f"unknown key {k!r} in learning (known: {', '.join(sorted(known))})")
                continue
            default = getattr(spec, k)
            if isinstance(default, bool):
                flag = self.scalar(vnode, f"learning.{k}")
                if flag is not None and flag.lower() not in ("true", "false"):
                    self.error(vnode, f"learning.{k} must be true or false")
                elif flag is not None:
                    values[k] = flag.lower() == "true"
                continue
            if isinstance(default, str):
                text = self.scalar(vnode, f"learning.{k}")
                if text is not None:
                    values[k] = text
                continue
            num = self.number(vnode, f"learning.{k}")
            if num is None:
                continue
            if isinstance(default, int) and (num != int(num) or num < 0):
                self.error(vnode, f"learning.{k} must be a whole number >= 0")
                continue
            values[k] = int(num) if isinstance(default, int) else float(num)
        spec = replace(spec, **values)
        if spec.strategy not in LearningSpec.STRATEGIES:
            self.error(node, f"learning.strategy must be one of: {', '.join(LearningSpec.STRATEGIES)}")
        if not 0.0 < spec.around < 1.0:
            self.error(node, "learning.around must lie strictly between 0 and 1")
        if not 0.0 < spec.max_language_share <= 1.0:
            self.error(node, "learning.max_language_share must lie in (0, 1]")
        return spec

    def condition(self, node: Node) -> Condition | None:
        line = node.start_mark.line + 1
        fields = self.mapping(node, "condition")
        if fields is None:
            return None
        groups = [k for k in ("all", "any", "not") if k in fields]
        leaves = [k for k in LEAVES if k in fields]
        if len(groups) + len(leaves) != 1:
            self.error(node, "a condition needs exactly one of: all, any, not, signal, label, reporter")
            return None
        if groups:
            op = groups[0]
            _, child = fields[op]
            if op == "not":
                inner = self.condition(child)
                return Condition("not", (inner,), line=line) if inner else None
            if not isinstance(child, SequenceNode) or not child.value:
                self.error(child, f"{op!r} needs a non-empty list of conditions")
                return None
            children = [self.condition(c) for c in child.value]
            if any(c is None for c in children):
                return None
            return Condition(op, tuple(c for c in children if c is not None), line=line)
        leaf = leaves[0]
        key, value = fields[leaf]
        name = self.scalar(value, leaf)
        if leaf in ("label", "reporter"):
            extra = set(fields) - {leaf}
            for k in extra:
                self.error(fields[k][0], f"unexpected key {k!r} in a {leaf} condition")
            return Condition(leaf, value=name, line=line) if name else None
        comps = [k for k in fields if k != "signal"]
        if len(comps) != 1 or comps[0] not in COMPARATORS:
            self.error(key, f"signal {name!r} needs exactly one comparison: {', '.join(COMPARATORS)}")
            return None
        threshold = self.number(fields[comps[0]][1], f"threshold of {name!r}")
        if threshold is None or name is None:
            return None
        return Condition("signal", signal=name, cmp=comps[0], value=threshold, line=line)

    def effect(self, node: Node) -> Effect | None:
        if isinstance(node, ScalarNode):
            kind = self.enum(node, EffectKind, "effect")
            if kind in (EffectKind.REVIEW, EffectKind.LABEL):
                self.error(node, f"effect {kind.value!r} needs a value (e.g. '{kind.value}: NAME')")
                return None
            return Effect(kind) if kind else None
        fields = self.mapping(node, "effect")
        if fields is None:
            return None
        if len(fields) != 1:
            self.error(node, "an effect is one name, or one 'name: parameters' pair")
            return None
        (name, (key, value)), = fields.items()
        kind = self.enum(key, EffectKind, "effect")
        if kind is None:
            return None
        if isinstance(value, ScalarNode):
            param_key = {"review": "queue", "label": "label", "escalate": "queue"}.get(kind.value, "value")
            return Effect(kind, {param_key: value.value})
        params = yamlio.safe_load(yaml.serialize(value))
        if not isinstance(params, dict):
            self.error(value, f"parameters of {name!r} must be a value or a mapping")
            return None
        if kind == EffectKind.REVIEW and "queue" not in params:
            self.error(value, "review effect needs a 'queue'")
            return None
        if "sample" in params:
            share = params["sample"]
            if kind != EffectKind.REVIEW:
                self.error(value, f"'sample' applies to review effects only, not {name!r}")
                return None
            if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
                self.error(value, f"review 'sample' must be a share in (0, 1], got {share!r}")
                return None
        return Effect(kind, params)

    def rule(self, node: Node, seen: set[str]) -> Rule | None:
        fields = self.mapping(node, "rule")
        if fields is None:
            return None
        allowed = {"id", "status", "subject", "when", "effects", "category", "description", "version",
                   "stands_in_for"}
        for k, (knode, _) in fields.items():
            if k not in allowed:
                self.error(knode, f"unknown rule key {k!r} (allowed: {', '.join(sorted(allowed))})")
        missing = [r for r in ("id", "when", "effects", "category") if r not in fields]
        for required in missing:
            self.error(node, f"rule is missing {required!r}")
        rule_id = self.scalar(fields["id"][1], "id") if "id" in fields else None
        if rule_id in seen:
            self.error(fields["id"][1], f"duplicate rule id {rule_id!r}")
        if rule_id:
            seen.add(rule_id)
        status = (self.enum(fields["status"][1], RuleStatus, "status") if "status" in fields
                  else RuleStatus.LIVE)
        subject = (self.enum(fields["subject"][1], Subject, "subject") if "subject" in fields
                   else Subject.POST)
        category = self.enum(fields["category"][1], ReasonCategory, "category") if "category" in fields else None
        when = self.condition(fields["when"][1]) if "when" in fields else None
        eff_node = fields["effects"][1] if "effects" in fields else None
        effects: list[Effect | None] = []
        if isinstance(eff_node, SequenceNode) and eff_node.value:
            effects = [self.effect(e) for e in eff_node.value]
        elif eff_node is not None:
            self.error(eff_node, "effects must be a non-empty list")
        description = self.scalar(fields["description"][1], "description") if "description" in fields else ""
        version = self.scalar(fields["version"][1], "version") if "version" in fields else "1"
        stands_in = self.scalar(fields["stands_in_for"][1], "stands_in_for") if "stands_in_for" in fields else None
        if missing or None in (rule_id, status, subject, category, when) or not effects or None in effects:
            return None
        assert rule_id is not None and when is not None and category is not None  # narrowed above, for mypy
        return Rule(id=rule_id, status=status, subject=subject, when=when,
                    effects=tuple(e for e in effects if e is not None), category=category,
                    description=description or "", version=version or "1", line=node.start_mark.line + 1,
                    stands_in_for=stands_in)


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Parse and validate policy text; raise :class:`PolicyError` listing every problem with its line."""
    check = _Checker(source)
    try:
        root = yaml.compose(text, Loader=yamlio.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise PolicyError([f"{source}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from exc
    if root is None:
        raise PolicyError([f"{source}:1: the policy file is empty"])
    top = check.mapping(root, "policy file")
    if top is None:
        raise PolicyError(check.problems)
    for k, (knode, _) in top.items():
        if k not in ("policy", "version", "rules", "description", "learning"):
            check.error(knode, f"unknown top-level key {k!r}")
    for required in ("policy", "version", "rules"):
        if required not in top:
            check.error(root, f"missing top-level key {required!r}")
    rules: list[Rule] = []
    if "rules" in top:
        rules_node = top["rules"][1]
        if not isinstance(rules_node, SequenceNode):
            check.error(rules_node, "rules must be a list")
        else:
            seen: set[str] = set()
            nodes: dict[str, Node] = {}
            for rnode in rules_node.value:
                rule = check.rule(rnode, seen)
                if rule is not None:
                    rules.append(rule)
                    nodes[rule.id] = rnode
            by_id = {r.id: r for r in rules}
            for rule in rules:
                other = by_id.get(rule.stands_in_for) if rule.stands_in_for else None
                if rule.stands_in_for and (other is None or other.status == RuleStatus.LIVE):
                    check.error(nodes[rule.id], f"rule {rule.id!r} stands in for {rule.stands_in_for!r}, which "
                                "is not a shadow or draft rule of this policy")
    name = check.scalar(top["policy"][1], "policy") if "policy" in top else None
    version = check.scalar(top["version"][1], "version") if "version" in top else None
    if check.problems or name is None or version is None:
        raise PolicyError(check.problems or [f"{source}:1: invalid policy"])
    learning = check.learning(top["learning"][1]) if "learning" in top else LearningSpec()
    if check.problems:
        raise PolicyError(check.problems)
    return Policy(name=name, version=version, rules=tuple(rules), source=source, learning=learning)


def load_policy(path: str | Path | None = None) -> Policy:
    """Load a policy file, or the default policy that ships with Bastion when ``path`` is None."""
    if path is None:
        text = resources.files("bastion.policy").joinpath("default.yaml").read_text(encoding="utf-8")
        return parse_policy(text, "default.yaml")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read policy {p}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise PolicyError([f"{p}:1: not UTF-8 text ({exc.reason})"]) from exc
    return parse_policy(text, str(p))
