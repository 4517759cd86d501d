"""Accounts rebuilt from a labelled corpus in the tvec-dev format, for the account-level evaluations.

Rows that carry ``meta.account`` become accounts: the profile fields of each row are the profile at that
time (so the first row's profile is the one the account registered with), mentions and ``RT @x`` in the text
become interactions. An account's label is its rows' class (labels are per account in ``pro_isis``); a
handle that appears under two classes is dropped as ambiguous. Rows without an account are kept, unlabelled
by account, because the cross-validated text stand-in trains on them.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bastion.errors import InputError
from bastion.ingest import Quarantined, read
from bastion.records import Account, Post

log = logging.getLogger(__name__)


@dataclass(slots=True)
class EvalAccount:
    id: str
    label: str
    dataset: str
    first_seen: int  # order of first appearance (by time, then file order)
    posts: list[Post] = field(default_factory=list)
    profiles: list[Account] = field(default_factory=list)  # the author profile of each post, same order

    @property
    def registration(self) -> Account:
        """The profile the account had when it first appeared."""
        return self.profiles[0]


@dataclass(slots=True)
class EvalCorpus:
    accounts: dict[str, EvalAccount]
    posts: list[Post]  # every row, in file order
    classes: list[str]  # class of each row
    quarantined: int = 0

    def ordered(self) -> list[EvalAccount]:
        return sorted(self.accounts.values(), key=lambda a: a.first_seen)


def _sort_key(item: tuple[int, Post, Account | None]) -> tuple[int, datetime | None, int]:
    n, post, _ = item
    return (0 if post.created_at else 1, post.created_at, n)


def load_corpus(path: str | Path, *, datasets: Iterable[str] | None = None) -> EvalCorpus:
    """Read the corpus; optionally keep only rows of some data sets (others are skipped entirely)."""
    keep = set(datasets) if datasets is not None else None
    posts: list[Post] = []
    classes: list[str] = []
    author: dict[str, Account] = {}
    rows: dict[str, list[tuple[int, Post, Account | None]]] = {}
    labels: dict[str, Counter[str]] = {}
    dsets: dict[str, str] = {}
    bad = 0
    pending: Account | None = None
    for item in read(path, "corpus"):
        if isinstance(item, Quarantined):
            bad += 1
            continue
        if isinstance(item, Account):
            pending = item
            continue
        if not isinstance(item, Post):
            continue
        dataset, cls = str(item.meta.get("dataset", "")), str(item.meta.get("class", ""))
        if keep is not None and dataset not in keep:
            pending = None
            continue
        posts.append(item)
        classes.append(cls)
        if pending is not None and pending.id == item.account_id:
            aid = str(item.account_id)
            author[str(item.id)] = pending
            rows.setdefault(aid, []).append((len(posts), item, pending))
            labels.setdefault(aid, Counter())[cls] += 1
            dsets.setdefault(aid, dataset)
        pending = None
    if not posts:
        raise InputError(f"{path}: no usable rows")
    firsts = []
    accounts: dict[str, EvalAccount] = {}
    for aid, items in rows.items():
        if len(labels[aid]) > 1:
            log.warning("account %s appears under %d classes; left out", aid, len(labels[aid]))
            continue
        items.sort(key=_sort_key)
        acc = EvalAccount(aid, next(iter(labels[aid])), dsets[aid], 0,
                          [p for _, p, _ in items], [a for _, _, a in items if a is not None])
        accounts[aid] = acc
        firsts.append((_sort_key(items[0]), aid))
    for order, (_, aid) in enumerate(sorted(firsts, key=lambda x: (x[0][0], x[0][1] or datetime.min, x[0][2]))):
        accounts[aid].first_seen = order
    log.info("corpus: %d rows, %d accounts, %d quarantined", len(posts), len(accounts), bad)
    return EvalCorpus(accounts, posts, classes, bad)
