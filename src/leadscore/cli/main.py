"""The ``leadscore`` command.

Each module in this package that defines ``register(app)`` adds its commands;
they are found at start-up, so a part adds a command without touching this
file. Errors of our own print as ``Error: ...`` and exit 1 (2 for usage);
``--debug`` re-raises them with the traceback.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import LeadscoreError, ModelError, UsageError

app = typer.Typer(
    name="leadscore",
    help="Lead scoring with models as code: validate, score, explain, backtest, serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
_state = {"debug": False}


@app.callback()
def _main(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks instead of short errors."),
) -> None:
    _state["debug"] = debug


def _register_commands() -> None:
    package = importlib.import_module(__package__)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name in ("main", "common") or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_commands()


def print_error(exc: LeadscoreError) -> None:
    if isinstance(exc, ModelError):
        err_console.print(
            f"[bold red]Error:[/] the model has {len(exc.problems)} problem"
            f"{'s' if len(exc.problems) != 1 else ''}:"
        )
        for p in exc.problems:
            err_console.print(
                f"  [bold]{escape(p.where)}[/]: {escape(p.dotted_path)}: {escape(p.message)}"
                + (f"\n      [dim]fix:[/] {escape(p.hint)}" if p.hint else ""),
                markup=True,
                highlight=False,
            )
        return
    err_console.print(f"[bold red]Error:[/] {escape(str(exc))}")


def run() -> None:
    """Entry point: run the app and turn our own errors into short messages.

    Usage errors of the command line itself (unknown option, missing argument)
    are reported by Typer with exit code 2.
    """
    try:
        app()
    except LeadscoreError as exc:
        if _state["debug"]:
            raise
        print_error(exc)
        sys.exit(2 if isinstance(exc, UsageError) else 1)


if __name__ == "__main__":
    run()
