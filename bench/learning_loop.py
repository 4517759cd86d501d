"""Does the learning loop work? Replay a corpus through Bastion's pipeline, let a simulated reviewer answer the
jobs the system creates, retrain on those labels at each budget, and score the new model on held-out posts.

    python bench/learning_loop.py --stream FILE [--test FILE | --holdout 0.33] \\
        [--budgets 500,1000,2000,5000] [--strategy active|random|both] [--posts N] \\
        [--earn-labels 400] [--earn-share 0.1] [--earn-precision 0.99] [--qa-sample 0.05] --json OUT [--md OUT]

* The stream goes through ``bastion scan``'s own pipeline (detectors ``lexicon,propaganda``, the default
  policy plus a ``learning`` section) into a fresh SQLite store, with the shipped model.
* ``active``: the reviewer answers half of each budget from the ``learning`` queue the active sampler filled
  (posts nearest the 0.95 removal threshold, spread over languages and near-duplicate clusters; a learning job
  settles the policy job of the same post) and the other half from the policy's propaganda review queues, in
  the order a reviewer gets them.
* ``random``: the ``learning`` queue is filled with a uniform sample (``strategy: random``) and the reviewer
  answers only from it: the control.
* The simulated reviewer answers from each post's corpus class through the review service itself
  (``pro_isis`` upheld, ``news_terror`` journalism, ``counter_speech`` counter-speech, anything else
  overturned), so labels reach the label store exactly as a person's would.
* At each budget the shipped model is fine-tuned on the store's labels (``bastion train text --labels``) and
  evaluated on the test posts (the fields of ``bastion eval text --json``).
* Automatic removal is earned in shadow, as an operator would let a model earn it: people label a uniform
  sample (``--earn-labels``, 400) of the stream posts the model ranks in its top ``--earn-share`` (10%) with
  reporting < 0.5, and the removal rule goes live down to the lowest score at which that sample's precision
  holds ``--earn-precision`` (0.99) over at least 100 posts; nowhere if it never does. Quality review then
  takes a ``--qa-sample`` (5%) of removals (a review effect's ``sample``). The shipped model gets the same
  trial. In a deployment the sample is a live rule with ``review: {queue: ..., sample: ...}`` and
  ``bastion models compare --queue ...`` reads the threshold its labels earn.
* Reviewer workload: review jobs per 10,000 test posts under those rules (:func:`operator_policy`, run
  through the policy engine), with each model's review threshold set at 80% propaganda recall (the same
  recall for every model; removal never starts below it). ``flagged``: the jobs if people saw every flagged
  post; ``fp``: those on posts that are not propaganda; and the jobs the pipeline created per 10,000 stream
  posts.

With ``--holdout`` the stream file is split account-disjointly (pro-IS accounts whole on one side) and the
held-out part is the test set.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import yaml

from bastion.pipeline.build import build_pipeline, iter_inputs
from bastion.policy.engine import PolicyEngine
from bastion.policy.loader import parse_policy
from bastion.policy.model import Policy, Subject
from bastion.review import decide, queues
from bastion.settings import Settings
from bastion.signals import Signal
from bastion.store import schema as t
from bastion.text.corpus import Example, load_corpus
from bastion.text.evaluate import evaluate
from bastion.text.finetune import earned_threshold, fine_tune, read_labels
from bastion.text.model import TextModel

POLICY_QUEUES = ("propaganda", "propaganda-qa")
OUTCOME = {"pro_isis": "uphold", "news_terror": "journalism", "counter_speech": "counter_speech"}


def split(path: Path, holdout: float, out_dir: Path) -> tuple[Path, Path]:
    """Account-disjoint split of a corpus file: (stream, test)."""
    stream, test = out_dir / "stream.jsonl", out_dir / "test.jsonl"
    with path.open("rb") as src, stream.open("wb") as s, test.open("wb") as te:
        for line in src:
            if not line.strip():
                continue
            obj = orjson.loads(line)
            meta = obj.get("meta") or {}
            group = (f"acct:{meta['account']}" if obj.get("class") == "pro_isis" and meta.get("account")
                     else f"id:{obj.get('id')}")
            bucket = int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
            (te if bucket < holdout else s).write(line if line.endswith(b"\n") else line + b"\n")
    return stream, test


def take(path: Path, n: int | None, out_dir: Path) -> Path:
    if n is None:
        return path
    out = out_dir / "stream-head.jsonl"
    with path.open("rb") as src, out.open("wb") as dst:
        for i, line in enumerate(src):
            if i >= n:
                break
            dst.write(line)
    return out


def policy_file(out_dir: Path, budget: int, strategy: str) -> Path:
    text = resources.files("bastion.policy").joinpath("default.yaml").read_text(encoding="utf-8")
    p = out_dir / f"policy-{strategy}.yaml"
    p.write_text(text + f"\nlearning:\n  daily_budget: {budget}\n  strategy: {strategy}\n", encoding="utf-8")
    return p


def scan(stream: Path, db: Path, policy: Path) -> dict[str, Any]:
    settings = Settings(db_url=f"sqlite:///{db}", policy=str(policy), detectors="lexicon,propaganda", workers=1)
    pipeline, _ = build_pipeline(settings, bulk=True)
    t0 = time.perf_counter()
    stats = pipeline.run(iter_inputs([stream], "corpus"), inputs=[str(stream)])
    return {"posts": stats.posts, "seconds": round(time.perf_counter() - t0, 1), "engine": pipeline.store.engine}


def jobs(engine: Any, queue_names: tuple[str, ...]) -> list[tuple[str, str]]:
    J = t.review_jobs
    from sqlalchemy import select

    with engine.connect() as conn:
        rows = conn.execute(select(J.c.id, J.c.subject_id).where(J.c.queue.in_(queue_names), J.c.state == "open")
                            .order_by(J.c.priority, J.c.created_at, J.c.id)).all()
    return [(r.id, r.subject_id) for r in rows]


def answer(engine: Any, todo: list[tuple[str, str]], classes: dict[str, str]) -> int:
    now = datetime.now(UTC)
    n = 0
    for job_id, post_id in todo:
        job = queues.lease(engine, job_id, "reviewer:sim", now)
        decide.decide(engine, job.id, "reviewer:sim", OUTCOME.get(classes.get(post_id, ""), "overturn"), now)
        n += 1
    return n


@dataclass(frozen=True)
class Earning:
    """How a model's automatic removal is earned in shadow: a uniform sample of the stream posts its removal
    rule could take (the ``share`` of the stream the model ranks highest, reporting < 0.5) goes to people;
    the removal goes live down to the lowest threshold at which the sample's precision holds ``precision``
    (over at least ``least`` sampled posts), and quality review then takes ``qa_sample`` of its removals.
    The candidates are a share, not a probability floor: a model calibrated on reviewers' labels (which
    are mostly hard cases) puts platform posts at other probabilities than the shipped one."""

    labels: int = 400
    share: float = 0.1
    precision: float = 0.99
    least: int = 100
    qa_sample: float = 0.05
    seed: int = 0
    walk: bool = True  # precision holds at every threshold above too (False: only over the whole removal)


def earn_removal(model: TextModel, stream: list[Example], earning: Earning) -> dict[str, Any]:
    """The removal threshold ``model`` earns in shadow on the stream (see :class:`Earning`); the simulated
    reviewer labels the sample from each post's corpus class."""
    p, rep = model.score([e.text for e in stream])
    floor = float(np.quantile(p, 1 - earning.share))
    candidates = np.flatnonzero((p >= floor) & (rep < 0.5))
    rng = np.random.default_rng(earning.seed)
    pick = rng.choice(candidates, size=min(earning.labels, len(candidates)), replace=False)
    y = np.array([stream[i].positive for i in pick], dtype=bool)
    got = earned_threshold(y, p[pick], earning.precision, earning.least, walk=earning.walk)
    return {"floor": round(floor, 6), "candidates": len(candidates), "labels": len(pick), **got}


