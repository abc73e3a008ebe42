"""Progress shown while batch work runs: a bar that follows DuckDB's own progress,
and a spinner for engines that report none."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from rich.progress import BarColumn, Progress, TimeRemainingColumn

from .common import console


def run_with_progress(
    con: Any, work: Callable[..., None], quiet: bool, steps: list[str] | None = None
) -> None:
    """Run DuckDB work in a thread and show its progress (DuckDB reports it per query).

    With ``steps``, ``work`` is called with a function it calls with each step's name as
    it starts one; the bar then follows the steps (each step's queries within it)."""
    failure: list[BaseException] = []
    names = steps or ["scoring"]
    current = [0]

    def step(name: str) -> None:
        current[0] = names.index(name)

    def target() -> None:
        try:
            if steps:
                work(step)
            else:
                work()
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        "[progress.percentage]{task.percentage:>3.0f}%",
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task(names[0], total=100)
        share = 100 / len(names)
        thread.start()
        while thread.is_alive():
            thread.join(0.2)
            try:
                done = con.query_progress()
            except Exception:  # the query finished between the two calls
                done = -1
            i = current[0]
            bar.update(task, description=names[i])
            if done >= 0:
                bar.update(task, completed=share * i + share * done / 100)
        bar.update(task, completed=100)
    if failure:
        raise failure[0]


@contextmanager
def status(text: str, quiet: bool) -> Iterator[None]:
    """A spinner with ``text`` while the block runs (nothing when ``quiet``)."""
    with nullcontext() if quiet else console.status(text, spinner="dots"):
        yield
