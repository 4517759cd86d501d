"""Evaluation report of the text model: ranking quality per negative class, operating points, errors.

Why per class: a single overall AUC is dominated by the many ordinary tweets that any model separates; what
matters for a platform is how often journalism, counter-speech, religious text and talk about the same war
are mistaken for propaganda. So the report gives ROC-AUC of ``pro_isis`` against each class, and each class's
false-positive rate at the thresholds that catch 50 / 80 / 90 % of ``pro_isis``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bastion.text.corpus import POSITIVE, Example
from bastion.text.train import REPORTING_CLASSES

__all__ = ["RECALLS", "evaluate", "markdown"]

RECALLS = (0.5, 0.8, 0.9)
REMOVE_AT = 0.95  # the default policy's propaganda-remove threshold (a shadow rule)
REVIEW_AT = 0.6


def _auc(pos: npt.NDArray[np.float64], neg: npt.NDArray[np.float64]) -> float | None:
    if len(pos) == 0 or len(neg) == 0:
        return None
    from sklearn.metrics import roc_auc_score

    y = np.concatenate((np.ones(len(pos)), np.zeros(len(neg))))
    return round(float(roc_auc_score(y, np.concatenate((pos, neg)))), 5)


def _threshold(pos: npt.NDArray[np.float64], recall: float) -> float:
    """The highest threshold at which at least ``recall`` of the positives score >= it."""
    ranked = np.sort(pos)[::-1]
    k = max(1, math.ceil(recall * len(ranked)))
    return float(ranked[k - 1])


def _clip(text: str, n: int = 140) -> str:
    t = " ".join(text.split())
    return t if len(t) <= n else t[: n - 1] + "…"


def evaluate(examples: Sequence[Example], scores: npt.NDArray[np.float64],
             reporting: npt.NDArray[np.float64] | None = None,
             proba: npt.NDArray[np.float64] | None = None, *, worst: int = 20) -> dict[str, Any]:
    """Metrics over the examples with a finite score. ``scores`` rank (raw or calibrated); ``proba``, when
    given, is the calibrated probability used for the default policy's operating points."""
    keep = np.isfinite(scores)
    idx = np.flatnonzero(keep)
    labels = np.array([examples[int(i)].label for i in idx]).astype(str)
    s = scores[idx]
    is_pos = labels == POSITIVE
    pos = s[is_pos]
    classes = sorted({str(c) for c in labels} - {POSITIVE})
    report: dict[str, Any] = {"n": dict(sorted(Counter(labels.tolist()).items()))}
    report["auc"] = {"overall": _auc(pos, s[~is_pos]),
                     "vs": {c: _auc(pos, s[labels == c]) for c in classes}}
    fpr: dict[str, dict[str, float]] = {}
    thresholds: dict[str, float] = {}
    for r in RECALLS:
        if len(pos) == 0:
            break
        thr = _threshold(pos, r)
        thresholds[str(r)] = round(thr, 6)
        fpr[str(r)] = {c: round(float(np.mean(s[labels == c] >= thr)), 6) for c in classes}
        fpr[str(r)]["all_negatives"] = round(float(np.mean(s[~is_pos] >= thr)), 6)
    report["fpr_at_recall"] = fpr
    report["thresholds"] = thresholds

    if reporting is not None:
        rep = reporting[idx]
        ok = np.isfinite(rep)
        topical = np.isin(labels, sorted(REPORTING_CLASSES)) & ok
        report["reporting"] = {
            "auc_reporting_vs_pro_isis": _auc(rep[topical], rep[is_pos & ok]),
            "share_ge_0.5": {c: round(float(np.mean(rep[(labels == c) & ok] >= 0.5)), 6)
                             for c in sorted(set(labels)) if ((labels == c) & ok).any()},
        }
    if proba is not None:
        p = proba[idx]
        rep_v = reporting[idx] if reporting is not None else np.zeros(len(idx))
        remove = (p >= REMOVE_AT) & (rep_v < 0.5)
        review = ((p >= REVIEW_AT) & ~remove)
        report["policy"] = {
            "remove_rate": {c: round(float(np.mean(remove[labels == c])), 6) for c in sorted(set(labels))},
            "review_rate": {c: round(float(np.mean(review[labels == c])), 6) for c in sorted(set(labels))},
            "note": f"remove: propaganda >= {REMOVE_AT} and reporting < 0.5; review: propaganda >= {REVIEW_AT}"
                    " otherwise (the default policy's content rules; its propaganda-remove runs in shadow, so"
                    " remove_rate is what that rule would remove if a deployment made it live)",
        }

    order = np.argsort(-s)
    fps = [int(idx[j]) for j in order if not is_pos[j]][:worst]
    misses = [int(idx[j]) for j in order[::-1] if is_pos[j]][:worst]

    def row(i: int) -> dict[str, Any]:
        e = examples[i]
        return {"id": e.id, "class": e.label, "dataset": e.dataset, "score": round(float(scores[i]), 4),
                "text": _clip(e.text)}

    report["worst_false_positives"] = [row(i) for i in fps]
    report["worst_misses"] = [row(i) for i in misses]
    return report


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def markdown(report: dict[str, Any], title: str = "Text model evaluation") -> str:
    lines = [f"# {title}", ""]
    for key in ("model", "mode", "data", "posts_per_s", "posts_per_cpu_s", "load_s"):
        if key in report:
            lines.append(f"- **{key}**: {_fmt(report[key])}")
    lines += ["", f"ROC-AUC overall: **{_fmt(report['auc']['overall'])}**", "",
              "| class | n | AUC pro_isis vs class | " + " | ".join(f"FPR @ recall {r}" for r in RECALLS) + " |",
              "|---|---:|---:|" + "---:|" * len(RECALLS)]
    for c, auc in report["auc"]["vs"].items():
        fprs = [_fmt(report["fpr_at_recall"].get(str(r), {}).get(c)) for r in RECALLS]
        lines.append(f"| {c} | {report['n'].get(c, 0)} | {_fmt(auc)} | " + " | ".join(fprs) + " |")
    lines.append(f"| pro_isis | {report['n'].get(POSITIVE, 0)} | | | | |")
    if "reporting" in report:
        r = report["reporting"]
        lines += ["", "## True purpose (reporting signal)", "",
                  f"ROC-AUC reporting/condemning/counter-speech vs pro_isis: "
                  f"**{_fmt(r['auc_reporting_vs_pro_isis'])}**", "",
                  "| class | share with reporting >= 0.5 |", "|---|---:|"]
        lines += [f"| {c} | {_fmt(v)} |" for c, v in r["share_ge_0.5"].items()]
    if "policy" in report:
        pol = report["policy"]
        lines += ["", "## Default policy outcome", "", pol["note"], "", "| class | remove | review |",
                  "|---|---:|---:|"]
        lines += [f"| {c} | {_fmt(v)} | {_fmt(pol['review_rate'][c])} |" for c, v in pol["remove_rate"].items()]
    for key, head in (("worst_false_positives", "Worst false positives"), ("worst_misses", "Worst misses")):
        lines += ["", f"## {head}", "", "| score | class | dataset | text |", "|---:|---|---|---|"]
        for row in report[key]:
            text = row["text"].replace("|", "\\|")
            lines.append(f"| {row['score']:.3f} | {row['class']} | {row['dataset']} | {text} |")
    return "\n".join(lines) + "\n"
