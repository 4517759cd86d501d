"""The trend filter and the plain-function service behind ``bastion trends`` and the API route."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from _campaigns_helpers import T0, StandInPropaganda, barrage, run

from bastion.campaigns.detector import CampaignDetector
from bastion.campaigns.heuristics import KnownHashtags, TextHeuristic, parse_hashtag_list
from bastion.campaigns.service import filter_trends, parse_candidates, read_candidates
from bastion.campaigns.trends import SUPPRESS, TrendCandidate, TrendFilter
from bastion.errors import InputError


def test_known_list_format() -> None:
    exact, prefixes = parse_hashtag_list("# comment\nAlpha\nwilayat*\n\nbeta  # trailing note\n")
    assert exact == ("alpha", "beta") and prefixes == ("wilayat",)
    known = KnownHashtags(frozenset(exact), prefixes)
    assert "alpha" in known and "wilayatx" in known and "gamma" not in known


def test_shipped_list_leaves_topic_hashtags_alone() -> None:
    known = KnownHashtags.load()
    for tag in ("amaqagency", "wilayatninawa", "khilafah_news"):
        assert tag in known
    for tag in ("isis", "isil", "daesh", "islamicstate", "syria", "charliehebdo", "breaking"):
        assert tag not in known


def test_text_heuristic_is_noisy_or_of_terms() -> None:
    h = TextHeuristic(KnownHashtags.load())
    assert h.score_text("weather is nice") == 0.0
    one = h.score_text("the caliphate was mentioned in the report")
    assert 0 < one < 0.5  # a single weak term never flags
    assert h.score_post("update", ["amaqagency"]) >= 0.5
    assert h.score_profile("Baqiyah_Khilafa", "", "") >= 0.5  # handles are split on underscores and digits


def test_without_state_only_the_known_list_is_checked() -> None:
    tf = TrendFilter()
    assert tf.decide(TrendCandidate("#AmaqAgency"), 0.0).action == SUPPRESS
    d = tf.decide(TrendCandidate("CharlieHebdo"), 0.0)
    assert d.action == "allow" and "no campaign state" in d.reasons[0]


def test_candidate_parsing(tmp_path: Path) -> None:
    got = parse_candidates({"trends": ["a", {"hashtag": "#b", "count": 3}, {"tag": "c"}]})
    assert [c.hashtag for c in got] == ["a", "#b", "c"] and got[1].count == 3
    with pytest.raises(InputError, match="candidate 0"):
        parse_candidates([{"count": 3}])
    with pytest.raises(InputError):
        parse_candidates([{"hashtag": "x", "count": "many"}])
    jl = tmp_path / "c.jsonl"
    jl.write_text('{"hashtag": "x", "count": 1}\n\n{"hashtag": "y"}\n', encoding="utf-8")
    assert [c.hashtag for c in read_candidates(jl)] == ["x", "y"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hashtag": "x"}\nnope\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.jsonl:2"):
        read_candidates(bad)


def test_service_decides_from_a_snapshot() -> None:
    det = CampaignDetector()
    run(det, barrage(0, "newtagx", 10, 0.0), upstream=StandInPropaganda())
    blob = det.snapshot()
    res = filter_trends([{"hashtag": "newtagx", "count": 10}, "quiet"], state=blob, include_campaigns=True)
    assert res["at"].startswith("2016-03-01T12:04")  # the state's own watermark
    by = {d["hashtag"]: d for d in res["decisions"]}
    assert by["newtagx"]["action"] == SUPPRESS and by["newtagx"]["count"] == 10
    assert by["quiet"]["action"] == "allow"
    assert res["campaigns"][0]["hashtags"] == ["newtagx"]
    json.dumps(res)  # JSON-ready for the API
    # without candidates, the state's own trending hashtags are decided
    own = filter_trends(state=blob, min_posts=5)
    assert [d["hashtag"] for d in own["decisions"]] == ["newtagx"]
    with pytest.raises(InputError, match="cannot answer"):
        filter_trends(["newtagx"], state=blob, at=T0 - timedelta(days=1))
    with pytest.raises(InputError):
        filter_trends()
