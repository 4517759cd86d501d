"""The cue layer, extraction, the assets registry and severity on small schematic examples."""

from __future__ import annotations

import pytest

from bastion.errors import ConfigError
from bastion.pipeline.detector import PostContext, build
from bastion.records import AccountId, Post, PostId
from bastion.signals import Signal
from bastion.text.normalize import fold
from bastion.threats.assets import load, parse
from bastion.threats.detector import ThreatDetector
from bastion.threats.intent import score_text


def post(text: str, pid: str = "p1") -> Post:
    return Post(id=PostId(pid), account_id=AccountId("a1"), text=text)


@pytest.mark.parametrize("text", [
    "I will kill you tomorrow",
    "we are going to shoot every one of them",
    "Kill all protesters",
    "Ich bring dich um",
    "Die sollte man alle erschießen",
    "اذبحك",
    "سنذبحكم",
    "اقتلوهم",
])
def test_threats_score_high(text: str) -> None:
    assert score_text(text).probability >= 0.5, text


@pytest.mark.parametrize("text,mitigation", [
    ("I could kill for a coffee right now", "hyperbole"),
    ("Police said the man threatened to kill staff, according to a statement", "reporting"),
    ("We condemn the horrific attack, violence is never the answer", "condemnation"),
    ("In the game I shoot every zombie on the level", "fiction"),
    ("He was killed in 2014", "past"),
])
def test_harmless_readings(text: str, mitigation: str) -> None:
    r = score_text(text)
    assert r.probability < 0.5, text
    assert mitigation in r.mitigations


def test_ordinary_text_is_near_zero() -> None:
    assert score_text("Lovely weather in the park today").probability < 0.02


def test_spans_point_at_original_text() -> None:
    text = "Wir werden euch ALLE umhauen"
    r = score_text(text)
    for s in r.spans:
        assert text[s.start:s.end] == s.text
    assert any(s.label == "cue:violence" and s.text.lower() == "umhauen" for s in r.spans)


def test_registry_resolves_aliases_arabic_and_transliterations() -> None:
    reg = load()
    assert {h.asset.id for h in reg.find(fold("staff of TWITTER in san francisco"))} == {
        "staff:employees", "org:twitter", "office:sf-hq"}
    assert {h.asset.id for h in reg.find(fold("موظفي تويتر في سان فرانسيسكو"))} >= {
        "staff:employees", "office:sf-hq"}
    assert "org:twitter" in {h.asset.id for h in reg.find(fold("twiter"))}
    assert not reg.find(fold("a twittering bird"))  # whole words only


def test_registry_rejects_bad_files() -> None:
    with pytest.raises(ConfigError):
        parse({"offices": [{"name": "x"}]})
    with pytest.raises(ConfigError):
        parse({"planets": []})


def test_detector_signals_and_extraction() -> None:
    det = build(["threat"])[0]
    assert isinstance(det, ThreatDetector)
    text = "Every Twitter employee in San Francisco: a lone wolf with a knife waits on your doorstep tonight"
    threat, sev = det.detect([PostContext(post(text))])[0]
    assert threat.name == "threat" and threat.value >= 0.5
    assert sev.name == "threat_severity"
    d = sev.details
    assert d["level"] in ("high", "imminent")
    assert {"staff:employees", "office:sf-hq"} <= set(d["assets"])
    ext = d["extraction"]
    assert "knife" in ext["method"] and "tonight" in ext["time"] and "lone wolf" in ext["actor"]
    assert "San Francisco" in ext["place"]
    labels = {s.label.split(":")[0] for s in sev.spans}
    assert {"target", "place", "actor", "time", "method"} <= labels


def test_context_signals_raise_severity() -> None:
    det = ThreatDetector()
    text = "we will attack them"
    base = det.detect([PostContext(post(text))])[0][1]
    ctx = PostContext(post(text), signals={
        "propaganda": Signal("propaganda", 0.95, "propaganda", "1"),
        "campaign": Signal("campaign", 0.9, "campaign", "1")})
    raised = det.detect([ctx])[0][1]
    assert raised.value > base.value
    assert "propaganda" in raised.details["factors"] and "campaign" in raised.details["factors"]


def test_weights_are_configurable() -> None:
    text = "I will kill you tomorrow"
    assert ThreatDetector(weights={"explicit": 0.0, "violence": 0.0, "directed": 0.0}).detect(
        [PostContext(post(text))])[0][0].value < 0.5
    quiet = ThreatDetector(severity_weights={"time": 0.0})
    assert quiet.detect([PostContext(post(text))])[0][1].details["factors"]["time"] == 0.0


def test_custom_assets_path(tmp_path: object) -> None:
    from pathlib import Path

    p = Path(str(tmp_path)) / "assets.yaml"
    p.write_text("organisation: {id: org:acme, name: Acme, aliases: [أكمي]}\n"
                 "offices: [{id: office:lyon, city: Lyon, country: FR}]\n", encoding="utf-8")
    det = ThreatDetector(assets_path=str(p))
    sev = det.detect([PostContext(post("we will bomb the Acme office in Lyon"))])[0][1]
    assert set(sev.details["assets"]) == {"org:acme", "office:lyon"}
    assert sev.details["asset_places"] == [{"id": "office:lyon", "city": "Lyon", "country": "FR"}]
