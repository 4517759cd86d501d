"""Does the learning loop work? Replay a corpus through Bastion's pipeline, let a simulated reviewer answer the
jobs the system creates, retrain on those labels at each budget, and score the new model on held-out posts.

    python bench/learning_loop.py --stream FILE [--test FILE | --holdout 0.33] \\
        [--budgets 500,1000,2000,5000] [--strategy active|random|both] [--posts N] --json OUT [--md OUT]

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
* Reviewer workload: review jobs per 10,000 test posts with each model's threshold set at 80% propaganda
  recall (the same recall for every model), for the shipped and each new model (``fp_jobs``: those on posts
  that are not propaganda), and the jobs the pipeline created per 10,000 stream posts.

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
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from bastion.pipeline.build import build_pipeline, iter_inputs
from bastion.review import decide, queues
from bastion.settings import Settings
from bastion.store import schema as t
from bastion.text.corpus import Example, load_corpus
from bastion.text.evaluate import evaluate
from bastion.text.finetune import fine_tune, read_labels
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


def workload(test: list[Example], new_p: np.ndarray, recall: float = 0.8) -> dict[str, float]:
    """Review jobs per 10k test posts with the threshold set where the model catches ``recall`` of the
    propaganda (the same recall for every model, so only the jobs on other posts can change)."""
    pos = np.array([e.positive for e in test])
    ranked = np.sort(new_p[pos])[::-1]
    thr = float(ranked[max(1, int(np.ceil(recall * len(ranked)))) - 1])
    flagged = new_p >= thr
    return {"recall": round(recall, 4), "threshold": round(thr, 6),
            "jobs_per_10k": round(10000 * float(flagged.mean()), 1),
            "fp_jobs_per_10k": round(10000 * float((flagged & ~pos).mean()), 1)}


def eval_model(model: TextModel, test: list[Example]) -> tuple[dict[str, Any], np.ndarray]:
    texts = [e.text for e in test]
    proba, rep = model.score(texts)
    report = evaluate(test, model.decision(texts), rep, proba, worst=5)
    report["model"] = model.version
    return report, proba


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stream", type=Path, required=True)
    ap.add_argument("--test", type=Path)
    ap.add_argument("--holdout", type=float, default=None, help="split --stream account-disjointly instead")
    ap.add_argument("--budgets", default="500,1000,2000,5000")
    ap.add_argument("--strategy", choices=("active", "random", "both"), default="both")
    ap.add_argument("--posts", type=int, default=None, help="only the first N stream posts")
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
    classes = {e.id: e.label for e in load_corpus(stream)}
    base = TextModel.load("default")
    base_eval, base_p = eval_model(base, test)
    out: dict[str, Any] = {"stream": str(args.stream), "stream_posts": len(classes), "test_posts": len(test),
                           "baseline": base_eval, "runs": []}
    out["review_jobs_per_10k_baseline"] = workload(test, base_p)["jobs_per_10k"]
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
            report, new_p = eval_model(model, test)
            w = workload(test, new_p)
            run = {"strategy": strategy, "budget": budget, "labels": len(labels.examples),
                   "label_classes": dict(labels.sources), "review_jobs_per_10k": w["jobs_per_10k"],
                   "workload": w, "train_seconds": train_s, "eval": report,
                   "validation": model.meta["card"]["validation"], **run_info}
            out["runs"].append(run)
            print(f"{strategy} {budget}: {len(labels.examples)} labels, AUC vs about_isis "
                  f"{report['auc']['vs'].get('about_isis')}, FPR@0.8 about_isis "
                  f"{report['fpr_at_recall'].get('0.8', {}).get('about_isis')} news "
                  f"{report['fpr_at_recall'].get('0.8', {}).get('news_terror')}, jobs/10k {w['jobs_per_10k']} "
                  f"({train_s}s)", file=sys.stderr)
        engine.dispose()
    out["baseline_workload"] = workload(test, base_p)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.md:
        args.md.write_text(markdown(out), encoding="utf-8")
    return 0


def markdown(out: dict[str, Any]) -> str:
    b = out["baseline"]
    lines = ["# Learning loop", "", f"- stream: {out['stream']} ({out['stream_posts']} posts), test: "
             f"{out['test_posts']} posts (account-disjoint)", "",
             "| strategy | budget | labels | AUC vs about_isis | FPR@0.8 about_isis | FPR@0.8 news | jobs/10k | "
             "FP jobs/10k |", "|---|---:|---:|---:|---:|---:|---:|---:|",
             f"| shipped | 0 | 0 | {b['auc']['vs'].get('about_isis')} | "
             f"{b['fpr_at_recall']['0.8'].get('about_isis')} | {b['fpr_at_recall']['0.8'].get('news_terror')} | "
             f"{out['baseline_workload']['jobs_per_10k']} | {out['baseline_workload']['fp_jobs_per_10k']} |"]
    for r in out["runs"]:
        e = r["eval"]
        lines.append(f"| {r['strategy']} | {r['budget']} | {r['labels']} | {e['auc']['vs'].get('about_isis')} | "
                     f"{e['fpr_at_recall']['0.8'].get('about_isis')} | {e['fpr_at_recall']['0.8'].get('news_terror')}"
                     f" | {r['workload']['jobs_per_10k']} | {r['workload']['fp_jobs_per_10k']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
