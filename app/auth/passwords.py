"""Password hashing with argon2id at OWASP's minimum (m=19 MiB, t=2, p=1)."""

from __future__ import annotations

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(memory_cost=19 * 1024, time_cost=2, parallelism=1),))
# Verifying against this keeps unknown usernames as slow as wrong passwords (no user enumeration by timing).
_DUMMY = _hasher.hash("mianjing-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    if hashed is None:
        _hasher.verify(password, _DUMMY)
        return False
    return _hasher.verify(password, hashed)
