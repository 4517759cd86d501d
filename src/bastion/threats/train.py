"""Fit the stance and form heads (:mod:`bastion.threats.stance`) on labelled posts.

Training data, each record in the evaluation JSONL layout (``text``, ``class``, ``lang``, ``dataset``,
``meta``):

* a **functional suite** (``meta.functionality``, e.g. ``threat-functional-dev.jsonl``): every threat
  functionality is stance ``issue`` with its form, every look-alike its own stance (``report_news`` ->
  ``report``, ``counter_speech`` -> ``condemn``, ...). Grouped by ``meta.template``, so cross-validation
  scores a model on templates it has not seen;
* **real posts that are not threats** (``class`` other than ``threat``): stance ``none`` (news ``report``,
  counter-speech ``condemn``) - the everyday talk, news and scripture that share the words of violence;
* **labelled threats** from an operator's own data (``class: threat``): stance ``issue``.

Only the records whose licence allows shipping a model trained on them may go into the shipped model
(:data:`PERMISSIVE`); ``bastion train threat`` takes whatever files an operator is licensed to use.
Only posts that pass the analyser's gate (a word of violence, a veiled-threat phrase, a call on others or a
bounty) are trained on: the rest never reach the heads.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bastion.errors import InputError
from bastion.text.corpus import json_records
from bastion.text.normalize import fold_with_offsets
from bastion.threats.analysis import Analyzer, default_analyzer, vowelled
from bastion.threats.stance import (
    FORM_OF_FUNCTIONALITY,
    FORMS,
    STANCE_OF_FUNCTIONALITY,
    STANCES,
    StanceModel,
    features,
)

log = logging.getLogger(__name__)

#: Datasets of ../shared/data whose licences allow shipping a model trained on them (see its README).
PERMISSIVE = frozenset({"threat-functional", "fifthtribe", "tweeteval-emoji", "tweeteval-hate",
                        "tweeteval-offensive", "tweeteval-sentiment", "crisislex", "crisislex-boston", "pheme",
                        "pheme-charliehebdo", "quran-en-pickthall", "hadith-muwatta", "arsarcasm"})
#: Classes of real posts never used as negatives: they may hold real threats (abuse, hate, supporters of a
#: terrorist organisation), and a negative label would teach the model that a threat is not one.
NOT_NEGATIVE = frozenset({"threat", "violence_support", "hateful", "offensive", "pro_isis"})
STANCE_OF_CLASS = {"news_terror": "report", "counter_speech": "condemn"}


@dataclass(frozen=True, slots=True)
class Labelled:
    id: str
    text: str
    lang: str | None
    dataset: str
    stance: str
    form: str | None
    group: str  # records of one group never straddle a train/test split (a template, an account)
    functionality: str | None = None


def label_record(r: Mapping[str, Any]) -> Labelled | None:
    """The stance (and form) of one evaluation record, or None when it must not be trained on."""
    meta = r.get("meta") or {}
    func = meta.get("functionality") if isinstance(meta, dict) else None
    rid = str(r.get("id", ""))
    text, lang, dataset = str(r["text"]), r.get("lang"), str(r.get("dataset") or "unknown")
    if func:
        stance = "issue" if func in FORM_OF_FUNCTIONALITY else STANCE_OF_FUNCTIONALITY.get(func)
        if stance is None:
            return None
        group = str(meta.get("template") or rid)
        return Labelled(rid, text, lang, dataset, stance, FORM_OF_FUNCTIONALITY.get(func), group, func)
    cls = str(r.get("class"))
    if cls == "threat":
        return Labelled(rid, text, lang, dataset, "issue", None, _group(r), None)
    if cls in NOT_NEGATIVE:
        return None
    return Labelled(rid, text, lang, dataset, STANCE_OF_CLASS.get(cls, "none"), None, _group(r), None)


def _group(r: Mapping[str, Any]) -> str:
    meta = r.get("meta") or {}
    account = meta.get("account") if isinstance(meta, dict) else None
    return f"{r.get('dataset')}:{account}" if account else f"{r.get('dataset')}:{r.get('id')}"


def read_labelled(paths: Sequence[Path], *, datasets: frozenset[str] | None = None) -> list[Labelled]:
    """Labelled records from the files, keeping only ``datasets`` when given."""
    out: list[Labelled] = []
    for path in paths:
        for n, r in json_records(path, "training data"):
            if datasets is not None and str(r.get("dataset")) not in datasets:
                continue
            try:
                rec = label_record(r)
            except (KeyError, TypeError) as exc:
                raise InputError(f"{path}:{n}: not a labelled record ({exc})") from exc
            if rec is not None:
                out.append(rec)
    return out


def featurize(records: Iterable[Labelled], analyzer: Analyzer | None = None
              ) -> tuple[list[Labelled], list[dict[str, float]], int]:
    """Features of the records that pass the gate; also how many did not."""
    an = analyzer or default_analyzer()
    kept: list[Labelled] = []
    feats: list[dict[str, float]] = []
    ungated = 0
    for r in records:
        if vowelled(r.text):  # the detector reads no vowelled scripture
            ungated += 1
            continue
        a = an.analyze(fold_with_offsets(r.text)[0], r.lang)  # the text as the detector reads it
        if not a.gated:
            ungated += 1
            continue
        kept.append(r)
        feats.append(features(a))
    return kept, feats, ungated


def fit(records: Sequence[Labelled], feats: Sequence[Mapping[str, float]], *, C: float = 0.5,
        min_count: int = 2, negative_weight: float = 1.0, prune: float = 0.05,
        meta: Mapping[str, Any] | None = None, progress: Callable[[str], None] | None = None) -> StanceModel:
    """Fit both heads. ``C`` is the inverse L2 strength; features seen in fewer than ``min_count`` posts are
    dropped; real negatives are weighted by ``negative_weight`` (the suite's posts by 1). Afterwards features
    whose every weight is below ``prune`` in size are dropped: most of the trigrams, a small model to ship."""
    from scipy.sparse import csr_matrix

    if not records:
        raise InputError("no training record passes the threat gate")
    counts: Counter[str] = Counter(n for f in feats for n in f)
    names = sorted(n for n, c in counts.items() if c >= min_count)
    vocab = {n: i for i, n in enumerate(names)}
    rows, cols, vals = [], [], []
    for i, f in enumerate(feats):
        for n, v in f.items():
            j = vocab.get(n)
            if j is not None:
                rows.append(i)
                cols.append(j)
                vals.append(v)
    X = csr_matrix((np.asarray(vals, dtype=np.float64), (rows, cols)), shape=(len(feats), len(vocab)))
    present = [s for s in STANCES if any(r.stance == s for r in records)]
    y = np.array([present.index(r.stance) for r in records])
    w = np.array([1.0 if r.functionality else negative_weight for r in records])
    # balance the stances so that a rare one (few look-alikes of a kind) still counts
    per = Counter(r.stance for r in records)
    w = w * np.array([len(records) / (len(per) * per[r.stance]) for r in records])
    if progress:
        progress(f"stance head: {len(records)} posts, {len(vocab)} features, stances {dict(per)}")
    W, b = _head(X, y, w, C, [STANCES.index(s) for s in present], len(STANCES))
    formed = [i for i, r in enumerate(records) if r.form is not None]
    form_classes = sorted({FORMS.index(records[i].form or "") for i in formed})
    if len(form_classes) >= 2:
        yf = np.array([form_classes.index(FORMS.index(records[i].form or "")) for i in formed])
        F, c = _head(X[formed], yf, np.ones(len(formed)), C, form_classes, len(FORMS))
    else:
        F, c = np.zeros((len(vocab), len(FORMS))), np.zeros(len(FORMS))
    keep = np.flatnonzero((np.abs(W).max(axis=1) >= prune) | (np.abs(F).max(axis=1) >= prune))
    vocab = {n: k for k, n in enumerate(names[i] for i in keep)}
    m = dict(meta or {})
    m.update({"C": C, "min_count": min_count, "negative_weight": negative_weight, "prune": prune,
              "n_train": len(records), "stance_counts": dict(per), "features": len(vocab)})
    return StanceModel(vocab, W[keep], b, F[keep], c, m)


def _head(X: Any, y: Any, w: Any, C: float, columns: Sequence[int], width: int) -> tuple[Any, Any]:
    """A multinomial logistic regression on ``X`` whose class ``k`` is output column ``columns[k]`` of
    ``width``; columns of classes never seen get a bias that keeps them from ever winning."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=C, max_iter=3000, tol=1e-5)
    clf.fit(X, y, sample_weight=w)
    coef, intercept = clf.coef_, clf.intercept_
    if len(columns) == 2:  # sklearn answers a binary problem with one row: split it symmetrically
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    W = np.zeros((X.shape[1], width))
    b = np.full(width, -30.0)
    for k, col in enumerate(columns):
        W[:, col] = coef[k]
        b[col] = intercept[k]
    return W, b


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def train_model(paths: Sequence[Path], *, datasets: frozenset[str] | None = None, C: float = 0.5,
                version: str = "custom", progress: Callable[[str], None] | None = None) -> StanceModel:
    """Read, gate, featurize and fit: the model ``bastion train threat`` writes. Its ``meta`` records the data
    (files, hashes, counts by dataset and stance) and the share of threats the gate closed on."""
    records = read_labelled(paths, datasets=datasets)
    kept, feats, ungated = featurize(records)
    threats = sum(1 for r in records if r.stance == "issue")
    gated_threats = sum(1 for r in kept if r.stance == "issue")
    meta: dict[str, Any] = {
        "version": version,
        "data": [{"file": p.name, "sha256": _sha256(p)} for p in paths],
        "datasets": sorted(datasets) if datasets is not None else "all",
        "records": len(records),
        "by_dataset": dict(sorted(Counter(r.dataset for r in records).items())),
        "gate": {"passed": len(kept), "closed": ungated, "threats": threats,
                 "threats_closed": threats - gated_threats},
        # a post the gate closes on is scored as this: the share of threats among closed posts, smoothed
        "ungated_issue": round((threats - gated_threats + 0.5) / (ungated + 1.0), 6),
    }
    return fit(kept, feats, C=C, meta=meta, progress=progress)
