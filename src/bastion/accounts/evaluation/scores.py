"""Where the post signals of the account evaluation come from (pluggable).

Account risk reads the content detectors' signals. Which content model produces them changes what an
account-level figure means, so the source is explicit:

* :class:`CrossValidatedText` (default): a text classifier trained inside the evaluation, with folds
  disjoint by account - every account's posts are scored by a model that never saw that account. A
  stand-in for the propaganda detector with the same signal names (``propaganda``: pro-IS vs. everything
  else; ``reporting``: news, discussion, crisis posts and counter-speech vs. everything else). Mentions and
  links are masked so the text score carries no network information.
* :class:`DetectorSignals`: the pipeline's own detectors by registry name (e.g. ``lexicon,propaganda``).
  The shipped propaganda model was trained on fifthtribe, the very accounts scored here, so its account
  figures are optimistic; use it to check the wiring, report the cross-validated figures.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np

from bastion.accounts.evaluation.data import EvalCorpus
from bastion.detector import DetectorBuilder, PostContext
from bastion.signals import Signal

log = logging.getLogger(__name__)

Scores = dict[str, dict[str, Signal]]  # post id -> signal name -> signal
REPORTING_CLASSES = frozenset({"news_terror", "about_isis", "counter_speech", "crisis_public"})
_MENTION = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+")
Progress = Callable[[str, int, int], None]


class PostSignalSource(Protocol):
    name: str
    caveat: str

    def score(self, corpus: EvalCorpus, folds: Mapping[str, int], positive: str,
              progress: Progress | None = None) -> Scores: ...


def mask(text: str) -> str:
    return _URL.sub(" url ", _MENTION.sub(" @user ", text))


class CrossValidatedText:
    name = "cv-text"
    caveat = ("text scores from a word n-gram logistic model trained inside the evaluation on folds disjoint "
              "by account (a stand-in for the propaganda detector)")

    def __init__(self, n_features: int = 2 ** 19, seed: int = 0) -> None:
        self.n_features, self.seed = n_features, seed

    def score(self, corpus: EvalCorpus, folds: Mapping[str, int], positive: str,
              progress: Progress | None = None) -> Scores:
        from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
        from sklearn.linear_model import SGDClassifier

        hv = HashingVectorizer(n_features=self.n_features, ngram_range=(1, 2), alternate_sign=False, norm=None)
        x = hv.transform([mask(p.text) for p in corpus.posts])
        y_pos = np.array([c == positive for c in corpus.classes])
        y_rep = np.array([c in REPORTING_CLASSES for c in corpus.classes])
        fold = np.array([folds.get(str(p.account_id), -1) for p in corpus.posts])
        n_folds = max(folds.values(), default=-1) + 1
        out: Scores = {}
        for f in range(n_folds):
            if progress:
                progress("text folds", f, n_folds)
            train, test = fold != f, fold == f
            tfidf = TfidfTransformer(sublinear_tf=True).fit(x[train])
            xtr, xte = tfidf.transform(x[train]), tfidf.transform(x[test])
            probs = {}
            for name, y in (("propaganda", y_pos), ("reporting", y_rep)):
                if len(set(y[train].tolist())) < 2:
                    continue  # no examples of one side in this fold: the signal is unavailable
                clf = SGDClassifier(loss="log_loss", alpha=2e-6, max_iter=15, tol=None, average=True,
                                    random_state=self.seed)
                clf.fit(xtr, y[train])
                probs[name] = clf.predict_proba(xte)[:, 1]
            for j, i in enumerate(np.flatnonzero(test)):
                pid = str(corpus.posts[i].id)
                sigs = {name: Signal(name, float(p[j]), self.name, "cv") for name, p in probs.items()}
                for name in ("propaganda", "reporting"):
                    if name not in sigs:
                        sigs[name] = Signal.missing(name, self.name, "cv", "one class only in the training fold")
                out[pid] = sigs
        if progress:
            progress("text folds", n_folds, n_folds)
        return out


class DetectorSignals:
    name = "detectors"
    caveat = ("signals of the pipeline's own detectors; the shipped propaganda model was trained on fifthtribe "
              "data, so pro-IS accounts are scored on their own training posts (optimistic)")

    def __init__(self, build: DetectorBuilder, names: Sequence[str] = ("lexicon", "propaganda"),
                 batch: int = 256) -> None:
        self.build, self.names, self.batch = build, list(names), batch
        self.versions: dict[str, str] = {}  # detector -> version (model version once loaded), after score()

    def score(self, corpus: EvalCorpus, folds: Mapping[str, int], positive: str,
              progress: Progress | None = None) -> Scores:
        detectors = self.build(self.names)
        out: Scores = {}
        items = [(p, a) for acc in corpus.accounts.values() for p, a in zip(acc.posts, acc.profiles, strict=True)]
        for start in range(0, len(items), self.batch):
            if progress:
                progress("detectors", start, len(items))
            ctxs = [PostContext(post=p, author=a) for p, a in items[start:start + self.batch]]
            for det in detectors:
                for ctx, sigs in zip(ctxs, det.detect(ctxs), strict=True):
                    for sig in sigs:
                        ctx.signals[sig.name] = sig
            for ctx in ctxs:
                out[str(ctx.post.id)] = dict(ctx.signals)
        self.versions = {det.name: str(det.version) for det in detectors}
        return out


def make_source(spec: str, build: DetectorBuilder | None = None) -> PostSignalSource:
    """``cv`` or ``detectors:NAME,NAME`` (built by ``build``, e.g. :func:`bastion.catalogue.build`)."""
    if spec == "cv":
        return CrossValidatedText()
    if spec.startswith("detectors") and build is not None:
        _, _, names = spec.partition(":")
        return DetectorSignals(build, [n for n in names.split(",") if n] or ["lexicon", "propaganda"])
    from bastion.errors import ConfigError

    raise ConfigError(f"unknown post-signal source {spec!r}: use 'cv' or 'detectors[:names]' (detectors need a "
                      "detector builder)")
