"""Ed25519 keys for the audit chain: the head's signature and signed checkpoints.

The private key lives outside the database (a PEM file named by ``BASTION_AUDIT_KEY`` or ``--key``), so that
someone who can write to the database (an insider with ``psql``, a stolen backup restored elsewhere) cannot
extend or rewrite the chain and sign the result. ``bastion audit keygen`` writes one (mode 0600) with its
public half next to it (``.pub``), which is what verifiers pin.
"""

from __future__ import annotations

import base64
import hashlib
import os
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bastion.canonical import canonical
from bastion.errors import InputError

ENV = "BASTION_AUDIT_KEY"


def generate(path: Path) -> Ed25519PublicKey:
    """Write a new private key to ``path`` (0600) and its public key to ``path.pub``; refuse to overwrite."""
    if path.exists():
        raise InputError(f"{path}: exists; an audit key is never overwritten (move it away first)")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public = key.public_key()
    path.with_name(path.name + ".pub").write_bytes(public_pem(public))
    return public


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as exc:
        raise InputError(f"{path}: not a PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path}: not an Ed25519 key")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    data = path.read_bytes()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        return load_private(path).public_key()  # the private key file holds the public key too
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{path}: not an Ed25519 public key")
    return key


def public_from_text(text: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(text.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise InputError("not an Ed25519 public key")
    return key


@lru_cache(maxsize=4)
def _cached(path: str, _mtime: float) -> Ed25519PrivateKey:
    return load_private(Path(path))


def configured_key() -> Ed25519PrivateKey | None:
    """The key named by ``BASTION_AUDIT_KEY``, if any (read once per file version)."""
    name = os.environ.get(ENV)
    if not name:
        return None
    path = Path(name)
    try:
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise InputError(f"{ENV}={name}: cannot read the audit key ({exc.strerror})") from exc
    return _cached(str(path), mtime)


def _head_body(seq: int, hash_: str) -> bytes:
    return canonical({"bastion": "audit-head/1", "seq": seq, "hash": hash_})


def sign_head(key: Ed25519PrivateKey, seq: int, hash_: str) -> str:
    """``ed25519:<key id>:<base64 signature>`` over the head."""
    sig = base64.b64encode(key.sign(_head_body(seq, hash_))).decode()
    return f"ed25519:{key_id(key.public_key())}:{sig}"


def verify_head(public: Ed25519PublicKey, seq: int, hash_: str, sig: str | None) -> str | None:
    """None when ``sig`` is this key's signature over the head, else what is wrong."""
    if not sig:
        return "the chain's head is not signed (changed by something without the audit key)"
    try:
        scheme, kid, b64 = sig.split(":", 2)
        if scheme != "ed25519" or kid != key_id(public):
            return f"the chain's head is signed by another key ({kid})"
        public.verify(base64.b64decode(b64), _head_body(seq, hash_))
    except (ValueError, InvalidSignature):
        return "the chain's head signature does not match the head (altered, extended or rewound)"
    return None


def sign_document(key: Ed25519PrivateKey, body: dict[str, object]) -> str:
    return base64.b64encode(key.sign(canonical(body))).decode()


def verify_document(public: Ed25519PublicKey, body: dict[str, object], sig: str) -> bool:
    try:
        public.verify(base64.b64decode(sig), canonical(body))
    except (ValueError, InvalidSignature):
        return False
    return True
