"""Hash-exchange collaborations in the database (migration ``media_0002``): what each one fetches into which
bank, its pytx checkpoint, and how its last fetch went.

:meth:`ExchangeStore.apply` writes one fetched change in one transaction: new entries inserted, entries whose
labels changed (a new opinion, a dispute) updated, tombstones deleted, and the checkpoint saved with them, so
a fetch stopped at any point resumes from the last change that was written and never applies one twice.
Credentials are never stored here (pytx reads them from the environment or its token files).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    ForeignKey,
    String,
    Table,
    Text,
    delete,
    select,
    update,
)

from bastion.errors import ConfigError, NotFound
from bastion.media.exchange import Change
from bastion.store.media import media_bank_entries, media_banks, signal_key
from bastion.store.schema import Json, UtcDateTime, metadata

media_exchanges = Table(
    "media_exchanges", metadata,
    Column("name", String(128), primary_key=True),
    Column("api", String(32), nullable=False),
    Column("bank", String(128), ForeignKey("media_banks.name", ondelete="CASCADE"), nullable=False),
    Column("config", Json, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("checkpoint", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_fetch_at", UtcDateTime),
    Column("last_status", Text),
    Column("fetched", BigInteger, nullable=False, default=0),
    Column("added", BigInteger, nullable=False, default=0),
    Column("updated", BigInteger, nullable=False, default=0),
    Column("removed", BigInteger, nullable=False, default=0),
)


def _now() -> datetime:
    return datetime.now(UTC)


def _json(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    for k, v in list(out.items()):
        if isinstance(v, datetime):
            out[k] = v.isoformat()
    return out


class ExchangeStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, name: str, api: str, bank: str, config: Mapping[str, Any], *, replace: bool = False) -> None:
        with self.engine.begin() as conn:
            if conn.execute(select(media_banks.c.name).where(media_banks.c.name == bank)).first() is None:
                raise NotFound(f"no bank named {bank!r} (create it with bastion bank create)")
            exists = conn.execute(select(media_exchanges.c.name).where(media_exchanges.c.name == name)).first()
            if exists and not replace:
                raise ConfigError(f"exchange {name!r} exists (use --replace to change it)")
            if exists:
                conn.execute(update(media_exchanges).where(media_exchanges.c.name == name).values(
                    api=api, bank=bank, config=dict(config)))
            else:
                conn.execute(media_exchanges.insert().values(
                    name=name, api=api, bank=bank, config=dict(config), enabled=True, created_at=_now(),
                    fetched=0, added=0, updated=0, removed=0))

    def get(self, name: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(media_exchanges).where(media_exchanges.c.name == name)).first()
        if row is None:
            raise NotFound(f"no exchange named {name!r}")
        return _json(row)

    def list(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [_json(r) for r in conn.execute(select(media_exchanges).order_by(media_exchanges.c.name))]

    def set_enabled(self, name: str, enabled: bool) -> None:
        self._update(name, enabled=enabled)

    def reset(self, name: str) -> None:
        """Forget the checkpoint: the next fetch starts from scratch."""
        self._update(name, checkpoint=None)

    def record_status(self, name: str, status: str) -> None:
        self._update(name, last_fetch_at=_now(), last_status=status[:2000])

    def _update(self, name: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            n = conn.execute(update(media_exchanges).where(media_exchanges.c.name == name).values(**values)).rowcount
        if not n:
            raise NotFound(f"no exchange named {name!r}")

    def apply(self, name: str, bank: str, change: Change) -> tuple[int, int, int]:
        """Write one change and its checkpoint atomically; returns (added, updated, removed)."""
        e = media_bank_entries.c
        now = _now()
        added = updated = removed = 0
        with self.engine.begin() as conn:
            by_key = {(x.signal_type, signal_key(x.signal)): x for x in change.entries}
            existing: dict[tuple[str, str], tuple[int, Any]] = {}
            keys = [k[1] for k in by_key]
            for i in range(0, len(keys), 500):
                for row in conn.execute(select(e.id, e.signal_type, e.signal_key, e.labels).where(
                        e.bank == bank, e.signal_key.in_(keys[i:i + 500]))):
                    existing[(row.signal_type, row.signal_key)] = (row.id, row.labels)
            rows = []
            for k, x in by_key.items():
                labels = x.labels.to_json()
                if k in existing:
                    eid, old = existing[k]
                    if old != labels:
                        conn.execute(update(media_bank_entries).where(e.id == eid).values(labels=labels,
                                                                                          updated_at=now))
                        updated += 1
                    continue
                rows.append({"bank": bank, "signal_type": x.signal_type, "signal_key": k[1], "signal": x.signal,
                             "labels": labels, "status": x.status.value, "external_id": x.external_id,
                             "added_at": x.added_at or now, "updated_at": now, "note": x.note})
            if rows:
                conn.execute(media_bank_entries.insert(), rows)
                added = len(rows)
            for st, sig in change.deleted:
                removed += int(conn.execute(delete(media_bank_entries).where(
                    e.bank == bank, e.signal_type == st, e.signal_key == signal_key(sig))).rowcount)
            c = media_exchanges.c
            conn.execute(update(media_exchanges).where(c.name == name).values(
                checkpoint=change.checkpoint, fetched=c.fetched + change.updates, added=c.added + added,
                updated=c.updated + updated, removed=c.removed + removed))
        return added, updated, removed
