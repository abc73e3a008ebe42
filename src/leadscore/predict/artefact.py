"""A trained model on disk, and predictions with reasons.

A model directory holds:

* ``model.pkl``: the fitted estimator, the feature plan and the band cut-offs
  (a Python pickle: load only directories you trust);
* ``model_card.md`` and ``model_card.json``: what it was trained on and how
  well it did on held-out contacts;
* ``training_ids.txt``: the ids of the contacts it learned from (so a
  retrain can tell which contacts the model in use has never seen).

**Score and bands.** The score is the probability times 100, rounded. The
priority band compares the probability with quantiles of the training
contacts' probabilities: *very high* from the 90th percentile, *high* from the
70th, *medium* from the 40th, *low* below (:data:`~.bands.BAND_QUANTILES`).

**Reasons.** Each feature's contribution to the contact's calibrated log-odds
(LightGBM's per-lead TreeSHAP values times the calibration slope): positive
pushes the probability up. The largest in size come first.
"""

from __future__ import annotations

import json
import pickle
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..data.io import Inputs, connect, load_inputs
from ..engine import values as V
from ..engine.result import Event
from ..errors import UsageError
from . import features as F
from .bands import LOW_BAND
from .card import render_markdown
from .estimators import LeadModel, sigmoid

#: reasons given per contact
TOP_REASONS = 3
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Reason:
    feature: str  # readable name
    value: str  # the contact's value
    effect: float  # contribution to the log-odds

    def __str__(self) -> str:
        return f"{self.feature} = {self.value} ({self.effect:+.2f})"


@dataclass(frozen=True)
class Prediction:
    """One contact's predicted conversion."""

    contact_id: str
    probability: float
    score: int
    band: str
    reasons: tuple[Reason, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.contact_id,
            "probability": self.probability,
            "score": self.score,
            "band": self.band,
            "reasons": [
                {"feature": r.feature, "value": r.value, "effect": round(r.effect, 4)}
                for r in self.reasons
            ],
        }


