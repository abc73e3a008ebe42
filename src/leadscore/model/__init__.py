"""The model language: typed rules, conditions, durations, validation."""

from .conditions import AllOf, AnyOf, Condition, Not, Predicate, parse_condition
from .durations import format_duration, parse_duration
from .loader import load_model, load_model_text
from .schema import (
    CompletenessRule,
    Decay,
    EventRule,
    FrequencyRule,
    Group,
    InactivityRule,
    PropertyRule,
    ScoringModel,
)

__all__ = [
    "AllOf",
    "AnyOf",
    "CompletenessRule",
    "Condition",
    "Decay",
    "EventRule",
    "FrequencyRule",
    "Group",
    "InactivityRule",
    "Not",
    "Predicate",
    "PropertyRule",
    "ScoringModel",
    "format_duration",
    "load_model",
    "load_model_text",
    "parse_condition",
    "parse_duration",
]
