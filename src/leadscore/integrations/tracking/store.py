"""Where visitors' links and waiting hits are kept: an interface and an in-memory store.

The service can back :class:`VisitorStore` with its database; the in-memory
store suits one process (hits waiting for identification are lost on restart,
links too, which only means a returning visitor's next hits wait again).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

from .identity import Hit


class VisitorStore(Protocol):
    def contact_of(self, visitor_id: str) -> str | None: ...

    def waiting(self, visitor_id: str) -> list[Hit]: ...

    def add_waiting(self, hit: Hit, limit: int) -> None: ...

    def link(self, visitor_id: str, email: str, merged: list[str]) -> None:
        """Link the visitor and drop the waiting hits whose ids are in ``merged``."""
        ...

    def forget(self, email: str | None, visitors: Sequence[str] = ()) -> int:
        """Unlink (and drop the waiting hits of) every visitor linked to ``email`` and
        the ``visitors`` named: a GDPR erase. Returns how many visitors were forgotten."""
        ...


class InMemoryVisitorStore:
    """Bounded: at most ``max_visitors`` anonymous visitors (oldest dropped first)."""

    def __init__(self, max_visitors: int = 100_000):
        self.max_visitors = max_visitors
        self._links: dict[str, str] = {}
        self._waiting: OrderedDict[str, list[Hit]] = OrderedDict()
        self._lock = threading.Lock()

    def contact_of(self, visitor_id: str) -> str | None:
        with self._lock:
            return self._links.get(visitor_id)

    def waiting(self, visitor_id: str) -> list[Hit]:
        with self._lock:
            return list(self._waiting.get(visitor_id, []))

    def add_waiting(self, hit: Hit, limit: int) -> None:
        with self._lock:
            hits = self._waiting.setdefault(hit.visitor_id, [])
            self._waiting.move_to_end(hit.visitor_id)
            if any(h.hit_id == hit.hit_id for h in hits):
                return
            hits.append(hit)
            del hits[:-limit]  # keep the newest `limit` hits
            while len(self._waiting) > self.max_visitors:
                self._waiting.popitem(last=False)

    def stats(self) -> dict[str, int]:
        """How many visitors are linked, waiting, and how many hits wait."""
        with self._lock:
            return {
                "linked": len(self._links),
                "waiting_visitors": len(self._waiting),
                "waiting_hits": sum(len(h) for h in self._waiting.values()),
            }

    def forget(self, email: str | None, visitors: Sequence[str] = ()) -> int:
        with self._lock:
            gone = set(visitors) | {v for v, e in self._links.items() if email and e == email}
            for v in gone:
                self._links.pop(v, None)
                self._waiting.pop(v, None)
            return len(gone)

    def link(self, visitor_id: str, email: str, merged: list[str]) -> None:
        with self._lock:
            self._links[visitor_id] = email
            done = set(merged)
            rest = [h for h in self._waiting.get(visitor_id, []) if h.hit_id not in done]
            if rest:
                self._waiting[visitor_id] = rest
            else:
                self._waiting.pop(visitor_id, None)
