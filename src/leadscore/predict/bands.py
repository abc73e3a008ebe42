"""Priority bands: where each band starts, as quantiles of the training probabilities."""

from __future__ import annotations

import numpy as np

#: band -> the training-probability quantile from which a contact is in the band
BAND_QUANTILES = {"very high": 0.90, "high": 0.70, "medium": 0.40}
LOW_BAND = "low"


def band_cutoffs(probabilities: np.ndarray) -> dict[str, float]:
    """Probability from which each band starts, from the training probabilities."""
    return {band: float(np.quantile(probabilities, q)) for band, q in BAND_QUANTILES.items()}
