"""Generate the CLI reference (docs/cli.md) from the commands themselves.

Run ``python -m leadscore.cli._reference > docs/cli.md``; a test fails when the
file is out of date, so a new command or option cannot go undocumented.
"""

from __future__ import annotations

import typer


def render() -> str:
    from .main import app

    command = typer.main.get_command(app)
    lines = [
        "# CLI reference",
        "",
        "Generated from the commands' own help by `python -m leadscore.cli._reference`;",
        "do not edit by hand.",
        "",
        "Global option: `--debug` shows tracebacks instead of short errors. Errors print",
        "`Error: …` and exit with 1 (2 for wrong usage).",
        "",
    ]
    for name in sorted(command.commands):
        lines += _command(f"leadscore {name}", command.commands[name])
    return "\n".join(lines)


def _command(path: str, sub) -> list[str]:
    lines = [f"## `{path}`", ""]
    if sub.help:
        lines += [" ".join(sub.help.split()), ""]
    rows = []
    for param in sub.params:
        if param.name == "help":
            continue
        if param.param_type_name == "argument":
            label = f"`{(param.metavar or param.name).upper()}`"
        else:
            label = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
        text = " ".join((getattr(param, "help", None) or "").split())
        if param.required:
            text += " (required)"
        elif param.default not in (None, False, (), []) and not callable(param.default):
            text += f" (default: {param.default})"
        rows.append(f"| {label} | {text.strip()} |")
    if rows:
        lines += ["| option | meaning |", "| --- | --- |", *rows, ""]
    for name in sorted(getattr(sub, "commands", {}) or {}):
        lines += _command(f"{path} {name}", sub.commands[name])
    return lines


if __name__ == "__main__":
    print(render())
