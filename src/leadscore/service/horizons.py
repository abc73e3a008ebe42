"""The instant a stored score is next due for the time sweep.

Each score is stored with ``next_change``: the first instant at which, with no new
input, it may show something else (:mod:`leadscore.engine.horizon`): the shown
total and group scores (one decimal, as the history and the web pages round
them), the grade, the stage, or a value a trigger compares (its thresholds moved
by the trigger's hysteresis band, its crossing values, the numbers of a
``holds`` condition).
``None``: never by time alone. The sweep (``Service.sweep``) rescores the contacts
whose instant has come, and only them.

A score whose future is not known (a trained model's score reads event recency) is
due at the next sweep.
"""

from __future__ import annotations

from datetime import datetime

from ..engine.horizon import TICK, Watch, model_watch, next_change, score_marks
from . import predicted as P
from .published import Published
from .scoring import Adjusted

_WATCHES: dict[tuple[str, int, int, float, int], Watch] = {}


def watch(pub: Published, default_hysteresis: float, decimals: int) -> Watch:
    """What a published model shows (totals to ``decimals``) and its triggers compare
    (cached per version)."""
    key = (pub.name, pub.version, id(pub.model), default_hysteresis, decimals)
    found = _WATCHES.get(key)
    if found is not None:
        return found
    model = P.engine_model(pub.model)
    base = model_watch(model, 10.0**-decimals)
    fields = {"total", *model.groups}
    marks = {k: set(v) for k, v in base.marks.items()}
    restless = set(base.restless)
    totals = sorted(marks.get("total", ()))
    for trig in pub.model.triggers:
        h = pub.hysteresis(trig.name, default_hysteresis)
        on = trig.on
        if on.enters is not None or on.leaves is not None:
            # re-arming reads the stage the total would give moved by the band
            marks.setdefault("total", set()).update(x for c in totals for x in (c - h, c + h))
        elif on.crosses is not None:
            c = on.crosses.value
            marks.setdefault(on.crosses.score, set()).update((c, c - h, c + h))
        elif on.holds is not None:
            more, loose = score_marks(on.holds, fields)
            for k, vs in more.items():
                marks.setdefault(k, set()).update(vs)
            restless |= loose
    found = Watch({k: tuple(sorted(v)) for k, v in marks.items()}, frozenset(restless), base.step)
    if len(_WATCHES) > 256:
        _WATCHES.clear()
    _WATCHES[key] = found
    return found


def due(adj: Adjusted, default_hysteresis: float, decimals: int) -> datetime | None:
    """When the time sweep should rescore this result next (None: never), for totals
    shown to ``decimals``."""
    pub, result = adj.pub, adj.result
    if adj.horizon is None or pub is None:
        return result.as_of + TICK
    return next_change(
        P.engine_model(pub.model),
        result,
        adj.horizon,
        watch(pub, default_hysteresis, decimals),
        total=adj.total,
        adjustment=adj.adjustment,
    )
