"""Predictive scoring: features from contacts and events, a trained model with
per-lead reasons, and points suggested from past outcomes.

The small API the rest of leadscore uses::

    from leadscore.predict import TrainedModel
    model = TrainedModel.load("models/current")
    prediction = model.predict_contact(contact, events, as_of)
    prediction.probability, prediction.score, prediction.band, prediction.reasons
"""

from .artefact import Prediction, Reason, TrainedModel
from .bands import BAND_QUANTILES
from .baselines import LogisticOneHot, NaiveBayesScorer
from .estimators import LeadModel
from .scorecard import Scorecard
from .training import TrainOptions, train

__all__ = [
    "BAND_QUANTILES",
    "LeadModel",
    "LogisticOneHot",
    "NaiveBayesScorer",
    "Prediction",
    "Reason",
    "Scorecard",
    "TrainOptions",
    "TrainedModel",
    "load_trained",
    "train",
]


def load_trained(directory: str) -> TrainedModel:
    """Load a model directory written by ``leadscore train``."""
    return TrainedModel.load(directory)
