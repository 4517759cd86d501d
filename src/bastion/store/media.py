"""Media banks in the database: bank configurations and their entries (migration branch ``media``).

``MediaBankStore`` is the narrow read/write API the CLI, the media detector and the API use; the core
(``bastion.media``) never imports this module, it receives a ready :class:`~bastion.media.banks.bankset.
BankSet`. Entries are unique per (bank, signal type, signal); ``signal_key`` is the signal itself, or the
SHA-256 of a long one (vPDQ), so the unique index stays small.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    delete,
    func,
    or_,
    select,
    update,
)

from bastion.errors import ConfigError, NotFound
from bastion.media.banks.flood import FloodEvent
from bastion.media.banks.model import BankConfig, BankEntry, EntryLabels, EntryStatus
from bastion.store.schema import Json, UtcDateTime, metadata

if TYPE_CHECKING:
    from bastion.media.banks.bankset import BankSet

_Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements only INTEGER primary keys

media_banks = Table(
    "media_banks", metadata,
    Column("name", String(128), primary_key=True),
    Column("negative", Boolean, nullable=False, default=False),
    Column("pdq_threshold", Integer, nullable=False),
    Column("min_quality", Integer, nullable=False),
    Column("vpdq_query_ratio", Float, nullable=False),
    Column("vpdq_target_ratio", Float, nullable=False),
    Column("enabled_ratio", Float, nullable=False),
    Column("flood_limit", Integer, nullable=False),
    Column("flood_window_s", Float, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

media_bank_entries = Table(
    "media_bank_entries", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("bank", String(128), ForeignKey("media_banks.name", ondelete="CASCADE"), nullable=False),
    Column("signal_type", String(16), nullable=False),
    Column("signal_key", String(64), nullable=False),
    Column("signal", Text, nullable=False),
    Column("labels", Json, nullable=False),
    Column("status", String(16), nullable=False, default="active"),
    Column("external_id", String(200)),
    Column("added_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("content_id", _Id, index=True),  # HMA's bank content: the entries one upload produced (media_0003)
    Column("meta", Json),  # HMA's content metadata and disable_until_ts (media_0003)
    UniqueConstraint("bank", "signal_type", "signal_key", name="uq_media_bank_entries_signal"),
    Index("ix_media_bank_entries_lookup", "signal_type", "signal_key"),
)

_BANK_FIELDS = ("negative", "pdq_threshold", "min_quality", "vpdq_query_ratio", "vpdq_target_ratio",
                "enabled_ratio", "flood_limit", "flood_window_s", "description")
FLOOD_QUEUE = "media-bank-flood"
_CHUNK = 2000


def signal_key(signal: str) -> str:
    return signal if len(signal) <= 64 else hashlib.sha256(signal.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _config(row: Any) -> BankConfig:
    return BankConfig(name=row.name, **{k: getattr(row, k) for k in _BANK_FIELDS})


def _entry(row: Any) -> BankEntry:
    status = EntryStatus(row.status)
    meta = row.meta or None
    until = int((meta or {}).get("disable_until_ts") or 0)
    if status is EntryStatus.DISABLED and until and until <= _now().timestamp():
        status = EntryStatus.ACTIVE  # HMA's timed disable has run out
    return BankEntry(bank=row.bank, signal_type=row.signal_type, signal=row.signal,
                     labels=EntryLabels.from_json(row.labels or {}), id=int(row.id),
                     status=status, external_id=row.external_id, added_at=row.added_at,
                     note=row.note or "", content_id=int(row.content_id) if row.content_id else None, meta=meta)


class MediaBankStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- banks ------------------------------------------------------------------------------------------
    def create_bank(self, config: BankConfig, *, exist_ok: bool = False) -> BankConfig:
        with self.engine.begin() as conn:
            found = conn.execute(select(media_banks).where(media_banks.c.name == config.name)).first()
            if found is not None:
                if exist_ok:
                    return _config(found)
                raise ConfigError(f"bank {config.name!r} already exists")
            now = _now()
            conn.execute(media_banks.insert().values(name=config.name, created_at=now, updated_at=now,
                                                     **{k: getattr(config, k) for k in _BANK_FIELDS}))
        return config

    def update_bank(self, config: BankConfig) -> BankConfig:
        with self.engine.begin() as conn:
            res = conn.execute(update(media_banks).where(media_banks.c.name == config.name).values(
                updated_at=_now(), **{k: getattr(config, k) for k in _BANK_FIELDS}))
            if res.rowcount == 0:
                raise NotFound(f"no bank named {config.name!r}")
        return config

    def get_bank(self, name: str) -> BankConfig:
        with self.engine.connect() as conn:
            row = conn.execute(select(media_banks).where(media_banks.c.name == name)).first()
        if row is None:
            raise NotFound(f"no bank named {name!r}")
        return _config(row)

    def list_banks(self) -> list[tuple[BankConfig, dict[str, int]]]:
        """Every bank with its entry counts by signal type and by non-active status."""
        with self.engine.connect() as conn:
            banks = [_config(r) for r in conn.execute(select(media_banks).order_by(media_banks.c.name))]
            e = media_bank_entries.c
            counts: dict[str, dict[str, int]] = {b.name: {} for b in banks}
            for bank, key, n in conn.execute(select(e.bank, e.signal_type, func.count()).group_by(
                    e.bank, e.signal_type)):
                counts[bank][key] = int(n)
            for bank, key, n in conn.execute(select(e.bank, e.status, func.count()).where(
                    e.status != "active").group_by(e.bank, e.status)):
                counts[bank][key] = int(n)
        return [(b, counts[b.name]) for b in banks]

    def rename_bank(self, old: str, new: str) -> None:
        """Rename a bank with its entries (and the exchange collaborations that feed it)."""
        from sqlalchemy import column, table

        exchanges = table("media_exchanges", column("bank"))  # store/exchanges.py's table, not imported (layering)
        with self.engine.begin() as conn:
            row = conn.execute(select(media_banks).where(media_banks.c.name == old)).first()
            if row is None:
                raise NotFound(f"no bank named {old!r}")
            if conn.execute(select(media_banks.c.name).where(media_banks.c.name == new)).first() is not None:
                raise ConfigError(f"bank {new!r} already exists")
            values = dict(row._mapping)
            values.update(name=new, updated_at=_now())
            conn.execute(media_banks.insert().values(**values))
            conn.execute(update(media_bank_entries).where(media_bank_entries.c.bank == old).values(bank=new))
            conn.execute(update(exchanges).where(exchanges.c.bank == old).values(bank=new))
            conn.execute(delete(media_banks).where(media_banks.c.name == old))

    def version(self) -> tuple[Any, ...]:
        """Changes whenever a bank or an entry is added, changed or removed (cheap: indexed aggregates), so a
        server can tell that its in-memory banks are stale and reload them."""
        e, b = media_bank_entries.c, media_banks.c
        with self.engine.connect() as conn:
            entries = conn.execute(select(func.count(), func.max(e.id), func.max(e.updated_at))).one()
            banks = conn.execute(select(func.count(), func.max(b.updated_at))).one()
        return (*entries, *banks)

    # -- HMA bank content: the entries one submitted item produced ------------------------------------------
    def add_content(self, entries: Sequence[BankEntry]) -> tuple[int, list[BankEntry]]:
        """Bank one item's signals as one content: returns (content id, the entries). A signal the bank holds
        already keeps its entry, and the content is that entry's when every signal was held."""
        e = media_bank_entries.c
        now = _now()
        content: int | None = None
        stored: list[BankEntry] = []
        with self.engine.begin() as conn:
            for x in entries:
                key = signal_key(x.signal)
                row = conn.execute(select(media_bank_entries).where(
                    e.bank == x.bank, e.signal_type == x.signal_type, e.signal_key == key)).first()
                if row is None:
                    res = conn.execute(media_bank_entries.insert().values(
                        bank=x.bank, signal_type=x.signal_type, signal_key=key, signal=x.signal,
                        labels=x.labels.to_json(), status=x.status.value, external_id=x.external_id,
                        added_at=x.added_at or now, updated_at=now, note=x.note, content_id=content,
                        meta=x.meta))
                    new_id = int(res.inserted_primary_key[0])  # type: ignore[index]
                    if content is None:
                        content = int(new_id)
                        conn.execute(update(media_bank_entries).where(e.id == new_id).values(content_id=content))
                    row = conn.execute(select(media_bank_entries).where(e.id == new_id)).one()
                stored.append(_entry(row))
        if not stored:
            raise ConfigError("no signals to bank")
        return content or stored[0].content, stored

    def content(self, bank: str, content_id: int) -> list[BankEntry]:
        e = media_bank_entries.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(media_bank_entries).where(
                e.bank == bank, or_(e.content_id == content_id, and_(e.content_id.is_(None), e.id == content_id)))
                .order_by(e.id)).all()
        return [_entry(r) for r in rows]

    def update_content(self, bank: str, content_id: int, *, meta: dict[str, Any], status: EntryStatus | None,
                       note: str | None = None) -> list[BankEntry]:
        e = media_bank_entries.c
        ids = [x.id for x in self.content(bank, content_id)]
        if not ids:
            raise NotFound(f"content '{content_id}' not found")
        values: dict[str, Any] = {"meta": meta, "updated_at": _now()}
        if status is not None:
            values["status"] = status.value
        if note is not None:
            values["note"] = note
        with self.engine.begin() as conn:
            conn.execute(update(media_bank_entries).where(e.id.in_(ids)).values(**values))
        return self.content(bank, content_id)

    def delete_content(self, bank: str, content_id: int) -> int:
        """Remove one content (all its signals); 1 when it existed, else 0 (HMA's ``deleted``)."""
        ids = [x.id for x in self.content(bank, content_id)]
        if not ids:
            return 0
        with self.engine.begin() as conn:
            conn.execute(delete(media_bank_entries).where(media_bank_entries.c.id.in_(ids)))
        return 1

    def delete_bank(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(media_bank_entries).where(media_bank_entries.c.bank == name))
            if conn.execute(delete(media_banks).where(media_banks.c.name == name)).rowcount == 0:
                raise NotFound(f"no bank named {name!r}")

    # -- entries ----------------------------------------------------------------------------------------
    def add_entries(self, entries: Iterable[BankEntry]) -> tuple[int, int]:
        """Insert entries (already validated, e.g. by a format reader); an entry whose (bank, type,
        signal) exists is skipped. Returns (added, duplicates)."""
        added = dups = 0
        now = _now()
        batch: list[BankEntry] = []
        with self.engine.begin() as conn:
            known_banks = {r[0] for r in conn.execute(select(media_banks.c.name))}

            def flush() -> tuple[int, int]:
                e = media_bank_entries.c
                keys = {(x.bank, x.signal_type, signal_key(x.signal)) for x in batch}
                existing: set[tuple[str, str, str]] = set()
                for bank in {k[0] for k in keys}:
                    sks = [k[2] for k in keys if k[0] == bank]
                    for i in range(0, len(sks), 500):
                        existing.update((bank, st, sk) for st, sk in conn.execute(
                            select(e.signal_type, e.signal_key).where(
                                e.bank == bank, e.signal_key.in_(sks[i:i + 500]))))
                rows, seen = [], set()
                for x in batch:
                    k = (x.bank, x.signal_type, signal_key(x.signal))
                    if k in existing or k in seen:
                        continue
                    seen.add(k)
                    rows.append({"bank": x.bank, "signal_type": x.signal_type, "signal_key": k[2],
                                 "signal": x.signal, "labels": x.labels.to_json(), "status": x.status.value,
                                 "external_id": x.external_id, "added_at": x.added_at or now,
                                 "updated_at": now, "note": x.note, "content_id": x.content_id,
                                 "meta": x.meta})
                if rows:
                    conn.execute(media_bank_entries.insert(), rows)
                return len(rows), len(batch) - len(rows)

            for x in entries:
                if x.bank not in known_banks:
                    raise NotFound(f"no bank named {x.bank!r}")
                batch.append(x)
                if len(batch) >= _CHUNK:
                    a, d = flush()
                    added, dups, batch = added + a, dups + d, []
            if batch:
                a, d = flush()
                added, dups = added + a, dups + d
        return added, dups

    def iter_entries(self, bank: str | None = None, *, batch: int = 10_000) -> Iterator[BankEntry]:
        e = media_bank_entries.c
        last = 0
        while True:
            q = select(media_bank_entries).where(e.id > last).order_by(e.id).limit(batch)
            if bank is not None:
                q = q.where(e.bank == bank)
            with self.engine.connect() as conn:
                rows = conn.execute(q).all()
            if not rows:
                return
            for r in rows:
                yield _entry(r)
            last = int(rows[-1].id)

    def get_entry(self, entry_id: int) -> BankEntry:
        with self.engine.connect() as conn:
            row = conn.execute(select(media_bank_entries).where(media_bank_entries.c.id == entry_id)).first()
        if row is None:
            raise NotFound(f"no bank entry {entry_id}")
        return _entry(row)

    def set_status(self, entry_ids: Sequence[int], status: EntryStatus, note: str = "") -> int:
        values: dict[str, Any] = {"status": status.value, "updated_at": _now()}
        if note:
            values["note"] = note
        with self.engine.begin() as conn:
            return int(conn.execute(update(media_bank_entries).where(
                media_bank_entries.c.id.in_(list(entry_ids))).values(**values)).rowcount)

    def remove_signals(self, bank: str, signals: Iterable[tuple[str, str]]) -> int:
        """Delete entries by (signal type, signal): tombstones from an exchange."""
        e = media_bank_entries.c
        n = 0
        with self.engine.begin() as conn:
            for st, sig in signals:
                n += int(conn.execute(delete(media_bank_entries).where(
                    e.bank == bank, e.signal_type == st, e.signal_key == signal_key(sig))).rowcount)
        return n

    def record_flood(self, events: Sequence[FloodEvent]) -> None:
        """Persist flood quarantines: the entry is paused and a review job opened (queue
        ``media-bank-flood``, subject ``bank_entry``/<id>)."""
        from bastion.store import schema
        from bastion.store.attest import tracked
        from bastion.store.writer import job_id

        now = _now()
        for ev in events:
            self.set_status([ev.entry_id], EntryStatus.QUARANTINED,
                            f"flood: {ev.distinct_items} distinct items in {ev.window_s:.0f} s")
            with self.engine.begin() as conn:
                jid = job_id(FLOOD_QUEUE, "bank_entry", str(ev.entry_id))
                if conn.execute(select(schema.review_jobs.c.id).where(schema.review_jobs.c.id == jid)).first():
                    continue
                with tracked(conn, schema.review_jobs, [jid]):
                    conn.execute(schema.review_jobs.insert().values(
                        id=jid, queue=FLOOD_QUEUE, subject_kind="bank_entry", subject_id=str(ev.entry_id),
                        priority=2, created_at=now, state="open",
                        notes=f"bank {ev.bank}: matched {ev.distinct_items} distinct items"))

    # -- in memory --------------------------------------------------------------------------------------
    def load_bankset(self, banks: Sequence[str] | None = None) -> BankSet:
        """Every bank (or the named ones) with their entries, indexed for matching."""
        from bastion.media.banks.bankset import BankSet

        bs = BankSet()
        for cfg, _ in self.list_banks():
            if banks is None or cfg.name in banks:
                bs.add_bank(cfg)
        chunk: list[BankEntry] = []
        for entry in self.iter_entries():
            if entry.bank in bs.banks:
                chunk.append(entry)
                if len(chunk) >= 50_000:
                    bs.add_entries(chunk)
                    chunk = []
        bs.add_entries(chunk)
        return bs
