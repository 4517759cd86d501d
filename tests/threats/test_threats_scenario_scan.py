"""The 2014 scenario end to end, through ``bastion scan`` with every detector, the shipped assets example and
the default policy: the threats against the platform's staff (English and Arabic; conditional, veiled, direct,
incitement) escalate at ``high`` or above with the staff and office assets linked; the news reports and quotes
of them, an idiom, a prayer and counter-speech neither escalate nor are removed.

The fixture (``tests/fixtures/threats/scenario-2014.jsonl``) is schematic: it has the features the detector keys
on - an address to staff, a place, a condition, a veiled wording, a call on "lone wolves" and "sleeper cells" -
and nothing persuasive.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bastion.cli.main import app

FIXTURE = Path(__file__).parent.parent / "fixtures" / "threats" / "scenario-2014.jsonl"
THREATS = ("t1", "t2", "t3", "t4", "t5", "t6")
LOOK_ALIKES = ("n1", "n2", "n3", "x1", "x2", "x3")


def scan(fixture: Path, tmp: Path) -> dict[str, dict[str, Any]]:
    """``bastion scan`` of a fixture into a new database: each post's decision, by post id."""
    out = tmp / "decisions.jsonl"
    res = CliRunner().invoke(app, ["scan", str(fixture), "--db", f"sqlite:///{tmp / 'b.db'}", "--out", str(out),
                                   "--quiet"])
    assert res.exit_code == 0, res.output
    return {d["id"]: d for d in map(json.loads, out.read_text(encoding="utf-8").splitlines())}


@pytest.fixture(scope="module")
def decisions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return scan(FIXTURE, tmp_path_factory.mktemp("scenario"))


def live(d: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [a for a in d["actions"] if a["action"] == action and not a.get("shadow")]


@pytest.mark.parametrize("pid", THREATS)
def test_every_threat_escalates_high_with_staff_and_office(decisions: dict[str, dict[str, Any]], pid: str) -> None:
    d = decisions[pid]
    escalations = live(d, "escalate")
    assert escalations, (pid, d["scores"], d["explanation"])
    case = escalations[0]
    assert case["rule"].startswith("threat-escalate") and case["queue"] == "security" and case["case_id"]
    assert case["severity"] in ("high", "imminent"), case
    assert {"staff:employees", "office:sf-hq"} <= set(case["assets"]), case


@pytest.mark.parametrize("pid", LOOK_ALIKES)
def test_news_quotes_idiom_prayer_and_counter_speech_are_left_alone(decisions: dict[str, dict[str, Any]],
                                                                  pid: str) -> None:
    d = decisions[pid]
    assert not live(d, "escalate") and not live(d, "remove_post"), (pid, d["actions"], d["scores"])
    assert d["scores"].get("threat_stance", 0.0) < 0.5


def test_one_campaign_is_one_case(decisions: dict[str, dict[str, Any]]) -> None:
    assert len({live(decisions[pid], "escalate")[0]["case_id"] for pid in THREATS}) == 1


#: the wordings the 2014 reporting quoted (a "virtual war" answered by a "real" one, staff as "legitimate
#: targets", a neck as "a target"), schematic otherwise; and the news quoting them
WORDINGS = Path(__file__).parent.parent / "fixtures" / "threats" / "scenario-2014-wordings.jsonl"


@pytest.fixture(scope="module")
def wordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return scan(WORDINGS, tmp_path_factory.mktemp("wordings"))


@pytest.mark.parametrize("pid", ("w1", "w2", "w3", "w4", "w5"))
def test_the_reported_wordings_escalate_high(wordings: dict[str, dict[str, Any]], pid: str) -> None:
    escalations = live(wordings[pid], "escalate")
    assert escalations, (pid, wordings[pid]["scores"])
    assert escalations[0]["severity"] in ("high", "imminent") and "staff:employees" in escalations[0]["assets"]


@pytest.mark.parametrize("pid", ("m1", "m2"))
def test_the_news_quoting_them_is_left_alone(wordings: dict[str, dict[str, Any]], pid: str) -> None:
    d = wordings[pid]
    assert not live(d, "escalate") and not live(d, "remove_post"), (pid, d["actions"], d["scores"])
