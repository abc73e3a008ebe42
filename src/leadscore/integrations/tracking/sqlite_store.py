"""A visitor store in a SQLite file: links and waiting hits survive a restart.

For one service process (or several on one machine); the file is separate
from the service's store so it needs no migration of its own there.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from .identity import Hit

SCHEMA = """
CREATE TABLE IF NOT EXISTS links (visitor_id TEXT PRIMARY KEY, email TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS waiting (
    visitor_id TEXT NOT NULL, hit_id TEXT NOT NULL, type TEXT NOT NULL,
    ts TEXT NOT NULL, attributes TEXT NOT NULL, PRIMARY KEY (visitor_id, hit_id)
);
"""


class SqliteVisitorStore:
    def __init__(self, path: str | Path):
        self.path = str(path)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def contact_of(self, visitor_id: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT email FROM links WHERE visitor_id = ?", (visitor_id,)
            ).fetchone()
        return row[0] if row else None

    def waiting(self, visitor_id: str) -> list[Hit]:
        with self._lock:
            rows = self._db.execute(
                "SELECT hit_id, type, ts, attributes FROM waiting WHERE visitor_id = ? "
                "ORDER BY ts, hit_id",
                (visitor_id,),
            ).fetchall()
        return [
            Hit(visitor_id, h, t, datetime.fromisoformat(ts), json.loads(a)) for h, t, ts, a in rows
        ]

    def add_waiting(self, hit: Hit, limit: int) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT OR IGNORE INTO waiting VALUES (?, ?, ?, ?, ?)",
                    (hit.visitor_id, hit.hit_id, hit.type, hit.ts.isoformat(),
                     json.dumps(hit.attributes, sort_keys=True)),
                )  # fmt: skip
                self._db.execute(
                    "DELETE FROM waiting WHERE visitor_id = ? AND hit_id NOT IN ("
                    " SELECT hit_id FROM waiting WHERE visitor_id = ?"
                    " ORDER BY ts DESC, hit_id DESC LIMIT ?)",
                    (hit.visitor_id, hit.visitor_id, limit),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def link(self, visitor_id: str, email: str, merged: list[str]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO links VALUES (?, ?) ON CONFLICT (visitor_id) "
                    "DO UPDATE SET email = excluded.email",
                    (visitor_id, email),
                )
                self._db.executemany(
                    "DELETE FROM waiting WHERE visitor_id = ? AND hit_id = ?",
                    [(visitor_id, h) for h in merged],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def forget(self, email: str | None, visitors: Sequence[str] = ()) -> int:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                gone = set(visitors)
                if email:
                    gone |= {
                        v
                        for (v,) in self._db.execute(
                            "SELECT visitor_id FROM links WHERE email = ?", (email,)
                        )
                    }
                for table in ("links", "waiting"):
                    self._db.executemany(
                        f"DELETE FROM {table} WHERE visitor_id = ?", [(v,) for v in sorted(gone)]
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(gone)

    def stats(self) -> dict[str, int]:
        with self._lock:
            linked = self._db.execute("SELECT count(*) FROM links").fetchone()[0]
            visitors, hits = self._db.execute(
                "SELECT count(DISTINCT visitor_id), count(*) FROM waiting"
            ).fetchone()
        return {"linked": linked, "waiting_visitors": visitors, "waiting_hits": hits}
