"""The scoring service: HTTP API over the store, real-time scores, triggers."""

from .app import create_app
from .core import Service
from .settings import SETTINGS, Settings, load_settings

__all__ = ["SETTINGS", "Service", "Settings", "create_app", "load_settings"]
