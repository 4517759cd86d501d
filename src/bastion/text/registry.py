"""Model registry: text models versioned in the store, one live, at most one in shadow (issue #18).

* ``register`` stores a model file's bytes with its card as a ``candidate``.
* ``shadow`` makes a version score every post next to the live one: its scores are the signals
  ``propaganda_shadow`` and ``reporting_shadow``, stored with every decision (``scores``; the model version in
  ``versions["models"]``), and ``bastion policy check`` refuses a rule that reads them - its effects are never
  applied.
* ``promote`` makes a version live (the previous live one is retired); ``rollback`` gives the live status back
  to the version that was live before. Each is one audited event (``model.register``, ``model.shadow``,
  ``model.promote``, ``model.rollback``) in the same transaction as the change.

Runs pick the registry's live and shadow models up when they start (``PropagandaDetector.from_settings``);
without a live model they score with the model that ships. Decisions name the model version that made them
(``versions["propaganda"]`` and the signal's ``model_version``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update

from bastion.audit.log import AuditLog
from bastion.errors import InputError
from bastion.store.models import models as M
from bastion.text.evaluate import REMOVE_AT, REVIEW_AT

__all__ = ["cached_file", "list_models", "live_and_shadow", "promote", "register_file", "rollback",
           "set_shadow", "show"]

KIND = "text"


def _engine(where: str | Engine) -> tuple[Engine, bool]:
    if isinstance(where, Engine):
        return where, False
    from bastion.store.db import open_engine

    return open_engine(where), True  # a bare path is a SQLite file


def _row(r: Any) -> dict[str, Any]:
    return {"version": r.version, "kind": r.kind, "status": r.status, "sha256": r.sha256, "size": r.size,
            "created_at": r.created_at.isoformat(), "live_since": r.live_since.isoformat() if r.live_since else None,
            "live_until": r.live_until.isoformat() if r.live_until else None}


def register_file(where: str | Engine, path: Path, *, kind: str = KIND, actor: str = "cli",
                  now: datetime | None = None) -> dict[str, Any]:
    """Store ``path`` (a text model file) as a candidate; its version and card come from the file."""
    from bastion.text.model import TextModel

    model = TextModel.load(path)  # refuses anything that is not a model file
    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    now = now or datetime.now(UTC)
    engine, own = _engine(where)
    try:
        with engine.begin() as conn:
            found = conn.execute(select(M.c.sha256).where(M.c.version == model.version)).first()
            if found is not None:
                if found.sha256 != digest:
                    raise InputError(f"model version {model.version} is registered with other content; "
                                     "give the new model its own --version")
            else:
                conn.execute(M.insert().values(version=model.version, kind=kind, sha256=digest, size=len(data),
                                               data=data, card=model.meta.get("card") or model.meta,
                                               status="candidate", created_at=now))
                AuditLog().append(conn, "model.register", actor, model.version,
                                  {"kind": kind, "sha256": digest, "size": len(data)}, now=now)
            return _row(conn.execute(select(M).where(M.c.version == model.version)).one())
    finally:
        if own:
            engine.dispose()


def list_models(engine: Engine, kind: str = KIND) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(M).where(M.c.kind == kind).order_by(M.c.created_at, M.c.version)).all()
    return [_row(r) for r in rows]


def show(engine: Engine, version: str) -> dict[str, Any]:
    with engine.connect() as conn:
        r = conn.execute(select(M).where(M.c.version == version)).first()
    if r is None:
        raise InputError(f"no model version {version!r} in the registry (bastion models list)")
    return {**_row(r), "card": r.card}


def _require(conn: Any, version: str) -> Any:
    r = conn.execute(select(M).where(M.c.version == version)).first()
    if r is None:
        raise InputError(f"no model version {version!r} in the registry (bastion models list)")
    return r


def set_shadow(engine: Engine, version: str | None, *, actor: str, now: datetime | None = None) -> None:
    """Put ``version`` in shadow (``None``: no shadow model); the previous shadow model becomes a candidate."""
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        if version is not None and _require(conn, version).status == "live":
            raise InputError(f"{version} is live; a shadow model is one that is not")
        previous = conn.execute(select(M.c.version).where(M.c.status == "shadow")).scalar()
        conn.execute(update(M).where(M.c.status == "shadow").values(status="candidate"))
        if version is not None:
            conn.execute(update(M).where(M.c.version == version).values(status="shadow"))
        AuditLog().append(conn, "model.shadow", actor, version, {"previous": previous}, now=now)


def promote(engine: Engine, version: str, *, actor: str, now: datetime | None = None) -> str | None:
    """Make ``version`` live; returns the version it replaces (retired)."""
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        row = _require(conn, version)
        if row.status == "live":
            raise InputError(f"{version} is already live")
        previous = conn.execute(select(M.c.version).where(M.c.status == "live", M.c.kind == row.kind)).scalar()
        conn.execute(update(M).where(M.c.status == "live", M.c.kind == row.kind)
                     .values(status="retired", live_until=now))
        conn.execute(update(M).where(M.c.version == version).values(status="live", live_since=now,
                                                                      live_until=None))
        AuditLog().append(conn, "model.promote", actor, version, {"previous": previous, "sha256": row.sha256},
                          now=now)
    return previous


def rollback(engine: Engine, *, actor: str, kind: str = KIND, now: datetime | None = None) -> tuple[str, str | None]:
    """Give the live status back to the version live before the current one (none: the shipped model). The
    current one becomes ``rolled_back`` and is never restored by a later rollback (a second rollback goes one
    step further back, it does not undo the first). Returns (rolled-back version, restored version or None)."""
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        current = conn.execute(select(M).where(M.c.status == "live", M.c.kind == kind)).first()
        if current is None:
            raise InputError("no live model to roll back (the shipped model is in use)")
        before = conn.execute(select(M.c.version).where(M.c.kind == kind, M.c.status == "retired",
                                                        M.c.live_until.is_not(None))
                              .order_by(M.c.live_until.desc()).limit(1)).scalar()
        conn.execute(update(M).where(M.c.version == current.version).values(status="rolled_back", live_until=now))
        if before is not None:
            conn.execute(update(M).where(M.c.version == before).values(status="live", live_since=now,
                                                                     live_until=None))
        AuditLog().append(conn, "model.rollback", actor, current.version, {"restored": before}, now=now)
    return current.version, before


def cached_file(engine: Engine, version: str) -> Path:
    """The model's bytes as a local file (cached by digest, checked against the registry's SHA-256)."""
    with engine.connect() as conn:
        r = conn.execute(select(M.c.sha256, M.c.data).where(M.c.version == version)).first()
    if r is None:
        raise InputError(f"no model version {version!r} in the registry")
    cache = Path(os.environ.get("BASTION_MODEL_CACHE", Path(tempfile.gettempdir()) / "bastion-models"))
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{r.sha256}.npz"
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != r.sha256:
        data = bytes(r.data)
        if hashlib.sha256(data).hexdigest() != r.sha256:
            raise InputError(f"model {version}: stored bytes do not match their SHA-256 (altered)")
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def _current(engine: Engine, kind: str) -> dict[str, Any]:
    """The live and shadow rows of ``kind`` by status (none before the registry's table exists)."""
    from sqlalchemy import inspect

    if not inspect(engine).has_table("models"):
        return {}
    with engine.connect() as conn:
        return {r.status: r for r in conn.execute(
            select(M.c.status, M.c.version, M.c.live_since)
            .where(M.c.kind == kind, M.c.status.in_(("live", "shadow"))))}


def live_and_shadow(where: str | Engine, kind: str = KIND) -> tuple[Path | None, Path | None]:
    """Local files of the live and the shadow model (``None`` where there is none, or no registry yet)."""
    engine, own = _engine(where)
    try:
        rows = _current(engine, kind)
        return (cached_file(engine, rows["live"].version) if "live" in rows else None,
                cached_file(engine, rows["shadow"].version) if "shadow" in rows else None)
    finally:
        if own:
            engine.dispose()


def load_live_text(where: str | Engine) -> Any:
    """The live text model, or ``None`` when the registry has none."""
    from bastion.text.model import TextModel

    live, _ = live_and_shadow(where)
    return TextModel.load(live) if live is not None else None


def _band(p: float, rep: float, review_at: float, remove_at: float) -> str:
    if p >= remove_at and rep < 0.5:
        return "remove"
    return "review" if p >= review_at else "none"


def compare(rows: list[dict[str, Any]], live: Any, shadow: Any, *, review_at: float = REVIEW_AT,
            remove_at: float = REMOVE_AT, earn: tuple[float, int] = (0.99, 100)) -> dict[str, Any]:
    """Both models on labelled posts (``bastion labels export`` rows of the text queues): precision and
    recall at the policy's review and removal thresholds, how many of the live model's outcomes (none,
    review, remove) the other would change, by class and by language, and the removal threshold each model
    earns on them (``earned``: the lowest score down to which precision holds ``earn[0]`` over at least
    ``earn[1]`` posts; only as good as the labels are a fair sample of what the rule would remove)."""
    from collections import Counter

    import numpy as np

    from bastion.text.finetune import earned_threshold, label_examples

    keep = label_examples(rows)
    lang = {str(r.get("id")): (r.get("lang") or "und") for r in rows}
    texts = [e.text for e in keep.examples]
    report: dict[str, Any] = {"posts": len(texts), "skipped": keep.skipped,
                              "thresholds": {"review": review_at, "remove": remove_at}, "models": {}}
    if not texts:
        return report
    pos = [e.positive for e in keep.examples]
    bands: dict[str, list[str]] = {}
    for name, model in (("live", live), ("shadow", shadow)):
        p, rep = model.score(texts)
        bands[name] = [_band(float(a), float(b), review_at, remove_at) for a, b in zip(p, rep, strict=True)]
        m: dict[str, Any] = {"version": model.version}
        for what, flagged in (("review", [b != "none" for b in bands[name]]),
                              ("remove", [b == "remove" for b in bands[name]])):
            tp = sum(f and y for f, y in zip(flagged, pos, strict=True))
            m[what] = {"flagged": sum(flagged), "precision": round(tp / sum(flagged), 4) if any(flagged) else None,
                       "recall": round(tp / sum(pos), 4) if any(pos) else None}
        m["earned"] = earned_threshold(np.array(pos, dtype=bool), np.asarray(p, dtype=float), *earn)
        report["models"][name] = m
    changed = [a != b for a, b in zip(bands["live"], bands["shadow"], strict=True)]
    by_class: Counter[str] = Counter()
    by_lang: Counter[str] = Counter()
    moves: Counter[str] = Counter()
    for e, c, a, b in zip(keep.examples, changed, bands["live"], bands["shadow"], strict=True):
        if c:
            by_class[e.label] += 1
            by_lang[str(lang.get(e.id, "und"))] += 1
            moves[f"{a}->{b}"] += 1
    report["changed"] = {"total": sum(changed), "by_class": dict(sorted(by_class.items())),
                         "by_lang": dict(sorted(by_lang.items())), "moves": dict(sorted(moves.items())),
                         "of_class": dict(sorted(Counter(e.label for e in keep.examples).items()))}
    return report


def in_use(engine: Engine, kind: str = KIND) -> dict[str, Any]:
    """Which model versions runs use now: the registry's live one (else the shipped model's version) and the
    shadow one, and when the live one went live - for the review UI and the transparency report."""
    rows = _current(engine, kind)
    if "live" in rows:
        live = {"version": rows["live"].version, "source": "registry",
                "since": rows["live"].live_since.isoformat() if rows["live"].live_since else None}
    else:
        live = {"version": _shipped_version(), "source": "shipped", "since": None}
    return {"live": live, "shadow": rows["shadow"].version if "shadow" in rows else None}


@functools.lru_cache(maxsize=1)
def _shipped_version() -> str:
    from bastion.text.model import TextModel

    return TextModel.load("default").version