def operator_policy(review_at: float, remove_at: float | None, qa_sample: float) -> Policy:
    """The default policy's propaganda rules as an operator runs them with this model: review from
    ``review_at``; removal (reporting aside) live from ``remove_at`` where the model earned it, quality review
    on a ``qa_sample`` of removals; without an earned threshold, everything flagged goes to people."""
    cat = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    review: dict[str, Any] = {"id": "propaganda-review", "category": cat,
                              "when": {"signal": "propaganda", "gte": review_at},
                              "effects": [{"review": "propaganda"}]}
    rules = [review]
    if remove_at is not None:
        rules.insert(0, {"id": "propaganda-remove", "category": cat,
                         "when": {"all": [{"signal": "propaganda", "gte": remove_at},
                                          {"signal": "reporting", "lt": 0.5}]},
                         "effects": ["remove_post", {"review": {"queue": "propaganda-qa", "sample": qa_sample}}]})
        review["when"] = {"any": [
            {"all": [{"signal": "propaganda", "gte": review_at}, {"signal": "propaganda", "lt": remove_at}]},
            {"all": [{"signal": "propaganda", "gte": remove_at}, {"signal": "reporting", "gte": 0.5}]}]}
    text = yaml.safe_dump({"policy": "operator", "version": "loop", "rules": rules}, sort_keys=False)
    return parse_policy(text, "<operator>")


