"""``leadscore serve``, ``leadscore db upgrade`` and ``leadscore keys create``.

The flags of ``serve`` are derived from the service's declared settings
(:mod:`leadscore.service.settings`): one flag per setting, each also readable
from its ``LEADSCORE_…`` environment variable.
"""

from __future__ import annotations

import inspect
from typing import Any

import typer
from rich.console import Console

from ..service.settings import SETTINGS, load_settings

console = Console(highlight=False)
DATABASE_HELP = "Store URL: sqlite:///file.db or postgresql://user@host:port/db."


def run_server(**flags: Any) -> None:
    """Build the service app from the settings (``flags`` over the environment) and
    serve it until stopped, as ``leadscore serve`` does."""
    import uvicorn

    from ..service.app import create_app, default_extensions
    from ..service.webhooks import serve_warnings

    settings = load_settings(flags)
    app = create_app(settings, extensions=default_extensions())
    for line in serve_warnings(settings):
        console.print(line, style="bold yellow" if line.startswith("Warning") else None)
    console.print(
        f"leadscore serving on http://{settings.host}:{settings.port} "
        f"(API docs at /docs, store {app.state.service.store.dialect})"
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)


def _serve_command() -> Any:
    params = []
    for s in SETTINGS:
        decls = [s.flag] if s.type is not bool else [f"{s.flag}/--no-{s.flag[2:]}"]
        params.append(
            inspect.Parameter(
                s.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=typer.Option(
                    None,
                    *decls,
                    help=f"{s.help} [env {s.env}; default {s.default!r}]",
                    show_default=False,
                ),
                annotation=s.type | None,
            )
        )

    def serve(**flags: Any) -> None:
        """Run the scoring service (HTTP API, real-time scores, triggers)."""
        run_server(**flags)

    serve.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return serve


def register(app: typer.Typer) -> None:
    app.command("serve")(_serve_command())

    db = typer.Typer(help="The service's store: schema migrations.", no_args_is_help=True)

    @db.command("upgrade")
    def upgrade(database: str = typer.Option(None, "--database", help=DATABASE_HELP)) -> None:
        """Apply pending schema migrations to the store."""
        from ..store.db import upgrade as do_upgrade

        settings = load_settings({"database": database})
        revision = do_upgrade(settings.database)
        console.print(f"store at schema revision {revision}")

    app.add_typer(db, name="db")

    keys = typer.Typer(help="API keys of the service.", no_args_is_help=True)

    @keys.command("create")
    def create(
        name: str = typer.Option(..., "--name", help="Who or what uses the key."),
        scope: str = typer.Option(
            "read", "--scope", help="read, write, admin, or track (public, events only)."
        ),
        database: str = typer.Option(None, "--database", help=DATABASE_HELP),
    ) -> None:
        """Create an API key and print its token (shown only once)."""
        from ..service.auth import create_key
        from ..service.core import audit
        from ..store import Store

        settings = load_settings({"database": database})
        store = Store(settings.database)
        with store.write() as conn:
            key_id, token = create_key(conn, name, scope)
            audit(conn, "cli", "key.create", f"key:{key_id}", {"scope": scope})
        store.dispose()
        console.print(f"key {key_id} ({scope}) for {name}:")
        print(token)

    app.add_typer(keys, name="keys")
