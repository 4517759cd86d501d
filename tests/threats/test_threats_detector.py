"""The threat detector's signals, spans, gate, extraction, assets registry and severity, on schematic posts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.catalogue import build
from bastion.detector import PostContext
from bastion.errors import ConfigError
from bastion.records import AccountId, Post, PostId
from bastion.signals import Signal
from bastion.text.normalize import fold
from bastion.threats.assets import load, parse
from bastion.threats.detector import ThreatDetector


def post(text: str, pid: str = "p1", lang: str | None = None) -> Post:
    return Post(id=PostId(pid), account_id=AccountId("a1"), text=text, lang=lang)


@pytest.fixture(scope="module")
def det() -> ThreatDetector:
    return ThreatDetector()


def signals(det: ThreatDetector, text: str, **ctx: Signal) -> dict[str, Signal]:
    return {s.name: s for s in det.detect([PostContext(post(text), signals=dict(ctx))])[0]}


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


def test_three_signals_with_stance_form_and_spans(det: ThreatDetector) -> None:
    assert isinstance(build(["threat"])[0], ThreatDetector)
    text = "Every Twitter employee in San Francisco: a lone wolf with a knife waits on your doorstep tonight"
    s = signals(det, text)
    assert set(s) == {"threat", "threat_stance", "threat_severity"}
    threat, stance, sev = s["threat"], s["threat_stance"], s["threat_severity"]
    assert threat.value >= 0.5 and stance.value >= 0.5
    assert threat.details["stance"] == "issue" and threat.details["gate"] == "open"
    assert f"threat:{threat.details['form']}" in threat.labels and "stance:issue" in threat.labels
    for span in threat.spans:
        assert text[span.start:span.end] == span.text
    assert any(sp.label == "harm:weapon" and sp.text == "knife" for sp in threat.spans)
    d = sev.details
    assert d["level"] in ("high", "imminent")
    assert {"staff:employees", "office:sf-hq"} <= set(d["assets"])
    ext = d["extraction"]
    assert "knife" in ext["method"] and "tonight" in ext["time"] and "lone wolf" in ext["actor"]
    assert "San Francisco" in ext["place"]
    assert {"target", "place", "actor", "time", "method"} <= {sp.label.split(":")[0] for sp in sev.spans}


def test_a_quoted_threat_in_a_news_report_is_reported_not_issued(det: ThreatDetector) -> None:
    text = 'Police said one post read "we will kill the Twitter staff in San Francisco".'
    s = signals(det, text)
    assert s["threat"].value < 0.5 and s["threat_stance"].value < 0.5
    assert s["threat"].details["stance"] in ("report", "quote") and s["threat"].details["reporting"]
    assert any(sp.label == "quote" for sp in s["threat_stance"].spans)
    assert set(s["threat_severity"].details["assets"]) >= {"staff:employees"}  # still tied to the assets


def test_the_gate_closes_on_ordinary_posts(det: ThreatDetector) -> None:
    s = signals(det, "Lovely weather in the park today")
    assert s["threat"].details["gate"] == "closed" and s["threat"].value < 0.01
    assert s["threat_stance"].value == 0.0 and s["threat_severity"].value == 0.0


def test_an_asset_in_a_veiled_post_opens_the_gate(det: ThreatDetector) -> None:
    assert signals(det, "Say hi to your colleagues at Twitter for us")["threat"].details["gate"] == "open"


def test_a_bounty_with_no_one_to_harm_is_not_parsed(det: ThreatDetector) -> None:
    assert signals(det, "$500 for whoever finds my cat")["threat"].details["gate"] == "closed"
    # naming a protected asset, it is parsed: the asset is the one to harm (the organisation is no person, and
    # the post addresses no one)
    assert signals(det, "$500 for Twitter")["threat"].details["gate"] == "open"


@pytest.mark.parametrize("text", [
    "If you keep deleting our accounts, the Twitter staff in San Francisco will pay with their blood.",
    "Twitter employees: watch your backs, we know where your office in San Francisco is.",
    "Lone wolves, go after the Twitter employees in San Francisco.",
])
def test_conditional_veiled_and_incitement_against_staff_are_high(det: ThreatDetector, text: str) -> None:
    s = signals(det, text)
    assert s["threat"].value >= 0.5, text
    assert s["threat_severity"].details["level"] in ("high", "imminent"), (text, s["threat_severity"].details)


def test_a_generic_insult_with_a_violent_word_is_not_high(det: ThreatDetector) -> None:
    s = signals(det, "shut up you idiot or I will slap you")
    assert s["threat_severity"].details["level"] in ("low", "elevated")
    assert "lethal" not in s["threat_severity"].details["factors"]


def test_context_signals_raise_severity(det: ThreatDetector) -> None:
    text = "we will attack them"
    base = signals(det, text)["threat_severity"]
    raised = signals(det, text, propaganda=Signal("propaganda", 0.95, "propaganda", "1"),
                     campaign=Signal("campaign", 0.9, "campaign", "1"))["threat_severity"]
    assert raised.value > base.value
    assert "propaganda" in raised.details["factors"] and "campaign" in raised.details["factors"]


def test_severity_weights_are_configurable() -> None:
    text = "We will kill the Twitter staff in San Francisco tonight"
    quiet = ThreatDetector(severity_weights={"time": 0.0})
    assert quiet.detect([PostContext(post(text))])[0][2].details["factors"]["time"] == 0.0


def test_custom_assets_path(tmp_path: Path) -> None:
    p = tmp_path / "assets.yaml"
    p.write_text("organisation: {id: org:acme, name: Acme, aliases: [أكمي]}\n"
                 "offices: [{id: office:lyon, city: Lyon, country: FR}]\n", encoding="utf-8")
    det = ThreatDetector(assets_path=str(p))
    sev = det.detect([PostContext(post("we will bomb the Acme office in Lyon"))])[0][2]
    assert set(sev.details["assets"]) == {"org:acme", "office:lyon"}
    assert sev.details["asset_places"] == [{"id": "office:lyon", "city": "Lyon", "country": "FR"}]


def test_a_failing_post_degrades_its_own_signals_only(det: ThreatDetector, monkeypatch: pytest.MonkeyPatch) -> None:
    real = det.analyzer.analyze

    def flaky(folded: str, lang: str | None = None, **kw):  # type: ignore[no-untyped-def]
        if "boom" in folded:
            raise ValueError("boom")
        return real(folded, lang, **kw)

    monkeypatch.setattr(det.analyzer, "analyze", flaky)
    out = det.detect([PostContext(post("boom", "p1")), PostContext(post("We will kill your staff tonight.", "p2"))])
    assert all(not s.ok and "boom" in (s.unavailable or "") for s in out[0])
    assert all(s.ok for s in out[1]) and out[1][0].value >= 0.5


def test_spans_index_the_original_text_with_line_markers_and_diacritics(det: ThreatDetector) -> None:
    text = "تنبيه<LF>سَنَقْتُلُ موظفي تويتر في سان فرانسيسكو"
    s = signals(det, text)
    spans = [*s["threat"].spans, *s["threat_severity"].spans]
    assert spans
    for span in spans:
        assert text[span.start:span.end] == span.text
    assert any(span.label == "harm:kill" and span.text == "سَنَقْتُلُ" for span in s["threat"].spans)


def test_an_arabic_feminine_ending_makes_another_noun_of_an_alias() -> None:
    # folded, "مؤسسة" (an institution) ends as "his founder" would: no asset
    reg = load()
    assert not reg.find(fold("مدير كل مستشفى ومدرسة ومؤسسة"))
    assert "person:cofounder" in {h.asset.id for h in reg.find(fold("سنذبح مؤسسكم"))}  # your founder


def test_vowelled_scripture_is_not_parsed_and_the_gate_says_so(det: ThreatDetector) -> None:
    # a verse quoted with its short vowels (schematic: a call to fight, as verses of war read) is scripture, not
    # its poster's threat; the same words unvowelled are read
    verse = "وَقَاتِلُوهُمْ حَتَّى لَا تَكُونَ فِتْنَةٌ وَيَكُونَ الدِّينُ لِلَّهِ"
    s = signals(det, verse)
    assert s["threat"].details["gate"] == "scripture" and s["threat"].value < 0.01
    plain = signals(det, "سنقتلكم جميعا في مكتبكم")
    assert plain["threat"].details["gate"] == "open"
