"""`leadscore db upgrade` and `leadscore keys create`."""

from __future__ import annotations

from typer.testing import CliRunner

from leadscore.cli.main import app
from leadscore.service.auth import authenticate
from leadscore.store import Store
from leadscore.store.db import head_revision


def test_db_upgrade_then_keys_create(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    out = runner.invoke(app, ["db", "upgrade", "--database", url])
    assert out.exit_code == 0, out.output
    assert f"revision {head_revision()}" in out.output
    out = runner.invoke(
        app, ["keys", "create", "--name", "crm", "--scope", "write", "--database", url]
    )
    assert out.exit_code == 0, out.output
    token = out.output.strip().splitlines()[-1]
    store = Store(url)
    with store.read() as conn:
        who = authenticate(conn, token)
    store.dispose()
    assert who is not None and (who.name, who.scope) == ("crm", "write")


def test_keys_create_refuses_an_unknown_scope(tmp_path):
    from leadscore.errors import UsageError

    out = CliRunner().invoke(
        app,
        [
            "keys",
            "create",
            "--name",
            "x",
            "--scope",
            "root",
            "--database",
            f"sqlite:///{tmp_path / 'k.db'}",
        ],
    )
    assert isinstance(out.exception, UsageError)
    assert "unknown scope 'root'" in str(out.exception)


def test_settings_come_from_env_and_flags():
    from leadscore.service.settings import load_settings

    s = load_settings(
        {"port": 9000},
        env={
            "LEADSCORE_PORT": "8001",
            "LEADSCORE_MAX_BATCH": "7",
            "LEADSCORE_SMTP_STARTTLS": "yes",
        },
    )
    assert (s.port, s.max_batch, s.smtp_starttls, s.host) == (9000, 7, True, "127.0.0.1")
    import pytest

    from leadscore.errors import UsageError

    with pytest.raises(UsageError, match="LEADSCORE_UNKNOWN_CONTACTS"):
        load_settings(env={"LEADSCORE_UNKNOWN_CONTACTS": "maybe"})
