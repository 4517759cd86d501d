"""Synthetic profiles for the ban-evasion benchmark and tests: nobody's real data.

Handles, names and bios are built from random syllables and a Zipf-distributed synthetic vocabulary, so a
million of them have realistic collisions (common name parts, common bio words) without copying anyone.
:func:`evade` makes the re-registration of a profile the way evaders do it: a new number on the handle,
an underscore or a look-alike letter, the same or a slightly edited name and bio, often the same avatar
re-encoded (a few PDQ bits flipped).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

from bastion.accounts.fingerprint import Fingerprint

_SYLLABLES = ("ab", "ul", "ra", "sha", "mi", "ko", "den", "tar", "li", "na", "zu", "mar", "ha", "sin", "bo",
              "qa", "ri", "tel", "ya", "wen", "dor", "fi", "gu", "lo", "mek", "ni", "pra", "sol", "vu", "ze",
              "kai", "rum", "is", "ob", "ty", "lan", "che", "mo", "ser", "xi")
_LOOKALIKE = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "i": "l", "c": "\u0441", "p": "\u0440"}


def _word(rng: random.Random, lo: int = 2, hi: int = 3) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(lo, hi)))


class Population:
    """A reproducible generator of synthetic profiles."""

    def __init__(self, seed: int = 0, vocabulary: int = 5000) -> None:
        self.rng = random.Random(seed)
        self.vocab = [_word(self.rng, 1, 4) for _ in range(vocabulary)]
        self.cum_weights = list(itertools.accumulate(1.0 / (r + 1) for r in range(vocabulary)))
        self.first = [_word(self.rng).capitalize() for _ in range(400)]
        self.last = [_word(self.rng).capitalize() for _ in range(2000)]
        self.places = [f"{_word(self.rng).capitalize()}, {_word(self.rng).capitalize()}" for _ in range(300)]
        self.n = 0

    def profile(self) -> Fingerprint:
        rng = self.rng
        self.n += 1
        base = _word(rng, 2, 4)
        handle = base + (str(rng.randint(1, 9999)) if rng.random() < 0.6 else "")
        if rng.random() < 0.3:
            handle = f"{base[:3]}_{base[3:]}" if len(base) > 4 else f"_{handle}"
        name = f"{rng.choice(self.first)} {rng.choice(self.last)}" if rng.random() < 0.9 else ""
        bio = ""
        if rng.random() < 0.7:
            bio = " ".join(rng.choices(self.vocab, cum_weights=self.cum_weights, k=rng.randint(4, 18)))
        pdq = f"{rng.getrandbits(256):064x}" if rng.random() < 0.5 else None
        ids = tuple(f"{rng.getrandbits(64):016x}" for _ in range(rng.randint(1, 2))) if rng.random() < 0.3 else ()
        links = (f"{_word(rng)}.example/{_word(rng)}",) if rng.random() < 0.2 else ()
        loc = rng.choice(self.places) if rng.random() < 0.5 else ""
        return Fingerprint(account_id=f"syn{self.n}", handle=handle, display_name=name, bio=bio, location=loc,
                           avatar_pdq=pdq, links=links, identifiers=ids)

    def evade(self, fp: Fingerprint) -> Fingerprint:
        """The same operator's next account (no shared device/IP/e-mail identifiers: those are too easy)."""
        rng = self.rng
        self.n += 1
        letters = "".join(ch for ch in fp.handle if not ch.isdigit())
        handle = letters.rstrip("_") + str(rng.randint(1, 999))
        if rng.random() < 0.3:
            handle = handle.replace("_", "") if "_" in handle else f"{handle[:2]}_{handle[2:]}"
        if rng.random() < 0.3:
            for a, b in _LOOKALIKE.items():
                if a in handle:
                    handle = handle.replace(a, b, 1)
                    break
        name = fp.display_name
        if name and rng.random() < 0.3:
            name = name.split()[0] + " " + rng.choice(self.last)
        words = fp.bio.split()
        if words and rng.random() < 0.5:
            words[rng.randrange(len(words))] = rng.choice(self.vocab)
        pdq = fp.avatar_pdq
        if pdq and rng.random() < 0.7:
            value = int(pdq, 16)
            for _ in range(rng.randint(0, 12)):
                value ^= 1 << rng.randrange(256)
            pdq = f"{value:064x}"
        else:
            pdq = None
        return replace(fp, account_id=f"syn{self.n}", handle=handle, display_name=name, bio=" ".join(words),
                       avatar_pdq=pdq, identifiers=())