@dataclass
class TrainedModel:
    estimator: LeadModel
    config: F.FeatureConfig
    options: dict[str, Any]
    bands: dict[str, float]
    card: dict[str, Any]
    training_ids: list[str] = field(default_factory=list)
    format_version: int = FORMAT_VERSION

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def _runtime(self) -> tuple[Any, threading.Lock, dict]:
        """A DuckDB connection, its lock and the built SQL, kept for one-contact predictions."""
        if getattr(self, "_con", None) is None:
            self._con = connect()
            self._lock = threading.Lock()
            self._sql: dict = {}
        return self._con, self._lock, self._sql

    # ------------------------------------------------------------------ disk
    def save(self, directory: str | Path) -> Path:
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        ids, self.training_ids = self.training_ids, []
        try:
            payload = pickle.dumps(self)
        finally:
            self.training_ids = ids
        (out / "model.pkl").write_bytes(payload)
        (out / "model_card.json").write_text(json.dumps(self.card, indent=2) + "\n")
        (out / "model_card.md").write_text(render_markdown(self.card, self.bands))
        (out / "training_ids.txt").write_text("".join(f"{i}\n" for i in ids))
        return out

    @classmethod
    def load(cls, directory: str | Path) -> TrainedModel:
        path = Path(directory) / "model.pkl"
        if not path.exists():
            raise UsageError(
                f"{str(directory)!r} is not a trained model: no model.pkl in it "
                "(make one with `leadscore train ... --out DIR`)"
            )
        model = pickle.loads(path.read_bytes())
        if not isinstance(model, TrainedModel):
            raise UsageError(f"{str(path)!r} does not hold a leadscore trained model")
        ids = Path(directory) / "training_ids.txt"
        if ids.exists():
            model.training_ids = ids.read_text().split()
        return model

    # ------------------------------------------------------------ predicting
    def band(self, probability: float) -> str:
        for name, cut in self.bands.items():
            if probability >= cut:
                return name
        return LOW_BAND

    def predict_table(
        self, ids: list[str], table: Mapping[str, Any], reasons: int = TOP_REASONS
    ) -> list[Prediction]:
        """Predictions with up to ``reasons`` reasons each (0: none, much faster)."""
        est = self.estimator
        if reasons <= 0:
            p = est.predict_proba(table)[:, 1]
            return [
                Prediction(str(cid), float(q), round(100 * float(q)), self.band(float(q)), ())
                for cid, q in zip(ids, p, strict=True)
            ]
        a, b = est.calibration_
        raw = est.contributions(table)  # per feature, then the bias; they sum to the raw score
        p = sigmoid(a * raw.sum(axis=1) + b)
        contrib = raw[:, :-1] * a
        matrix = est.encoder_.transform(table)
        out = []
        for i, cid in enumerate(ids):
            row = contrib[i]
            order = np.argsort(-np.abs(row), kind="stable")[:reasons]
            found = tuple(
                Reason(
                    F.label(est.feature_names_[j]),
                    est.encoder_.describe(j, matrix[i, j]),
                    float(row[j]),
                )
                for j in order
                if abs(row[j]) > 1e-9
            )
            prob = float(p[i])
            out.append(Prediction(str(cid), prob, round(100 * prob), self.band(prob), found))
        return out

    def predict_inputs(
        self, inputs: Inputs, as_of: datetime | None = None, reasons: int = TOP_REASONS
    ) -> list[Prediction]:
        """Predict every contact of loaded inputs (see :func:`leadscore.data.io.load_inputs`).

        ``as_of`` defaults to the latest event time in the inputs (now, without events).
        """
        when = as_of or F.resolve_as_of(None, inputs)
        ids, table = F.build(inputs, self.config, when)
        return self.predict_table(ids, table, reasons)

    def predict_files(
        self,
        contacts: str | Path,
        events: str | Path | None = None,
        as_of: datetime | None = None,
        id_column: str | None = None,
    ) -> list[Prediction]:
        return self.predict_inputs(load_inputs(contacts, events, id_column=id_column), as_of)

    def predict_contact(
        self,
        contact: Mapping[str, Any],
        events: Iterable[Mapping[str, Any] | Event] = (),
        as_of: datetime | str | None = None,
        reasons: int = TOP_REASONS,
    ) -> Prediction:
        """One contact (properties, ``id`` included) and its events, as the service sees them.

        Events are :class:`leadscore.engine.Event` objects or mappings with
        ``type``, ``ts`` and attributes (as for :func:`leadscore.engine.score_contact`).
        """
        return self.predict_contacts([(contact, events)], as_of, reasons)[0]

    def predict_contacts(
        self,
        contacts: Iterable[tuple[Mapping[str, Any], Iterable[Mapping[str, Any] | Event]]],
        as_of: datetime | str | None = None,
        reasons: int = TOP_REASONS,
    ) -> list[Prediction]:
        """Several (contact, events) pairs at once, in the order given (ids must be unique).

        Computed by the same SQL as batch prediction, on an in-memory DuckDB kept
        with the model; much faster per contact than one call each.
        """
        import pyarrow as pa

        when = V.timestamp(as_of) if as_of is not None else datetime.now().astimezone()
        props = list(self.config.properties)
        attrs = [a for a in (self.config.page_attribute, self.config.source_attribute) if a]
        rows, evs = [], []
        for contact, events in contacts:
            cid = str(contact.get("id", contact.get("contact_id", "")))
            rows.append({"id": cid, **{p: V.text(contact.get(p)) for p in props}})
            for e in events:
                rec = _event_record(e)
                evs.append(
                    {
                        "contact_id": cid,
                        "event_id": V.text(rec.get("event_id", rec.get("id"))),
                        "type": str(rec["type"]),
                        "ts": V.timestamp(rec["ts"]),
                        **{a: V.text(rec.get(a)) for a in attrs},
                    }
                )
        schema = pa.schema(
            [
                ("contact_id", pa.string()),
                ("event_id", pa.string()),
                ("type", pa.string()),
                ("ts", pa.timestamp("us", tz="UTC")),
                *[(a, pa.string()) for a in attrs],
            ]
        )
        contact_table = pa.Table.from_pylist(
            rows, schema=pa.schema([(k, pa.string()) for k in ["id", *props]])
        )
        con, lock, sql = self._runtime()
        with lock:
            con.register("contacts", contact_table)
            con.register("events", pa.Table.from_pylist(evs, schema=schema))
            try:
                inputs = Inputs(
                    con=con,
                    properties=props,
                    attributes=attrs,
                    n_contacts=len(rows),
                    n_events=len(evs),
                    has_events=True,
                )
                ids, table = F.build(inputs, self.config, when, sql_cache=sql)
            finally:
                con.unregister("contacts")
                con.unregister("events")
        by_id = {p.contact_id: p for p in self.predict_table(ids, table, reasons)}
        return [by_id[r["id"]] for r in rows]


def _event_record(event: Mapping[str, Any] | Event) -> Mapping[str, Any]:
    if isinstance(event, Event):
        return {**event.attributes, "type": event.type, "ts": event.ts, "event_id": event.id}
    return event
