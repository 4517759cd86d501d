"""How the threat analyser splits text into words: one definition for the analyser and for the lexicons'
phrases, so a phrase matches the words as the text has them.

Spaced-out letters ("k i l l", "s.h.o.t", "f-a-c-k-e-l-t", "e.r.s.c.h.i.e.ß.e") are one word; words are letters
and digits with inner apostrophes; single symbols (emoji, currency signs) are words of their own.
"""

from __future__ import annotations

import re

SPACED = r"(?<![^\W_])[^\W\d_](?:[ .\-*·](?:ss|[^\W\d_])){2,}(?![^\W_])"  # ß folds to ss
WORD = r"[^\W_]+(?:['’][^\W_]+)*"
SYMBOL = r"[$€£]|[\U0001F000-\U0001FAFF\u2600-\u27BF]"
WORDS = re.compile(f"{SPACED}|{WORD}|{SYMBOL}")
_SEPARATORS = re.compile(r"[ .\-*·]")


def norm(word: str) -> str:
    """A word as read: typographic apostrophes straightened, spaced-out letters joined."""
    word = word.replace("’", "'")
    if len(word) > 2 and _SEPARATORS.search(word) and _SEPARATORS.sub("", word).isalpha():
        return _SEPARATORS.sub("", word)
    return word


def split_words(text: str) -> list[str]:
    """The words of ``text`` as the analyser reads them."""
    return [norm(m.group(0)) for m in WORDS.finditer(text)]
