"""The propaganda detector with the shipped default model, through the registry."""

from __future__ import annotations

import math

from bastion.catalogue import build
from bastion.detector import PostContext
from bastion.records import AccountId, Post, PostId
from bastion.text.model import default_model_path
from bastion.text.propaganda import reporting_cues


def _post(i: int, text: str, lang: str | None = None) -> PostContext:
    return PostContext(Post(id=PostId(str(i)), account_id=AccountId("a"), text=text, lang=lang))


def test_default_model_ships_small() -> None:
    path = default_model_path()
    assert path.is_file()
    assert path.stat().st_size < 50 * 1024 * 1024


def test_propaganda_detector_signals() -> None:
    (det,) = build(["propaganda"])
    batch = [_post(1, "Police said the suspect was arrested, according to officials."),
             _post(2, "RT @someone: #Amaq update from wilayat"),
             _post(3, "الدولة تعلن عن شيء", lang="ar"),
             _post(4, "")]
    results = det.detect(batch)
    assert len(results) == 4
    for sigs in results:
        names = [s.name for s in sigs]
        assert names == ["propaganda", "reporting"]
        for s in sigs:
            assert s.ok and 0.0 <= s.value <= 1.0 and not math.isnan(s.value)
            assert s.details["model_version"] == det.version
    assert results[0][0].details["lang"] == "en"
    assert results[2][0].details["lang"] == "ar"  # given by the post, not re-detected
    assert results[1][0].details.get("retweet") is True
    (explained,) = build(["propaganda"], {"propaganda": {"cue_threshold": 0.0}})
    assert "attribution" in explained.detect([batch[0]])[0][1].labels
    # scoring one post alone gives the same numbers as in a batch
    alone = det.detect([batch[1]])[0]
    assert abs(alone[0].value - results[1][0].value) < 1e-6


def test_detector_params_rebuild() -> None:
    (det,) = build(["propaganda"], {"propaganda": {"language": False}})
    assert det.get_params() == {"model": "default", "language": False, "cues": True, "cue_threshold": 0.3,
                                "shadow_model": None}
    (sigs,) = det.detect([_post(1, "hello world")])
    assert "lang" not in sigs[0].details


def test_reporting_cues_spans() -> None:
    text = 'Officials said: "we condemn this attack"'
    spans = reporting_cues(text)
    assert {s.label for s in spans} >= {"attribution", "quotation", "condemnation"}
    assert all(text[s.start:s.end] == s.text for s in spans)
