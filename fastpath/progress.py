"""Progress on a terminal, silence in scripts: the bars of `fastpath run` and `fastpath study`.

Both are rich progress bars on stderr (stdout stays the result: a table, JSON, a summary),
shown only when stderr is a terminal and ``--quiet`` is not given. Each context manager
yields the callback the runner or the study calls as work completes, or None when there is
nothing to show (the runner then skips the call altogether).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text


class _Rate(ProgressColumn):
    """Units per second since the bar started (rich's own speed is a short moving window,
    jumpy at one update per chunk)."""

    def __init__(self, unit: str):
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        if not elapsed or not task.completed:
            return Text(f"-- {self.unit}/s", style="progress.data.speed")
        return Text(f"{task.completed / elapsed / 1e6:.2f} {self.unit}/s", style="progress.data.speed")


def showing(quiet: bool, console: Console | None = None) -> bool:
    return not quiet and (console or Console(stderr=True)).is_terminal


@contextmanager
def packets(total: int, description: str, *, quiet: bool = False,
            unit: tuple[str, str] = ("packets", "Mpkt")) -> Iterator[Callable[[int], None] | None]:
    """A bar of ``total`` packets (or ``unit``: its name and its millions' name per second)
    with the rate and the ETA; yields ``advance(n)``."""
    console = Console(stderr=True)
    if not showing(quiet, console):
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed:,}/{task.total:,} " + unit[0]), _Rate(unit[1]), TimeRemainingColumn(),
                  console=console, transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.update(task, advance=n)


@contextmanager
def points(total: int, description: str, *, quiet: bool = False) -> Iterator[Callable | None]:
    """A bar of a study's ``total`` points; yields ``done(point)`` (a `Point`: its value and
    its forwarding rate go into the description)."""
    console = Console(stderr=True)
    if not showing(quiet, console):
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} points"),
                  TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task(description, total=total)

        def done(p) -> None:
            rate = f" ({p.pps / 1e6:.1f} Mpps)" if p.pps else ""
            bar.update(task, advance=1, description=f"{description}: {p.value}{rate}")

        yield done
