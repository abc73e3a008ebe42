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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..data.io import Inputs, load_inputs
from ..engine import values as V
from ..engine.result import Event
from ..errors import UsageError
from . import features as F
from .bands import LOW_BAND
from .card import render_markdown
from .contrib import Tree, contributions, trees_of
from .estimators import LeadModel, sigmoid

#: reasons given per contact
TOP_REASONS = 3
#: from this many contacts at once, contributions are computed once per pattern of each
#: tree (:mod:`.contrib`): below it LightGBM's own row-by-row TreeSHAP costs less than
#: one call per tree
PATTERN_ROWS = 100
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

    def _labels(self) -> list[str]:
        """Readable names of the model's features (computed once, not pickled)."""
        labels = getattr(self, "_feature_labels", None)
        if labels is None:
            labels = self._feature_labels = [F.label(n) for n in self.estimator.feature_names_]
        return labels

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

    def _trees(self) -> list[Tree]:
        """The splits of the trees the model predicts with (read once, not pickled)."""
        trees = getattr(self, "_tree_splits", None)
        if trees is None:
            booster = self.estimator.booster_
            rounds = booster.best_iteration or booster.current_iteration()
            trees = self._tree_splits = trees_of(booster, rounds)
        return trees

    def contributions(self, matrix: np.ndarray, threads: int | None = None) -> np.ndarray:
        """Per-lead TreeSHAP contributions of an encoded matrix to the raw log-odds (last
        column: the bias): LightGBM's ``pred_contrib`` row by row for fewer than
        :data:`PATTERN_ROWS` rows, once per pattern of each tree from there
        (:mod:`.contrib`; the same values to about 1e-15, at a fraction of the cost).
        """
        est = self.estimator
        n_threads = est.n_jobs if threads is None else threads
        if len(matrix) < PATTERN_ROWS:
            return est.booster_.predict(matrix, pred_contrib=True, num_threads=n_threads)
        return contributions(est.booster_, self._trees(), matrix, n_threads)

    def bands_of(self, probability: np.ndarray) -> np.ndarray:
        """:meth:`band` of each probability."""
        out = np.full(len(probability), LOW_BAND, dtype=object)
        for name, cut in reversed(list(self.bands.items())):
            out[probability >= cut] = name
        return out

    def predict_table(
        self,
        ids: list[str],
        table: Mapping[str, Any],
        reasons: int = TOP_REASONS,
        threads: int | None = None,
    ) -> list[Prediction]:
        """Predictions with up to ``reasons`` reasons each (0: none, much faster).

        ``threads``: LightGBM threads for the per-lead contributions (default: the
        model's training setting; 0: every core). Each contact's contributions are
        computed on its own, so the answer does not depend on it.
        """
        est = self.estimator
        if reasons <= 0:
            p = est.predict_proba(table)[:, 1]
            return [
                Prediction(cid, prob, score, band, ())
                for cid, prob, score, band in zip(
                    map(str, ids),
                    p.tolist(),
                    np.rint(100 * p).astype(np.int64).tolist(),
                    self.bands_of(p).tolist(),
                    strict=True,
                )
            ]
        a, b = est.calibration_
        matrix = est.encoder_.transform(table)
        raw = self.contributions(matrix, threads)
        # per feature, then the bias; they sum to the raw score
        p = sigmoid(a * raw.sum(axis=1) + b)
        contrib = raw[:, :-1] * a
        n = len(ids)
        k = min(reasons, contrib.shape[1])
        # the k largest in size per row, largest first (ties: the earlier feature, as
        # argmax picks the first of equal values)
        size = np.abs(contrib)
        rows = np.arange(n)
        order = np.empty((n, k), dtype=np.int64)
        for r in range(k):
            order[:, r] = size.argmax(axis=1)
            size[rows, order[:, r]] = -1.0
        effects = contrib[rows[:, None], order]
        shown = np.abs(effects) > 1e-9
        texts = self._value_texts(order, matrix[rows[:, None], order])
        labels = np.array(self._labels(), dtype=object)[order]
        probs = p.tolist()
        scores = np.rint(100 * p).astype(np.int64).tolist()
        bands = self.bands_of(p).tolist()
        picked = zip(labels.tolist(), texts.tolist(), effects.tolist(), shown.tolist(), strict=True)
        out = []
        for cid, prob, score, band, (names, values, sizes, keep) in zip(
            ids, probs, scores, bands, picked, strict=True
        ):
            found = tuple(
                Reason(f, v, e)
                for f, v, e, ok in zip(names, values, sizes, keep, strict=True)
                if ok
            )
            out.append(Prediction(str(cid), prob, score, band, found))
        return out

    def _value_texts(self, features: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """The readable value of each (feature, encoded value) pair, each distinct pair
        described once (missing, NaN, is one value per feature)."""
        flat_f, flat_c = features.reshape(-1), codes.reshape(-1)
        out = np.empty(len(flat_f), dtype=object)
        describe = self.estimator.encoder_.describe
        for j in np.unique(flat_f).tolist():
            at = np.flatnonzero(flat_f == j)
            values, inverse = np.unique(flat_c[at], return_inverse=True)
            texts = np.empty(len(values), dtype=object)
            texts[:] = [describe(j, v) for v in values.tolist()]
            out[at] = texts[inverse.reshape(-1)]
        return out.reshape(features.shape)

    def predict_inputs(
        self,
        inputs: Inputs,
        as_of: datetime | None = None,
        reasons: int = TOP_REASONS,
        threads: int | None = None,
    ) -> list[Prediction]:
        """Predict every contact of loaded inputs (see :func:`leadscore.data.io.load_inputs`).

        ``as_of`` defaults to the latest event time in the inputs (now, without events).
        """
        when = as_of or F.resolve_as_of(None, inputs)
        ids, table = F.build(inputs, self.config, when)
        return self.predict_table(ids, table, reasons, threads)

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
        """Several (contact, events) pairs at once, in the order given.

        The features are computed in Python (:mod:`.inmemory`), the same values the
        feature SQL of batch prediction gives (a test holds the two together), at a
        small fraction of its cost for a few contacts.
        """
        from .inmemory import build_records

        when = V.timestamp(as_of) if as_of is not None else datetime.now().astimezone()
        attrs = [a for a in (self.config.page_attribute, self.config.source_attribute) if a]
        ids, rows, evs = [], [], []
        for contact, events in contacts:
            ids.append(str(contact.get("id", contact.get("contact_id", ""))))
            rows.append(contact)
            kept = []
            for e in events:
                rec = _event_record(e)
                kept.append(
                    {
                        "event_id": V.text(rec.get("event_id", rec.get("id"))),
                        "type": str(rec["type"]),
                        "ts": V.timestamp(rec["ts"]),
                        **{a: V.text(rec.get(a)) for a in attrs},
                    }
                )
            evs.append(kept)
        table = build_records(self.config, rows, evs, when)
        return self.predict_table(ids, table, reasons)


def _event_record(event: Mapping[str, Any] | Event) -> Mapping[str, Any]:
    if isinstance(event, Event):
        return {**event.attributes, "type": event.type, "ts": event.ts, "event_id": event.id}
    return event
