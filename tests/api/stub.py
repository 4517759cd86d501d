"""A schematic text detector for the API and UI tests: it keys on made-up marker tokens, not on real
propaganda, so fixtures stay neutral. ``ZZORG`` scores high enough to remove, ``QQSLOGAN`` to review."""

from __future__ import annotations

from collections.abc import Sequence

from bastion import catalogue as registry
from bastion.detector import Detector, PostContext
from bastion.records import Account
from bastion.signals import Signal, Span

NAME = "stub_text"


class StubText(Detector):
    name = NAME
    signals = ("propaganda", "reporting", "ban_evasion")
    version = "test-1"

    def detect(self, batch: Sequence[PostContext]) -> Sequence[Sequence[Signal]]:
        out = []
        for ctx in batch:
            text = ctx.post.text
            spans = []
            score = 0.05
            for token, value in (("ZZORG", 0.97), ("QQSLOGAN", 0.7)):
                at = text.find(token)
                if at >= 0:
                    spans.append(Span(at, at + len(token), "org" if token == "ZZORG" else "slogan", token))
                    score = max(score, value)
            out.append([Signal("propaganda", score, NAME, self.version, spans=tuple(spans)),
                        Signal("reporting", 0.0, NAME, self.version)])
        return out


    def detect_accounts(self, accounts: Sequence[Account]) -> Sequence[Sequence[Signal]]:
        return [[Signal("ban_evasion", 0.95, NAME, self.version)] if "ZZORG" in a.bio else [] for a in accounts]


def register() -> None:
    registry.register(NAME, StubText)
