"""docs/predict.md documents every option of the predictive commands."""

from __future__ import annotations

import typer

from leadscore.cli.main import app

from ..conftest import ROOT

COMMANDS = ("train", "predict", "suggest", "retrain")


def test_every_option_of_the_predictive_commands_is_documented():
    text = (ROOT / "docs" / "predict.md").read_text()
    command = typer.main.get_command(app)
    missing = []
    for name in COMMANDS:
        assert f"leadscore {name}" in text
        for param in command.commands[name].params:
            for opt in param.opts:
                if opt.startswith("--") and f"`{opt}" not in text:
                    missing.append(f"{name} {opt}")
    assert not missing, f"undocumented options: {missing}"
