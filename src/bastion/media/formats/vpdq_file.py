"""vPDQ hash files as Meta's vPDQ tools write them (``vpdq/sample-hashes/*.txt``): one line per sampled frame,
``frame_number,quality,pdq_hex,timestamp_seconds`` (older files omit the timestamp). One file is one
video: it imports as one ``vpdq`` entry. A directory imports every ``*.txt`` file in it, one entry each,
named by file (the entry's external id)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from bastion.errors import InputError
from bastion.media.banks.model import BankConfig, BankEntry, EntryLabels
from bastion.media.formats.base import Exported, Imported, entry, read_text


def _frames(path: Path, out: Imported) -> list[str]:
    frames: list[str] = []
    for n, raw in enumerate(read_text(path).splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(",")]
        try:
            if len(parts) not in (3, 4):
                raise ValueError("expected frame_number,quality,pdq_hex[,timestamp_seconds]")
            frame, quality = int(parts[0]), int(parts[1])
            ts = float(parts[3]) if len(parts) == 4 else float(frame)
            pdq = parts[2].lower()
            if len(pdq) != 64 or any(c not in "0123456789abcdef" for c in pdq) or not 0 <= quality <= 100:
                raise ValueError("a frame needs a 64-hex PDQ hash and a quality 0-100")
        except ValueError as exc:
            out.skipped.append((f"{path.name}:{n}", str(exc)))
            continue
        frames.append(f"{pdq},{quality},{ts:.3f}")
    return frames


def read(path: Path, bank: str) -> Imported:
    files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
    if path.is_dir() and not files:
        raise InputError(f"{path}: no *.txt vPDQ hash files in this directory")
    out = Imported()
    for f in files:
        frames = _frames(f, out)
        if not frames:
            out.skipped.append((f.name, "no readable frames"))
            continue
        try:
            out.entries.append(entry(bank, "vpdq", json.dumps(frames, separators=(",", ":")),
                                     labels=EntryLabels(source="vpdq-file"), external_id=f.stem))
        except ValueError as exc:
            out.skipped.append((f.name, str(exc)))
    return out


def write(path: Path, config: BankConfig, entries: Sequence[BankEntry]) -> Exported:
    """The first vPDQ entry as a hash file (a file holds one video); others are counted as skipped."""
    from bastion.media.hashers.vpdq import parse_vpdq

    videos = [e for e in entries if e.signal_type == "vpdq"]
    if not videos:
        path.write_text("", encoding="utf-8")
        return Exported(0, len(entries))
    sig = parse_vpdq(videos[0].signal)
    path.write_text("".join(f"{f.frame},{f.quality},{f.pdq},{f.ts:.3f}\n" for f in sig.frames), encoding="utf-8")
    return Exported(1, len(entries) - 1)
