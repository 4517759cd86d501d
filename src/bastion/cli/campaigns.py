"""``bastion trends`` (the trend filter) and ``bastion eval campaigns`` (the time-ordered replay)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bastion.errors import InputError

out = Console()
err = Console(stderr=True)


def _options(pairs: list[str] | None) -> dict[str, Any]:
    """``--option key=value`` pairs for :class:`CampaignConfig` (values parsed as JSON, else kept as text)."""
    opts: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--option expects key=value, got {pair!r}")
        try:
            opts[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            opts[key.strip()] = raw
    return opts


def _write_json(path: Path | None, data: Any) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
    if path is None or str(path) == "-":
        typer.echo(text, nl=False)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _parse_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    from bastion.errors import RecordError
    from bastion.ingest.base import parse_time

    try:
        return parse_time(value, "at")
    except RecordError as exc:
        raise InputError(f"--at: {exc}") from exc


def register(app: typer.Typer, *, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    @app.command("trends")
    def trends(
        candidates: Annotated[Path | None, typer.Argument(
            help="JSON or JSONL of candidate trends: hashtags, or {\"hashtag\", \"count\"} objects. "
                 "Omit to take the state's own trending hashtags.")] = None,
        state: Annotated[Path | None, typer.Option(
            "--state", help="Campaign-stage snapshot (JSON) to decide against.")] = None,
        posts: Annotated[Path | None, typer.Option(
            "--posts", help="Posts (any ingest format) to replay into the state first, in time order.")] = None,
        fmt: Annotated[str, typer.Option("--format", help="Format of --posts.")] = "auto",
        at: Annotated[str | None, typer.Option(
            "--at", help="Decision time (ISO 8601); default: the latest post time in the state.")] = None,
        min_posts: Annotated[int, typer.Option(
            help="Without CANDIDATES: hashtags with at least this many posts in the window.")] = 5,
        save_state: Annotated[Path | None, typer.Option(
            "--save-state", help="Write the state (after --posts) here, for a later --state.")] = None,
        json_out: Annotated[Path | None, typer.Option(
            "--json", help="Write decisions (and campaigns) as JSON here ('-' for stdout).")] = None,
        option: Annotated[list[str] | None, typer.Option(
            "--option", help="Campaign-stage option key=value (e.g. min_flagged=4); repeatable.")] = None,
    ) -> None:
        """Trend filter: allow or suppress candidate trends, with reasons."""
        from bastion.campaigns import service
        from bastion.ingest import Quarantined, read

        cands = service.read_candidates(candidates) if candidates is not None else None
        detector = None
        if state is not None or posts is not None:
            data = None
            if state is not None:
                try:
                    data = state.read_bytes()
                except OSError as exc:
                    raise InputError(f"cannot read state {state}: {exc.strerror}") from exc
            detector = service.detector_from_state(data, **_options(option))
            if posts is not None:
                records = [r for r in read(posts, fmt) if not isinstance(r, Quarantined)]
                n = service.replay_posts(detector, records, until=_parse_at(at))
                err.print(f"replayed {n} posts from {posts}")
            if save_state is not None:
                save_state.parent.mkdir(parents=True, exist_ok=True)
                save_state.write_bytes(detector.snapshot() or b"{}")
        result = service.filter_trends(cands, detector=detector, at=_parse_at(at), min_posts=min_posts,
                                       include_campaigns=json_out is not None)
        if json_out is not None:
            _write_json(json_out, result)
            if str(json_out) == "-":
                return
        table = Table(title=f"trend filter at {result['at']}")
        table.add_column("hashtag", no_wrap=True)
        table.add_column("action", no_wrap=True)
        table.add_column("posts", justify="right")
        table.add_column("flagged", justify="right")
        table.add_column("reasons", ratio=1)
        for d in result["decisions"]:
            style = "red" if d["action"] == "suppress" else None
            table.add_row(f"#{d['hashtag']}", d["action"], str(d["window_posts"]), str(d["flagged_posts"]),
                          "; ".join(d["reasons"][:2]), style=style)
        out.print(table)

    @eval_app.command("campaigns")
    def eval_campaigns(
        data: Annotated[Path, typer.Option("--data", help="Evaluation JSONL (id, dataset, class, text, meta).")],
        json_out: Annotated[Path, typer.Option("--json", help="Write the report here.")],
        upstream: Annotated[str, typer.Option(
            help="Post-signal source run before the campaign stage: 'auto' (propaganda if installed), "
                 "'none' (own heuristics only) or detector names.")] = "auto",
        tick: Annotated[float, typer.Option(help="Seconds of event time between trend-filter rounds.")] = 300.0,
        trend_min_posts: Annotated[int, typer.Option(
            help="Hashtags with at least this many posts in the window are candidate trends.")] = 5,
        option: Annotated[list[str] | None, typer.Option(
            "--option", help="Campaign-stage option key=value; repeatable.")] = None,
    ) -> None:
        """Replay DATA in time order: pro-IS burst detection, delay, and suppressed hashtags."""
        from rich.progress import Progress

        from bastion import catalogue
        from bastion.campaigns.evaluate import evaluate
        from bastion.errors import require_data

        require_data(data, "evaluation data")

        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("replaying", total=None)

            def step(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            spec = upstream if upstream in ("auto", "none") else ",".join(catalogue.parse_names(upstream))
            rep = evaluate(str(data), upstream=spec or "none", build=catalogue.build, tick_s=tick,
                           trend_min_posts=trend_min_posts, detector_options=_options(option), progress=step)
        _write_json(json_out, rep)
        b = rep["bursts"]
        table = Table(title=f"campaigns - {data.name} ({rep['scorer']['text_score']})")
        table.add_column("measure")
        table.add_column("value")
        table.add_row("pro-IS hashtag bursts", str(b["pro_isis"]))
        table.add_row("detected within 10 min", f"{b['detected']} ({b['detected_share']})")
        table.add_row("detected at all", str(b["detected_any"]))
        table.add_row("median minutes to detect", str(b["median_minutes_to_detect"]))
        table.add_row("median minutes from first post", str(b["median_minutes_from_first_post"]))
        table.add_row("suppressed hashtags", str(len(rep["suppressed"])))
        table.add_row("suppressed news/crisis", ", ".join(rep["suppressed_news_or_crisis"]) or "none")
        table.add_row("news/crisis that trended", str(len(rep["news_or_crisis"]["trended"])))
        table.add_row("posts given a campaign signal", json.dumps(rep["campaign_signal_posts"]["by_class"]))
        out.print(table)
