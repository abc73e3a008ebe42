"""leadscore: open-source lead scoring with models as code.

>>> from leadscore import load_model, score_contact
>>> model = load_model("examples/b2b_saas.yaml")  # doctest: +SKIP
>>> score_contact(model, {"id": "c1", "country": "FR"}, [], as_of="2026-01-01")  # doctest: +SKIP
"""

from .engine import Event, RuleHit, ScoreResult, score_contact
from .errors import DataError, LeadscoreError, ModelError, UsageError
from .model import ScoringModel, load_model

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "Event",
    "LeadscoreError",
    "ModelError",
    "RuleHit",
    "ScoreResult",
    "ScoringModel",
    "UsageError",
    "__version__",
    "load_model",
    "score_contact",
]
