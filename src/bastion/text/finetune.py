"""Retraining the text model on the operator's own labels (issue #18): people's decisions move the shipped
model towards the hard cases a platform's users write.

Why a prior on the current weights instead of a fit from scratch: a few hundred labels are far too few to
learn a vocabulary, but they are exactly the cases the current model gets wrong (what the policy sent to
review). So each head is refitted on the labels (plus any corpora given) with an L2 penalty that pulls
towards the *current* weights rather than towards zero, and the optimiser starts there: with no labels the
model is unchanged, and every label moves it only as far as the data asks. The strength of the pull is chosen
by account-disjoint validation on the labels themselves (the author's keyed ``group``: one account's posts
never sit on both sides), from a small grid.

Labels people give map to the model's classes (:data:`LABEL_CLASSES`): ``violating`` is the positive class;
``journalism`` and ``counter_speech`` are reporting classes; ``not_violating`` on a post the policy found
propaganda-like is talk about the same subject that does not endorse it, so it also teaches the true-purpose
(reporting) head. Imported labels keep their corpus class.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from scipy import optimize, sparse

from bastion.errors import InputError
from bastion.text.corpus import POSITIVE, Example, json_records
from bastion.text.evaluate import REMOVE_AT, REVIEW_AT
from bastion.text.model import Head, TextModel
from bastion.text.train import REPORTING_CLASSES, class_weights, featurize

__all__ = ["LABEL_CLASSES", "TEXT_QUEUES", "FineTuneParams", "LabelSet", "earned_threshold", "fine_tune",
           "label_examples", "read_labels"]

log = logging.getLogger(__name__)

#: People's labels as the model's classes.
LABEL_CLASSES = {"violating": POSITIVE, "not_violating": "not_violating", "journalism": "news_terror",
                 "counter_speech": "counter_speech"}
#: Classes the true-purpose head reads as "about the subject, not endorsing it".
TOPICAL_NEGATIVE = REPORTING_CLASSES | {"not_violating"}
#: Queues whose decisions are about propaganda in text (a decision in the security or accounts queue says
#: nothing about it). ``None`` in a row means an imported label.
TEXT_QUEUES = ("propaganda", "propaganda-qa", "propaganda-audit", "learning")

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class FineTuneParams:
    priors: tuple[float, ...] = (1e-3, 1e-4, 1e-5, 1e-6)  # strengths of the pull to the current weights, tried
    folds: int = 3
    tolerance: float = 0.002  # validation AUC within which the stronger pull is preferred
    max_iter: int = 200
    data_weight: float = 1.0  # total weight of --data examples relative to the labels' (labels total 1)
    seed: int = 0
    earn_precision: float = 0.99  # validation precision a score must hold to earn automatic removal ...
    earn_min: int = 100  # ... over at least this many labelled posts flagged


@dataclass(slots=True)
class LabelSet:
    """Labelled examples with where they came from (for the model card)."""

    examples: list[Example]
    sources: Counter[str] = field(default_factory=Counter)
    digest: str = ""
    origin: str = ""
    skipped: int = 0


def label_examples(rows: Iterable[dict[str, Any]], queues: Sequence[str] | None = TEXT_QUEUES,
                   origin: str = "") -> LabelSet:
    """Turn label rows (``bastion labels export`` objects) into training examples; rows from other queues and
    labels with no class here are skipped and counted."""
    out: list[Example] = []
    sources: Counter[str] = Counter()
    h = hashlib.sha256()
    skipped = 0
    for r in rows:
        src = str(r.get("source") or "import")
        label = str(r.get("label") or r.get("class") or "")
        queue = r.get("queue")
        if src != "import":
            if (queues is not None and queue not in queues) or label not in LABEL_CLASSES:
                skipped += 1
                continue
            label = LABEL_CLASSES[label]
        text = r.get("text")
        if not isinstance(text, str) or not text or not label:
            skipped += 1
            continue
        pid = str(r.get("id"))
        group = r.get("group")
        out.append(Example(pid, str(r.get("dataset") or f"labels:{src}"), label, text,
                           f"grp:{group}" if group else f"id:{pid}"))
        sources[f"{src}:{label}"] += 1
        h.update(orjson.dumps([pid, label, text]))
    return LabelSet(out, sources, h.hexdigest(), origin, skipped)


def read_labels(where: str, queues: Sequence[str] | None = TEXT_QUEUES) -> LabelSet:
    """Labels from a store (a database URL, or a SQLite file ending in .db) or a JSONL file of
    ``bastion labels export`` (or corpus) records."""
    p = Path(where)
    if "://" in where or p.suffix in (".db", ".sqlite", ".sqlite3"):
        from bastion.review.labels import iter_labels
        from bastion.store.db import open_engine

        engine = open_engine(where)  # a bare path is a SQLite file
        try:
            return label_examples(list(iter_labels(engine)), queues, origin="store")
        finally:
            engine.dispose()
    if not p.is_file():
        raise InputError(f"no labels at {where}: give a database URL, a .db file or a JSONL file")
    return label_examples([r for _, r in json_records(p, "labels")], queues, origin=str(p))


def _fit_prior(x: sparse.csr_matrix, y: npt.NDArray[np.bool_], w: npt.NDArray[np.float64], base: Head,
               prior: float, max_iter: int) -> Head:
    """Weighted logistic regression with ``prior/2 * ||theta - theta_base||^2``, started at the base head.

    Only the columns that occur in ``x`` can move (every other weight's gradient is zero at the start and
    stays so), so the fit runs over those alone: tens of thousands of columns instead of millions."""
    cols = np.unique(x.indices)
    xs = x[:, cols].astype(np.float32)
    ys = np.where(y, 1.0, -1.0)
    xt = xs.T.tocsr()
    total = float(w.sum())
    theta0 = np.append(base.weights[cols].astype(np.float64), base.bias)

    def loss_grad(theta: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        coef, b = theta[:-1], theta[-1]
        margin = ys * ((xs @ coef.astype(np.float32)).astype(np.float64) + b)
        d = theta - theta0
        loss = float(np.sum(w * np.logaddexp(0.0, -margin)) / total + 0.5 * prior * d @ d)
        g = -w * ys * 0.5 * (1.0 - np.tanh(margin / 2.0)) / total
        grad = prior * d
        grad[:-1] += (xt @ g.astype(np.float32)).astype(np.float64)
        grad[-1] += g.sum()
        return loss, grad

    res = optimize.minimize(loss_grad, theta0.copy(), jac=True, method="L-BFGS-B",
                            options={"maxiter": max_iter})
    weights = base.weights.astype(np.float32, copy=True)
    weights[cols] = res.x[:-1].astype(np.float32)
    return Head(weights, float(res.x[-1]), base.platt_a, base.platt_c)


def _weights(examples: Sequence[Example], n_labels: int, data_weight: float) -> npt.NDArray[np.float64]:
    """Classes balanced within the labels and within the corpora; the corpora weigh ``data_weight`` times
    the labels in total."""
    w = np.zeros(len(examples))
    lab = np.arange(len(examples)) < n_labels
    for part, total in ((lab, 1.0), (~lab, data_weight)):
        if part.any():
            cw = class_weights([examples[int(i)].label for i in np.flatnonzero(part)], 1.0)
            w[part] = cw / cw.sum() * total
    return w * len(examples)


def _heads(x: sparse.csr_matrix, examples: Sequence[Example], w: npt.NDArray[np.float64], base: TextModel,
           prior: float, max_iter: int) -> tuple[Head, Head | None]:
    y = np.array([e.positive for e in examples])
    prop = _fit_prior(x, y, w, base.propaganda, prior, max_iter)  # one class alone still moves it
    rep = base.reporting
    topical = np.array([e.positive or e.label in TOPICAL_NEGATIVE for e in examples])
    if rep is not None and topical.any():
        rep = _fit_prior(x[topical], ~y[topical], w[topical], rep, prior, max_iter)
    return prop, rep


def _folds(examples: Sequence[Example], k: int, seed: int) -> list[tuple[npt.NDArray[np.intp],
                                                                         npt.NDArray[np.intp]]]:
    from sklearn.model_selection import StratifiedGroupKFold

    labels = np.array([e.positive for e in examples])
    groups = np.array([e.group for e in examples])
    k = min(k, int(labels.sum()), int((~labels).sum()), len(set(groups.tolist())))
    if k < 2:
        return []
    return list(StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
                .split(np.zeros(len(examples)), labels, groups))


def _auc(y: npt.NDArray[np.bool_], s: npt.NDArray[np.float64]) -> float | None:
    if not y.any() or y.all():
        return None
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(y, s)), 5)


def _at(y: npt.NDArray[np.bool_], p: npt.NDArray[np.float64], thr: float) -> dict[str, float | None]:
    flagged = p >= thr
    tp = int((flagged & y).sum())
    return {"precision": round(tp / int(flagged.sum()), 4) if flagged.any() else None,
            "recall": round(tp / int(y.sum()), 4) if y.any() else None, "flagged": int(flagged.sum())}


def earned_threshold(y: npt.NDArray[np.bool_], p: npt.NDArray[np.float64], precision: float, least: int,
                     *, walk: bool = True) -> dict[str, float | None]:
    """The lowest score down to which precision on labelled posts never falls below ``precision`` once
    ``least`` posts are flagged: the removal threshold these labels support (``None``: none is earned).
    Walks down from the top score, so a dip and a recovery further down earns nothing below the dip;
    ``walk=False`` asks only that everything from the threshold up hold the bar (a dip above is forgiven)."""
    if not y.any():
        return {"threshold": None, "precision": None, "recall": None, "flagged": 0}
    order = np.argsort(-p, kind="stable")
    ps, tp = p[order], np.cumsum(y[order])
    last = np.r_[ps[1:] != ps[:-1], True]  # the last post of each run of equal scores: a threshold's edge
    flagged = np.arange(1, len(ps) + 1)
    prec = tp / flagged
    ok = last & (flagged >= least)
    bad = np.flatnonzero(ok & (prec < precision))
    stop = bad[0] if walk and len(bad) else len(ps)
    good = np.flatnonzero(ok & (prec >= precision) & (flagged - 1 < stop))
    if not len(good):
        return {"threshold": None, "precision": None, "recall": None, "flagged": 0}
    i = int(good[-1])
    return {"threshold": round(float(ps[i]), 6), "precision": round(float(prec[i]), 4),
            "recall": round(float(tp[i] / y.sum()), 4), "flagged": i + 1}


def _platt(decision: npt.NDArray[np.float64], y: npt.NDArray[np.bool_], w: npt.NDArray[np.float64]
           ) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e4, max_iter=1000).fit(decision.reshape(-1, 1), y, sample_weight=w)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def fine_tune(base: TextModel, labels: LabelSet, data: Sequence[Example] = (),
              params: FineTuneParams | None = None, version: str | None = None,
              data_files: Sequence[Path] = (), progress: Progress | None = None) -> TextModel:
    """A new model: both heads refitted on ``labels`` (and ``data``) with a pull towards ``base``, the pull
    chosen by account-disjoint validation on the labels, the propaganda head re-calibrated on out-of-fold
    scores of the labels. Its card (``meta["card"]``) holds data hashes, label counts and the validation."""
    params = params or FineTuneParams()
    if not labels.examples:
        raise InputError("no usable labels: nothing to learn from (see bastion labels stats)")
    examples = list(labels.examples) + list(data)
    n_lab = len(labels.examples)
    x = featurize(examples, base.config, progress)
    w = _weights(examples, n_lab, params.data_weight)
    y = np.array([e.positive for e in examples])
    lab = slice(0, n_lab)
    y_lab = y[lab]
    folds = _folds(labels.examples, params.folds, params.seed)

    base_oof = x[lab] @ base.propaganda.weights + base.propaganda.bias
    tried: dict[str, Any] = {}
    oof_by_prior: dict[float, npt.NDArray[np.float64]] = {}
    for prior in params.priors:
        oof = np.full(n_lab, np.nan)
        for tr_lab, te in folds:
            tr = np.concatenate((tr_lab, np.arange(n_lab, len(examples))))
            head, _ = _heads(x[tr], [examples[i] for i in tr], w[tr], base, prior, params.max_iter)
            oof[te] = x[te] @ head.weights + head.bias
        oof_by_prior[prior] = oof
        tried[f"{prior:g}"] = _auc(y_lab, oof) if folds else None
    if folds:  # the strongest pull whose validation AUC is within ``tolerance`` of the best: labels are a
        # biased sample (what people were shown), so of two fits they cannot tell apart keep the one nearer
        # the current model on everything they do not cover
        top = max(tried[f"{p:g}"] or 0.0 for p in params.priors)
        best = max(p for p in params.priors if (tried[f"{p:g}"] or 0.0) >= top - params.tolerance)
    else:
        best = params.priors[0]
    prop, rep = _heads(x, examples, w, base, best, params.max_iter)
    oof = oof_by_prior[best]
    if folds and np.isfinite(oof).all() and y_lab.any() and (~y_lab).any():
        prop.platt_a, prop.platt_c = _platt(oof, y_lab, w[lab])
    else:  # nothing to calibrate on: keep the base calibration
        prop.platt_a, prop.platt_c = base.propaganda.platt_a, base.propaganda.platt_c

    validation: dict[str, Any] = {"folds": len(folds), "grouped_by": "author (keyed hash)",
                                  "auc_by_prior": tried, "prior": best}
    if folds:
        new_p = Head(prop.weights, prop.bias, prop.platt_a, prop.platt_c).proba(oof)
        base_p = base.propaganda.proba(base_oof)
        earn = (params.earn_precision, params.earn_min)
        validation["base"] = {"auc": _auc(y_lab, base_oof), "review": _at(y_lab, base_p, REVIEW_AT),
                              "remove": _at(y_lab, base_p, REMOVE_AT), "earned": earned_threshold(y_lab, base_p, *earn)}
        validation["new"] = {"auc": _auc(y_lab, oof), "review": _at(y_lab, new_p, REVIEW_AT),
                             "remove": _at(y_lab, new_p, REMOVE_AT), "earned": earned_threshold(y_lab, new_p, *earn)}
        validation["earn"] = {"precision": params.earn_precision, "least": params.earn_min}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    card = {
        "trained_at": now, "base_version": base.version, "method": "fine-tune with a prior on the base weights",
        "labels": {"n": n_lab, "by_source_and_class": dict(sorted(labels.sources.items())),
                   "sha256": labels.digest, "from": labels.origin, "skipped": labels.skipped},
        "data": [{"file": f.name, "sha256": _sha256(f)} for f in data_files],
        "data_examples": dict(sorted(Counter(e.label for e in data).items())),
        "validation": validation,
        "thresholds": {"review": REVIEW_AT, "remove": REMOVE_AT},
    }
    meta = dict(base.meta)
    meta.update({"trained_at": now, "card": card,
                 "classes": dict(sorted(Counter(e.label for e in examples).items()))})
    return TextModel(base.config, prop, rep, version=version or f"{base.version}+labels-{now[:10]}", meta=meta)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def card_markdown(model: TextModel) -> str:
    """The model card of a fine-tuned model as Markdown."""
    card = model.meta.get("card", {})
    lines = [f"# Model card: {model.version}", "", f"- base model: {card.get('base_version')}",
             f"- trained: {card.get('trained_at')}", f"- method: {card.get('method')}", "", "## Labels", ""]
    lab = card.get("labels", {})
    lines += [f"- {lab.get('n', 0)} labelled posts from {lab.get('from')} (sha256 {lab.get('sha256')}),"
              f" {lab.get('skipped', 0)} skipped", "", "| source:class | n |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in lab.get("by_source_and_class", {}).items()]
    if card.get("data"):
        lines += ["", "## Corpora", "", "| file | sha256 |", "|---|---|"]
        lines += [f"| {d['file']} | {d['sha256']} |" for d in card["data"]]
    v = card.get("validation", {})
    lines += ["", "## Validation (account-disjoint folds over the labels)", "",
              f"- folds: {v.get('folds')}; prior chosen: {v.get('prior')} (AUC by prior: {v.get('auc_by_prior')})"]
    if "base" in v:
        lines += ["", "| model | AUC | review P | review R | remove P | remove R |", "|---|---:|---:|---:|---:|---:|"]
        for name in ("base", "new"):
            m = v[name]
            lines.append(f"| {name} | {m['auc']} | {m['review']['precision']} | {m['review']['recall']} | "
                         f"{m['remove']['precision']} | {m['remove']['recall']} |")
        earn = v.get("earn", {})
        for name in ("base", "new"):
            e = v[name].get("earned", {})
            lines.append(f"- {name}: removal earned down to {e.get('threshold')} (precision "
                         f"{e.get('precision')} on {e.get('flagged')} labelled posts; bar "
                         f"{earn.get('precision')} over at least {earn.get('least')})")
    return "\n".join(lines) + "\n"
