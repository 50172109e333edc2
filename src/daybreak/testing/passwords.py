"""Cheap password hashing for tests and benchmarks: argon2 at its smallest settings, so
a test that signs in dozens of users does not spend seconds hashing. Never in
production (the store keeps argon2-cffi's defaults)."""

from __future__ import annotations

from contextlib import AbstractContextManager

from argon2 import PasswordHasher

from daybreak.store.auth import passwords_hashed_with


def cheap_password_hashing() -> AbstractContextManager[None]:
    return passwords_hashed_with(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
