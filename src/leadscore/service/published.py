"""Published model versions, parsed once and kept while they stay published."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..model.loader import load_model
from ..model.schema import ScoringModel
from ..store.tables import model_versions


@dataclass(frozen=True)
class Published:
    """One published model: its name, version number, parsed tree and service options."""

    name: str
    version: int
    model: ScoringModel
    options: dict[str, Any] = field(default_factory=dict)

    def hysteresis(self, trigger: str, default: float) -> float:
        per = (self.options.get("hysteresis") or {}) if self.options else {}
        return float(per.get(trigger, default))


class ModelCache:
    """Parsed models by version row id; the list of published ones is read per call."""

    def __init__(self) -> None:
        self._parsed: dict[int, ScoringModel] = {}
        self._lock = threading.Lock()

    def parse(self, row_id: int, text: str) -> ScoringModel:
        with self._lock:
            model = self._parsed.get(row_id)
        if model is None:
            model = load_model(text)
            with self._lock:
                self._parsed[row_id] = model
        return model

    def published(self, conn: sa.Connection) -> list[Published]:
        rows = conn.execute(
            sa.select(
                model_versions.c.id,
                model_versions.c.name,
                model_versions.c.version,
                model_versions.c.yaml,
                model_versions.c.options,
            )
            .where(model_versions.c.status == "published")
            .order_by(model_versions.c.name)
        ).all()
        return [
            Published(r.name, r.version, self.parse(r.id, r.yaml), r.options or {}) for r in rows
        ]
