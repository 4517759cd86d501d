"""``bastion eval accounts``: account risk and ban evasion measured on a labelled corpus.

:func:`run` loads the corpus once, replays registrations for ban evasion (:mod:`.evasion_eval`), scores
every post with the chosen post-signal source (:mod:`.scores`) and replays every account's posts for the
risk score (:mod:`.risk_eval`). The result is one JSON-ready dict; the figures in docs/accounts.md are
copied from it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bastion.accounts.evaluation.data import load_corpus
from bastion.accounts.evaluation.evasion_eval import evaluate_evasion, load_families
from bastion.accounts.evaluation.risk_eval import account_thresholds, assign_folds, evaluate_risk
from bastion.accounts.evaluation.scores import make_source
from bastion.detector import DetectorBuilder
from bastion.policy.loader import load_policy

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]


def run(data: str | Path, families: str | Path | None, *, source: str = "cv", policy: str | None = None,
        positive: str = "pro_isis", folds: int = 5, seed: int = 0, progress: Progress | None = None,
        build: DetectorBuilder | None = None) -> dict[str, Any]:
    started = time.monotonic()
    pol = load_policy(policy)
    fams = load_families(families) if families is not None else None
    corpus = load_corpus(data)
    out: dict[str, Any] = {"data": str(data), "families": str(families) if families else None,
                           "policy": f"{pol.name}@{pol.version}", "rows": len(corpus.posts),
                           "quarantined": corpus.quarantined}
    if fams is not None:
        out["ban_evasion"] = evaluate_evasion(corpus, fams, positive, account_thresholds(pol, "ban_evasion"),
                                              progress=progress)
    fold_of = assign_folds(corpus, positive, folds, seed)
    src = make_source(source, build)
    scores = src.score(corpus, fold_of, positive, progress)
    accounts = evaluate_risk(corpus, scores, fold_of, pol, positive, progress=progress)
    accounts["post_signals"] = {"source": src.name, "caveat": src.caveat, "folds": folds,
                                "versions": getattr(src, "versions", None)}
    out["accounts"] = accounts
    out["seconds"] = round(time.monotonic() - started, 1)
    return out
