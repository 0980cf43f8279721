"""The command line's parameter types and its one-line errors.

Every problem with what the user typed is one line on stderr, ``fastpath: error: OPTION: ...``,
exit status 2 — click's own usage errors included (`Group` reformats them) — and it comes
before the command does any work: an output path is checked writable when the option is read
(`Output`), a float option refuses nan and inf (`Finite`), counts and seeds have ranges from
`fastpath.limits`.
"""

from __future__ import annotations

import math
import os
import sys

import click

from .limits import MAX_SEED, MAX_THREADS

def option_of(param) -> str:
    """How the user spelled a parameter: ``--seed``, or the argument's name."""
    if param is None:
        return ""
    if getattr(param, "opts", None) and param.param_type_name == "option":
        return max(param.opts, key=len)
    return (param.human_readable_name or "").upper()


class Group(click.Group):
    """The command group, with click's own usage errors (a bad option value, an unknown or
    missing option) as our one line too: ``fastpath: error: --threads: 0 is not in ...``."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.MissingParameter as exc:
            click.echo(f"fastpath: error: {exc.format_message()}", err=True)
            sys.exit(2)
        except click.BadParameter as exc:
            name = option_of(exc.param) or exc.param_hint or ""
            click.echo(f"fastpath: error: {name + ': ' if name else ''}{exc.message}", err=True)
            sys.exit(2)
        except click.UsageError as exc:
            click.echo(f"fastpath: error: {exc.format_message()}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


class Finite(click.FloatRange):
    """A float range that also refuses nan and inf (click's own lets both through)."""

    def convert(self, value, param, ctx):
        v = super().convert(value, param, ctx)
        if not math.isfinite(v):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return v


_NO_WRITE = ("/proc", "/sys")


def unwritable(path: str, *, directory: bool) -> str | None:
    """Why ``path`` cannot be written as a file (``directory=False``) or made and filled as a
    directory, else None. Checked before any work, so a typo costs nothing."""
    if not path or "\0" in path:
        return "not a path"
    real = os.path.realpath(path)
    for top in _NO_WRITE:
        if real == top or real.startswith(top + "/"):
            return f"{path} is under {top}, not a place for output"
    if directory:
        if os.path.exists(real) and not os.path.isdir(real):
            return f"{path} exists and is not a directory"
        probe = real
        while not os.path.exists(probe):  # the nearest ancestor that exists is where we create
            probe = os.path.dirname(probe)
        if not os.path.isdir(probe):
            return f"{probe} is not a directory"
        if not os.access(probe, os.W_OK | os.X_OK):
            return f"{probe} is not writable"
        return None
    if os.path.isdir(real):
        return f"{path} is a directory"
    parent = os.path.dirname(real) or "."
    if not os.path.exists(parent):
        return f"directory {os.path.dirname(path) or '.'} does not exist"
    if not os.path.isdir(parent):
        return f"{os.path.dirname(path)} is not a directory"
    if os.path.exists(real):
        if not os.access(real, os.W_OK):
            return f"{path} is not writable"
    elif not os.access(parent, os.W_OK | os.X_OK):
        return f"directory {os.path.dirname(path) or '.'} is not writable"
    return None


class Output(click.ParamType):
    """An output path, checked writable when the option is read (before the command's work)."""

    def __init__(self, directory: bool = False):
        self.directory = directory
        self.name = "directory" if directory else "file"

    def convert(self, value, param, ctx):
        why = unwritable(os.fspath(value), directory=self.directory)
        if why:
            self.fail(why, param, ctx)
        return os.fspath(value)


MAX_OFFERED_MPPS = 1e9  # 10**15 packets/s: far beyond any cluster; keeps the load report's products finite
SEED = click.IntRange(0, MAX_SEED)
THREADS = click.IntRange(1, MAX_THREADS)
