"""The scoring service: HTTP API over the store, real-time scores, triggers.

Names are imported on first use, so that reading the settings (as the CLI does
at start-up) does not load the web framework.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_NAMES = {
    "create_app": ".app",
    "Service": ".core",
    "SETTINGS": ".settings",
    "Settings": ".settings",
    "load_settings": ".settings",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(import_module(_NAMES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
