"""``leadscore users …``: accounts of the web app (create, list, set-role, set-password)."""

from __future__ import annotations

import os

import typer
from rich.console import Console
from rich.table import Table

DATABASE_HELP = "Store URL: sqlite:///file.db or postgresql://user@host:port/db."
ROLE_HELP = "viewer (read), editor (adjust scores) or admin (publish models, manage users)."
PASSWORD_ENV = "LEADSCORE_USER_PASSWORD"
console = Console(highlight=False)


def _store(database: str | None):
    from ..service.settings import load_settings
    from ..store import Store

    return Store(load_settings({"database": database}).database)


def _password(given: str | None) -> str:
    if given:
        return given
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def register(app: typer.Typer) -> None:
    users = typer.Typer(help="User accounts of the web app.", no_args_is_help=True)

    @users.command("create")
    def create(
        email: str = typer.Option(..., "--email", help="The user's e-mail (their sign-in name)."),
        role: str = typer.Option("viewer", "--role", help=ROLE_HELP),
        name: str = typer.Option("", "--name", help="Display name (default: from the e-mail)."),
        password: str = typer.Option(
            None,
            "--password",
            help=f"The password (default: ${PASSWORD_ENV}, else asked without echo).",
        ),
        database: str = typer.Option(None, "--database", help=DATABASE_HELP),
    ) -> None:
        """Create a user who can sign in to the web app."""
        from ..service.core import audit
        from ..web.users import check_role, create_user

        check_role(role)
        store = _store(database)
        secret = _password(password)
        with store.write() as conn:
            user = create_user(conn, email, secret, role, name)
            audit(conn, "cli", "user.create", user.email, {"role": role})
        store.dispose()
        console.print(f"user {user.email} ({user.role}) created; sign in at /login", markup=False)

    @users.command("list")
    def list_(database: str = typer.Option(None, "--database", help=DATABASE_HELP)) -> None:
        """List the web app's users and their roles."""
        from ..web.users import list_users

        store = _store(database)
        with store.read() as conn:
            rows = list_users(conn)
        store.dispose()
        table = Table("e-mail", "name", "role", "created", "disabled")
        for user, created, disabled in rows:
            table.add_row(
                user.email,
                user.name,
                user.role,
                f"{created:%Y-%m-%d}",
                f"{disabled:%Y-%m-%d}" if disabled else "",
            )
        console.print(table)

    @users.command("set-role")
    def set_role(
        email: str = typer.Option(..., "--email", help="The user's e-mail."),
        role: str = typer.Option(..., "--role", help=ROLE_HELP),
        database: str = typer.Option(None, "--database", help=DATABASE_HELP),
    ) -> None:
        """Change a user's role."""
        from ..service.core import audit
        from ..web.users import update_user

        store = _store(database)
        with store.write() as conn:
            user = update_user(conn, email, role=role)
            audit(conn, "cli", "user.role", user.email, {"role": role})
        store.dispose()
        console.print(f"{user.email} is now {user.role}", markup=False)

    @users.command("set-password")
    def set_password(
        email: str = typer.Option(..., "--email", help="The user's e-mail."),
        password: str = typer.Option(
            None, "--password", help=f"New password (default: ${PASSWORD_ENV}, else asked)."
        ),
        database: str = typer.Option(None, "--database", help=DATABASE_HELP),
    ) -> None:
        """Set a new password (signs the user out everywhere)."""
        from ..service.core import audit
        from ..web.users import update_user

        store = _store(database)
        secret = _password(password)
        with store.write() as conn:
            user = update_user(conn, email, password=secret)
            audit(conn, "cli", "user.password", user.email)
        store.dispose()
        console.print(f"password of {user.email} changed", markup=False)

    @users.command("disable")
    def disable(
        email: str = typer.Option(..., "--email", help="The user's e-mail."),
        enable: bool = typer.Option(False, "--enable", help="Enable the account again."),
        database: str = typer.Option(None, "--database", help=DATABASE_HELP),
    ) -> None:
        """Stop a user from signing in (ends their sessions), or --enable them again."""
        from ..service.core import audit
        from ..web.users import update_user

        store = _store(database)
        with store.write() as conn:
            user = update_user(conn, email, disabled=not enable)
            audit(conn, "cli", "user.enable" if enable else "user.disable", user.email)
        store.dispose()
        console.print(f"{user.email} {'enabled' if enable else 'disabled'}", markup=False)

    app.add_typer(users, name="users")
