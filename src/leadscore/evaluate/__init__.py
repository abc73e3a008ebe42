"""Backtests, metrics, rule diagnostics, impact previews and reports."""

from .backtest import Backtest, Options, VariantResult, run_backtest
from .impact import Impact, impact_preview

__all__ = ["Backtest", "Impact", "Options", "VariantResult", "impact_preview", "run_backtest"]
