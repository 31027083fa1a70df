"""The ``nasforge`` command: ``main(argv) -> int``; one module per sub-command, imported lazily.

A :class:`~nasforge.errors.NasforgeError` prints one line ``nasforge: error: ...`` on stderr and
exits with status 2 (a :class:`~nasforge.errors.StudyAborted` search exits with 1); Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from nasforge import __version__
from nasforge.errors import NasforgeError, StudyAborted

#: sub-command modules under ``nasforge.cli``, in help order (missing ones are skipped)
COMMANDS = ("search", "resume", "status", "best", "list_cmd", "export", "predict", "train", "bench", "report",
            "plot", "dashboard")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every importable sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="nasforge",
        description="Neural Architecture Search on real PyTorch training and on tabular benchmarks.",
    )
    parser.add_argument("--version", action="version", version=f"nasforge {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"nasforge.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"nasforge.cli.{name}":
                continue  # that part has not landed
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``nasforge`` command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2 if args.command is None and argv not in (None, []) else 0
    try:
        return int(args.func(args) or 0)
    except StudyAborted as exc:
        print(f"nasforge: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except NasforgeError as exc:
        print(f"nasforge: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nasforge: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `nasforge status | head`: the reader left; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":
    raise SystemExit(main())
