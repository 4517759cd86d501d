"""The pipeline's write path: one transaction per batch, idempotent by id, on SQLite or PostgreSQL.

* The same post ingested twice is one post (``ON CONFLICT DO NOTHING``); a later version of an account
  updates it (``ON CONFLICT DO UPDATE`` when the new version is not older).
* Decisions are append-only and idempotent by decision id; each carries a content hash, and each batch of
  new decisions is sealed by one ``decisions.batch`` audit entry holding their digest.
* Enforcing actions go to the ledger; review effects become review jobs (an authority's removal order jumps
  the queue with its deadline); enforcing decisions get an audit entry of their own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Connection, Engine, Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bastion.audit.decisions import batch_digest, content_hash
from bastion.audit.evidence import EvidenceStore
from bastion.audit.log import AuditLog
from bastion.batch import Batch
from bastion.ingest.base import Quarantined
from bastion.policy.model import ENFORCING, Decision, EffectKind
from bastion.records import Account, Post, Report, content_digest
from bastion.store import schema as t
from bastion.store.attest import tracked
from bastion.store.driver import executemany, fetchall, is_sqlite, utc_text
from bastion.store.outbox import enqueue
from bastion.store.queries import live_enforcements
from bastion.store.schema import UtcDateTime
from bastion.store.sqlite_rows import (
    DECISION_COLUMNS,
    POST_COLUMNS,
    DecisionRows,
    insert_sql,
    media_json,
    post_values,
)

CHUNK = 500  # rows per statement for IN (...) look-ups


def _insert(conn: Connection, table: Table) -> Any:
    return (postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table))


def _sqlite_value(column: Any) -> Any:
    """How one column's Python value is written by the raw SQLite path (as SQLAlchemy would store it)."""
    if isinstance(column.type, UtcDateTime):
        return utc_text
    if isinstance(column.type, JSON):
        return lambda v: None if v is None else orjson.dumps(v, default=str).decode()
    if isinstance(column.type, Boolean):
        return lambda v: None if v is None else int(bool(v))
    return None


_CONVERTERS: dict[tuple[str, tuple[str, ...]], Callable[[dict[str, Any]], tuple[Any, ...]]] = {}


def _row_converter(table: Table, cols: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """One compiled function per (table, columns) turning a row dict into the driver's tuple."""
    key = (table.name, cols)
    fn = _CONVERTERS.get(key)
    if fn is None:
        env: dict[str, Any] = {}
        parts = []
        for i, name in enumerate(cols):
            conv = _sqlite_value(table.c[name])
            if conv is None:
                parts.append(f"r[{name!r}]")
            else:
                env[f"c{i}"] = conv
                parts.append(f"c{i}(r[{name!r}])")
        fn = eval(f"lambda r: ({', '.join(parts)},)", env)
        _CONVERTERS[key] = fn
    return fn


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]], *, ignore: bool = True) -> None:
    """Insert many rows, skipping existing keys when ``ignore``.

    On SQLite this goes straight to the driver's ``executemany`` with values converted the way SQLAlchemy
    stores them (the hot path: tens of thousands of rows per second); elsewhere it is a SQLAlchemy Core
    insert, which PostgreSQL batches itself.
    """
    if not rows:
        return
    if not is_sqlite(conn):
        stmt = _insert(conn, table)
        conn.execute(stmt.on_conflict_do_nothing() if ignore else stmt, rows)
        return
    cols = tuple(c.name for c in table.columns if c.name in rows[0])
    sql = insert_sql(table.name, cols, ignore=ignore)
    to_tuple = _row_converter(table, cols)
    values = [to_tuple(r) for r in rows]
    executemany(conn, sql, values)


