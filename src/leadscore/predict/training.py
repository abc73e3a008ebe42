"""Training a predictive model from contacts (and events) with a known outcome.

:func:`train` checks the outcome, builds the features, screens them for
leakage, measures the model on a held-out share of the contacts, then fits
the model that is kept on every contact and writes it with its model card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from ..data.io import Inputs, load_inputs
from ..engine import values as V
from ..errors import DataError
from . import features as F
from .artefact import TrainedModel
from .bands import band_cutoffs
from .estimators import LeadModel
from .metrics import single_feature_auc, summary
from .screen import screen
from .snapshots import Snapshots, matched_cutoffs
from .table import TableEncoder, take

#: fewest contacts with a known outcome that training accepts
MIN_ROWS = 50
#: fewest contacts of each class that training accepts
MIN_PER_CLASS = 10
#: HubSpot's minimum for a trustworthy predictive model
RECOMMENDED_CONVERTED = 500
RECOMMENDED_NOT_CONVERTED = 1000
#: a single feature separating the classes this well is probably the outcome in disguise
LEAKAGE_AUC = 0.98
#: ... and one separating them this well alone earns a warning in the card
SUSPICIOUS_AUC = 0.90
#: how contacts without an outcome time are cut off when training with one: at ages
#: drawn like the timed contacts' ("matched"), or at the end of the data ("end", biased)
SNAPSHOTS = ("matched", "end")


@dataclass
class TrainOptions:
    """Everything that decides what :func:`train` does (stored in the artefact)."""

    outcome: str
    outcome_time: str | None = None
    id_column: str | None = None
    drop: tuple[str, ...] = ()
    missing_values: tuple[str, ...] = ()
    as_of: str | None = None
    holdout_share: float = 0.2
    allow_leakage: bool = False
    windows: tuple[int, ...] = F.WINDOWS
    max_event_types: int = F.MAX_EVENT_TYPES
    seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)  # LeadModel parameters
    snapshots: str = "matched"  # one of SNAPSHOTS
    keep: tuple[str, ...] = ()  # columns to use even though the screen would leave them out


@dataclass
class Dataset:
    """Contacts with a known outcome, as features."""

    ids: list[str]
    table: dict[str, Any]
    y: np.ndarray
    config: F.FeatureConfig
    as_of: datetime
    skipped: int  # contacts whose outcome is empty
    snapshots: dict[str, Any] | None = None  # how the training cut-offs were drawn
    cutoffs: Snapshots | None = None  # the cut-offs themselves (None: outcome time / as_of)
    screened: dict[str, str] = field(default_factory=dict)  # columns left out, and why


def parse_outcome(values: Sequence[Any], column: str, source: str) -> np.ndarray:
    """0/1 from the outcome column (1/0, true/false, yes/no); -1 where it is empty."""
    out = np.full(len(values), -1, dtype=np.int64)
    bad: dict[str, int] = {}
    for i, v in enumerate(values):
        if V.is_missing(v):
            continue
        b = V.boolean(v)
        if b is None:
            bad.setdefault(str(v), i)
            continue
        out[i] = int(b)
    if bad:
        shown = ", ".join(repr(k) for k in list(bad)[:5])
        raise DataError(
            f"the outcome is not binary: found {shown}",
            source=source,
            column=column,
            hint="use 1/0, true/false or yes/no for converted / not converted; leave it empty "
            "when the outcome is not known yet",
        )
    return out


def load_dataset(
    contacts: str | Path,
    events: str | Path | None,
    options: TrainOptions,
    inputs: Inputs | None = None,
) -> Dataset:
    """Read the files, check the outcome and build the features."""
    inputs = inputs or load_inputs(contacts, events, id_column=options.id_column)
    source = str(contacts)
    for col, flag in ((options.outcome, "--outcome"), (options.outcome_time, "--outcome-time")):
        if col is not None and col not in inputs.properties:
            raise DataError(
                f"no column {col!r}; the columns are: {', '.join(inputs.properties)}",
                source=source,
                hint=f"name the column with {flag}",
            )
    if options.outcome_time is not None:
        bad = inputs.con.execute(F.bad_times_sql(options.outcome_time)).fetchall()
        if bad:
            raise DataError(
                f"outcome times that cannot be read: {', '.join(repr(b[0]) for b in bad)}",
                source=source,
                column=options.outcome_time,
                hint="use ISO 8601, e.g. 2026-03-01T14:30:00Z, or leave it empty",
            )
    if options.snapshots not in SNAPSHOTS:
        raise DataError(
            f"unknown snapshot method {options.snapshots!r}",
            hint=f"use one of {', '.join(SNAPSHOTS)}",
        )
    as_of = F.resolve_as_of(options.as_of, inputs)
    exclude = [
        options.outcome,
        *([options.outcome_time] if options.outcome_time else []),
        *options.drop,
    ]
    config = F.plan(
        inputs, exclude, windows=options.windows, max_event_types=options.max_event_types
    )
    snaps = None
    if options.outcome_time is not None and config.use_events and options.snapshots == "matched":
        snaps = matched_cutoffs(inputs, options.outcome_time, as_of, options.seed)
    ids, table = F.build(inputs, config, as_of, options.outcome_time, snapshots=snaps)
    unknown = [k for k in options.keep if k not in config.properties]
    if unknown:
        raise DataError(
            f"--keep names no property: {', '.join(repr(k) for k in unknown)}; the properties "
            f"are: {', '.join(config.properties)}",
            source=source,
        )
    screened = screen(table, options.keep)
    if screened:
        table = {k: v for k, v in table.items() if k not in screened}
        config.properties = [p for p in config.properties if p not in screened]
    outcome = [r[0] for r in inputs.con.execute(F.select_contacts([options.outcome])).fetchall()]
    y = parse_outcome(outcome, options.outcome, source)
    known = np.flatnonzero(y >= 0)
    skipped = int(len(y) - len(known))
    if len(known) < len(y):
        table = take(table, known)
        ids = [ids[i] for i in known]
        y = y[known]
    described = snaps.describe() if snaps is not None else None
    return Dataset(ids, table, y, config, as_of, skipped, described, snaps, screened)


def check_classes(y: np.ndarray, column: str, skipped: int) -> None:
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if len(y) == 0:
        raise DataError(
            f"no contact has a known outcome ({skipped} empty)",
            column=column,
            hint="fill the outcome (1/0) of contacts whose outcome is known",
        )
    if n_pos == 0 or n_neg == 0:
        which = "converted" if n_pos else "not converted"
        raise DataError(
            f"every one of the {len(y)} contacts is {which}: a model needs both classes",
            column=column,
            hint="add contacts of the other outcome, or check the column",
        )
    if len(y) < MIN_ROWS or min(n_pos, n_neg) < MIN_PER_CLASS:
        raise DataError(
            f"too few rows to learn from: {n_pos} converted and {n_neg} not converted "
            f"(need at least {MIN_ROWS} in all and {MIN_PER_CLASS} of each)",
            column=column,
            hint="train on more history",
        )


def leakage_screen(options: TrainOptions, table: dict[str, Any], y: np.ndarray) -> list[dict]:
    """Single-feature AUC of every feature, encoded as the model encodes it, highest first."""
    model = make_model(options)
    enc = TableEncoder(min_count=model.min_count, missing_values=model.missing_values).fit(table)
    matrix = enc.transform(table)
    out = []
    for j, col in enumerate(enc.columns_):
        value = single_feature_auc(matrix[:, j], y, col.kind == "categorical")
        out.append({"feature": F.label(col.name), "column": col.name, "auc": round(value, 4)})
    return sorted(out, key=lambda r: (-r["auc"], r["column"]))


def refuse_leakage(screen: list[dict], options: TrainOptions, source: str) -> list[dict]:
    """The features of a leakage screen at :data:`LEAKAGE_AUC` or above; an error naming
    them unless ``options.allow_leakage``."""
    leaks = [r for r in screen if r["auc"] >= LEAKAGE_AUC]
    if leaks and not options.allow_leakage:
        listed = ", ".join(f"{r['feature']!r} (AUC {r['auc']:.3f} on its own)" for r in leaks)
        hint = "leave it out with --drop COLUMN"
        if options.outcome_time is None and any(
            r["column"].startswith(F.EVENT_PREFIX) for r in leaks
        ):
            hint = "give --outcome-time so that events from the outcome on are ignored, or " + hint
        raise DataError(
            f"probable leakage: {listed} separates converted from not converted almost "
            "perfectly, so it is most likely the outcome in disguise (filled in after the fact)",
            source=source,
            hint=hint + ", or pass --allow-leakage if it is truly known before the outcome",
        )
    return leaks


def thin_data_warnings(y: np.ndarray) -> list[str]:
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    out = []
    if n_pos < RECOMMENDED_CONVERTED or n_neg < RECOMMENDED_NOT_CONVERTED:
        out.append(
            f"thin data: {n_pos} converted and {n_neg} not converted contacts; predictive "
            f"scoring tools ask for at least {RECOMMENDED_CONVERTED} converted and "
            f"{RECOMMENDED_NOT_CONVERTED} not converted. With fewer, the held-out figures "
            "swing from one sample to the next and the model may learn accidents of this "
            "data: use the score to rank, not as a promise, and retrain as history grows."
        )
    return out


def make_model(options: TrainOptions) -> LeadModel:
    params = {"seed": options.seed, "missing_values": options.missing_values, **options.params}
    return LeadModel(**params)


def train(
    contacts: str | Path,
    events: str | Path | None,
    options: TrainOptions,
    *,
    dataset: Dataset | None = None,
) -> TrainedModel:
    """Train, measure on held-out contacts, refit on all, and return the artefact."""
    data = dataset or load_dataset(contacts, events, options)
    y = data.y
    check_classes(y, options.outcome, data.skipped)
    started = datetime.now(UTC)
    index = np.arange(len(y))
    fit_idx, test_idx = train_test_split(
        index, test_size=options.holdout_share, stratify=y, random_state=options.seed
    )
    screen = leakage_screen(options, take(data.table, fit_idx), y[fit_idx])
    leaks = refuse_leakage(screen, options, str(contacts))
    trial = make_model(options).fit(take(data.table, fit_idx), y[fit_idx])
    p_test = trial.predict_proba(take(data.table, test_idx))[:, 1]
    held_out = summary(y[test_idx], p_test)
    final = make_model(options).fit(data.table, y)
    p_all = final.predict_proba(data.table)[:, 1]
    card = {
        "created_at": started.isoformat(timespec="seconds"),
        "data": {
            "contacts_file": Path(contacts).name,
            "events_file": Path(events).name if events else None,
            "contacts_used": len(y),
            "contacts_skipped_no_outcome": data.skipped,
            "as_of": data.as_of.isoformat(),
            "outcome": options.outcome,
            "outcome_time": options.outcome_time,
            "point_in_time": options.outcome_time is not None,
            "snapshots": data.snapshots
            or ({"method": "end of the data"} if options.outcome_time is not None else None),
            "property_features": [
                c.name for c in final.encoder_.columns_ if not c.name.startswith(F.EVENT_PREFIX)
            ],
            "event_features": [
                c.name for c in final.encoder_.columns_ if c.name.startswith(F.EVENT_PREFIX)
            ],
            "left_out": {
                **{d: "asked (--drop)" for d in options.drop},
                **data.screened,
                **final.encoder_.dropped_,
            },
        },
        "class_balance": {
            "converted": int(y.sum()),
            "not_converted": int(len(y) - y.sum()),
            "rate": round(float(y.mean()), 4),
        },
        "held_out": {**held_out, "share": options.holdout_share},
        "model": {
            "kind": "LightGBM, Platt-calibrated",
            "rounds": int(final.rounds_),
            "parameters": {
                k: v
                for k, v in vars(final).items()
                if not k.endswith("_") and k != "missing_values"
            },
        },
        "top_features": [
            {"feature": F.label(n), "column": n, "share_of_gain": round(g, 4)}
            for n, g in final.feature_importance()[:15]
        ],
        "leakage_screen": screen[:10],
        "warnings": thin_data_warnings(y)
        + [f"probable leakage allowed: {r['feature']} (AUC {r['auc']:.3f})" for r in leaks]
        + [
            f"{r['feature']} alone ranks contacts with AUC {r['auc']:.3f}: check that it is "
            "known before the outcome (a field filled in afterwards makes the model look "
            "better than it will be)"
            for r in screen
            if SUSPICIOUS_AUC <= r["auc"] < LEAKAGE_AUC
        ],
    }
    return TrainedModel(
        estimator=final,
        config=data.config,
        options=asdict(options),
        bands=band_cutoffs(p_all),
        card=card,
        training_ids=list(data.ids),
    )
