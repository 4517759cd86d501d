"""``bastion eval threat``, ``bastion train threat`` and ``bastion case list|show|export|verify``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from bastion.threats.cases import CaseStore

out = Console()


def register(app: typer.Typer, *, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    case_app = typer.Typer(help="Security cases: threats escalated to the security team.", no_args_is_help=True)
    app.add_typer(case_app, name="case")

    @eval_app.command("threat")
    def eval_threat(
        data: Annotated[Path, typer.Option("--data", help="Evaluation JSONL (text, class, lang, dataset).")],
        model: Annotated[
            str, typer.Option("--model", help="'default' (cue layer) or a trained model file.")
        ] = "default",
        json_out: Annotated[Path | None, typer.Option("--json", help="Write the report here.")] = None,
        threshold: Annotated[float, typer.Option(help="Operating point on the threat signal.")] = 0.5,
        cv: Annotated[
            int,
            typer.Option(help="Train the n-gram model by K-fold CV on DATA and report out-of-fold figures (0: off)."),
        ] = 0,
        limit: Annotated[int | None, typer.Option(help="Read only the first N records.")] = None,
        reg_c: Annotated[float, typer.Option("--C", help="--cv: inverse L2 regularisation of the model.")] = 2.0,
        calibrate: Annotated[
            bool, typer.Option(help="--cv: Platt-calibrate each fold's model on inner folds of its training part.")
        ] = True,
        seed: Annotated[int, typer.Option(help="--cv: seed of the fold split.")] = 0,
    ) -> None:
        """Measure the threat detector: ROC-AUC and precision/recall at the operating point."""
        from rich.progress import Progress

        from bastion.threats import evaluate as ev

        examples = ev.read_examples(data, limit)
        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("scoring", total=len(examples))

            def step(n: int) -> None:
                progress.advance(task, n)

            if cv:
                scores = ev.score_cv(examples, cv, seed=seed, progress=step, C=reg_c, calibrate=calibrate)
                cal = "calibrated" if calibrate else "uncalibrated"
                name = f"cues+ngram-lr C={reg_c:g} {cal} ({cv}-fold cross-validated on {data.name}, seed {seed})"
            elif model in ("default", "rules"):
                scores = ev.score_rules((e.text for e in examples), progress=step)
                name = "default (cues)"
            else:
                from bastion.threats.model import ThreatModel

                m = ThreatModel.load(model)
                scores = [float(v) for v in m.predict_proba([e.text for e in examples])]
                progress.advance(task, len(examples))
                name = model
        rep = ev.report(examples, scores, threshold, name)
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(rep, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        table = Table(title=f"threat - {name}")
        for col in ("subset", "n", "positives", "ROC-AUC", "precision", "recall"):
            table.add_column(col)
        op = rep["operating_point"]
        table.add_row(
            "overall",
            str(sum(rep["n"].values())),
            str(op["positives"]),
            str(rep["auc"]["overall"]),
            str(op["precision"]),
            str(op["recall"]),
        )
        for lang, n in rep["n"].items():
            o = rep["operating_point_by_lang"][lang]
            table.add_row(
                f"lang {lang}",
                str(n),
                str(o["positives"]),
                str(rep["auc"]["by_lang"][lang]),
                str(o["precision"]),
                str(o["recall"]),
            )
        for d, auc in rep["auc"]["by_dataset"].items():
            o = rep["operating_point_by_dataset"][d]
            table.add_row(
                d, str(rep["n_by_dataset"][d]), str(o["positives"]), str(auc), str(o["precision"]), str(o["recall"])
            )
        out.print(table)
        out.print(f"threshold {threshold}; precision at recall 0.8: {rep['precision_at_recall_0.8']}; "
                  f"recall at precision 0.5: {rep['recall_at_precision_0.5']}")

    @train_app.command("threat")
    def train_threat(
        data: Annotated[Path, typer.Option("--data", help="Labelled JSONL (text, class).")],
        out_path: Annotated[Path, typer.Option("--out", help="Model file to write (.npz).")],
        reg_c: Annotated[float, typer.Option("--C", help="Inverse L2 regularisation.")] = 2.0,
        calibrate: Annotated[
            bool, typer.Option(help="Platt-calibrate probabilities on inner folds (else a fixed prior shift).")
        ] = True,
    ) -> None:
        """Train the n-gram + cue model on labelled data you are licensed to train on (never shipped)."""
        from bastion.threats import evaluate as ev
        from bastion.threats.model import ThreatModel

        examples = ev.read_examples(data)
        model = ThreatModel(C=reg_c, calibrate=calibrate).fit(
            [e.text for e in examples], [e.label for e in examples],
            strata=[f"{e.dataset}:{e.label}" for e in examples])
        out_path.parent.mkdir(parents=True, exist_ok=True)
        model.save(out_path)
        out.print(f"trained on {len(examples)} records ({sum(e.label for e in examples)} threats) -> {out_path}")

    _register_cases(case_app)


DbOpt = Annotated[
    str | None, typer.Option("--db", help="Database URL or SQLite path (default: $BASTION_DB_URL or ./bastion.db).")
]
ActorOpt = Annotated[
    str, typer.Option("--actor", envvar="BASTION_ACTOR", help="Who is acting (recorded in the chain of custody).")
]


def _store(db: str | None) -> CaseStore:
    from bastion.store.db import open_engine
    from bastion.threats.cases import CaseStore

    return CaseStore(open_engine(db))


def _register_cases(case_app: typer.Typer) -> None:
    @case_app.command("list")
    def case_list(
        db: DbOpt = None,
        status: Annotated[str | None, typer.Option(help="open, closed or purged")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    ) -> None:
        """Cases in the security queue, most urgent SLA first."""
        store = _store(db)
        cases = store.list_cases(status=status)
        if as_json:
            for c in cases:
                out.print_json(json.dumps(c.to_json()))
            return
        table = Table(title="security cases")
        for col in ("case", "status", "severity", "assets", "opened", "SLA due", "hold"):
            table.add_column(col)
        for c in cases:
            table.add_row(
                c.id,
                c.status,
                c.level,
                ", ".join(c.assets),
                c.created_at.isoformat(timespec="seconds"),
                c.sla_due.isoformat(timespec="seconds"),
                "yes" if c.legal_hold else "",
            )
        out.print(table)

    @case_app.command("show")
    def case_show(
        case_id: Annotated[str, typer.Argument(help="Case id.")], db: DbOpt = None, actor: ActorOpt = "cli"
    ) -> None:
        """Show a case and its evidence (the viewing is recorded in the chain of custody)."""
        store = _store(db)
        out.print_json(json.dumps(store.get(case_id, actor=actor).to_json(), ensure_ascii=False))

    @case_app.command("hold")
    def case_hold(
        case_id: Annotated[str, typer.Argument(help="Case id.")],
        db: DbOpt = None,
        actor: ActorOpt = "cli",
        release: Annotated[bool, typer.Option(help="Release the hold instead.")] = False,
    ) -> None:
        """Put a case under legal hold (its evidence is kept past retention), or release it."""
        store = _store(db)
        store.set_legal_hold(case_id, not release, actor=actor)
        out.print(f"{case_id}: legal hold {'released' if release else 'on'}")

    @case_app.command("export")
    def case_export(
        case_id: Annotated[str, typer.Argument(help="Case id.")],
        out_dir: Annotated[Path, typer.Option("--out", help="Directory to write into.")] = Path("."),
        db: DbOpt = None,
        actor: ActorOpt = "cli",
    ) -> None:
        """Write the referral package (package.json, report.html, blobs/, custody.jsonl)."""
        from bastion.store.db import open_engine
        from bastion.threats.export import export_case

        dest = export_case(open_engine(db), case_id, out_dir, actor=actor)
        out.print(f"exported {case_id} -> {dest}")

    @case_app.command("verify")
    def case_verify(path: Annotated[Path, typer.Argument(help="An exported case directory.")]) -> None:
        """Check every blob's hash and the chain of custody of an exported case (exit 4 on any problem)."""
        from bastion.errors import IntegrityError
        from bastion.threats.export import verify_package

        check = verify_package(path)
        if not check.ok:
            for p in check.problems:
                out.print(f"[red]FAIL[/] {p}", highlight=False)
            raise IntegrityError(f"{path}: {len(check.problems)} problem(s)")
        out.print(
            f"OK: {check.blobs} blobs match their hashes; custody chain of {check.custody_entries} entries intact"
        )
