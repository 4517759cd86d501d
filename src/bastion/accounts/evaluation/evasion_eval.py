"""Ban-evasion evaluation: replay registrations in order of first appearance against suspensions.

Every account of the corpus registers in the order it first appears, with the profile it first had, and
goes through :class:`~bastion.accounts.ban_evasion.BanEvasionDetector` exactly as in production
(``detect_accounts`` at registration, a suspension ``EnforcementEvent`` through ``observe``). Every account
of the positive class is suspended right after it registers - so each family's earlier accounts are on
file when the next one arrives, and every other pro-IS account is on file too, as a distractor.

For each re-registration (a family member with an earlier member on file) we report whether an earlier
member is the top candidate (recall@1), the reciprocal rank of the first earlier member (MRR), and whether
the top score reaches the policy's thresholds. A *false link* is a registration whose top candidate scores
at or above the threshold but is not an earlier member of its family; they are counted per 100
registrations over all registrations, and separately over pro-IS registrations only (the hard case: those
are the accounts with similar names and bios).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bastion.accounts.ban_evasion import BanEvasionDetector
from bastion.accounts.evaluation.data import EvalCorpus
from bastion.errors import InputError
from bastion.records import EnforcementEvent, EnforcementKind, TargetKind

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def load_families(path: str | Path) -> dict[str, list[str]]:
    """``{"families": {name: [account, ...]}}`` with accounts in order of first appearance."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read families file {path}: {exc}") from exc
    fams = doc.get("families") if isinstance(doc, dict) else None
    if not isinstance(fams, dict) or not all(isinstance(v, list) for v in fams.values()):
        raise InputError(f"{path}: expected {{\"families\": {{name: [account, ...]}}}}")
    return {str(k): [str(a) for a in v] for k, v in fams.items()}


def evaluate_evasion(corpus: EvalCorpus, families: Mapping[str, list[str]], positive: str,
                     thresholds: list[float], *, top_k: int = 10,
                     progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    family_of = {a: name for name, members in families.items() for a in members}
    missing = sorted(a for a in family_of if a not in corpus.accounts)
    det = BanEvasionDetector(top_k=top_k, min_report=0.0)
    suspended: set[str] = set()
    link_t = min(thresholds) if thresholds else 0.6
    rereg: list[dict[str, Any]] = []
    false_links = {f"{t:g}": {"all": 0, "positive": 0} for t in thresholds}
    latencies: list[float] = []
    order = corpus.ordered()
    n_pos = 0
    for i, acc in enumerate(order):
        if progress and i % 500 == 0:
            progress("registrations", i, len(order))
        account = acc.registration
        t0 = time.perf_counter()
        (sigs,) = det.detect_accounts([account])
        latencies.append(time.perf_counter() - t0)
        cands = [c for s in sigs for c in s.details.get("candidates", [])]
        top = cands[0] if cands else None
        fam = family_of.get(acc.id)
        earlier = {a for a in families.get(fam, []) if a in suspended} if fam else set()
        is_pos = acc.label == positive
        n_pos += is_pos
        for t in thresholds:
            if top is not None and top["score"] >= t and top["account_id"] not in earlier:
                false_links[f"{t:g}"]["all"] += 1
                false_links[f"{t:g}"]["positive"] += int(is_pos)
        if earlier:
            rank = next((r for r, c in enumerate(cands, 1) if c["account_id"] in earlier), None)
            rereg.append({"account": acc.id, "family": fam, "rank": rank,
                          "top": top["account_id"] if top else None,
                          "score": round(float(top["score"]), 4) if top else 0.0,
                          "evidence": top["evidence"] if top else {}})
        if is_pos:
            det.observe([EnforcementEvent(id=f"eval:{acc.id}", kind=EnforcementKind.SUSPEND,
                                          target_kind=TargetKind.ACCOUNT, target_id=acc.id,
                                          created_at=acc.posts[0].created_at or _EPOCH)])
            suspended.add(acc.id)
    n = len(order)
    hits = [r for r in rereg if r["rank"] == 1]
    lat = np.array(latencies) * 1000
    by_t = {key: {"recall_at_threshold": round(sum(1 for r in hits if r["score"] >= float(key)) / len(rereg), 4)
                  if rereg else None,
                  "false_links": v["all"], "false_links_per_100": round(100 * v["all"] / n, 3) if n else None,
                  "false_links_pro_isis": v["positive"],
                  "false_links_per_100_pro_isis": round(100 * v["positive"] / n_pos, 3) if n_pos else None}
            for key, v in false_links.items()}
    primary = by_t.get(f"{link_t:g}", {})
    return {
        "reregistrations": len(rereg),
        "recall_at_1": round(len(hits) / len(rereg), 4) if rereg else None,
        "mrr": round(sum(1 / r["rank"] for r in rereg if r["rank"]) / len(rereg), 4) if rereg else None,
        "link_threshold": link_t,
        "false_links_per_100": primary.get("false_links_per_100"),
        "false_links_per_100_pro_isis": primary.get("false_links_per_100_pro_isis"),
        "registrations": n, "registrations_pro_isis": n_pos, "suspended_on_file": len(suspended),
        "by_threshold": by_t,
        "lookup_ms": {"p50": round(float(np.percentile(lat, 50)), 3), "p99": round(float(np.percentile(lat, 99)), 3)}
        if len(lat) else {},
        "families_missing_from_data": missing,
        "cases": rereg,
    }
