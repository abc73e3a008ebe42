"""Helpers shared by the CLI commands."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..engine import values as V
from ..errors import UsageError
from ..model import ScoringModel, load_model

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


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


def warn_unknown_names(
    models: list[ScoringModel],
    paths: list[Path],
    inputs,
    *,
    enriched: bool,
    where: str,
    events_where: str | None = None,
    show: bool = True,
    stderr: bool = False,
) -> list:
    """A warning (printed unless not ``show``, on stderr if asked) for each property,
    event type or event attribute a model reads that the loaded contacts and events do
    not hold, with "did you mean" from the real names; returns them."""
    from ..data.checks import inputs_vocabulary, unknown_names

    vocab = inputs_vocabulary(inputs, enriched=enriched, where=where, events_where=events_where)
    found = []
    for model, path in zip(models, paths, strict=True):
        text = Path(path).read_text(encoding="utf-8")
        found.extend(unknown_names(model, vocab, text=text, source=str(path)))
    out = err_console if stderr else console
    for problem in found if show else ():
        out.print(f"[yellow]warning:[/] {escape(str(problem))}", soft_wrap=True)
    return found
