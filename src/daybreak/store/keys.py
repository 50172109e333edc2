"""Keys for field encryption at rest, blind indexes, and the audit trail's MACs.

Two independent 32-byte keys (url-safe base64, e.g. from ``daybreak admin keygen``):

* the **field key** (``DAYBREAK_FIELD_KEY``), from which HKDF derives
  AES-256-GCM for sensitive fields, with ``table.column:primary key`` as associated data
  (a ciphertext copied into another column *or another row* does not decrypt), and the
  HMAC-SHA256 "blind index" of normalised identifiers, so reports cluster and search by
  phone or account without storing the phone in clear;
* the **audit key** (``DAYBREAK_AUDIT_KEY`` or the file named by
  ``DAYBREAK_AUDIT_KEY_FILE``), from which HKDF derives the MACs of the audit chain, its
  head, the checkpoint lines written outside the database, and the row MACs over the
  plain workflow columns. It is held by the server (and the auditor), not by people who
  hold the field key to analyse or export data: with the field key alone a ciphertext
  can be read but no audit entry, head, checkpoint or row MAC can be forged.

Either key can be rotated (:mod:`daybreak.store.rotation`; the new key from
``DAYBREAK_NEW_FIELD_KEY`` or ``DAYBREAK_NEW_AUDIT_KEY``, each also as ``…_FILE``).

Demo/dev only: with no key in the environment each key is generated into the data dir
(``field.key``, ``audit.key``; mode 0600, directory 0700) and a warning is logged.
Production sets both. :meth:`Keyring.from_text` without an audit key derives one from
the field key: for tests and embedding only, never what :meth:`Keyring.load` returns.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import logging
import os
import secrets
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from daybreak.model import DEFAULT_ORG

ENV_VAR = "DAYBREAK_FIELD_KEY"
KEY_FILE = "field.key"
AUDIT_ENV_VAR = "DAYBREAK_AUDIT_KEY"
AUDIT_FILE_ENV_VAR = "DAYBREAK_AUDIT_KEY_FILE"
AUDIT_KEY_FILE = "audit.key"
# Rotation: the key a store moves to, and (to verify checkpoints written before an
# audit-key rotation) the audit key it had; each also as <name>_FILE.
NEW_FIELD_ENV_VAR = "DAYBREAK_NEW_FIELD_KEY"
NEW_AUDIT_ENV_VAR = "DAYBREAK_NEW_AUDIT_KEY"
PREVIOUS_AUDIT_ENV_VAR = "DAYBREAK_PREVIOUS_AUDIT_KEY"
log = logging.getLogger(__name__)


class KeyError_(ValueError):
    """The field key is missing or malformed, or a ciphertext does not decrypt."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


