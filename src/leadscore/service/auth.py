"""API keys: random tokens shown once, stored as SHA-256 hashes, with a scope.

Scopes nest: ``read`` < ``write`` < ``admin``. A ``track`` key is the public,
write-only kind for browser tracking: it may only send events.
A key reads ``ls_<prefix>_<secret>``; the prefix finds the row, the hash of the
whole token is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from ..errors import UsageError
from ..store import tables as T

SCOPES = ("read", "write", "admin", "track")
RANK = {"read": 1, "write": 2, "admin": 3}


@dataclass(frozen=True)
class Principal:
    key_id: int
    name: str
    scope: str

    @property
    def actor(self) -> str:
        return f"key:{self.key_id}:{self.name}"

    def allows(self, needed: str) -> bool:
        if needed == "track":  # event ingest: tracking keys and write or admin keys
            return self.scope == "track" or RANK.get(self.scope, 0) >= RANK["write"]
        return RANK.get(self.scope, 0) >= RANK[needed]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(conn: sa.Connection, name: str, scope: str) -> tuple[int, str]:
    """Store a new key; returns (id, token). The token is not kept anywhere."""
    if scope not in SCOPES:
        raise UsageError(f"unknown scope {scope!r}: use one of {', '.join(SCOPES)}")
    if not name.strip():
        raise UsageError("a key needs a name saying who or what uses it")
    prefix = secrets.token_hex(6)
    token = f"ls_{prefix}_{secrets.token_urlsafe(32)}"
    key_id = conn.execute(
        sa.insert(T.api_keys)
        .values(
            prefix=prefix, hash=_hash(token), scope=scope, name=name, created_at=datetime.now(UTC)
        )
        .returning(T.api_keys.c.id)
    ).scalar_one()
    return key_id, token


def authenticate(conn: sa.Connection, token: str) -> Principal | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "ls":
        return None
    row = conn.execute(sa.select(T.api_keys).where(T.api_keys.c.prefix == parts[1])).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.hash, _hash(token)):
        return None
    return Principal(row.id, row.name, row.scope)
