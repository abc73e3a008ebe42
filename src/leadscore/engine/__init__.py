"""The evaluators: in-process (reference) and SQL."""

from .inprocess import score_contact, to_event
from .result import Event, RuleHit, ScoreResult

__all__ = ["Event", "RuleHit", "ScoreResult", "score_contact", "to_event"]
