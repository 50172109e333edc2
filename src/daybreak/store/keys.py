"""Keys for field encryption at rest, blind indexes and the audit chain's MAC.

One 32-byte master key comes from ``DAYBREAK_FIELD_KEY`` (url-safe base64, e.g. the
output of ``daybreak admin keygen`` or ``Fernet.generate_key()``). Three keys are derived
from it with HKDF so that no key does two jobs:

* AES-256-GCM for sensitive fields, with the table/column name as associated data (a
  ciphertext copied into another column does not decrypt);
* HMAC-SHA256 "blind index" of normalised identifiers, so reports cluster and search by
  phone or account without storing the phone in clear;
* HMAC-SHA256 for the audit chain, so an attacker who can write the database but has
  not got the key cannot rebuild a consistent chain after editing it.

Demo/dev only: with no key in the environment a key is generated into the data dir
(mode 0600) and a warning is logged. Production sets the environment variable.
"""

from __future__ import annotations

import base64
import binascii
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

ENV_VAR = "DAYBREAK_FIELD_KEY"
KEY_FILE = "field.key"
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


class Keyring:
    def __init__(self, master: bytes) -> None:
        if len(master) != 32:
            raise KeyError_("the master key must be 32 bytes")
        self._aead = AESGCM(_derive(master, b"daybreak field encryption v1"))
        self._index_key = _derive(master, b"daybreak blind index v1")
        self._audit_key = _derive(master, b"daybreak audit chain v1")

    @classmethod
    def from_text(cls, text: str, where: str = ENV_VAR) -> Keyring:
        return cls(_decode(text, where))

    @classmethod
    def load(cls, data_dir: Path | None, *, allow_generate: bool) -> Keyring:
        """The key from the environment; else (dev/demo, ``allow_generate``) from
        ``data_dir/field.key``, generating it on first use with a warning."""
        env = os.environ.get(ENV_VAR)
        if env:
            return cls.from_text(env)
        if data_dir is None or not allow_generate:
            raise KeyError_(
                f"{ENV_VAR} is not set: set it to a key from `daybreak admin keygen` "
                "(or pass --dev to generate one into the data directory)"
            )
        path = Path(data_dir) / KEY_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(generate_key() + "\n")
            log.warning(
                "generated a development field key at %s; set %s in production", path, ENV_VAR
            )
        return cls.from_text(path.read_text("ascii"), str(path))

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
        msg = (prev_hash + "\n" + body).encode("utf-8")
        return hmac.new(self._audit_key, msg, hashlib.sha256).hexdigest()


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
