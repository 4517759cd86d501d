"""Signed checkpoints of the audit chain: what an operator exports or publishes, and verifies against later.

A checkpoint states, signed with the audit key (Ed25519, a file outside the database): the chain's head (seq
and hash) and the digest and row count of every attested table (``bastion.store.attest``), taken when the
database verified clean. Verifying against it later detects

* any rewrite of the chain up to the checkpoint (the entry at its seq no longer has its hash), however
  consistently recomputed, and any truncation or rewind of the log below it, or a wiped database;
* any change since to an attested table or a decision that did not go through Bastion (the chain's last
  digest for the table no longer matches its rows);
* entries appended since by anything but Bastion, where Bastion signs its head (``BASTION_AUDIT_KEY`` set for
  the scanner and the API): an insider can append well-formed entries, not sign them.

Not detected: a consistent rollback of the whole database to a state after the checkpoint that Bastion itself
signed (publish checkpoints often: each bounds that window), and anything done by someone holding the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine

from bastion.audit import signing, state
from bastion.audit.log import VerifyResult, read_head, verify, verify_file
from bastion.errors import InputError, IntegrityError

FORMAT = "bastion-audit-checkpoint/1"


def take(engine: Engine, key: Ed25519PrivateKey, now: datetime) -> dict[str, Any]:
    """A signed checkpoint of the database as it stands; refused when the database does not verify."""
    result = verify(engine)
    if not result.ok:
        raise IntegrityError("refusing to sign a checkpoint of a database that does not verify: "
                             + "; ".join(result.problems[:5]))
    head, sig = read_head(engine)
    with engine.connect() as conn:
        tables = state.current(conn)
    public = key.public_key()
    signed = head is not None and signing.verify_head(public, head[0], head[1], sig) is None
    body: dict[str, Any] = {
        "format": FORMAT, "created_at": now.isoformat(),
        "head": {"seq": head[0], "hash": head[1]} if head else None,
        # Bastion signs its head with this key: from here on, an unsigned head means someone else moved it
        "head_signed": signed,
        "tables": {name: {"digest": dig, "rows": rows} for name, (dig, rows) in sorted(tables.items())},
        "key_id": signing.key_id(public), "public_key": signing.public_pem(public).decode(),
    }
    return {**body, "signature": signing.sign_document(key, body)}


def write(doc: Mapping[str, Any], path: Path) -> None:
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


def read(path: Path) -> dict[str, Any]:
    try:
        doc = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path}: not a checkpoint (invalid JSON: {exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"{path}: not a {FORMAT} document")
    return doc


def _check_document(doc: Mapping[str, Any], trusted: Ed25519PublicKey | None) -> tuple[list[str], Any]:
    problems: list[str] = []
    body = {k: v for k, v in doc.items() if k != "signature"}
    try:
        embedded = signing.public_from_text(str(doc.get("public_key", "")))
    except (ValueError, InputError):
        return ["checkpoint: its public key is unreadable (altered)"], None
    public = trusted or embedded
    if trusted is not None and signing.key_id(trusted) != signing.key_id(embedded):
        problems.append("checkpoint: signed by a key other than the trusted one")
    if not signing.verify_document(public, body, str(doc.get("signature", ""))):
        problems.append("checkpoint: signature does not verify (the checkpoint file was altered)")
    head = doc.get("head")
    if head is not None and not (isinstance(head, dict) and isinstance(head.get("seq"), int)
                                 and isinstance(head.get("hash"), str)):
        problems.append("checkpoint: head is malformed")
    return problems, public


def _against(result: VerifyResult, doc: Mapping[str, Any], public: Any, where: str) -> list[str]:
    problems: list[str] = []
    cp = doc.get("head")
    if cp is not None:
        seq, want = int(cp["seq"]), str(cp["hash"])
        have = result.head[0] if result.head else 0
        if have < seq:
            problems.append(f"{where}: the chain ends at entry {have}, before the checkpoint's {seq} "
                            "(truncated, rewound or wiped since the checkpoint)")
        elif result.watched is None:
            problems.append(f"{where}: entry {seq}, the checkpoint's head, is missing (log rewritten)")
        elif result.watched != want:
            problems.append(f"{where}: entry {seq} no longer has the hash the checkpoint signed "
                            "(the chain was rewritten since the checkpoint)")
    if (public is not None and doc.get("head_signed") and result.head is not None
            and (cp is None or result.head[0] > int(cp["seq"]))):
        why = signing.verify_head(public, result.head[0], result.head[1], result.head_sig)
        if why:
            problems.append(f"{where}: {why}")
    return problems


def verify_db(engine: Engine, doc: Mapping[str, Any], *,
              trusted: Ed25519PublicKey | None = None) -> VerifyResult:
    """The database against a checkpoint: the document's signature, the chain through the checkpoint's head,
    every table and decision as the chain last attested it, and the signature on the head since."""
    problems, public = _check_document(doc, trusted)
    cp = doc.get("head")
    result = verify(engine, watch=int(cp["seq"]) if isinstance(cp, dict) and "seq" in cp else None)
    problems += _against(result, doc, public, "database")
    if cp is not None and result.head is not None and result.head[0] >= int(cp["seq"]):
        with engine.connect() as conn:
            then = state.attested(conn, upto=int(cp["seq"]))
        for name, item in dict(doc.get("tables") or {}).items():
            if not isinstance(item, dict):
                problems.append(f"checkpoint: table {name} is malformed")
                continue
            recorded = then.get(name)
            if recorded is None and int(item.get("rows", 0)):
                problems.append(f"table {name}: the chain no longer attests the {item.get('rows')} row(s) the "
                                "checkpoint saw (rewritten)")
            elif recorded is not None and recorded[1] != item.get("digest"):
                problems.append(f"table {name}: the chain's attestation at the checkpoint differs from the "
                                "checkpoint's (rewritten)")
    result.problems[:0] = problems
    return result


def verify_export(path: Path, doc: Mapping[str, Any], *,
                  trusted: Ed25519PublicKey | None = None) -> VerifyResult:
    """An exported log against a checkpoint: the same chain checks as :func:`verify_db`, on the file."""
    problems, public = _check_document(doc, trusted)
    cp = doc.get("head")
    result = verify_file(path, watch=int(cp["seq"]) if isinstance(cp, dict) and "seq" in cp else None)
    problems += _against(result, doc, public, str(path))
    result.problems[:0] = problems
    return result


__all__ = ["FORMAT", "read", "take", "verify_db", "verify_export", "write"]
