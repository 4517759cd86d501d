"""Transparency figures from a known scenario, the HTML report, the DSA statements, and ``bastion report``."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
from seed import World
from typer.testing import CliRunner

from bastion.cli.main import app as cli
from bastion.transparency.sor import EEA

# Enumerations of the EU Transparency Database's statement API (its API documentation).
VISIBILITY = {"DECISION_VISIBILITY_CONTENT_REMOVED", "DECISION_VISIBILITY_CONTENT_DISABLED",
              "DECISION_VISIBILITY_CONTENT_DEMOTED", "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
              "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED", "DECISION_VISIBILITY_CONTENT_LABELLED",
              "DECISION_VISIBILITY_OTHER"}
SOURCES = {"SOURCE_ARTICLE_16", "SOURCE_TRUSTED_FLAGGER", "SOURCE_TYPE_OTHER_NOTIFICATION", "SOURCE_VOLUNTARY"}
AUTOMATED = {"AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY", "AUTOMATED_DECISION_NOT_AUTOMATED"}
CONTENT = {"CONTENT_TYPE_APP", "CONTENT_TYPE_AUDIO", "CONTENT_TYPE_IMAGE", "CONTENT_TYPE_PRODUCT",
           "CONTENT_TYPE_SYNTHETIC_MEDIA", "CONTENT_TYPE_TEXT", "CONTENT_TYPE_VIDEO", "CONTENT_TYPE_OTHER"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _scenario(w: World) -> None:
    c = w.client
    # an account caught at registration (the stub flags it as ban evasion): suspended before any post
    r = c.post("/v1/accounts", json={"id": "u-evader", "handle": "evader", "bio": "ZZORG again"},
               headers=w.h("integrator"))
    assert r.json()["verdict"] == "block"
    job = c.post("/v1/review/lease", headers=w.h("reviewer")).json()
    assert job["queue"] == "removal-orders"
    c.post(f"/v1/review/jobs/{job['id']}/decision", json={"outcome": "uphold"}, headers=w.h("reviewer"))
    appeal = c.post("/v1/appeals", json={"target_kind": "post", "target_id": "p-remove", "reason": "x"},
                    headers=w.h("integrator")).json()
    c.post(f"/v1/appeals/{appeal['id']}/decision", json={"outcome": "overturned"}, headers=w.h("reviewer2"))


def test_report_figures(world: World) -> None:
    _scenario(world)
    r = world.client.get("/v1/transparency/report", headers=world.h("admin")).json()
    totals = r["totals"]
    assert totals["removals"] == 2 and totals["suspensions"] == 1 and totals["reversed"] == 1
    surfaced = {x["source"]: x["count"] for x in r["surfaced_by"]}
    assert surfaced == {"automated": 2, "user_report": 0, "trusted_flagger": 0, "authority": 1}
    sources = {x["source"] for x in r["by_detection_source"]}
    assert {"propaganda", "ban_evasion", "human review"} <= sources
    assert r["suspended_before_first_post"] == {"suspended": 1, "before_first_post": 1, "share": 1.0}
    tta = r["time_to_action"]
    assert tta["removal_orders"] == {"count": 1, "within_1h": 1, "share_within_1h": 1.0}
    assert tta["within_1h_share"] == 1.0 and sum(b["count"] for b in tta["buckets"]) == tta["measured"] == 2
    assert r["appeals"]["filed"] == 1 and r["appeals"]["overturned"] == 1 and r["appeals"]["overturn_rate"] == 1.0
    assert r["review"]["decisions"] == 2 and r["review"]["reviewers"] == 2
    html = world.client.get("/v1/transparency/report.html", headers=world.h("admin")).text
    assert "<svg" in html and "<script" not in html


def test_statements_of_reasons(world: World) -> None:
    _scenario(world)
    r = world.client.get("/v1/transparency/statements", headers=world.h("admin"))
    rows = [orjson.loads(x) for x in r.text.splitlines()]
    assert len(rows) == 3  # two removals and one suspension
    puids = set()
    for s in rows:
        assert s["decision_ground"] in ("DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT")
        assert s.get("decision_visibility") or s.get("decision_account")
        assert set(s.get("decision_visibility", [])) <= VISIBILITY
        assert set(s["content_type"]) <= CONTENT and s["source_type"] in SOURCES
        assert s["automated_detection"] in ("Yes", "No") and s["automated_decision"] in AUTOMATED
        assert s["category"].startswith("STATEMENT_CATEGORY_") and set(s["territorial_scope"]) == set(EEA)
        assert DATE.match(s["application_date"]) and DATE.match(s["content_date"])
        assert re.match(r"^[A-Za-z0-9_-]{1,500}$", s["puid"]) and s["puid"] not in puids
        puids.add(s["puid"])
        assert len(s["decision_facts"]) <= 5000
        blob = orjson.dumps(s).decode()
        assert "ZZORG" not in blob and "alpha_news" not in blob, "no user content or handles"
    by_source = {s["source_type"] for s in rows}
    assert by_source == {"SOURCE_VOLUNTARY", "SOURCE_TYPE_OTHER_NOTIFICATION"}
    order = next(s for s in rows if s["source_type"] == "SOURCE_TYPE_OTHER_NOTIFICATION")
    assert order["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert order["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    reversed_ = [s for s in rows if "end_date_visibility_restriction" in s]
    assert len(reversed_) == 1  # the overturned appeal ended the restriction
    suspension = next(s for s in rows if "decision_account" in s)
    assert suspension["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert suspension["category"] == "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"


def test_cli_report_writes_html_json_and_statements(world: World, tmp_path: Path) -> None:
    _scenario(world)
    url = str(world.app.state.bastion.engine.url.render_as_string(hide_password=False))
    out = tmp_path / "report"
    res = CliRunner().invoke(cli, ["report", "--db", url, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "<svg" in (out / "report.html").read_text()
    data = orjson.loads((out / "report.json").read_bytes())
    assert data["totals"]["removals"] == 2
    assert len((out / "statements.jsonl").read_text().splitlines()) == 3
