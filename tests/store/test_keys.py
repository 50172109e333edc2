"""Field encryption: AES-GCM with a fresh random nonce for every value."""

from __future__ import annotations

import os
import threading
import warnings

import pytest

from daybreak.store import Keyring
from daybreak.store.keys import KeyError_, generate_key


def test_round_trip_and_tamper_detection() -> None:
    ring = Keyring.from_text(generate_key())
    blob = ring.encrypt_text("+63 917 555 0101", "report:phone")
    assert ring.decrypt_text(blob, "report:phone") == "+63 917 555 0101"
    with pytest.raises(KeyError_):
        ring.decrypt_text(blob, "report:email")  # bound to its context
    with pytest.raises(KeyError_):
        ring.decrypt_text(blob[:-1] + bytes([blob[-1] ^ 1]), "report:phone")


def test_nonces_never_repeat_across_values_and_threads() -> None:
    """Nonces are fetched from the OS in blocks; no block may be served twice, within a
    thread, across threads, or past the end of a block."""
    ring = Keyring.from_text(generate_key())
    seen: list[bytes] = []
    lock = threading.Lock()

    def encrypt_many() -> None:
        mine = [ring.encrypt(b"x", "ctx")[:12] for _ in range(2_000)]
        with lock:
            seen.extend(mine)

    threads = [threading.Thread(target=encrypt_many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8_000
    assert len(set(seen)) == len(seen)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_reuse_its_parents_nonces() -> None:
    ring = Keyring.from_text(generate_key())
    ring.encrypt(b"x", "ctx")  # the parent now holds a block of nonces
    read, write = os.pipe()
    with warnings.catch_warnings():  # 3.12+ warns about fork() in a threaded process
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # child: report its next nonce and leave at once
        os.write(write, ring.encrypt(b"x", "ctx")[:12])
        os._exit(0)
    os.close(write)
    child_nonce = os.read(read, 12)
    os.close(read)
    os.waitpid(pid, 0)
    parent_nonce = ring.encrypt(b"x", "ctx")[:12]
    assert len(child_nonce) == 12
    assert child_nonce != parent_nonce
