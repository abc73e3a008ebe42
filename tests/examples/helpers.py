"""Small helpers for the golden breakdowns of the example models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadscore import ScoreResult

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)


def ago(days: float) -> str:
    """An ISO time ``days`` before AS_OF."""
    return (AS_OF - timedelta(days=days)).isoformat()


def event(n: int, type_: str, days: float, **attrs: str) -> dict:
    return {"event_id": f"e{n}", "type": type_, "ts": ago(days), **attrs}


def points(result: ScoreResult) -> dict[str, float]:
    """Points of every rule that fired, by rule name."""
    return {hit.rule: hit.points for hit in result.breakdown if hit.fired}
