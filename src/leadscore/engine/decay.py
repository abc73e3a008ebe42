"""Decay factors: how much of an event's points remain at a given age."""

from __future__ import annotations

from ..model.schema import Decay


def decay_factor(decay: Decay, age_seconds: float) -> float:
    """The factor in [0, 1] for an event ``age_seconds`` old (age ≥ 0).

    * none: 1
    * half_life h: 0.5 ** (age / h)
    * linear L: max(0, 1 - age / L)
    * expires E: 1 while age ≤ E, then 0
    * steps: the factor of the first step whose ``until`` ≥ age, 0 after the last
    """
    kind = decay.kind
    if kind == "none":
        return 1.0
    if kind == "steps":
        for step in decay.steps:
            if age_seconds <= step.until:
                return step.factor
        return 0.0
    seconds = decay.seconds
    assert seconds is not None, "validated: half_life, linear and expires have seconds"
    if kind == "half_life":
        return float(0.5 ** (age_seconds / seconds))
    if kind == "linear":
        return max(0.0, 1.0 - age_seconds / seconds)
    return 1.0 if age_seconds <= seconds else 0.0
