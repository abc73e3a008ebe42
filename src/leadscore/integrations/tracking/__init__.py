"""First-party website tracking: the ``t.js`` script, hits, and the identity merge."""

from .identity import Hit, MergePlan, hits_to_events, plan_identify
from .store import InMemoryVisitorStore, VisitorStore
from .tracker import Tracker, script

__all__ = [
    "Hit",
    "InMemoryVisitorStore",
    "MergePlan",
    "Tracker",
    "VisitorStore",
    "hits_to_events",
    "plan_identify",
    "script",
]
