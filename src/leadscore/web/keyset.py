"""Keyset pages over any order: the cursor is the sort-key values of a row.

A page after (or before) a row is ``WHERE`` the rows that come after it in the
order: for keys all in one direction and never NULL, one row comparison
(``(total, contact_id) < (…)``, an index condition); otherwise the expanded
form ``k1 > v1 OR (k1 = v1 AND k2 < v2) OR …`` with NULLs last. The cursor
travels in links as URL-safe base64 JSON and is checked against the keys'
kinds before it reaches the database.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa


class ListError(ValueError):
    """A list request that cannot be read (an unknown sort column, a damaged page link)."""


@dataclass(frozen=True)
class Key:
    """One key of an order: its SQL expression, its direction, whether it can be NULL, and
    the kind of value (text, number, time) a cursor must hold for it."""

    expr: Any
    desc: bool
    nullable: bool
    kind: str = "text"

    def ordered(self, reverse: bool) -> Any:
        desc = self.desc != reverse
        clause = self.expr.desc() if desc else self.expr.asc()
        if self.nullable:  # NULLs after every value (before them when read backwards)
            clause = clause.nulls_first() if reverse else clause.nulls_last()
        return clause


def _later(key: Key, value: Any, forward: bool) -> Any | None:
    """Rows whose key comes after ``value`` (before it when not ``forward``), or None."""
    if value is None:  # NULLs are last: nothing after them, every value before them
        return key.expr.is_not(None) if not forward and key.nullable else None
    past = (key.expr < value) if key.desc == forward else (key.expr > value)
    return sa.or_(past, key.expr.is_(None)) if forward and key.nullable else past


def beyond(keys: Sequence[Key], values: Sequence[Any], forward: bool = True) -> Any:
    """The rows after (or before) the row with these key values, in the keys' order."""
    if len(set(k.desc for k in keys)) == 1 and not any(k.nullable for k in keys):
        left = sa.tuple_(*(k.expr for k in keys))
        right = sa.tuple_(
            *(sa.literal(v, type_=k.expr.type) for k, v in zip(keys, values, strict=True))
        )
        # one row comparison: an index condition on (total, contact_id)
        return (left < right) if keys[0].desc == forward else (left > right)
    clauses, equal = [], []
    for key, value in zip(keys, values, strict=True):
        later = _later(key, value, forward)
        if later is not None:
            clauses.append(sa.and_(*equal, later))
        equal.append(key.expr.is_(None) if value is None else key.expr == value)
    return sa.or_(*clauses) if clauses else sa.false()


def encode(values: Sequence[Any]) -> str:
    plain = [{"t": v.isoformat()} if isinstance(v, datetime) else v for v in values]
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, keys: Sequence[Key]) -> list[Any]:
    damaged = ListError(
        "the page link is damaged or was made for another sort; open the list from its "
        "first page again"
    )
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise damaged from None
    if not isinstance(plain, list) or len(plain) != len(keys):
        raise damaged
    values: list[Any] = []
    for key, v in zip(keys, plain, strict=True):
        if v is None:
            if not key.nullable:
                raise damaged
        elif key.kind == "time":
            if not isinstance(v, dict) or not isinstance(v.get("t"), str):
                raise damaged
            try:
                v = datetime.fromisoformat(v["t"])
            except ValueError:
                raise damaged from None
        elif key.kind == "number":
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise damaged
        elif not isinstance(v, str):
            raise damaged
        values.append(v)
    return values
