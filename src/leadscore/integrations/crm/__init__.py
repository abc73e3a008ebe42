"""CRM connectors: import contacts, write scores back when they change."""

from .base import CrmSync, ScoreUpdate, SyncReport, SyncState, top_reasons
from .synclog import SyncLog

__all__ = ["CrmSync", "ScoreUpdate", "SyncLog", "SyncReport", "SyncState", "top_reasons"]
