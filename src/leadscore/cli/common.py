"""Helpers shared by the CLI commands."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from ..engine import values as V
from ..errors import UsageError
from ..model import ScoringModel, load_model

console = Console(highlight=False)


def parse_as_of(text: str | None) -> datetime:
    """``--as-of``: an ISO 8601 time (UTC when no zone is given); default now."""
    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        return V.timestamp(text)
    except V.TimestampError:
        raise UsageError(
            f"--as-of {text!r} is not a time; use ISO 8601, e.g. 2026-03-01 or 2026-03-01T14:30:00Z"
        ) from None


def load_models(paths: list[Path]) -> list[ScoringModel]:
    """Load every model, reporting all problems of all files before giving up."""
    from ..errors import ModelError

    models, problems = [], []
    for path in paths:
        try:
            models.append(load_model(Path(path)))
        except ModelError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ModelError(problems)
    for model in models:
        if model.reads_predicted():
            raise UsageError(
                f"model {model.name!r} reads the predicted score (a weight above 0, or a "
                "grade or threshold on 'predicted'), which only the service computes from the "
                "trained model: publish it in the service, or use `leadscore predict` for the "
                "predictions alone"
            )
    names = [m.name for m in models]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UsageError(
            f"two models share the name {dup[0]!r}; give each model its own 'name' so their "
            "scores can be told apart"
        )
    return models


def fmt_points(value: float) -> str:
    text = f"{value:+.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("+0", "-0") else text


def fmt_score(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}"
