"""Render a transparency report: a standalone HTML page (inline SVG charts and inline CSS, no script, no
external asset - it can be published as one file) or the body fragment the review UI embeds.

Templates autoescape; the report holds only figures and policy rule names."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import orjson
from markupsafe import Markup
from sqlalchemy import Engine

env = jinja2.Environment(loader=jinja2.PackageLoader("bastion.transparency", "templates"),
                         autoescape=jinja2.select_autoescape(["html"], default=True),
                         undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def day(iso: str) -> str:
    """``2026-11-29 15:12 UTC`` from an ISO 8601 timestamp."""
    return iso[:16].replace("T", " ") + " UTC" if len(iso) >= 16 else iso


env.globals.update(pct=pct, day=day)


def css() -> str:
    return (resources.files("bastion.transparency") / "templates" / "report.css").read_text("utf-8")


def fragment(report: dict[str, Any]) -> str:
    return env.get_template("_body.html").render(r=report)


def render_html(report: dict[str, Any]) -> str:
    return env.get_template("report.html").render(body=Markup(fragment(report)), css=Markup(css()))


def write_report(engine: Engine, out_dir: Path, *, since: Any = None, until: Any = None,
                 policy_path: str | None = None) -> dict[str, Path]:
    """Write ``report.html``, ``report.json`` and ``statements.jsonl``; return their paths."""
    from bastion.transparency.metrics import compute
    from bastion.transparency.sor import iter_statements

    out_dir.mkdir(parents=True, exist_ok=True)
    report = compute(engine, since=since, until=until, policy_path=policy_path).to_json()
    paths = {"html": out_dir / "report.html", "json": out_dir / "report.json",
             "statements": out_dir / "statements.jsonl"}
    paths["json"].write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    paths["html"].write_text(render_html(report), encoding="utf-8")
    n = 0
    with paths["statements"].open("wb") as fh:
        for s in iter_statements(engine, since=since, until=until):
            fh.write(orjson.dumps(s) + b"\n")
            n += 1
    report["statements"] = n
    return paths
