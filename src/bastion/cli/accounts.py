"""``bastion eval accounts`` and ``bastion accounts show|clusters``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

out = Console()
err = Console(stderr=True)

DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL or SQLite path (default: "
                                           "$BASTION_DB_URL or ./bastion.db).")]


def eval_accounts(
    data: Annotated[Path, typer.Option("--data", help="Labelled corpus (tvec-dev.jsonl format).")],
    families: Annotated[Path, typer.Option("--families", help="Ban-evasion families (JSON).")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the full report here.")] = None,
    post_signals: Annotated[str, typer.Option(
        "--post-signals", help="'cv' (text model cross-validated by account, default) or "
        "'detectors[:lexicon,propaganda]' (the pipeline's detectors; optimistic on fifthtribe).")] = "cv",
    policy: Annotated[Path | None, typer.Option(help="Policy YAML (default: the shipped policy).")] = None,
    positive: Annotated[str, typer.Option(help="The positive class.")] = "pro_isis",
    folds: Annotated[int, typer.Option(help="Account-disjoint folds.")] = 5,
) -> None:
    """Account risk (ROC-AUC, recall at 1% FPR, posts to detection) and ban evasion (recall@1, MRR,
    false links) on a labelled corpus."""
    from rich.progress import Progress

    from bastion import catalogue
    from bastion.accounts.evaluation import run
    from bastion.errors import require_data

    require_data(data, "labelled corpus")
    require_data(families, "ban-evasion families")
    with Progress(console=err, transient=True) as progress:
        tasks: dict[str, Any] = {}

        def step(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = progress.add_task(what, total=total)
            progress.update(tasks[what], completed=done, total=total)

        report = run(data, families, source=post_signals, policy=str(policy) if policy else None,
                     positive=positive, folds=folds, progress=step, build=catalogue.build)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _print(report)


def _print(report: dict[str, Any]) -> None:
    be, acc = report.get("ban_evasion"), report["accounts"]
    if be:
        t = Table(title="ban evasion (replay in order of first appearance)")
        for col in ("re-registrations", "recall@1", "MRR", f"false links /100 (≥{be['link_threshold']:g})",
                    "… pro-IS only", "look-up p99 ms"):
            t.add_column(col)
        t.add_row(str(be["reregistrations"]), str(be["recall_at_1"]), str(be["mrr"]),
                  str(be["false_links_per_100"]), str(be["false_links_per_100_pro_isis"]),
                  str(be["lookup_ms"].get("p99")))
        out.print(t)
    t = Table(title=f"account risk ({acc['post_signals']['source']})")
    for col in ("variant", "pos", "neg", "ROC-AUC", "AUC first 3 posts", "recall @1% FPR", "median posts to flag"):
        t.add_column(col)
    rows = [("full", acc), *acc.get("ablations", {}).items()]
    for name, r in rows:
        t.add_row(name, str(acc["n_pos"]), str(acc["n_neg"]), str(r["auc"]), str(r["auc_first3"]),
                  str(r["recall_at_1pct"]), str(r["median_posts_to_flag"]))
    out.print(t)


def _state(db: str | None, name: str) -> bytes | None:
    from sqlalchemy import select

    from bastion.store.db import open_engine
    from bastion.store.schema import detector_state

    with open_engine(db).connect() as conn:
        row = conn.execute(select(detector_state.c.data).where(detector_state.c.name == name)).first()
    return bytes(row[0]) if row else None


def accounts_show(account_id: Annotated[str, typer.Argument(help="Account id.")], db: DbOpt = None) -> None:
    """An account's risk score with its top contributing signals, and its ban-evasion candidates."""
    from bastion.accounts.ban_evasion import BanEvasionDetector
    from bastion.accounts.detector import AccountRiskDetector
    from bastion.errors import NotFound

    doc: dict[str, Any] = {"account_id": account_id}
    found = False
    data = _state(db, AccountRiskDetector.name)
    if data is not None:
        risk = AccountRiskDetector()
        risk.restore(data)
        st = risk.states.get(account_id)
        if st is not None:
            doc["account_risk"] = risk.model.explain(st)
        doc["suspended"] = account_id in risk.suspended
        found = st is not None or account_id in risk.suspended
    data = _state(db, BanEvasionDetector.name)
    if data is not None:
        be = BanEvasionDetector()
        be.restore(data)
        cached = be.cached(account_id)
        doc["fingerprint_on_file"] = account_id in be.index.rows
        if cached is not None and account_id not in be.index.rows:
            doc["ban_evasion_candidates"] = [m.to_json() for m in be.check(cached)]
        found = found or cached is not None or account_id in be.index.rows
    if not found:
        raise NotFound(f"no account state for {account_id!r} (run `bastion scan` with account_risk / ban_evasion)")
    out.print_json(json.dumps(doc, ensure_ascii=False))


def accounts_clusters(db: DbOpt = None, min_size: Annotated[int, typer.Option(help="Smallest cluster.")] = 3,
                      min_risk: Annotated[float, typer.Option(help="Lowest mean risk.")] = 0.3) -> None:
    """Communities of the interaction graph to review in bulk, worst first."""
    from bastion.accounts.detector import AccountRiskDetector
    from bastion.errors import NotFound

    data = _state(db, AccountRiskDetector.name)
    if data is None:
        raise NotFound("no account_risk state stored yet (run `bastion scan` first)")
    risk = AccountRiskDetector()
    risk.restore(data)
    t = Table("cluster", "size", "mean risk", "suspended", "members")
    for c in risk.clusters(min_size, min_risk):
        members = c["members"]
        shown = ", ".join(str(m) for m in members[:8]) if isinstance(members, list) else ""
        t.add_row(str(c["id"]), str(c["size"]), str(c["mean_risk"]), str(c["seeds"]), shown)
    out.print(t)


def register(app: typer.Typer, *, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    eval_app.command("accounts")(eval_accounts)
    accounts_app = typer.Typer(help="Account risk, networks and ban evasion.", no_args_is_help=True)
    accounts_app.command("show")(accounts_show)
    accounts_app.command("clusters")(accounts_clusters)
    app.add_typer(accounts_app, name="accounts")