def workload(test: list[Example], p: np.ndarray, rep: np.ndarray, earned: dict[str, Any] | None,
             qa_sample: float, recall: float = 0.8) -> dict[str, Any]:
    """Review jobs per 10k test posts under :func:`operator_policy`, with the review threshold set where the
    model catches ``recall`` of the propaganda (the same recall for every model). The removal threshold is the
    one the model earned in shadow, or none; it is never below the review threshold, so recall stays put.
    ``flagged_per_10k``: the jobs if people saw every flagged post (no removal earned)."""
    pos = np.array([e.positive for e in test])
    ranked = np.sort(p[pos])[::-1]
    thr = float(ranked[max(1, int(np.ceil(recall * len(ranked)))) - 1])
    remove_at = None if not earned or earned.get("threshold") is None else max(float(earned["threshold"]), thr)
    engine = PolicyEngine(operator_policy(thr, remove_at, qa_sample))
    reviewed = np.zeros(len(test), dtype=bool)
    removed = np.zeros(len(test), dtype=bool)
    for i, e in enumerate(test):
        signals = {"propaganda": Signal("propaganda", float(p[i]), "text", "loop"),
                   "reporting": Signal("reporting", float(rep[i]), "text", "loop")}
        acts = engine.actions(Subject.POST, signals, e.id)
        reviewed[i] = any(a.action == "review" for a in acts)
        removed[i] = any(a.action == "remove_post" for a in acts)
    flagged = p >= thr
    per = 10000 / len(test)
    return {"recall": round(recall, 4), "threshold": round(thr, 6),
            "remove_at": None if remove_at is None else round(remove_at, 6),
            "jobs_per_10k": round(per * float(reviewed.sum()), 1),
            "fp_jobs_per_10k": round(per * float((reviewed & ~pos).sum()), 1),
            "removed_per_10k": round(per * float(removed.sum()), 1),
            "removed_precision": round(float((removed & pos).sum() / removed.sum()), 4) if removed.any() else None,
            "removed_not_propaganda": dict(Counter(e.label for e, r in zip(test, removed, strict=True)
                                                   if r and not e.positive)),
            "flagged_per_10k": round(per * float(flagged.sum()), 1),
            "fp_flagged_per_10k": round(per * float((flagged & ~pos).sum()), 1)}


