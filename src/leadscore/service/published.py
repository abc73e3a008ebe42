"""Published model versions, parsed once and kept while they stay published."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import yaml

from ..errors import ModelError, Problem
from ..model.loader import model_from_data, parse_yaml
from ..model.schema import ScoringModel
from ..store.tables import model_versions


def model_from_text(text: str) -> ScoringModel:
    """Parse model YAML received as text: never read as a file path, whatever it looks like."""
    try:
        data, marks = parse_yaml(text)
    except yaml.YAMLError as exc:  # e.g. control characters, which the reader refuses
        mark = getattr(exc, "problem_mark", None)
        raise ModelError(
            [
                Problem(
                    (),
                    f"not valid YAML: {exc}".splitlines()[0],
                    "remove control characters; check indentation, colons and quotes",
                    mark.line + 1 if mark else None,
                    mark.column + 1 if mark else None,
                )
            ]
        ) from None
    return model_from_data(data, marks)


@dataclass(frozen=True)
class Published:
    """One published model: its name, version number, parsed tree and service options."""

    name: str
    version: int
    model: ScoringModel
    options: dict[str, Any] = field(default_factory=dict)

    def hysteresis(self, trigger: str, default: float) -> float:
        """The trigger's band: its ``hysteresis:`` key in the model, else the one given
        with the draft (``hysteresis`` in the body), else the service's default."""
        for trig in self.model.triggers:
            if trig.name == trigger and trig.hysteresis is not None:
                return float(trig.hysteresis)
        per = (self.options.get("hysteresis") or {}) if self.options else {}
        return float(per.get(trigger, default))


MV = model_versions.c
Q_PUBLISHED = (
    sa.select(MV.id, MV.name, MV.version, MV.options)
    .where(MV.status == "published")
    .order_by(MV.name)
)
Q_YAML = sa.select(MV.yaml).where(MV.id == sa.bindparam("id"))


class ModelCache:
    """Parsed models by version row id; the list of published ones is read per call."""

    def __init__(self) -> None:
        self._parsed: dict[int, ScoringModel] = {}
        self._lock = threading.Lock()

    def parse(self, row_id: int, text: str) -> ScoringModel:
        with self._lock:
            model = self._parsed.get(row_id)
        if model is None:
            model = model_from_text(text)
            with self._lock:
                self._parsed[row_id] = model
        return model

    def published(self, conn: sa.Connection) -> list[Published]:
        """The published versions; their YAML is read only the first time one is seen."""
        rows = conn.execute(Q_PUBLISHED).all()
        out = []
        for r in rows:
            with self._lock:
                model = self._parsed.get(r.id)
            if model is None:
                text = conn.execute(Q_YAML, {"id": r.id}).scalar_one()
                model = self.parse(r.id, text)
            out.append(Published(r.name, r.version, model, r.options or {}))
        return out
