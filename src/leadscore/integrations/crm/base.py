"""What every CRM connector shares: score updates, change detection, batching.

:class:`CrmSync` takes score updates (from a scores file, the service, or a
trigger), keeps the latest per contact, drops those the CRM already has
(per :class:`SyncState`), writes the rest in batches through a connector,
and logs every write to the :class:`~.synclog.SyncLog`. A sync stopped by
the CRM (rate limit storm longer than the policy allows, outage) leaves the
unwritten contacts out of the state, so the next run writes them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ...engine.result import ScoreResult
from ...reasons import number_text, reasons_from_breakdown
from ..config import ScoreFields
from ..events import ContactRecord, LeadEvent
from ..http import CrmAuthError, CrmError, CrmUnavailable
from .synclog import SyncLog

SAVE_EVERY = 20  # batches between two saves of the sync state


@dataclass(frozen=True)
class ScoreUpdate:
    """A contact's current score, as the CRM should show it."""

    contact_id: str
    total: float
    at: datetime
    email: str | None = None
    external_id: str | None = None  # the contact's id in the CRM when known
    grade: str | None = None
    stage: str | None = None
    reasons: tuple[str, ...] = ()
    model: str | None = None

    def values(self, fields: ScoreFields) -> dict[str, str]:
        """CRM property/field -> text value, for the fields configured."""
        raw = {
            "score": number_text(self.total),
            "grade": self.grade or "",
            "stage": self.stage or "",
            "reasons": "; ".join(self.reasons),
        }
        return {target: raw[name] for name, target in fields.items()}


def top_reasons(result: ScoreResult, n: int = 3) -> tuple[str, ...]:
    """The ``n`` rules that moved the score most, as ``"Demo request +40"``."""
    return reasons_from_breakdown([h.model_dump() for h in result.breakdown], n)


@dataclass(frozen=True)
class WriteResult:
    contact_id: str
    ok: bool
    remote_id: str | None = None
    error: str | None = None


class CrmConnector(Protocol):
    system: str
    batch_size: int
    fields: ScoreFields

    def write(self, batch: Sequence[ScoreUpdate]) -> list[WriteResult]: ...

    def contacts(self) -> Iterator[ContactRecord]: ...

    def events(self, contacts: Iterable[ContactRecord]) -> Iterator[LeadEvent]: ...

    def close(self) -> None: ...


class SyncState:
    """The values last written per (system, contact), optionally kept in a JSON file."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self._lock = threading.Lock()
        self._values: dict[str, dict[str, dict[str, str]]] = {}
        if self.path and self.path.exists():
            self._values = json.loads(self.path.read_text(encoding="utf-8"))

    def get(self, system: str, contact_id: str) -> dict[str, str] | None:
        return self._values.get(system, {}).get(contact_id)

    def put(self, system: str, contact_id: str, values: dict[str, str]) -> None:
        with self._lock:
            self._values.setdefault(system, {})[contact_id] = dict(values)

    def forget(self, contact_id: str) -> None:
        """Drop what was written for a contact, in every system (a GDPR erase)."""
        with self._lock:
            for values in self._values.values():
                values.pop(contact_id, None)
        self.save()

    def save(self) -> None:
        if self.path is None:
            return
        with self._lock:
            tmp = self.path.with_suffix(self.path.suffix + ".tmp")
            tmp.write_text(json.dumps(self._values, sort_keys=True), encoding="utf-8")
            tmp.replace(self.path)


@dataclass
class SyncReport:
    system: str
    written: int = 0
    unchanged: int = 0
    failed: int = 0
    pending: int = 0  # not attempted: the sync stopped early
    batches: int = 0
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def latest_per_contact(updates: Iterable[ScoreUpdate]) -> list[ScoreUpdate]:
    """One update per contact: the newest (by ``at``; the later one on a tie)."""
    best: dict[str, ScoreUpdate] = {}
    for u in updates:
        old = best.get(u.contact_id)
        if old is None or u.at >= old.at:
            best[u.contact_id] = u
    return [best[k] for k in sorted(best)]


class CrmSync:
    """Write changed scores to one CRM through its connector."""

    def __init__(
        self,
        connector: CrmConnector,
        *,
        state: SyncState | None = None,
        log: SyncLog | None = None,
    ):
        self.connector = connector
        self.state = state or SyncState()
        self.log = log or SyncLog()

    def changed(self, updates: Iterable[ScoreUpdate]) -> tuple[list[ScoreUpdate], int]:
        todo, same = [], 0
        system, fields = self.connector.system, self.connector.fields
        for u in latest_per_contact(updates):
            if self.state.get(system, u.contact_id) == u.values(fields):
                same += 1
            else:
                todo.append(u)
        return todo, same

    def push(self, updates: Iterable[ScoreUpdate]) -> SyncReport:
        system, fields = self.connector.system, self.connector.fields
        todo, same = self.changed(updates)
        report = SyncReport(system, unchanged=same)
        size = max(1, self.connector.batch_size)
        for start in range(0, len(todo), size):
            batch = todo[start : start + size]
            try:
                results = self.connector.write(batch)
            except CrmAuthError:
                report.pending += len(todo) - start
                self.state.save()
                raise
            except CrmError as exc:
                # The batch was refused or retries ran out: none of it is recorded as
                # written, so the next run sends it again.
                rest = len(todo) - start
                for u in batch:
                    self.log.add(system, u.contact_id, "failed", error=str(exc), model=u.model)
                report.failed += len(batch)
                report.errors.append(str(exc))
                if isinstance(exc, CrmUnavailable):
                    report.pending += rest - len(batch)
                    report.stopped = str(exc)
                    break
                continue
            report.batches += 1
            if report.batches % SAVE_EVERY == 0:
                self.state.save()  # a killed sync re-sends little
            by_id = {u.contact_id: u for u in batch}
            for r in results:
                u = by_id[r.contact_id]
                if r.ok:
                    self.state.put(system, u.contact_id, u.values(fields))
                    self.log.add(
                        system,
                        u.contact_id,
                        "written",
                        remote_id=r.remote_id,
                        values=u.values(fields),
                        model=u.model,
                    )
                    report.written += 1
                else:
                    self.log.add(system, u.contact_id, "failed", error=r.error, model=u.model)
                    report.failed += 1
                    if r.error:
                        report.errors.append(f"{u.contact_id}: {r.error}")
        self.state.save()
        return report


def now_utc() -> datetime:
    return datetime.now(UTC)