def eval_model(model: TextModel, test: list[Example]) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    texts = [e.text for e in test]
    proba, rep = model.score(texts)
    report = evaluate(test, model.decision(texts), rep, proba, worst=5)
    report["model"] = model.version
    return report, proba, rep


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stream", type=Path, required=True)
    ap.add_argument("--test", type=Path)
    ap.add_argument("--holdout", type=float, default=None, help="split --stream account-disjointly instead")
    ap.add_argument("--budgets", default="500,1000,2000,5000")
    ap.add_argument("--strategy", choices=("active", "random", "both"), default="both")
    ap.add_argument("--posts", type=int, default=None, help="only the first N stream posts")
    ap.add_argument("--earn-labels", type=int, default=Earning.labels,
                    help="posts people label in shadow for each model's removal threshold (0: no removal)")
    ap.add_argument("--earn-share", type=float, default=Earning.share,
                    help="the share of the stream a model ranks highest, from which the shadow sample is drawn")
    ap.add_argument("--earn-precision", type=float, default=Earning.precision)
    ap.add_argument("--earn-seed", type=int, default=Earning.seed, help="seed of the shadow sample")
    ap.add_argument("--earn-no-walk", action="store_true",
                    help="earn removal where the whole removal holds the bar, forgiving a dip above it")
    ap.add_argument("--qa-sample", type=float, default=Earning.qa_sample,
                    help="share of automatic removals that quality review takes")
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--md", type=Path)
    args = ap.parse_args(argv)
    budgets = sorted(int(b) for b in args.budgets.split(","))
    work = Path(tempfile.mkdtemp(prefix="bastion-loop-"))
    if args.test is None and args.holdout is None:
        ap.error("give --test FILE or --holdout FRACTION")
    stream, test_path = (args.stream, args.test) if args.test else split(args.stream, args.holdout, work)
    stream = take(stream, args.posts, work)
    test = load_corpus(test_path)
    stream_examples = load_corpus(stream)
    classes = {e.id: e.label for e in stream_examples}
    earning = Earning(labels=args.earn_labels, share=args.earn_share, precision=args.earn_precision,
                      qa_sample=args.qa_sample, seed=args.earn_seed, walk=not args.earn_no_walk)

    def earn(model: TextModel) -> dict[str, Any] | None:
        return earn_removal(model, stream_examples, earning) if earning.labels > 0 else None

    base = TextModel.load("default")
    base_eval, base_p, base_rep = eval_model(base, test)
    base_earned = earn(base)
    base_work = workload(test, base_p, base_rep, base_earned, earning.qa_sample)
    out: dict[str, Any] = {"stream": str(args.stream), "stream_posts": len(classes), "test_posts": len(test),
                           "earning": asdict(earning), "baseline": base_eval,
                           "baseline_earned": base_earned, "runs": []}
    out["review_jobs_per_10k_baseline"] = base_work["jobs_per_10k"]
    strategies = ["active", "random"] if args.strategy == "both" else [args.strategy]
    for strategy in strategies:
        sampler = "uncertainty" if strategy == "active" else "random"
        learn_budget = budgets[-1] // 2 if strategy == "active" else budgets[-1]
        db = work / f"{strategy}.db"
        info = scan(stream, db, policy_file(work, learn_budget, sampler))
        engine = info.pop("engine")
        policy_jobs, learning_jobs = jobs(engine, POLICY_QUEUES), jobs(engine, ("learning",))
        run_info = {"strategy": strategy, "scan": info, "policy_jobs": len(policy_jobs),
                    "learning_jobs": len(learning_jobs),
                    "pipeline_review_jobs_per_10k": round(10000 * len(policy_jobs) / max(1, info["posts"]), 1)}
        print(json.dumps(run_info), file=sys.stderr)
        done_l = done_p = 0
        for budget in budgets:
            want_l = min(budget // 2, len(learning_jobs)) if strategy == "active" else min(budget, len(learning_jobs))
            done_l += answer(engine, jobs(engine, ("learning",))[:want_l - done_l], classes)
            if strategy == "active":  # the rest of the budget from the policy queues, in the order people get them
                want_p = budget - done_l
                done_p += answer(engine, jobs(engine, POLICY_QUEUES)[:want_p - done_p], classes)
            t0 = time.perf_counter()
            labels = read_labels(str(db))
            model = fine_tune(base, labels, version=f"loop-{strategy}-{budget}")
            train_s = round(time.perf_counter() - t0, 1)
            report, new_p, new_rep = eval_model(model, test)
            earned = earn(model)
            w = workload(test, new_p, new_rep, earned, earning.qa_sample)
            run = {"strategy": strategy, "budget": budget, "labels": len(labels.examples),
                   "label_classes": dict(labels.sources), "review_jobs_per_10k": w["jobs_per_10k"],
                   "workload": w, "earned": earned, "train_seconds": train_s, "eval": report,
                   "validation": model.meta["card"]["validation"], **run_info}
            out["runs"].append(run)
            print(f"{strategy} {budget}: {len(labels.examples)} labels, AUC vs about_isis "
                  f"{report['auc']['vs'].get('about_isis')}, FPR@0.8 about_isis "
                  f"{report['fpr_at_recall'].get('0.8', {}).get('about_isis')} news "
                  f"{report['fpr_at_recall'].get('0.8', {}).get('news_terror')}, jobs/10k {w['jobs_per_10k']} "
                  f"({train_s}s)", file=sys.stderr)
        engine.dispose()
    out["baseline_workload"] = base_work
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.md:
        args.md.write_text(markdown(out), encoding="utf-8")
    return 0


def markdown(out: dict[str, Any]) -> str:
    b, e = out["baseline"], out["earning"]

    def row(strategy: str, budget: int, labels: int, ev: dict[str, Any], w: dict[str, Any]) -> str:
        at = ev["fpr_at_recall"]["0.8"]
        cells = [strategy, budget, labels, ev["auc"]["vs"].get("about_isis"), at.get("about_isis"),
                 at.get("news_terror"), w["flagged_per_10k"], w["fp_flagged_per_10k"], w.get("remove_at"),
                 w.get("removed_per_10k"), w.get("removed_precision"), w["jobs_per_10k"]]
        return "| " + " | ".join(str(c) for c in cells) + " |"

    lines = ["# Learning loop", "", f"- stream: {out['stream']} ({out['stream_posts']} posts), test: "
             f"{out['test_posts']} posts (account-disjoint)",
             f"- removal earned in shadow: {e['labels']} labels per model from the stream posts its removal rule "
             f"could take (its top {e['share']:.0%}); live where that sample's precision holds {e['precision']} "
             f"(over at least {e['least']}); quality review on {e['qa_sample']} of removals", "",
             "| strategy | budget | labels | AUC vs about_isis | FPR@0.8 about_isis | FPR@0.8 news | flagged/10k | "
             "FP flagged/10k | removal from | removed/10k | removed precision | review jobs/10k |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
             row("shipped", 0, 0, b, out["baseline_workload"])]
    lines += [row(r["strategy"], r["budget"], r["labels"], r["eval"], r["workload"]) for r in out["runs"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
