"""The service docs list every route and every setting (and stay in step with the code)."""

from __future__ import annotations

import re
from pathlib import Path

from leadscore.service import create_app, load_settings
from leadscore.service.settings import SETTINGS, settings_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_route_is_in_the_api_reference(tmp_path):
    app = create_app(load_settings({"database": f"sqlite:///{tmp_path / 'd.db'}"}, env={}))
    text = (DOCS / "api.md").read_text()
    documented = set(re.findall(r"^\| `(\w+ /\S*)` \|", text, re.M))
    routes = {f"{m.upper()} {p}" for p, ops in app.openapi()["paths"].items() for m in ops}
    assert routes == documented
    app.state.service.store.dispose()


def test_settings_table_is_current():
    text = (DOCS / "service.md").read_text()
    block = text.split("<!-- settings:start -->\n", 1)[1].split("\n<!-- settings:end -->", 1)[0]
    assert block.strip() == settings_markdown().strip(), (
        "docs/service.md is out of date: paste leadscore.service.settings.settings_markdown()"
    )
    for s in SETTINGS:
        assert f"`{s.env}`" in text and f"`{s.flag}`" in text


def test_serve_has_a_flag_per_setting():
    from typer.testing import CliRunner

    from leadscore.cli.main import app

    out = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "300"}).output
    for s in SETTINGS:
        assert s.flag in out, s.flag
