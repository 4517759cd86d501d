"""``bastion train text`` and ``bastion eval text``: train the propaganda / true-purpose model and measure it.

Heavy imports (numpy, scikit-learn) stay inside the commands so ``bastion --help`` stays fast.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from bastion.errors import ConfigError


@contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _datasets(spec: str) -> list[str] | None:
    from bastion.text.corpus import PERMISSIVE_DATASETS

    spec = spec.strip()
    if spec == "all":
        return None
    if spec == "permissive":
        return list(PERMISSIVE_DATASETS)
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise ConfigError("--datasets: give 'permissive', 'all' or a comma-separated list of data sets")
    return names


def _write(report: dict[str, Any], json_out: Path, md_out: Path | None, title: str) -> None:
    from bastion.text.evaluate import markdown

    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if md_out is not None:
        md_out.parent.mkdir(parents=True, exist_ok=True)
        md_out.write_text(markdown(report, title), encoding="utf-8")


def _throughput(model: Any, texts: list[str]) -> tuple[float, float]:
    """(posts per wall-clock second, posts per CPU second of this process) scoring ``texts``."""
    model.score(texts[:256])  # warm caches and lazy tables
    t0, c0 = time.perf_counter(), time.process_time()
    model.score(texts)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return round(len(texts) / max(wall, 1e-9), 1), round(len(texts) / max(cpu, 1e-9), 1)


def _base_model(base: str, labels: str) -> Any:
    """The model to fine-tune: 'default', a file, or 'live' (the store's live text model)."""
    from bastion.text.model import TextModel

    if base == "live":
        from bastion.text.registry import load_live_text

        return load_live_text(labels) or TextModel.load("default")
    return TextModel.load(base)


def register(app: typer.Typer, *, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    @train_app.command("text")
    def train_text(
        out: Annotated[Path, typer.Option(help="Model file to write (.npz).")],
        data: Annotated[list[Path] | None, typer.Option(
            help="Labelled JSONL in the tvec-dev format (repeatable). Without --labels: the whole training "
                 "set; with --labels: corpora trained on next to the labels.")] = None,
        labels: Annotated[str | None, typer.Option(
            help="The operator's labels: a database URL or .db file (the label store), or a JSONL file of "
                 "bastion labels export. The current model is fine-tuned on them (see docs/learning.md).")
        ] = None,
        base: Annotated[str, typer.Option(help="With --labels: the model to start from ('default', a model "
                                          "file, or 'live' for the store's live model).")] = "default",
        queues: Annotated[str | None, typer.Option(help="With --labels: queues whose decisions teach the text "
                                                   "model (comma-separated, or 'all'; default: propaganda, "
                                                   "propaganda-qa, propaganda-audit, learning).")] = None,
        datasets: Annotated[str, typer.Option(
            help="'permissive' (only data sets whose licence allows shipping the model), 'all', "
                 "or a comma-separated list (a trailing * matches a prefix).")] = "permissive",
        version: Annotated[str | None, typer.Option(help="Model version string.")] = None,
        topic_boost: Annotated[float | None, typer.Option(
            help="Extra weight of negatives about the same conflict (default: TrainParams).")] = None,
        bits: Annotated[int, typer.Option(help="log2 of the number of hashed feature columns.")] = 21,
        register_in: Annotated[str | None, typer.Option(
            "--register", help="Also register the model in this store (database URL) as a candidate.")] = None,
    ) -> None:
        """Train the propaganda model (and its true-purpose head), from corpora or by fine-tuning the current
        model on the operator's labels, and write it as a model file (with its card)."""
        from bastion.text.corpus import Example, load_corpus

        data_files = list(data or [])
        examples: list[Example] = []
        for f in data_files:
            examples += load_corpus(f, _datasets(datasets))
        if labels is not None:
            from bastion.text.finetune import card_markdown, fine_tune, read_labels

            label_set = (read_labels(labels) if queues is None else
                         read_labels(labels, None if queues.strip() == "all"
                                     else [q.strip() for q in queues.split(",") if q.strip()]))
            base_model = _base_model(base, labels)
            with _progress("featurising", len(label_set.examples) + len(examples)) as advance:
                model = fine_tune(base_model, label_set, examples, version=version, data_files=data_files,
                                  progress=advance)
            path = model.save(out)
            card = path.with_suffix(".card.md")
            card.write_text(card_markdown(model), encoding="utf-8")
            v = model.meta["card"]["validation"]
            typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) and {card.name}: version "
                       f"{model.version}, from {base_model.version}, {len(label_set.examples)} labels "
                       f"({label_set.skipped} skipped), {len(examples)} corpus texts; validation AUC "
                       f"{v.get('base', {}).get('auc')} -> {v.get('new', {}).get('auc')} "
                       f"({v['folds']} account-disjoint folds)")
        else:
            from bastion.text.train import TrainParams, train_model

            if not data_files:
                raise ConfigError("give --data (corpora to train on), --labels (to fine-tune), or both")
            if not 10 <= bits <= 26:
                raise ConfigError("--bits must be between 10 and 26")
            params = TrainParams(n_bits=bits)
            if topic_boost is not None:
                params = TrainParams(n_bits=bits, topic_boost=topic_boost)
            with _progress("featurising", len(examples)) as advance:
                model = train_model(examples, params, progress=advance, version=version)
            path = model.save(out)
            typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB), trained on {len(examples)} texts; "
                       f"classes {model.meta['classes']}")
        if register_in is not None:
            from bastion.text.registry import register_file

            entry = register_file(register_in, path, kind="text")
            typer.echo(f"registered {entry['version']} in the store ({entry['status']})")

    @eval_app.command("text")
    def eval_text(
        data: Annotated[Path, typer.Option(help="Labelled JSONL in the tvec-dev format.")],
        json_out: Annotated[Path, typer.Option("--json", help="Where to write the JSON report.")],
        model: Annotated[str, typer.Option(help="Model file, or 'default' for the shipped one.")] = "default",
        cv: Annotated[int | None, typer.Option(
            help="Run account-disjoint K-fold training and evaluation instead of scoring a model.")] = None,
        train_datasets: Annotated[str, typer.Option(
            help="With --cv: which data sets the folds train on ('all', 'permissive' or a list).")] = "all",
        md: Annotated[Path | None, typer.Option("--md", help="Also write a Markdown report.")] = None,
        bits: Annotated[int, typer.Option(help="With --cv: log2 of the number of feature columns.")] = 21,
    ) -> None:
        """Measure the text model: ROC-AUC per class, FPR at recall 0.5/0.8/0.9, worst errors, throughput."""
        from bastion.text.corpus import is_permissive, load_corpus
        from bastion.text.evaluate import evaluate
        from bastion.text.model import TextModel, default_model_path
        from bastion.text.train import TrainParams, cross_validate

        examples = load_corpus(data)
        texts = [e.text for e in examples]
        report: dict[str, Any]
        if cv is not None:
            if cv < 2:
                raise ConfigError("--cv needs at least 2 folds")
            keep = _datasets(train_datasets)
            filt = None
            if keep is not None:
                from bastion.text.corpus import PERMISSIVE_DATASETS

                if keep == list(PERMISSIVE_DATASETS):
                    filt = lambda e: is_permissive(e.dataset)  # noqa: E731
                else:
                    filt = lambda e: any(  # noqa: E731
                        e.dataset == q or (q.endswith("*") and e.dataset.startswith(q[:-1])) for q in keep)
            with _progress("featurising", len(examples)) as advance:
                res = cross_validate(examples, cv, TrainParams(n_bits=bits), train_filter=filt,
                                     filter_name=train_datasets,
                                     progress=advance)
            report = evaluate(examples, res.decision, res.reporting)
            report["mode"] = f"account-disjoint {cv}-fold cross-validation, training on {train_datasets}"
            if res.last_model is not None:
                sample = texts[: min(len(texts), 20000)]
                report["posts_per_s"], report["posts_per_cpu_s"] = _throughput(res.last_model, sample)
            report["model"] = "cross-validation folds"
        else:
            t0 = time.perf_counter()
            tm = TextModel.load(model)
            load_s = time.perf_counter() - t0
            with _progress("scoring", 1) as advance:
                proba, rep = tm.score(texts)
                decision = tm.decision(texts)
                advance(1)
            report = evaluate(examples, decision, rep, proba)
            report["mode"] = "scoring a trained model on all of the data"
            report["model"] = str(default_model_path().name if model == "default" else model)
            report["model_version"] = tm.version
            report["load_s"] = round(load_s, 4)
            report["posts_per_s"], report["posts_per_cpu_s"] = _throughput(tm, texts[: min(len(texts), 20000)])
        report["data"] = str(data)
        _write(report, json_out, md, f"Text model evaluation ({report['mode']})")
        auc = report["auc"]
        typer.echo(json.dumps({"n": sum(report["n"].values()), "auc_overall": auc["overall"], "auc_vs": auc["vs"],
                               "fpr_at_recall_0.8": report["fpr_at_recall"].get("0.8"),
                               "posts_per_s": report.get("posts_per_s")}, indent=1))
