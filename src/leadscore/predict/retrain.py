"""Retraining: a new model is measured against the one in use on the same contacts.

The held-out contacts are drawn from the new data, preferring contacts that
the model in use never learned from (its ``training_ids.txt``), so the
comparison does not favour the old model for having seen them. Both models
compute their own features on the new data, as of the same time.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from ..data.io import load_inputs
from . import features as F
from .artefact import TrainedModel
from .metrics import summary
from .table import take
from .training import TrainOptions, check_classes, load_dataset, make_model, train

#: fewest held-out contacts of each class for a comparison on unseen contacts only
MIN_UNSEEN_PER_CLASS = 20


@dataclass
class Comparison:
    old: dict[str, Any]
    new: dict[str, Any]
    note: str
    trained: TrainedModel


def _options(stored: dict[str, Any]) -> TrainOptions:
    known = {f.name for f in fields(TrainOptions)}
    values = {k: v for k, v in stored.items() if k in known}
    for key in ("drop", "missing_values", "windows"):
        if key in values and values[key] is not None:
            values[key] = tuple(values[key])
    values["as_of"] = None  # the new data has its own latest time
    return TrainOptions(**values)


def holdout_rows(
    ids: list[str], y: np.ndarray, seen: set[str], share: float, seed: int
) -> tuple[np.ndarray, str]:
    """Indices of the held-out contacts, and a sentence saying how they were chosen."""
    index = np.arange(len(y))
    unseen = np.array([i for i, cid in enumerate(ids) if cid not in seen], dtype=np.int64)
    want = max(1, round(share * len(y)))
    if len(unseen):
        pos = int(y[unseen].sum())
        if min(pos, len(unseen) - pos) >= MIN_UNSEEN_PER_CLASS:
            if len(unseen) > want:
                unseen, _ = train_test_split(
                    unseen, train_size=want, stratify=y[unseen], random_state=seed
                )
            return np.sort(unseen), (
                f"Held out: {len(unseen)} contacts the model in use never learned from."
            )
    _, test = train_test_split(index, test_size=share, stratify=y, random_state=seed)
    overlap = sum(ids[i] in seen for i in test)
    return np.sort(test), (
        f"Held out: {len(test)} contacts drawn at random; the model in use learned from "
        f"{overlap} of them, which favours it."
    )


def compare(model_dir: str | Path, contacts: str | Path, events: str | Path | None) -> Comparison:
    old = TrainedModel.load(model_dir)
    options = _options(old.options)
    inputs = load_inputs(contacts, events, id_column=options.id_column)
    data = load_dataset(contacts, events, options, inputs=inputs)
    check_classes(data.y, options.outcome, data.skipped)
    test, note = holdout_rows(
        data.ids, data.y, set(old.training_ids), options.holdout_share, options.seed
    )
    rest = np.setdiff1d(np.arange(len(data.y)), test)
    candidate = make_model(options).fit(take(data.table, rest), data.y[rest])
    new_p = candidate.predict_proba(take(data.table, test))[:, 1]
    # the model in use is measured on the same snapshots as the new one
    old_ids, old_table = F.build(
        inputs, old.config, data.as_of, options.outcome_time, snapshots=data.cutoffs
    )
    position = {cid: i for i, cid in enumerate(old_ids)}
    old_rows = [position[data.ids[i]] for i in test]
    old_p = old.estimator.predict_proba(take(old_table, old_rows))[:, 1]
    y_test = data.y[test]
    trained = train(contacts, events, options, dataset=data)
    return Comparison(summary(y_test, old_p), summary(y_test, new_p), note, trained)
