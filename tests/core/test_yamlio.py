"""YAML reading: safe, fast, and strict about repeated keys."""

from __future__ import annotations

import pytest
import yaml

from bastion import yamlio


def test_reads_plain_yaml() -> None:
    assert yamlio.safe_load("a: 1\nb: [x, y]\n") == {"a": 1, "b": ["x", "y"]}


def test_a_repeated_key_is_an_error_naming_both_lines() -> None:
    """PyYAML keeps the last of two equal keys without a word; a lexicon lost a whole word list that way."""
    with pytest.raises(yaml.YAMLError, match=r"duplicate key 'words' \(first at line 1\)") as err:
        yamlio.safe_load("words: [a]\nother: 1\nwords: [b]\n")
    assert "line 3" in str(err.value)


def test_nested_repeats_are_caught_too() -> None:
    with pytest.raises(yaml.YAMLError, match="duplicate key 'HUMAN'"):
        yamlio.safe_load("words:\n  HUMAN: [a]\n  KILL: [b]\n  HUMAN: [c]\n")


def test_no_python_objects_are_built() -> None:
    with pytest.raises(yaml.YAMLError):
        yamlio.safe_load("!!python/object/apply:os.system ['true']")
