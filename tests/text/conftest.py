"""Small, schematic corpora for the text tests: tokens stand in for content, nothing here is propaganda."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# Marker tokens a model can key on; the positive class uses outlet / magazine names from the lexicon, the
# negatives use reporting vocabulary.
POS_WORDS = ["amaq", "dabiq", "wilayat", "baqiya", "rumiyah", "khilafah"]
NEWS_WORDS = ["police", "said", "reporters", "officials", "according", "condemn"]
ORDINARY_WORDS = ["coffee", "weekend", "football", "music", "birthday", "sunny"]


def schematic_corpus(n_per_class: int = 60) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for i in range(n_per_class):
        acct = f"acct{i % 6}"
        w = POS_WORDS
        rows.append({"id": f"p{i}", "dataset": "fifthtribe", "class": "pro_isis",
                     "text": f"{w[i % 6]} {w[(i + 1) % 6]} update {i} #{w[(i + 2) % 6].title()}News",
                     "meta": {"account": acct}})
        n = NEWS_WORDS
        rows.append({"id": f"n{i}", "dataset": "pheme", "class": "news_terror",
                     "text": f"{n[i % 6]} {n[(i + 1) % 6]} the attack {i} amaq" if i % 5 == 0
                     else f"{n[i % 6]} {n[(i + 1) % 6]} story {i}"})
        o = ORDINARY_WORDS
        rows.append({"id": f"o{i}", "dataset": "tweeteval-emoji", "class": "ordinary",
                     "text": f"{o[i % 6]} and {o[(i + 3) % 6]} today {i}"})
        rows.append({"id": f"a{i}", "dataset": "aboutisis", "class": "about_isis",
                     "text": f"{n[(i + 2) % 6]} isis {o[i % 6]} {i}"})
    return rows


@pytest.fixture()
def corpus_file(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in schematic_corpus()) + "\n", encoding="utf-8")
    return path
