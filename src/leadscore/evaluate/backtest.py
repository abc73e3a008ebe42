"""Backtest several scoring models against known outcomes, side by side.

Library entry point: :func:`run_backtest` (the CLI, the service and the
benchmarks call it). It scores the population once per model (point in time,
see :mod:`.outcomes`), then measures each model with :mod:`.metrics`, adds
bootstrap intervals (:mod:`.bootstrap`) and per-rule diagnostics
(:mod:`.diagnostics`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ..data.io import Inputs
from ..errors import UsageError
from ..model.schema import ScoringModel
from . import metrics as M
from .bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, BootstrapResult, bootstrap
from .diagnostics import RuleDiagnostic, diagnose
from .outcomes import (
    OutcomeSpec,
    check_outcome,
    default_cutoff,
    properties_read,
    select_contacts,
)
from .scoring import Population, Scored, score_selection

TOP_SHARES = (0.05, 0.10, 0.20)
LIFT_SHARE = 0.10  # the top share whose lift gets a bootstrap interval
DEFAULT_BANDS = 10
CALIBRATION_BINS = 10


@dataclass(frozen=True)
class Options:
    stage: str = "MQL"
    target_volume: int | None = None
    target_precision: float | None = None
    bands: int = DEFAULT_BANDS
    calibration_bins: int = CALIBRATION_BINS
    top_shares: tuple[float, ...] = TOP_SHARES
    lift_share: float = LIFT_SHARE
    resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED
    rules: bool = True

    def check(self) -> None:
        if self.bands < 1 or self.calibration_bins < 1:
            raise UsageError("--bands must be at least 1")
        if self.resamples < 0:
            raise UsageError("--bootstrap must be 0 (off) or a number of resamples")
        if self.target_volume is not None and self.target_volume < 1:
            raise UsageError("--target-volume is a number of contacts, at least 1")
        if self.target_precision is not None and not 0 < self.target_precision <= 1:
            raise UsageError("--target-precision is a share between 0 and 1, e.g. 0.6")
        if any(not 0 < s < 1 for s in self.top_shares):
            raise UsageError("top shares must be between 0 and 1")


@dataclass
class VariantResult:
    name: str
    contacts: int
    conversions: int
    auc: float
    average_precision: float
    top: list[M.TopShare]
    bands: list[M.Bin]
    grades: list[M.Bin]
    stages: list[M.Bin]
    calibration: list[M.Bin]
    mql_stage: str | None  # None: the model has no such stage
    mql_stages: list[str]  # the stage and those above it
    mql: M.AtThreshold | None
    best_f1: M.AtThreshold
    target_volume: M.AtThreshold | None
    target_precision: M.AtThreshold | None
    gain: tuple[list[float], list[float]]
    rules: list[RuleDiagnostic] = field(default_factory=list)


@dataclass
class Backtest:
    outcome: OutcomeSpec
    options: Options
    variants: list[VariantResult]
    bootstrap: BootstrapResult | None
    population: Population
    warnings: list[str]
    sources: dict[str, str]  # model name → file

    @property
    def base_rate(self) -> float:
        return float(self.population.y.mean())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no per-contact data)."""
        boot = None
        if self.bootstrap is not None:
            b = self.bootstrap
            boot = {
                "resamples": b.resamples,
                "seed": b.seed,
                "level": b.level,
                "lift_share": b.share,
                "baseline": b.baseline,
                "auc": {k: v.to_dict() for k, v in b.auc.items()},
                "lift": {k: v.to_dict() for k, v in b.lift.items()},
                "auc_difference": {k: v.to_dict() for k, v in b.auc_diff.items()},
                "lift_difference": {k: v.to_dict() for k, v in b.lift_diff.items()},
            }
        o = self.outcome
        return _clean(
            {
                "contacts": len(self.population.ids),
                "conversions": int(self.population.y.sum()),
                "base_rate": self.base_rate,
                "outcome": {
                    "column": o.column,
                    "time_column": o.time_column,
                    "cutoff": o.cutoff.isoformat(),
                    "cutoff_source": o.cutoff_source,
                    "left_out_without_outcome": o.missing,
                    "scored_as_of_outcome_time": o.with_time,
                },
                "options": asdict(self.options),
                "models": self.sources,
                "variants": [asdict(v) for v in self.variants],
                "bootstrap": boot,
                "warnings": self.warnings,
            }
        )


def _clean(value: Any) -> Any:
    """NaN and infinities become null; tuples become lists."""
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value


