"""``bastion eval threat``, ``bastion train threat`` and ``bastion case list|show|export|verify``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
        data: Annotated[Path, typer.Option("--data", help="Evaluation JSONL (text, class, lang, dataset, meta).")],
        model: Annotated[
            str, typer.Option("--model", help="'default' (the shipped stance model) or a model file.")
        ] = "default",
        json_out: Annotated[Path | None, typer.Option("--json", help="Write the report here.")] = None,
        threshold: Annotated[float, typer.Option(help="Operating point on the threat signal.")] = 0.5,
        by: Annotated[
            str | None, typer.Option("--by", help="'functionality': the share flagged per language and functionality.")
        ] = None,
        cv: Annotated[
            int,
            typer.Option(help="Train the stance model by K-fold CV on DATA (grouped by template or account) and "
                              "report out-of-fold figures (0: off)."),
        ] = 0,
        with_data: Annotated[
            list[Path] | None,
            typer.Option("--with", help="--cv: more training data, in every training fold, never scored."),
        ] = None,
        permissive: Annotated[
            bool, typer.Option(help="--cv: of the --with data, only datasets whose licence allows shipping a model.")
        ] = False,
        limit: Annotated[int | None, typer.Option(help="Read only the first N records.")] = None,
        reg_c: Annotated[float, typer.Option("--C", help="--cv: inverse L2 regularisation of the model.")] = 0.5,
        seed: Annotated[int, typer.Option(help="--cv: seed of the fold split.")] = 0,
        assets: Annotated[
            str | None, typer.Option("--assets", help="Protected-assets registry (default: the shipped example).")
        ] = None,
        no_lang: Annotated[
            bool, typer.Option("--no-lang", help="Score the posts as if they carried no language (the analyser "
                               "votes it from their words), as a platform that does not tag them sends them.")
        ] = False,
    ) -> None:
        """Measure the threat detector: ROC-AUC, precision/recall at the operating point, and per functionality."""
        from rich.progress import Progress

        from bastion.errors import InputError
        from bastion.threats import evaluate as ev
        from bastion.threats import train as tr

        if by not in (None, "functionality"):
            raise InputError(f"--by {by}: only 'functionality' is known")
        if no_lang and cv:
            raise InputError("--no-lang scores a trained model; it does not go with --cv")
        examples = ev.read_examples(data, limit)
        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("scoring", total=len(examples))

            def step(n: int) -> None:
                progress.advance(task, n)

            if cv:
                extra = tr.read_labelled(with_data or [], datasets=tr.PERMISSIVE if permissive else None)
                scores = ev.score_cv(examples, cv, seed=seed, C=reg_c, extra=extra, progress=step)
                name = (f"stance model C={reg_c:g} ({cv}-fold grouped CV on {data.name}"
                        f"{' + ' + ', '.join(p.name for p in with_data) if with_data else ''}, seed {seed})")
            else:
                scores = ev.score_model(examples, model, assets, progress=step, use_lang=not no_lang)
                name = "default (shipped stance model)" if model in ("default", "") else model
                name += ", no language given" if no_lang else ""
        rep = ev.report(examples, scores, threshold, name)
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(rep, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        _print_report(rep, by == "functionality")

    @train_app.command("threat")
    def train_threat(
        data: Annotated[list[Path], typer.Option("--data", help="Labelled JSONL files (repeat the option).")],
        out_path: Annotated[Path, typer.Option("--out", help="Model file to write (.json).")],
        reg_c: Annotated[float, typer.Option("--C", help="Inverse L2 regularisation.")] = 0.5,
        permissive: Annotated[
            bool, typer.Option(help="Train only on datasets whose licence allows shipping the model.")
        ] = False,
        version: Annotated[str, typer.Option(help="Version recorded in the model and in every decision.")] = "custom",
    ) -> None:
        """Train the stance and form heads on labelled data you are licensed to train on."""
        from bastion.threats import train as tr

        model = tr.train_model(data, datasets=tr.PERMISSIVE if permissive else None, C=reg_c, version=version,
                               progress=lambda msg: out.print(msg, highlight=False))
        model.save(out_path)
        gate = model.meta["gate"]
        out.print(f"trained on {gate['passed']} posts past the gate ({gate['threats']} threats, "
                  f"{gate['threats_closed']} closed by the gate) -> {out_path}")

    _register_cases(case_app)


DbOpt = Annotated[
    str | None, typer.Option("--db", help="Database URL or SQLite path (default: $BASTION_DB_URL or ./bastion.db).")
]
ActorOpt = Annotated[
    str, typer.Option("--actor", envvar="BASTION_ACTOR", help="Who is acting (recorded in the chain of custody).")
]


def _print_report(rep: dict[str, Any], functionality: bool) -> None:
    table = Table(title=f"threat - {rep['model']}")
    for col in ("subset", "n", "positives", "ROC-AUC", "precision", "recall"):
        table.add_column(col)
    op = rep["operating_point"]
    table.add_row("overall", str(sum(rep["n"].values())), str(op["positives"]), str(rep["auc"]["overall"]),
                  str(op["precision"]), str(op["recall"]))
    for lang, o in rep["operating_point_by_lang"].items():
        table.add_row(f"lang {lang}", str(rep["n"][lang]), str(o["positives"]), str(rep["auc"]["by_lang"][lang]),
                      str(o["precision"]), str(o["recall"]))
    for d, o in rep["operating_point_by_dataset"].items():
        table.add_row(d, str(rep["n_by_dataset"][d]), str(o["positives"]), str(rep["auc"]["by_dataset"][d]),
                      str(o["precision"]), str(o["recall"]))
    out.print(table)
    if functionality and "by_functionality" in rep:
        cells = rep["by_functionality"]
        langs = sorted(cells)
        funcs = sorted({f for lang in langs for f in cells[lang]},
                       key=lambda f: (not next(iter(cells[lang][f]["class"] for lang in langs if f in cells[lang]))
                                      .startswith("threat"), f))
        ft = Table(title=f"share flagged at {rep['operating_point']['threshold']} by functionality")
        ft.add_column("functionality")
        ft.add_column("class")
        for lang in langs:
            ft.add_column(lang, justify="right")
        for f in funcs:
            cls = next(cells[lang][f]["class"] for lang in langs if f in cells[lang])
            ft.add_row(f, cls, *(f"{cells[lang][f]['flagged']:.3f}" if f in cells[lang] else "-" for lang in langs))
        out.print(ft)


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
            f"OK: every file matches MANIFEST.sha256; {check.blobs} blobs match "
            f"their hashes; custody chain of {check.custody_entries} entries intact; manifest sha256 "
            f"{check.manifest_sha256} (compare with the export_sealed entry of the case's custody log)"
        )
