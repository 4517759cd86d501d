"""Own heuristics for when earlier detectors' signals are absent.

The campaign stage prefers the ``propaganda``, ``account_risk`` and ``ban_evasion`` signals of earlier
detectors. A deployment that runs the campaign stage alone (or a replay before those models exist) still
needs a rough per-post and per-account extremism score, so this module provides one from vocabulary only:

* **known extremist hashtags**: names of the group's media outlets and provinces as used in hashtags (a
  public, well-documented vocabulary; the list ships in ``data/extremist_hashtags.txt`` and can be replaced);
* **in-group terms**: words supporters use and reporters rarely do (the group's own name for itself and its
  "state", its slurs for other sects and for apostates). One term is weak evidence, so scores combine as a
  noisy-OR of per-term weights and a single weak term stays below the flag threshold;
* **profile cues**: the same terms in an account's handle, name or bio.

These are deliberately coarse. They exist so the stage degrades gracefully; the measured figures in
``docs/campaigns.md`` say which scorer produced them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from bastion.errors import ConfigError

#: (pattern, weight). Weights are the probability-like evidence one match adds (combined by noisy-OR).
STRONG = 0.45
MEDIUM = 0.3
WEAK = 0.2

_TERMS: tuple[tuple[str, float], ...] = (
    (r"\bkh[iy]lafa[ht]?\b", STRONG),
    (r"\bdawla[h]?\b", STRONG),
    (r"\bbaqi[yi]a[h]?\b", STRONG),
    (r"\bsahwa[th]?\b", STRONG),
    (r"\bnus[ae]yri[s]?\b|\bnusairi[s]?\b", STRONG),
    (r"\brafid(?:h|ha|hah|i|is)?\b|\brawafid\b", STRONG),
    (r"\bmurtadd?(?:een|in|s)?\b", STRONG),
    (r"\bta[gw]h?[ua]ut\b|\btawaghit\b", STRONG),
    (r"\bwilaya[ht]\b", MEDIUM),
    (r"\ba[\'’]?maa?q\b", MEDIUM),
    (r"\bmujah[ie]d(?:een|in|un)?\b", MEDIUM),
    (r"\bapostates?\b", MEDIUM),
    (r"\bkuff?ar\b", MEDIUM),
    (r"\binghimasi\b", MEDIUM),
    (r"\bcrusaders?\b", WEAK),
    (r"\bcaliphate\b", WEAK),
    (r"\bislamic state\b", WEAK),
    (r"\bshuhada\b", WEAK),
    ("الدولة الإسلامية", STRONG),
    ("الخلافة", MEDIUM),
    ("أعماق", MEDIUM),
    ("المرتدين", STRONG),
    ("الرافضة", STRONG),
    ("النصيرية", STRONG),
)

#: A known extremist hashtag in a post is strong evidence on its own (it reaches the flag threshold).
HASHTAG_WEIGHT = 0.6


def _default_hashtag_file() -> str:
    return resources.files("bastion.campaigns").joinpath("data/extremist_hashtags.txt").read_text("utf-8")


def parse_hashtag_list(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Parse the hashtag list format: one hashtag a line, ``#`` comments, ``prefix*`` for a family."""
    exact: list[str] = []
    prefixes: list[str] = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        tag = normalize_hashtag(line.rstrip("*"))
        if not tag:
            continue
        (prefixes if line.endswith("*") else exact).append(tag)
    return tuple(exact), tuple(prefixes)


def normalize_hashtag(tag: str) -> str:
    """Hashtags compare case-insensitively and without the leading ``#``."""
    return tag.strip().lstrip("#＃").casefold()


@dataclass(frozen=True, slots=True)
class KnownHashtags:
    """The known extremist hashtags: exact names plus name prefixes (``wilayat*``)."""

    exact: frozenset[str]
    prefixes: tuple[str, ...] = ()

    @classmethod
    def load(cls, path: str | Path | None = None) -> KnownHashtags:
        try:
            text = _default_hashtag_file() if path is None else Path(path).read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read extremist hashtag list {path}: {exc.strerror}") from exc
        exact, prefixes = parse_hashtag_list(text)
        return cls(frozenset(exact), prefixes)

    def __contains__(self, tag: object) -> bool:
        if not isinstance(tag, str):
            return False
        return tag in self.exact or (bool(self.prefixes) and tag.startswith(self.prefixes))

    def any_in(self, tags: Iterable[str]) -> bool:
        return any(t in self for t in tags)


class TextHeuristic:
    """Vocabulary score of a post or profile in [0, 1] (noisy-OR of matched term weights)."""

    def __init__(self, known: KnownHashtags) -> None:
        self.known = known
        self._patterns = [(re.compile(p, re.IGNORECASE), w) for p, w in _TERMS]

    def score_text(self, text: str) -> float:
        keep = 1.0
        for rx, weight in self._patterns:
            if rx.search(text):
                keep *= 1.0 - weight
        return 1.0 - keep

    def score_post(self, text: str, hashtags: Iterable[str]) -> float:
        keep = 1.0 - self.score_text(text)
        if self.known.any_in(hashtags):
            keep *= 1.0 - HASHTAG_WEIGHT
        return 1.0 - keep

    def score_profile(self, handle: str, name: str, bio: str) -> float:
        """Profile cues: the in-group terms in handle, display name or bio (handles run words together, so
        the handle is also scanned with word boundaries relaxed to underscores and digits)."""
        spaced = re.sub(r"[_\d]+", " ", handle)
        return self.score_text(f"{spaced}\n{name}\n{bio}")
