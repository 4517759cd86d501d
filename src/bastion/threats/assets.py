"""The protected-assets registry: who and what the security team protects.

A YAML file names the organisation (with aliases, Arabic names and transliterations), its leaders, staff
groups and offices (with city and country). A threat whose target or place resolves to an asset is linked to
it and weighs more (see :mod:`bastion.threats.severity`). Matching runs on folded text (case, Arabic letter
forms, diacritics, look-alike letters), on whole words, with an Aho-Corasick automaton, so a registry of
thousands of aliases costs one pass per post.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import ahocorasick
import yaml

from bastion import yamlio
from bastion.errors import ConfigError, InputError
from bastion.text.normalize import fold

log = logging.getLogger(__name__)

KINDS = ("organisation", "leader", "staff", "office")
_SECTIONS = {"organisation": "organisation", "leaders": "leader", "staff_groups": "staff",
             "offices": "office"}


@dataclass(frozen=True, slots=True)
class Asset:
    id: str
    kind: str  # organisation | leader | staff | office
    name: str
    aliases: tuple[str, ...] = ()
    role: str = ""
    city: str = ""
    country: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "name": self.name}
        for key in ("role", "city", "country"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True, slots=True)
class AssetHit:
    asset: Asset
    start: int  # offsets into the folded text the caller matched on
    end: int
    alias: str


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class AssetRegistry:
    def __init__(self, assets: Sequence[Asset], source: str = "<memory>") -> None:
        self.assets = tuple(assets)
        self.source = source
        self._by_id = {a.id: a for a in self.assets}
        self._automaton: Any = ahocorasick.Automaton()
        for asset in self.assets:
            for alias in {asset.name, *asset.aliases, *((asset.city,) if asset.city else ())}:
                key = fold(alias).strip()
                if len(key) < 2:
                    continue
                existing = self._automaton.get(key, None)
                entries = [*existing, (asset.id, alias)] if existing else [(asset.id, alias)]
                self._automaton.add_word(key, entries)
        if len(self._automaton):
            self._automaton.make_automaton()

    def __len__(self) -> int:
        return len(self.assets)

    def get(self, asset_id: str) -> Asset | None:
        return self._by_id.get(asset_id)

    def find(self, folded: str) -> list[AssetHit]:
        """Whole-word alias matches in already-folded text (Arabic clitics و/ف/ب/ل/ال may precede a word)."""
        if not len(self._automaton):
            return []
        hits: list[AssetHit] = []
        for end_idx, entries in self._automaton.iter(folded):
            for asset_id, alias in entries:
                key = fold(alias).strip()
                start = end_idx - len(key) + 1
                end = end_idx + 1
                if end < len(folded) and _is_word_char(folded[end]) and not _arabic_suffix(folded, end):
                    continue
                if start > 0 and _is_word_char(folded[start - 1]) and not _arabic_prefix(folded, start):
                    continue
                hits.append(AssetHit(self._by_id[asset_id], start, end, alias))
        return _longest(hits)

    def to_json(self) -> list[dict[str, Any]]:
        return [a.to_json() for a in self.assets]


def _arabic_prefix(text: str, start: int) -> bool:
    """Allow one-letter Arabic clitics (و ف ب ل ك) and the article before a name: "لتويتر", "والموظفين"."""
    i = start
    while i > 0 and _is_word_char(text[i - 1]):
        i -= 1
    prefix = text[i:start]
    return bool(prefix) and len(prefix) <= 3 and all("\u0600" <= c <= "\u06ff" for c in prefix) and \
        all(c in "وفبلكال" for c in prefix)


def _arabic_suffix(text: str, end: int) -> bool:
    """Allow Arabic possessive/plural endings after a name: "موظف" + "يها" (its employees), "موظف" + "يكم" (your
    employees), "موظف" + "و". Not a lone "ه": folded, it is also the feminine ending that makes another noun of
    the name ("مؤسسة", an institution, is no "مؤسس", founder, + "his")."""
    j = end
    while j < len(text) and _is_word_char(text[j]):
        j += 1
    suffix = text[end:j]
    return bool(suffix) and len(suffix) <= 3 and suffix != "ه" and all(c in "هاكمنيو" for c in suffix)


def _longest(hits: list[AssetHit]) -> list[AssetHit]:
    """Drop a hit inside a longer one for the same asset ("San Francisco HQ" over "San Francisco")."""
    hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
    out: list[AssetHit] = []
    for h in hits:
        if any(o.asset.id == h.asset.id and o.start <= h.start and h.end <= o.end for o in out):
            continue
        out.append(h)
    return out


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return tuple(str(v) for v in value)
    raise ConfigError(f"{where}: expected a list of names")


def _asset(entry: Any, kind: str, where: str) -> Asset:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: expected a mapping with id and name")
    asset_id, name = entry.get("id"), entry.get("name") or entry.get("city")
    if not isinstance(asset_id, str) or not asset_id or not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: every asset needs an id and a name")
    return Asset(id=asset_id, kind=kind, name=name, aliases=_strs(entry.get("aliases"), where),
                 role=str(entry.get("role") or ""), city=str(entry.get("city") or ""),
                 country=str(entry.get("country") or ""))


def parse(data: Any, source: str = "<memory>") -> AssetRegistry:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: an assets registry is a mapping (organisation, leaders, ...)")
    unknown = set(data) - set(_SECTIONS)
    if unknown:
        raise ConfigError(f"{source}: unknown sections {sorted(unknown)}; known: {sorted(_SECTIONS)}")
    assets: list[Asset] = []
    for section, kind in _SECTIONS.items():
        value = data.get(section)
        if value is None:
            continue
        items: Iterable[Any] = [value] if section == "organisation" else value
        if section != "organisation" and not isinstance(value, list):
            raise ConfigError(f"{source}: {section} must be a list")
        for i, entry in enumerate(items):
            assets.append(_asset(entry, kind, f"{source}: {section}[{i}]"))
    ids = [a.id for a in assets]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"{source}: duplicate asset ids {dupes}")
    return AssetRegistry(assets, source)


def load(path: str | Path | None = None) -> AssetRegistry:
    """Load a registry file; ``None`` or ``"default"`` loads the example that ships in the package."""
    if path is None or str(path) == "default":
        text = (resources.files("bastion.threats") / "data" / "assets.example.yaml").read_text("utf-8")
        return parse(yamlio.safe_load(text), "assets.example.yaml")
    p = Path(path)
    if not p.is_file():
        raise InputError(f"assets registry {p} does not exist")
    try:
        data = yamlio.safe_load(p.read_text("utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from exc
    return parse(data, str(p))