def run_backtest(
    models: list[ScoringModel],
    inputs: Inputs,
    *,
    outcome: str,
    outcome_time: str | None = None,
    as_of: datetime | None = None,
    options: Options | None = None,
    sources: dict[str, str] | None = None,
    source: str = "contacts",
    engine: str = "sql",
    progress: Callable[[int], None] | None = None,
) -> Backtest:
    """Score ``inputs`` with each model and measure it against ``outcome``."""
    options = options or Options()
    options.check()
    if not models:
        raise UsageError("give at least one model to backtest (--model FILE)")
    spec = check_outcome(inputs, outcome, outcome_time, source)
    spec.cutoff, spec.cutoff_source = default_cutoff(inputs, as_of, datetime.now(UTC))
    warnings = []
    for model in models:
        leaked = properties_read(model) & {outcome, outcome_time}
        if leaked:
            warnings.append(
                f"model {model.name!r} reads the outcome column(s) {', '.join(sorted(leaked))}: "
                "its metrics are meaningless"
            )
    if outcome_time is None and inputs.has_events and spec.cutoff_source != "--as-of":
        warnings.append(
            "no --outcome-time: every contact is scored with all its events up to "
            f"{spec.cutoff.isoformat()}, including events after its outcome; pass "
            "--outcome-time, or --as-of a time before the outcomes were known"
        )
    selection = select_contacts(inputs, spec)
    pop = score_selection(models, inputs, selection, engine=engine, progress=progress)
    if spec.missing:
        warnings.append(
            f"{spec.missing} contact(s) have no outcome in {outcome!r} and were left out"
        )
    ranked = {}
    variants = []
    for model in models:
        scored = pop.scored[model.name]
        r = M.rank(scored.total, pop.y)
        ranked[model.name] = r
        variants.append(_measure(model, scored, r, pop.y, options))
    boot = None
    if options.resamples > 0:
        boot = bootstrap(
            ranked, share=options.lift_share, resamples=options.resamples, seed=options.seed
        )
    if options.rules:
        for model, variant in zip(models, variants, strict=True):
            variant.rules = diagnose(pop.scored[model.name], pop.y)
    for v in variants:
        if v.mql_stage is None:
            warnings.append(
                f"model {v.name!r} has no stage {options.stage!r}: no MQL precision/recall "
                "(choose the stage with --stage)"
            )
    return Backtest(
        outcome=spec,
        options=options,
        variants=variants,
        bootstrap=boot,
        population=pop,
        warnings=warnings,
        sources=sources or {m.name: "" for m in models},
    )


def mql_stages(model: ScoringModel, stage: str) -> list[str] | None:
    """``stage`` and every stage listed before it in the thresholds (the higher ones)."""
    order = list(dict.fromkeys(t.stage for t in model.thresholds))
    if stage not in order:
        return None
    return order[: order.index(stage) + 1]


def _measure(
    model: ScoringModel, scored: Scored, r: M.Ranked, y: np.ndarray, o: Options
) -> VariantResult:
    pos, neg = r.counts()
    stages = mql_stages(model, o.stage)
    mql = None
    if stages is not None:
        predicted = np.array(
            [s in stages and not ex for s, ex in zip(scored.stage, scored.excluded, strict=True)]
        )
        mql = M.confusion(predicted, y)
    grade_order = []
    if model.grades is not None:
        grade_order = [letter for letter, _ in model.grades.letters] + [model.grades.otherwise]
    stage_labels = [
        "excluded" if ex else s for s, ex in zip(scored.stage, scored.excluded, strict=True)
    ]
    xs, ys = M.gain_curve(r)
    return VariantResult(
        name=model.name,
        contacts=r.n,
        conversions=int(y.sum()),
        auc=M.roc_auc(pos, neg),
        average_precision=M.average_precision(pos, neg),
        top=[M.top_share(pos, neg, s) for s in o.top_shares],
        bands=M.by_band(scored.total, y, model.scale.min, model.scale.max, o.bands),
        grades=M.by_label(scored.grade, y, grade_order) if model.grades else [],
        stages=M.by_label(
            stage_labels,
            y,
            list(dict.fromkeys([t.stage for t in model.thresholds] + [model.default_stage or ""])),
        ),
        calibration=M.by_quantile(r, scored.total, o.calibration_bins),
        mql_stage=o.stage if stages is not None else None,
        mql_stages=stages or [],
        mql=mql,
        best_f1=M.best_f1(r),
        target_volume=M.for_volume(r, o.target_volume) if o.target_volume else None,
        target_precision=(M.for_precision(r, o.target_precision) if o.target_precision else None),
        gain=(xs.tolist(), ys.tolist()),
    )