def _existing_ids(conn: Connection, table: Table, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` the table holds (its primary key ``id``), in chunks of ``CHUNK``."""
    found: set[str] = set()
    for i in range(0, len(ids), CHUNK):
        chunk = list(ids[i:i + CHUNK])
        if is_sqlite(conn):  # the driver directly: compiling an expanding IN costs more than the look-up
            sql = f"SELECT id FROM {table.name} WHERE id IN ({', '.join('?' * len(chunk))})"
            found.update(r[0] for r in fetchall(conn, sql, chunk))
        else:
            found.update(r[0] for r in conn.execute(select(table.c.id).where(table.c.id.in_(chunk))))
    return found


def post_row(p: Post, now: datetime) -> dict[str, Any]:
    return {"id": p.id, "account_id": p.account_id, "text": p.text, "created_at": p.created_at, "lang": p.lang,
            "hashtags": list(p.hashtags), "mentions": list(p.mentions), "urls": list(p.urls),
            "media": [media_json(m) for m in p.media], "reply_to": p.reply_to, "repost_of": p.repost_of,
            "quote_of": p.quote_of, "source": p.source, "meta": dict(p.meta) if p.meta else None,
            "ingested_at": now, "digest": p.content_digest()}


def account_row(a: Account, now: datetime) -> dict[str, Any]:
    return {"id": a.id, "handle": a.handle, "display_name": a.display_name, "bio": a.bio,
            "location": a.location, "created_at": a.created_at, "followers": a.followers,
            "following": a.following, "statuses": a.statuses, "verified": a.verified,
            "avatar": media_json(a.avatar) if a.avatar else None, "links": list(a.links),
            "identifiers": list(a.identifiers), "updated_at": a.updated_at, "source": a.source,
            "meta": dict(a.meta) if a.meta else None, "status": "active", "ingested_at": now}


def decision_row(d: Decision) -> dict[str, Any]:
    row = {"id": d.id, "subject_kind": d.subject_kind.value, "subject_id": d.subject_id,
           "account_id": d.account_id, "created_at": d.created_at,
           "policy": d.versions.get("policy", ""), "policy_version": d.versions.get("policy_version", ""),
           "category": d.category, "enforced": d.enforced, "explanation": d.explanation,
           "scores": dict(d.scores), "labels": list(d.labels), "actions": [a.to_json() for a in d.actions],
           "shadow_actions": [a.to_json() for a in d.shadow_actions], "versions": dict(d.versions),
           "signals": list(d.signals)}
    row["content_hash"] = content_hash(row)
    return row


def job_id(queue: str, subject_kind: str, subject_id: str) -> str:
    return "job_" + hashlib.sha256(f"{queue}\x1f{subject_kind}\x1f{subject_id}".encode()).hexdigest()[:20]


@dataclass(slots=True)
class WriteResult:
    posts_new: int = 0
    decisions_new: int = 0
    audit_seq: int | None = None


class Store:
    """The write side used by the pipeline, plus the small reads it needs. Thread-compatible, not shared."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.audit = AuditLog()
        self.evidence = EvidenceStore(engine)
        self._conn: Connection | None = None

    # -- reads --------------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One transaction. On SQLite the pipeline writes through one long-lived connection (a pool checkout
        and reset per batch dominates the cost of the small batches of synchronous verdicts); PostgreSQL's
        pool is cheap, and its connections are returned after each batch. Not shared across threads."""
        if self.engine.dialect.name != "sqlite":
            with self.engine.begin() as conn:
                yield conn
            return
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.engine.connect()
        with self._conn.begin():
            yield self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def existing(self, table: Table, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        if not ids:
            return found
        with self._transaction() as conn:
            found.update(_existing_ids(conn, table, ids))
        return found

    def existing_posts(self, ids: Sequence[str]) -> set[str]:
        return self.existing(t.posts, ids)

    def stored_digests(self, ids: Sequence[str]) -> dict[str, str]:
        """The content digest of each of these posts that is stored (of its current version)."""
        found: dict[str, str] = {}
        P = t.posts
        with self._transaction() as conn:
            for i in range(0, len(ids), CHUNK):
                chunk = list(ids[i:i + CHUNK])
                for pid, digest, account_id, text, media in conn.execute(
                        select(P.c.id, P.c.digest, P.c.account_id, P.c.text, P.c.media).where(P.c.id.in_(chunk))):
                    if digest is None:  # stored before versions: the digest from what it says
                        digest = self.stored_digest_of({"account_id": account_id, "text": text, "media": media})
                    found[pid] = digest
        return found

    def count_jobs(self, queue: str, since: datetime) -> int:
        """Review jobs of ``queue`` created at or after ``since`` (a daily budget's spend so far)."""
        J = t.review_jobs
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(J)
                                    .where(J.c.queue == queue, J.c.created_at >= since)).scalar_one())

    def existing_decisions(self, ids: Sequence[str]) -> set[str]:
        """Decision ids already stored: their effects were carried out when they were stored."""
        return self.existing(t.decisions, ids)

    def load_state(self, name: str) -> bytes | None:
        found = self.load_states([name]).get(name)
        return found[0] if found else None

    def load_states(self, names: Sequence[str]) -> dict[str, tuple[bytes, int]]:
        """Each named detector's snapshot and the audit seq it is as of (0: taken before that was recorded)."""
        S = t.detector_state
        with self.engine.connect() as conn:
            rows = conn.execute(select(S.c.name, S.c.data, S.c.as_of).where(S.c.name.in_(list(names)))).all()
        return {r.name: (bytes(r.data), int(r.as_of or 0)) for r in rows}

    def save_state(self, states: Mapping[str, bytes], now: datetime) -> None:
        """Save snapshots of detectors that have seen every post stored so far (taken after the last batch
        committed): they are as of the audit chain's current head."""
        if not states:
            return
        with self.engine.begin() as conn:
            as_of = int(conn.execute(select(t.audit_head.c.seq).where(t.audit_head.c.id == 1)).scalar() or 0)
            ins = _insert(conn, t.detector_state)
            conn.execute(ins.on_conflict_do_update(index_elements=["name"], set_={
                "data": ins.excluded.data, "updated_at": ins.excluded.updated_at, "as_of": ins.excluded.as_of}),
                [{"name": k, "data": v, "updated_at": now, "as_of": as_of} for k, v in states.items()])

    def audit_head(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(t.audit_head.c.seq).where(t.audit_head.c.id == 1)).scalar() or 0)

    def stored_between(self, post_ids: Sequence[str], after: int, upto: int) -> set[str]:
        """Which of these stored posts were stored after audit entry ``after`` and by entry ``upto`` (the batch
        entry of their decision lies between)."""
        found: set[str] = set()
        D = t.decisions
        with self._transaction() as conn:
            for i in range(0, len(post_ids), CHUNK):
                chunk = list(post_ids[i:i + CHUNK])
                found.update(r[0] for r in conn.execute(select(D.c.subject_id).where(
                    D.c.subject_kind == "post", D.c.subject_id.in_(chunk), D.c.audit_seq > after,
                    D.c.audit_seq <= upto)))
        return found

    # -- runs ---------------------------------------------------------------------------------------
    def start_run(self, run_id: str, inputs: list[str], now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.runs.insert().values(id=run_id, started_at=now, inputs=inputs))
            self.audit.append(conn, "run.start", "pipeline", run_id, {"inputs": inputs}, now=now)

    def run_finished(self, run_id: str) -> bool | None:
        """Whether the run has finished (``None``: no such run). A stream's micro-batch is one run whose id
        the checkpoint fixes, so a retried micro-batch finds its own run."""
        with self.engine.connect() as conn:
            row = conn.execute(select(t.runs.c.finished_at).where(t.runs.c.id == run_id)).first()
        return None if row is None else row[0] is not None

    def finish_run(self, run_id: str, stats: Mapping[str, Any], now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(t.runs).where(t.runs.c.id == run_id).values(finished_at=now, stats=dict(stats)))
            self.audit.append(conn, "run.finish", "pipeline", run_id, dict(stats), now=now)

    # -- the batch write ------------------------------------------------------------------------------
    def write(self, batch: Batch, *, run_id: str, now: datetime, posts_by_id: Mapping[str, Post],
              reports_by_id: Mapping[str, Report], webhook: bool = False) -> WriteResult:
        res = WriteResult()
        with self._transaction() as conn:
            self._write_records(conn, batch, now, res)
            self._write_versions(conn, batch.revised, now)
            self._write_quarantine(conn, batch.quarantined, run_id, now)
            fresh, effective = self._write_decisions(conn, batch.decisions, now, posts_by_id, reports_by_id, res)
            if webhook and effective:
                # the platform hears of a decision when it changed something: a decision whose every effect
                # was already in force (an earlier decision on the same target) is stored, not notified
                enqueue(conn, [d for d in fresh if d.id in effective], now)
        return res

    def _write_records(self, conn: Connection, batch: Batch, now: datetime, res: WriteResult) -> None:
        firsts: dict[str, datetime] = {}  # each account's earliest post in the batch
        for p in batch.posts:
            ts = p.created_at or now
            if p.account_id not in firsts or ts < firsts[p.account_id]:
                firsts[p.account_id] = ts
        latest: dict[str, Account] = {a.id: a for a in batch.accounts}
        with tracked(conn, t.accounts, list({**latest, **firsts})), \
                tracked(conn, t.posts, [p.id for p in batch.posts]):
            self._write_accounts_posts(conn, batch, latest, firsts, now)
        res.posts_new = len(batch.posts)
        self._write_relations(conn, batch)

    @staticmethod
    def _write_accounts_posts(conn: Connection, batch: Batch, latest: Mapping[str, Account],
                              firsts: Mapping[str, datetime], now: datetime) -> None:
        if latest:
            ins = _insert(conn, t.accounts)
            cols = ("handle", "display_name", "bio", "location", "created_at", "followers", "following",
                    "statuses", "verified", "avatar", "links", "identifiers", "updated_at", "source", "meta")
            newer = (t.accounts.c.updated_at.is_(None) | ins.excluded.updated_at.is_(None)
                     | (ins.excluded.updated_at >= t.accounts.c.updated_at))
            conn.execute(ins.on_conflict_do_update(index_elements=["id"],
                                                   set_={c: ins.excluded[c] for c in cols}, where=newer),
                         [account_row(a, now) for a in latest.values()])
        if not batch.posts:
            return
        sqlite_db = is_sqlite(conn)
        if sqlite_db:
            ingested = utc_text(now)
            executemany(conn, insert_sql("posts", POST_COLUMNS, ignore=True),
                        [post_values(p, ingested or "") for p in batch.posts])
            executemany(conn, "UPDATE accounts SET first_post_at = ?1 WHERE id = ?2 AND "
                        "(first_post_at IS NULL OR first_post_at > ?1)",
                        [(utc_text(ts), aid) for aid, ts in firsts.items()])
        else:
            bulk_insert(conn, t.posts, [post_row(p, now) for p in batch.posts])
            conn.execute(update(t.accounts).where(
                t.accounts.c.id == bindparam("aid"),
                t.accounts.c.first_post_at.is_(None) | (t.accounts.c.first_post_at > bindparam("ts")))
                .values(first_post_at=bindparam("ts")),
                [{"aid": aid, "ts": ts} for aid, ts in firsts.items()])

    def _write_relations(self, conn: Connection, batch: Batch) -> None:
        if batch.edges:
            conn.execute(_insert(conn, t.edges).on_conflict_do_nothing(), [
                {"src": e.src, "dst": e.dst, "kind": e.kind.value, "created_at": e.created_at,
                 "post_id": e.post_id or ""} for e in batch.edges])
        if batch.reports:
            conn.execute(_insert(conn, t.reports).on_conflict_do_nothing(index_elements=["id"]), [
                {"id": r.id, "target_kind": r.target_kind.value, "target_id": r.target_id,
                 "reporter_kind": r.reporter_kind.value, "reporter_id": r.reporter_id, "reason": r.reason,
                 "created_at": r.created_at, "deadline": r.deadline} for r in batch.reports])
        if batch.enforcement:
            conn.execute(_insert(conn, t.enforcement).on_conflict_do_nothing(index_elements=["id"]), [
                {"id": e.id, "kind": e.kind.value, "target_kind": e.target_kind.value, "target_id": e.target_id,
                 "created_at": e.created_at, "reason": e.reason, "source": e.source} for e in batch.enforcement])
            for e in batch.enforcement:
                self._apply_status(conn, e.kind.value, e.target_kind.value, e.target_id, e.created_at)

    def _write_versions(self, conn: Connection, revised: Sequence[Post], now: datetime) -> None:
        """Each stored post submitted again with other content: its current row is kept as a version in
        ``post_versions``, the row takes the new content as the next version, and the chain records both
        digests. An enforcement on the post stands (it is on the post, whatever its version)."""
        if not revised:
            return
        P, V = t.posts, t.post_versions
        latest = {p.id: p for p in revised}
        current = {r.id: r for r in conn.execute(select(P).where(P.c.id.in_(list(latest))))}
        keys = [(pid, int(r.version or 1)) for pid, r in current.items()]
        entries: list[tuple[str, str, str | None, Mapping[str, Any]]] = []
        with tracked(conn, P, list(current)), tracked(conn, V, keys):
            for pid, row in current.items():
                old = dict(row._mapping)
                version = int(old.pop("version") or 1)
                old.pop("id"), old.pop("removed_at")
                previous = old.pop("digest") or self.stored_digest_of(old)
                conn.execute(V.insert().values(post_id=pid, version=version, digest=previous,
                                               superseded_at=now, **old))
                new = post_row(latest[pid], now)
                new.pop("id")
                conn.execute(update(P).where(P.c.id == pid).values(**new, version=version + 1))
                entries.append(("post.version", "pipeline", f"post:{pid}",
                                {"version": version + 1, "digest": new["digest"], "previous": previous}))
        self.audit.append_many(conn, entries, now=now)

    @staticmethod
    def stored_digest_of(row: Mapping[str, Any]) -> str:
        keys = (str(m.get("sha256") or m.get("md5") or m.get("pdq") or m.get("id")) for m in row["media"] or ())
        return content_digest(row["account_id"], row["text"], keys)

    @staticmethod
    def _apply_status(conn: Connection, kind: str, target_kind: str, target_id: str, when: datetime) -> None:
        if target_kind == "account":
            status = {"suspend": "suspended", "reinstate": "active"}.get(kind)
            if status:
                with tracked(conn, t.accounts, [target_id]):
                    conn.execute(update(t.accounts).where(t.accounts.c.id == target_id)
                                 .values(status=status, status_changed_at=when))
        elif kind == "remove":
            with tracked(conn, t.posts, [target_id]):
                conn.execute(update(t.posts).where(t.posts.c.id == target_id, t.posts.c.removed_at.is_(None))
                             .values(removed_at=when))
        elif kind == "reinstate":
            with tracked(conn, t.posts, [target_id]):
                conn.execute(update(t.posts).where(t.posts.c.id == target_id).values(removed_at=None))

    @staticmethod
    def _write_quarantine(conn: Connection, items: Sequence[Quarantined], run_id: str, now: datetime) -> None:
        rows = [{"run_id": run_id, "file": q.file, "line": q.line, "record_id": q.record_id, "field": q.field,
                 "reason": q.reason, "raw": q.raw[:10_000], "created_at": now} for q in items]
        if rows:  # a line is quarantined once per run, however often its batch is written (a retried one)
            Q = t.quarantine
            lines = sorted({q.line for q in items})
            done = {(f, n) for i in range(0, len(lines), CHUNK) for f, n in conn.execute(
                select(Q.c.file, Q.c.line).where(Q.c.run_id == run_id, Q.c.line.in_(lines[i:i + CHUNK])))}
            rows = [r for r in rows if (r["file"], r["line"]) not in done]
        if rows:
            with tracked(conn, t.quarantine):
                conn.execute(t.quarantine.insert(), rows)

    def _write_decisions(self, conn: Connection, decisions: list[Decision], now: datetime,
                         posts_by_id: Mapping[str, Post], reports_by_id: Mapping[str, Report],
                         res: WriteResult) -> tuple[list[Decision], set[str]]:
        """Write the decisions not already stored; return them, and the ids of those with a new effect."""
        if not decisions:
            return [], set()
        known = _existing_ids(conn, t.decisions, [d.id for d in decisions])
        fresh: dict[str, Decision] = {}
        for d in decisions:
            if d.id not in known:
                fresh[d.id] = d
        if not fresh:
            return [], set()
        sqlite_db = is_sqlite(conn)
        if sqlite_db:  # driver tuples, each JSON column serialised once for the row and its hash
            to_row = DecisionRows()
            tuples = [to_row(d) for d in fresh.values()]
            hashes = [(row[0], digest) for row, digest in tuples]
        else:
            rows = [decision_row(d) for d in fresh.values()]
            hashes = [(r["id"], r["content_hash"]) for r in rows]
        enforcing = [d for d in fresh.values() if d.actions]
        entries: list[tuple[str, str, str | None, Mapping[str, Any]]] = [
            ("decisions.batch", "pipeline", None, {"count": len(hashes), "digest": batch_digest(hashes)})]
        entries += [("decision.actions", "pipeline", f"{d.subject_kind.value}:{d.subject_id}",
                     {"decision": d.id, "actions": [a.to_json() for a in d.actions]}) for d in enforcing]
        seq = self.audit.append_many(conn, entries, now=now)[0]
        if sqlite_db:
            # in id order: the ids are hashes, and sorted inserts walk the primary-key index once
            executemany(conn, insert_sql("decisions", DECISION_COLUMNS, ignore=False),
                         sorted((*row, seq) for row, _ in tuples))
        else:
            for r in rows:
                r["audit_seq"] = seq
            bulk_insert(conn, t.decisions, rows, ignore=False)
        res.decisions_new = len(hashes)
        res.audit_seq = seq
        effective = self._write_effects(conn, enforcing, now, posts_by_id, reports_by_id)
        return list(fresh.values()), effective

    def _write_effects(self, conn: Connection, decisions: list[Decision], now: datetime,
                       posts_by_id: Mapping[str, Post], reports_by_id: Mapping[str, Report]) -> set[str]:
        """Ledger rows, status changes, preserved content and review jobs for newly stored decisions; returns the
        ids of the decisions that changed something. An enforcement already live on its target (an earlier
        decision, a reviewer) is not entered or applied again: one live row per action and target, as the
        ledger's partial unique index also insists; a review job already open on the subject is not opened
        again."""
        effective: set[str] = set()
        ledger_rows: list[dict[str, Any]] = []
        applied: list[tuple[EffectKind, str, str, Decision, Post | None]] = []
        jobs: list[dict[str, Any]] = []
        for d in decisions:
            post = posts_by_id.get(d.subject_id) if d.subject_kind.value == "post" else None
            report = reports_by_id.get(d.subject_id) if d.subject_kind.value == "report" else None
            for a in d.actions:
                kind = EffectKind(a.action)
                if kind == EffectKind.LABEL:
                    effective.add(d.id)
                elif kind == EffectKind.REVIEW:
                    queue = str(a.params.get("queue", "default"))
                    subj_kind, subj_id = d.subject_kind.value, d.subject_id
                    deadline = None
                    if report is not None:  # review the reported content itself
                        subj_kind, subj_id, deadline = report.target_kind.value, report.target_id, report.deadline
                    jobs.append({"id": job_id(queue, subj_kind, subj_id), "queue": queue,
                                 "subject_kind": subj_kind, "subject_id": subj_id, "decision_id": d.id,
                                 "priority": int(a.params.get("priority", 5)), "created_at": now,
                                 "deadline": deadline, "state": "open"})
                elif kind in ENFORCING or kind == EffectKind.ESCALATE:
                    for target_kind, target_id in _targets(kind, d, post, a.params):
                        ledger_rows.append({
                            "decision_id": d.id, "action": a.action, "target_kind": target_kind,
                            "target_id": target_id, "rule": a.rule, "policy": a.policy,
                            "automated": a.automated, "source": "automated",
                            "params": dict(a.params) or None, "created_at": now,
                            "content_created_at": post.created_at if post else None})
                        applied.append((kind, target_kind, target_id, d, post))
        if ledger_rows:
            live = live_enforcements(conn, {r["target_id"] for r in ledger_rows})
            keep: list[dict[str, Any]] = []
            removed: list[tuple[Post, Decision]] = []
            for row, (kind, target_kind, target_id, d, post) in zip(ledger_rows, applied, strict=True):
                key = (row["action"], target_kind, target_id)
                if key in live:
                    continue
                live.add(key)
                keep.append(row)
                effective.add(d.id)
                if kind in (EffectKind.REMOVE_POST, EffectKind.SUSPEND_ACCOUNT):
                    self._apply_status(conn, "remove" if kind == EffectKind.REMOVE_POST else "suspend",
                                       target_kind, target_id, now)
                if kind == EffectKind.REMOVE_POST and post is not None:
                    removed.append((post, d))
            if removed:
                self._preserve(conn, removed, now)
            if keep:
                with tracked(conn, t.ledger):
                    conn.execute(_insert(conn, t.ledger).on_conflict_do_nothing(), keep)
        if jobs:
            known = _existing_ids(conn, t.review_jobs, [j["id"] for j in jobs])
            new_jobs: dict[str, dict[str, Any]] = {}
            for j in jobs:  # the first decision asking for a job opens it
                if j["id"] not in known and j["id"] not in new_jobs:
                    new_jobs[j["id"]] = j
            effective.update(j["decision_id"] for j in new_jobs.values())
            if new_jobs:
                with tracked(conn, t.review_jobs, list(new_jobs)):
                    conn.execute(_insert(conn, t.review_jobs).on_conflict_do_nothing(), list(new_jobs.values()))
        return effective

    def _preserve(self, conn: Connection, removed: Sequence[tuple[Post, Decision]], now: datetime) -> None:
        """Removed content is preserved as evidence (EU TCO Art. 6: six months, longer under legal hold): the
        batch's removals in one write, then the retention of everything held on those posts starts."""
        items = [(orjson.dumps({"post": post_row(post, now), "decision_id": d.id}, default=str,
                               option=orjson.OPT_SORT_KEYS), "application/json", "post", post.id, "removed_content")
                 for post, d in removed]
        self.evidence.put_many(conn, items, now=now)
        self.evidence.start_retention_many("post", [post.id for post, _ in removed], now=now, conn=conn)


def _targets(kind: EffectKind, d: Decision, post: Post | None, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    if kind == EffectKind.SUSPEND_ACCOUNT:
        return [("account", d.account_id or d.subject_id)]
    if kind in (EffectKind.DETREND_HASHTAG, EffectKind.RESTRICT_HASHTAG):
        # the hashtags the rule names (e.g. resolved from the campaign signal), else every hashtag on the post
        tags = params.get("hashtags", post.hashtags if post else ())
        return [("hashtag", str(tag).lower()) for tag in tags]
    return [(d.subject_kind.value, d.subject_id)]

