from bastion.accounts.features import lookalike_letters, profile_score, reregistration_marker
from bastion.records import Account, AccountId


def acc(handle: str, name: str = "", bio: str = "") -> Account:
    return Account(id=AccountId(handle), handle=handle, display_name=name, bio=bio)


def test_plain_profile_scores_zero() -> None:
    s = profile_score(acc("weatherfan", "Weather Fan", "Clouds and rain, daily."))
    assert s.value == 0.0 and s.markers == ()


def test_organisation_terms_and_markers() -> None:
    s = profile_score(acc("dawlah_news", "Baqiyah", "28th account"))
    kinds = {(m.field, m.kind) for m in s.markers}
    assert ("handle", "organisation") in kinds and ("name", "organisation") in kinds
    assert ("bio", "back_after_suspension") in kinds
    assert 0.5 < s.value <= 0.75  # capped: a profile alone never reaches the suspension threshold


def test_weak_terms_count_less_than_strong_ones() -> None:
    weak = profile_score(acc("x", bio="researcher covering isis"))
    strong = profile_score(acc("x", bio="khilafah"))
    assert 0 < weak.value < strong.value


def test_shoutout_numbered_lookalike() -> None:
    s = profile_score(acc("someone_123", "NEW SHOUTOUT", "please follow"))
    kinds = {m.kind for m in s.markers}
    assert {"shoutout", "numbered"} <= kinds
    assert lookalike_letters("K\u0430lif")  # Latin K with Cyrillic a
    assert not lookalike_letters("Kalif")


def test_reregistration_marker() -> None:
    assert reregistration_marker(acc("a", bio="Backup account of the old one"))
    assert reregistration_marker(acc("a", name="Abu X 4th account"))
    assert reregistration_marker(acc("a", bio="I'm back, follow"))
    assert not reregistration_marker(acc("a", bio="I love my garden"))
    assert not reregistration_marker(acc("a", bio="take your rights back"))  # "back" alone is no marker
