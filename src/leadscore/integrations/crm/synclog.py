"""The sync log: every write to a CRM, newest last; in memory, optionally a JSONL file."""

from __future__ import annotations

import json
import threading
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class SyncLog:
    """A bounded record of CRM writes (``written`` / ``failed``), safe across threads."""

    def __init__(self, path: str | Path | None = None, *, keep: int = 10_000):
        self.path = Path(path) if path else None
        self._items: deque[dict[str, Any]] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._seq = 0

    def add(
        self,
        system: str,
        contact_id: str,
        status: str,
        *,
        remote_id: str | None = None,
        values: dict[str, str] | None = None,
        error: str | None = None,
        model: str | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            entry = {
                "seq": self._seq,
                "at": datetime.now(UTC).isoformat(),
                "system": system,
                "contact_id": contact_id,
                "model": model,
                "status": status,
                "remote_id": remote_id,
                "values": values or {},
                "error": error,
            }
            self._items.append(entry)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(entry, sort_keys=True) + "\n")
            return entry

    def forget(self, contact_id: str) -> int:
        """Drop every entry of a contact (a GDPR erase), from memory and from the file."""
        with self._lock:
            kept = [e for e in self._items if e["contact_id"] != contact_id]
            gone = len(self._items) - len(kept)
            self._items.clear()
            self._items.extend(kept)
            if self.path is not None and self.path.exists():
                lines = self.path.read_text(encoding="utf-8").splitlines()
                keep = [ln for ln in lines if ln and json.loads(ln).get("contact_id") != contact_id]
                tmp = self.path.with_suffix(self.path.suffix + ".tmp")
                tmp.write_text("".join(ln + "\n" for ln in keep), encoding="utf-8")
                tmp.replace(self.path)
            return gone

    def entries(
        self,
        *,
        system: str | None = None,
        status: str | None = None,
        contact_id: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` entries matching the filters, newest first."""
        with self._lock:
            items = list(self._items)
        out = [
            e
            for e in reversed(items)
            if (system is None or e["system"] == system)
            and (status is None or e["status"] == status)
            and (contact_id is None or e["contact_id"] == contact_id)
        ]
        return out[:limit]

    def counts(self) -> dict[str, int]:
        with self._lock:
            items = list(self._items)
        out: dict[str, int] = {}
        for e in items:
            key = f"{e['system']}.{e['status']}"
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items()))
