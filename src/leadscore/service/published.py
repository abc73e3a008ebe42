"""Published model versions, parsed once and kept while they stay published."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from ..errors import ModelError, Problem
from ..model.loader import model_from_data, parse_yaml
from ..model.schema import ScoringModel
from ..store.tables import model_versions


def model_from_text(
    text: str, *, max_bytes: int | None = None, stored: bool = False
) -> ScoringModel:
    """Parse model YAML received as text: never read as a file path, whatever it looks like.

    ``max_bytes``: the largest text accepted (None: any size, for versions already
    stored). ``stored``: a version stored earlier, whose name and model_dir are not
    checked again (see :data:`leadscore.model.schema.STORED`). Aliases and nesting are
    limited either way."""
    try:
        data, marks = parse_yaml(text, max_bytes=max_bytes)
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
    return model_from_data(data, marks, stored=stored)


@dataclass(frozen=True)
class Published:
    """One published model: its name, version number, parsed tree and service options,
    and the folder its trained model (``predicted.model_dir``) is read from."""

    name: str
    version: int
    model: ScoringModel
    options: dict[str, Any] = field(default_factory=dict)
    models_root: Path = field(default_factory=lambda: Path.cwd() / "models")

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
UNPUBLISHED = "unpublished"
"""The status of the version that was published when its model was unpublished
(archived): the model scores nothing and its stored scores are hidden until a
version of it is published again."""


def live_names() -> sa.Select:
    """The names of the models with a published version: the scores and account
    scores shown are theirs (an unpublished model's stay stored, hidden)."""
    return sa.select(MV.name).where(MV.status == "published")


def archived_names(conn: sa.Connection) -> set[str]:
    """The models unpublished and not published since (see :data:`UNPUBLISHED`)."""
    return set(conn.execute(sa.select(MV.name).where(MV.status == UNPUBLISHED)).scalars())


class ModelCache:
    """Parsed models by version row id; the list of published ones is read per call.
    ``models_root``: the folder their trained models are read from."""

    def __init__(self, models_root: Path) -> None:
        self.models_root = models_root
        self._parsed: dict[int, ScoringModel] = {}
        self._lock = threading.Lock()

    def parse(self, row_id: int, text: str) -> ScoringModel:
        with self._lock:
            model = self._parsed.get(row_id)
        if model is None:
            model = model_from_text(text, stored=True)
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
            out.append(Published(r.name, r.version, model, r.options or {}, self.models_root))
        return out
