"""User-facing progress: one helper for bars and per-step log lines (on stderr)."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

T = TypeVar("T")

console = Console(stderr=True, highlight=False)
log = logging.getLogger("fgcm_db")


def _interactive() -> bool:
    return sys.stderr.isatty()


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar on a terminal (plain when not a terminal)."""
    if not _interactive():
        yield from items
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True,
    ) as progress:
        yield from progress.track(items, total=total, description=description)


@contextlib.contextmanager
def status(message: str) -> Iterator[None]:
    """A spinner with ``message`` while a block runs (a log line when not a terminal)."""
    if not _interactive():
        log.info(message)
        yield
        return
    with console.status(message):
        yield


def say(message: str) -> None:
    """One progress line for the user (stderr), e.g. a cycle summary."""
    console.print(message)
