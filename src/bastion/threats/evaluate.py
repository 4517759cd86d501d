"""Measure the threat detector on labelled data (the eval JSONL format: ``text``, ``class``, ``lang``,
``dataset``, optional ``meta``).

Threats are 1-2% of real traffic, so AUC alone flatters: the report gives precision and recall at the
operating point (the ``threat`` signal's 0.5, which the default policy uses) and the base rate, per language
and per dataset. A functional suite (``meta.functionality``) is reported per language and functionality: the
share flagged at the operating point, which must be high for every form of a threat and low for every
look-alike (:func:`by_functionality`).

``score_cv`` trains and scores the stance model out of fold, grouped so that one template (a functional
suite's ``meta.template``) or one account never straddles a split: a figure for a model trained on the
evaluation data is never an in-sample one, nor one that rewards remembering a template.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bastion.errors import InputError
from bastion.text.corpus import json_records
from bastion.text.normalize import fold_with_offsets
from bastion.threats.train import Labelled, featurize, fit, label_record

log = logging.getLogger(__name__)

POSITIVE = "threat"


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    text: str
    label: int
    lang: str
    dataset: str
    functionality: str | None = None
    record: Mapping[str, Any] = field(default_factory=dict, repr=False)


def read_examples(path: Path, limit: int | None = None) -> list[Example]:
    out: list[Example] = []
    for n, r in json_records(path, "evaluation data"):
        try:
            meta = r.get("meta") or {}
            out.append(Example(str(r.get("id", n)), str(r["text"]), int(r["class"] == POSITIVE),
                               str(r.get("lang") or "und"), str(r.get("dataset") or "unknown"),
                               meta.get("functionality") if isinstance(meta, dict) else None, r))
        except (KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{path}:{n}: not an evaluation record ({exc})") from exc
        if limit and len(out) >= limit:
            break
    if not out:
        raise InputError(f"{path}: no records")
    return out


# --- scoring ---------------------------------------------------------------------------------------------------
def score_model(examples: Sequence[Example], model: str = "default", assets_path: str | None = None,
                progress: Callable[[int], None] | None = None, batch: int = 512,
                use_lang: bool = True) -> list[float]:
    """The ``threat`` signal the detector gives each example, in batches as the pipeline runs it (``use_lang``
    False: each post as if it carried no language)."""
    from bastion.detector import PostContext
    from bastion.records import AccountId, Post, PostId
    from bastion.threats.detector import ThreatDetector

    det = ThreatDetector(model=model, assets_path=assets_path)
    out: list[float] = []
    for i in range(0, len(examples), batch):
        chunk = examples[i: i + batch]
        ctxs = [PostContext(Post(id=PostId(e.id), account_id=AccountId("eval"), text=e.text,
                                 lang=None if e.lang == "und" or not use_lang else e.lang)) for e in chunk]
        for sigs in det.detect(ctxs):
            threat = next((s for s in sigs if s.name == "threat"), None)
            out.append(threat.value if threat is not None and threat.ok else 0.0)
        if progress:
            progress(len(chunk))
    return out


def score_cv(examples: Sequence[Example], folds: int, *, seed: int = 0, C: float = 0.5,
             extra: Sequence[Labelled] = (), progress: Callable[[int], None] | None = None) -> list[float]:
    """Out-of-fold ``threat`` probabilities of stance models trained on the other folds (plus ``extra``
    records, which are always trained on and never scored). Folds are grouped (template, account) and
    stratified by label. A post the detector's gates close on (the shipped assets) keeps the closed score, as
    in a scan."""
    from sklearn.model_selection import StratifiedGroupKFold

    from bastion.threats.detector import UNGATED, ThreatDetector

    if folds < 2:
        raise InputError("--cv needs at least 2 folds")
    labelled = [label_record(e.record) if e.record else None for e in examples]
    groups = [lab.group if lab is not None else f"{e.dataset}:{e.id}" for e, lab in zip(examples, labelled,
                                                                                           strict=True)]
    items = [lab or Labelled(e.id, e.text, None if e.lang == "und" else e.lang, e.dataset, "none", None, g)
             for e, lab, g in zip(examples, labelled, groups, strict=True)]
    kept, feats, _ = featurize(items)
    index = {id(r): i for i, r in enumerate(items)}
    row_of = {index[id(r)]: k for k, r in enumerate(kept)}
    det = ThreatDetector()  # its second gate closes on some posts training reads
    scored = {i for i in row_of if det.opens(fold_with_offsets(items[i].text)[0], items[i].lang, items[i].text)}
    extra_kept, extra_feats, _ = featurize(extra) if extra else ([], [], 0)
    scores = np.full(len(examples), UNGATED)
    y = np.array([e.label for e in examples])
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(examples)), y, groups):
        tr = [row_of[i] for i in train if i in row_of and labelled[i] is not None]
        model = fit([kept[k] for k in tr] + list(extra_kept), [feats[k] for k in tr] + list(extra_feats), C=C)
        te = [i for i in test if i in scored]
        for i, res in zip(te, model.predict([feats[row_of[i]] for i in te], explain=False), strict=True):
            scores[i] = res.threat
        if progress:
            progress(len(test))
    return [float(v) for v in scores]


# --- the report --------------------------------------------------------------------------------------------------
def _auc(y: NDArray[np.int_], s: NDArray[np.float64]) -> float | None:
    if y.min() == y.max():
        return None
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(y, s)), 4)


def _at(y: NDArray[np.int_], s: NDArray[np.float64], threshold: float) -> dict[str, Any]:
    flagged = s >= threshold
    tp = int((flagged & (y == 1)).sum())
    return {
        "threshold": threshold,
        "precision": round(tp / max(1, int(flagged.sum())), 4),
        "recall": round(tp / max(1, int(y.sum())), 4),
        "flagged": int(flagged.sum()),
        "positives": int(y.sum()),
        "base_rate": round(float(y.mean()), 4),
    }


def _precision_at_recall(y: NDArray[np.int_], s: NDArray[np.float64], recall: float) -> dict[str, Any]:
    order = np.argsort(-s, kind="stable")
    tp = np.cumsum(y[order])
    k = int(np.searchsorted(tp, recall * y.sum()))
    k = min(k, len(y) - 1)
    return {"recall": recall, "precision": round(float(tp[k]) / (k + 1), 4), "threshold": round(float(s[order][k]), 6)}


def _recall_at_precision(y: NDArray[np.int_], s: NDArray[np.float64], precision: float) -> dict[str, Any]:
    """The highest recall any threshold reaches while keeping at least ``precision`` (0 when none does)."""
    order = np.argsort(-s, kind="stable")
    tp = np.cumsum(y[order])
    prec = tp / np.arange(1, len(y) + 1)
    ok = np.where(prec >= precision)[0]
    if not len(ok) or not y.sum():
        return {"precision": precision, "recall": 0.0, "threshold": None}
    k = int(ok[np.argmax(tp[ok])])
    return {"precision": precision, "recall": round(float(tp[k]) / int(y.sum()), 4),
            "threshold": round(float(s[order][k]), 6)}


def by_functionality(examples: Sequence[Example], scores: Sequence[float], threshold: float
                     ) -> dict[str, dict[str, dict[str, Any]]]:
    """``{lang: {functionality: {"n", "flagged", "class"}}}`` for the examples that name a functionality;
    ``flagged`` is the share at or above ``threshold``."""
    cells: dict[tuple[str, str], list[float]] = {}
    cls: dict[str, str] = {}
    for e, s in zip(examples, scores, strict=True):
        if e.functionality:
            cells.setdefault((e.lang, e.functionality), []).append(s)
            cls[e.functionality] = "threat" if e.label else "no_threat"
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for (lang, func), ss in sorted(cells.items()):
        arr = np.asarray(ss)
        out.setdefault(lang, {})[func] = {"n": len(ss), "flagged": round(float((arr >= threshold).mean()), 4),
                                          "class": cls[func]}
    return out


def report(examples: Sequence[Example], scores: Sequence[float], threshold: float, model: str) -> dict[str, Any]:
    y = np.array([e.label for e in examples], dtype=np.int_)
    s = np.asarray(scores, dtype=np.float64)
    langs = np.array([e.lang for e in examples])
    sets = np.array([e.dataset for e in examples])
    out: dict[str, Any] = {
        "model": model,
        "n": {lang: int((langs == lang).sum()) for lang in sorted(set(langs))},
        "n_by_dataset": {d: int((sets == d).sum()) for d in sorted(set(sets))},
        "positives": {lang: int(y[langs == lang].sum()) for lang in sorted(set(langs))},
        "auc": {
            "overall": _auc(y, s),
            "by_lang": {lang: _auc(y[langs == lang], s[langs == lang]) for lang in sorted(set(langs))},
            "by_dataset": {d: _auc(y[sets == d], s[sets == d]) for d in sorted(set(sets))},
        },
        "operating_point": _at(y, s, threshold),
        "operating_point_by_lang": {
            lang: _at(y[langs == lang], s[langs == lang], threshold) for lang in sorted(set(langs))
        },
        "operating_point_by_dataset": {d: _at(y[sets == d], s[sets == d], threshold) for d in sorted(set(sets))},
        "precision_at_recall_0.8": _precision_at_recall(y, s, 0.8),
        "recall_at_precision_0.5": _recall_at_precision(y, s, 0.5),
    }
    if any(e.functionality for e in examples):
        out["by_functionality"] = by_functionality(examples, scores, threshold)
    return out
