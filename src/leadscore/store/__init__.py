"""The service store: contacts, events, scores, history, model versions, outbox."""

from .db import Store, upgrade

__all__ = ["Store", "upgrade"]
