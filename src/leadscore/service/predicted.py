"""The predictive model as a score group: ``predicted`` beside the rule groups.

A model that declares ``predicted: {model_dir: DIR, weight: W}`` gets, on every
rescoring, the trained model's 0–100 score for the contact as the group
``predicted``. The rule groups come from the in-process evaluator unchanged;
then this module adds the group, and the score spine (:mod:`leadscore.engine.spine`)
gives its share of the total (``W`` times the score, clamped to the scale with the
rest), the grade when the grades read ``predicted``, and the stage the thresholds
give with it. The breakdown shows
one entry with the probability and band, then one per top reason.

Trained models are read only from the service's models folder (the
``models_root`` setting): ``model_dir`` is a relative path inside it, and a
name that is absolute, climbs out with ``..`` or leads out through a symbolic
link names no model. Validation never loads one (the language checks only the
name's shape); a new draft and a publish load it from the models folder. A
``model.pkl`` is a Python pickle: whoever can write in the models folder can
run code as the service. Trained models are loaded once per folder and kept
while ``model.pkl`` stays the same file (a retrain that replaces it is picked
up on the next rescoring). A folder that no longer loads when rescoring
answers 503 (the request can be retried once the model is back), not a client
error.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..engine import spine
from ..engine.result import Event, RuleHit, ScoreResult
from ..errors import LeadscoreError, ModelError, Problem, UsageError
from ..model.schema import MODEL_DIR_RE, PREDICTED, ScoringModel
from .problems import ApiProblem

if TYPE_CHECKING:  # the predictive library (LightGBM) loads only when a model declares it
    from ..predict import Prediction, TrainedModel

SUMMARY_RULE = "Predicted conversion"
KIND = "predicted"
REASON_KIND = "predicted_reason"


def models_root(models_root: str, database: str) -> Path:
    """The folder trained models are read from: the ``models_root`` setting, else the
    folder ``models`` next to the SQLite database file, else ``models`` in the working
    directory (PostgreSQL, or an in-memory SQLite store)."""
    if models_root:
        return Path(models_root).expanduser().resolve()
    try:
        url = sa.engine.make_url(database)
    except sa.exc.ArgumentError:
        url = None
    if (
        url is not None
        and url.get_backend_name() == "sqlite"
        and url.database
        and url.database != ":memory:"
        and not url.database.startswith("file:")
    ):
        return Path(url.database).expanduser().resolve().parent / "models"
    return (Path.cwd() / "models").resolve()


def trained_folder(root: Path, model_dir: str) -> Path | None:
    """The folder inside ``root`` that ``model_dir`` names, holding a ``model.pkl``; None
    when it names none: not a relative name of the allowed shape, absent, without
    ``model.pkl``, or leading out of ``root`` through a symbolic link."""
    if len(model_dir) > 255 or not MODEL_DIR_RE.fullmatch(model_dir):
        return None
    base = root.resolve()
    folder = (base / model_dir).resolve()
    pkl = (folder / "model.pkl").resolve()
    if not (folder.is_relative_to(base) and pkl.is_relative_to(base) and pkl.is_file()):
        return None
    return folder


def _absent(model_dir: str) -> UsageError:
    """The one answer for a name that is missing, elsewhere or forbidden: it tells
    nothing of which folders exist on the server."""
    return UsageError(
        f"there is no trained model {model_dir[:100]!r} in the service's models folder"
    )


class _Predictors:
    """Trained models by resolved folder, reloaded when ``model.pkl`` changes."""

    def __init__(self) -> None:
        self._loaded: dict[Path, tuple[tuple[int, int], TrainedModel]] = {}
        self._lock = threading.Lock()

    def get(self, root: Path, model_dir: str) -> TrainedModel:
        folder = trained_folder(root, model_dir)
        if folder is None:
            raise _absent(model_dir)
        try:
            st = (folder / "model.pkl").stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError:
            raise _absent(model_dir) from None
        with self._lock:
            hit = self._loaded.get(folder)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        model = _load(folder, model_dir)
        with self._lock:
            self._loaded[folder] = (stamp, model)
        return model


_PREDICTORS = _Predictors()  # a process-wide cache keyed by file identity: nothing to reset


def _load(folder: Path, model_dir: str) -> TrainedModel:
    """Unpickle the trained model of a folder :func:`trained_folder` found inside the
    models root; errors name ``model_dir``, never the server path."""
    from ..predict import TrainedModel

    try:
        model = TrainedModel.load(folder)
    except Exception as exc:  # unpickling a damaged or foreign file
        raise UsageError(
            f"cannot read the trained model {model_dir[:100]!r} ({type(exc).__name__}); "
            "train it again with `leadscore train ... --out DIR`"
        ) from None
    return model


def predictor(model: ScoringModel, root: Path) -> TrainedModel:
    """The trained model a scoring model declares, from inside ``root`` (loaded once per
    file)."""
    assert model.predicted is not None
    return _PREDICTORS.get(root, model.predicted.model_dir)


def check_model_dir(model: ScoringModel, root: Path, text: str | None = None) -> None:
    """Raise a :class:`ModelError` located on ``predicted.model_dir`` unless it names a
    trained model inside ``root`` that loads. Missing, outside ``root`` and forbidden
    names get the same message."""
    if model.predicted is None:
        return
    try:
        predictor(model, root)
        return
    except LeadscoreError as exc:
        message = f"predicted.model_dir: {exc}"
    hint = (
        "train a model with `leadscore train ... --out DIR` into the service's models "
        "folder (setting models_root) and give its path from there"
    )
    raise ModelError([Problem(("predicted", "model_dir"), message, hint, *_mark(text))])


def _mark(text: str | None) -> tuple[int | None, int | None]:
    """Line and column of the ``model_dir`` value in the YAML text, when it can be found."""
    if not text:
        return None, None
    from ..model.loader import parse_yaml

    try:
        _, marks = parse_yaml(text)
    except ModelError:
        return None, None
    path = ("predicted", "model_dir")
    return marks.value.get(path) or marks.key.get(path) or (None, None)


def engine_model(model: ScoringModel) -> ScoringModel:
    """The model the in-process evaluator reads: grades on ``predicted`` are left out
    (the evaluator knows only rule groups; :func:`add_predicted` grades them)."""
    grades = model.grades
    if model.predicted is not None and grades is not None and grades.group == PREDICTED:
        return model.model_copy(update={"grades": None})
    return model


def predict(
    model: ScoringModel,
    root: Path,
    pairs: Sequence[tuple[Mapping[str, Any], Sequence[Event]]],
    as_of: datetime,
) -> list[Prediction]:
    """Predictions for (contact record, events) pairs, in one batch, in order, by the
    trained model inside ``root`` the model declares."""
    assert model.predicted is not None
    if not pairs:
        return []
    try:
        trained = predictor(model, root)
    except LeadscoreError as exc:  # the folder went away after publishing: retry later
        raise ApiProblem(
            503,
            f"model {model.name!r} cannot score: its predicted.model_dir does not load ({exc}); "
            "put the trained model back, or publish a version without 'predicted:'",
            kind="predictive-model-unavailable",
        ) from None
    return trained.predict_contacts(pairs, as_of, reasons=model.predicted.reasons)


def add_predicted(model: ScoringModel, result: ScoreResult, pred: Prediction) -> ScoreResult:
    """The evaluator's result with the ``predicted`` group, its share of the total,
    the grade and stage it gives, and its reasons in the breakdown."""
    assert model.predicted is not None
    value = float(pred.score)
    groups = {**result.groups, PREDICTED: value}
    weight = model.predicted.weight
    spined = spine.outcome(model, groups, excluded=result.excluded, phase=result.phase)
    hits = [
        RuleHit(
            group=PREDICTED,
            rule=SUMMARY_RULE,
            kind=KIND,
            fired=True,
            points_raw=value,
            points_decayed=value,
            points=value,
            detail=f"probability {pred.probability:.3f}, band {pred.band}"
            + (f", weight {weight:g} in the total" if weight else ", not in the total"),
        )
    ]
    for reason in pred.reasons:
        hits.append(
            RuleHit(
                group=PREDICTED,
                rule=f"{reason.feature} = {reason.value}",
                kind=REASON_KIND,
                fired=True,
                detail=f"{reason.effect:+.2f} log-odds of converting "
                + ("(raises the score)" if reason.effect > 0 else "(lowers the score)"),
            )
        )
    return result.model_copy(
        update={
            "groups": groups,
            "total": spined.total,
            "grade": spined.grade,
            "stage": spined.stage,
            "breakdown": (*result.breakdown, *hits),
        }
    )
