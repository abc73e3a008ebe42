"""docs/integrations.md documents every setting, hook kind, route and command option."""

from __future__ import annotations

from pathlib import Path

import typer.main

from leadscore.cli.main import app
from leadscore.integrations import config as C
from leadscore.integrations.inbound import mailgun, sendgrid
from leadscore.integrations.router import build_router

DOC = (Path(__file__).resolve().parents[2] / "docs" / "integrations.md").read_text()


def test_every_config_key_is_documented():
    for cls in (C.IntegrationsConfig, C.HubSpotConfig, C.PipedriveConfig, C.ScoreFields,
                C.SendGridHook, C.MailgunHook, C.FormHook, C.TrackingConfig):  # fmt: skip
        for name in cls.model_fields:
            assert f"`{name}`" in DOC or f"{name}:" in DOC, f"{cls.__name__}.{name}"


def test_every_mapped_platform_event_is_documented():
    for kind in [*sendgrid.TYPES, *sendgrid.IGNORED]:
        assert f"`{kind}`" in DOC, kind
    for kind in [*mailgun.TYPES, "failed"]:
        assert f"`{kind}`" in DOC, kind


def test_every_route_is_documented():
    router = build_router(C.IntegrationsConfig(), sink=None)  # type: ignore[arg-type]
    for route in router.routes:
        for method in route.methods:
            assert f"{method} {route.path}" in DOC, f"{method} {route.path}"


def test_every_option_of_the_commands_is_documented():
    root = typer.main.get_command(app)
    commands = [root.commands["export"], *root.commands["crm"].commands.values()]
    for cmd in commands:
        for param in cmd.params:
            longest = max(param.opts, key=len)
            if longest == "--help":
                continue
            assert f"`{longest}`" in DOC, f"{cmd.name} {longest}"
