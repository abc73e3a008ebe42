"""The app is wired once: as `leadscore serve` builds it, every route and mount is
there exactly once (the web app was installed by create_app and again as an
extension: its pages and /static twice)."""

from __future__ import annotations

from collections import Counter

from leadscore.service import create_app, load_settings
from leadscore.service.app import default_extensions


def test_serve_mounts_every_route_once(tmp_path):
    settings = load_settings({"database": f"sqlite:///{tmp_path / 'store.db'}"}, env={})
    app = create_app(settings, workers=False, extensions=default_extensions())

    def key(route) -> str:
        router = getattr(route, "original_router", None)  # an included router, as a whole
        if router is not None:
            return f"router {[getattr(r, 'path', '?') for r in router.routes][:3]}"
        return f"{getattr(route, 'path', '?')} {sorted(getattr(route, 'methods', None) or ())}"

    seen = Counter(key(r) for r in app.routes)
    twice = sorted(str(k) for k, n in seen.items() if n > 1)
    assert twice == [], f"routes added more than once: {twice}"
    assert any(k.startswith("/static ") for k in seen)
    app.state.service.store.dispose()