def generate_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def _decode(text: str, where: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise KeyError_(f"{where}: not url-safe base64 ({exc})") from exc
    if len(raw) != 32:
        raise KeyError_(f"{where}: expected 32 bytes of key, got {len(raw)}")
    return raw


def bound(column: str, *key: object) -> str:
    """The associated data of an encrypted field: ``table.column:primary key``."""
    return ":".join([column, *(str(k) for k in key)])


def private_dir(path: Path) -> None:
    """Create a directory (and its parents) for keys or data: the last one mode 0700."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def _generated_key_file(path: Path, what: str, env: str) -> str:
    if not path.exists():
        private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(generate_key() + "\n")
        log.warning("generated a development %s at %s; set %s in production", what, path, env)
    return path.read_text("ascii")


class Keyring:
    def __init__(self, master: bytes, audit: bytes | None = None) -> None:
        if len(master) != 32:
            raise KeyError_("the master key must be 32 bytes")
        if audit is not None and len(audit) != 32:
            raise KeyError_("the audit key must be 32 bytes")
        if audit is not None and hmac.compare_digest(audit, master):
            raise KeyError_(f"{AUDIT_ENV_VAR} must be a different key from {ENV_VAR}")
        self._master = master  # kept to pair this field key with another audit key
        self._aead = AESGCM(_derive(master, b"daybreak field encryption v1"))
        self._index_key = _derive(master, b"daybreak blind index v1")
        # Chains written before the audit key was separate were keyed from the field
        # key; they still verify, up to the entry the upgrade recorded (store_meta).
        self._legacy_audit_key = _derive(master, b"daybreak audit chain v1")
        root = audit if audit is not None else _derive(master, b"daybreak audit root (embedded)")
        self._audit_root = audit
        self.audit_separate = audit is not None
        self._audit_key = _derive(root, b"daybreak audit chain v2")
        self._head_key = _derive(root, b"daybreak audit head v1")
        self._checkpoint_key = _derive(root, b"daybreak audit checkpoint v1")
        self._row_key = _derive(root, b"daybreak row mac v1")
        self._org_root = _derive(master, b"daybreak organisation keys v1")
        self._orgs: dict[str, Keyring] = {}
        self._orgs_lock = threading.Lock()
        self._deployment = self  # an organisation's keyring points at the one it came from
        # The organisation whose rows these keys seal: the store scopes every query it
        # runs with a keyring to this organisation (and tags the rows it writes).
        self.org_id = DEFAULT_ORG

    def for_org(self, org_id: str) -> Keyring:
        """The keyring of one organisation: its own field-encryption and blind-index
        keys, derived from the field key and the org id (a row of org A does not
        decrypt with org B's keyring, and the same phone number has a different blind
        index in each), and the deployment's audit keys (one chain for all). The
        ``default`` organisation's keyring is this one, so rows stored before
        organisations existed keep decrypting."""
        if self._deployment is not self:
            return self._deployment.for_org(org_id)
        if org_id == DEFAULT_ORG:
            return self
        with self._orgs_lock:
            found = self._orgs.get(org_id)
            if found is None:
                org_master = _derive(self._org_root, f"org:{org_id}".encode())
                found = copy.copy(self)
                found._aead = AESGCM(_derive(org_master, b"daybreak field encryption v1"))
                found._index_key = _derive(org_master, b"daybreak blind index v1")
                found._orgs, found._orgs_lock = {}, threading.Lock()
                found.org_id = org_id
                self._orgs[org_id] = found
        return found

    def with_audit_key(self, audit: bytes) -> Keyring:
        """This field key with another audit key (an audit key before or after a
        rotation)."""
        return Keyring(self._master, audit)

    def with_field_key(self, master: bytes) -> Keyring:
        """Another field key with this audit key (a field-key rotation's target)."""
        return Keyring(master, self._audit_root)

    def field_key_check(self) -> str:
        """A MAC naming this field key without revealing it: stored in ``store_meta``
        when the key is rotated, so that a process started with the old key is refused
        at once instead of failing on the first ciphertext it reads."""
        return _mac(self._index_key, "daybreak field key check v1")

    @classmethod
    def from_text(cls, text: str, where: str = ENV_VAR, audit: str | None = None) -> Keyring:
        return cls(_decode(text, where), None if audit is None else _decode(audit, AUDIT_ENV_VAR))

    @classmethod
    def load(cls, data_dir: Path | None, *, allow_generate: bool) -> Keyring:
        """The field and audit keys from the environment; else (dev/demo,
        ``allow_generate``) from ``data_dir/field.key`` and ``data_dir/audit.key``,
        generating them on first use with a warning."""
        field = _load_field_key(data_dir, allow_generate)
        audit_text, audit_where = _load_audit_key(data_dir, allow_generate)
        return cls(_decode(field[0], field[1]), _decode(audit_text, audit_where))

    def encrypt(self, plaintext: bytes, context: str) -> bytes:
        nonce = _random_nonce()
        return nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def decrypt(self, blob: bytes, context: str) -> bytes:
        try:
            return self._aead.decrypt(blob[:12], blob[12:], context.encode())
        except InvalidTag as exc:
            raise KeyError_(f"cannot decrypt {context}: wrong key or tampered value") from exc

    def encrypt_text(self, text: str, context: str) -> bytes:
        return self.encrypt(text.encode("utf-8"), context)

    def decrypt_text(self, blob: bytes, context: str) -> str:
        return self.decrypt(blob, context).decode("utf-8")

    def index(self, key: str) -> str:
        """Blind index of a normalised identifier key (``kind:value``)."""
        return hmac.new(self._index_key, key.encode("utf-8"), hashlib.sha256).hexdigest()[:40]

    def audit_mac(self, prev_hash: str, body: str) -> str:
        """The hash of an audit entry (under the audit key)."""
        return _mac(self._audit_key, prev_hash + "\n" + body)

    def legacy_audit_mac(self, prev_hash: str, body: str) -> str:
        """The hash of an entry written before the audit key was separate."""
        return _mac(self._legacy_audit_key, prev_hash + "\n" + body)

    def head_mac(self, seq: int, head_hash: str) -> str:
        return _mac(self._head_key, f"head\n{seq}\n{head_hash}")

    def checkpoint_mac(self, body: str) -> str:
        return _mac(self._checkpoint_key, "checkpoint\n" + body)

    def row_mac(self, body: str) -> str:
        return _mac(self._row_key, "row\n" + body)


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def _load_field_key(data_dir: Path | None, allow_generate: bool) -> tuple[str, str]:
    env = os.environ.get(ENV_VAR)
    if env:
        return env, ENV_VAR
    if data_dir is None or not allow_generate:
        raise KeyError_(
            f"{ENV_VAR} is not set: set it to a key from `daybreak admin keygen` "
            "(or pass --dev to generate one into the data directory)"
        )
    path = Path(data_dir) / KEY_FILE
    return _generated_key_file(path, "field key", ENV_VAR), str(path)


def _key_text(env: str) -> tuple[str, str] | None:
    """The key in ``$env`` or in the file ``$env_FILE`` names (text, where it came
    from); None when neither is set."""
    value = os.environ.get(env)
    if value:
        return value, env
    file_var = f"{env}_FILE"
    named = os.environ.get(file_var)
    if named:
        try:
            return Path(named).read_text("ascii"), named
        except OSError as exc:
            raise KeyError_(f"{file_var}={named}: cannot read ({exc})") from exc
    return None


def key_from_env(env: str) -> bytes | None:
    """A key given to one command through ``$env`` or ``$env_FILE`` (never on the
    command line, where ``ps`` and shell histories would show it); None if unset."""
    found = _key_text(env)
    return None if found is None else _decode(*found)


def _load_audit_key(data_dir: Path | None, allow_generate: bool) -> tuple[str, str]:
    found = _key_text(AUDIT_ENV_VAR)
    if found is not None:
        return found
    if data_dir is None or not allow_generate:
        raise KeyError_(
            f"{AUDIT_ENV_VAR} (or {AUDIT_FILE_ENV_VAR}) is not set: the audit trail needs "
            f"its own key, different from {ENV_VAR}; make one with `daybreak admin keygen` "
            "(or pass --dev to generate one into the data directory)"
        )
    path = Path(data_dir) / AUDIT_KEY_FILE
    return _generated_key_file(path, "audit key", AUDIT_ENV_VAR), str(path)


_NONCE = 12
_nonces = threading.local()


def _random_nonce() -> bytes:
    """A fresh random 96-bit AES-GCM nonce from the OS generator, drawn 4 KiB at a time.

    Every ``os.urandom`` call releases the GIL; made on the event loop for each
    encrypted field, it handed the GIL to the writer thread and then waited up to the
    interpreter's switch interval (5 ms) to get it back, which set the intake's p99.
    The nonces are the same uniformly random values, only fetched in bulk. Buffers are
    per thread and per process: a forked child never reuses its parent's nonces."""
    pid = os.getpid()
    buf: bytes = getattr(_nonces, "buf", b"")
    pos: int = getattr(_nonces, "pos", 0)
    if pos + _NONCE > len(buf) or getattr(_nonces, "pid", None) != pid:
        buf, pos = os.urandom(_NONCE * 341), 0
        _nonces.buf, _nonces.pid = buf, pid
    _nonces.pos = pos + _NONCE
    return buf[pos : pos + _NONCE]
