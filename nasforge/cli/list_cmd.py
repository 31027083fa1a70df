"""``nasforge list spaces|strategies|schedulers|ops|tasks|evaluators|executors``: what is registered."""

from __future__ import annotations

import argparse
from typing import Any

KINDS = ("spaces", "strategies", "schedulers", "ops", "tasks", "evaluators", "executors")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "list", help="list registered spaces, strategies, ops, tasks", description=__doc__
    )
    p.add_argument("kind", choices=KINDS, help="what to list")
    p.set_defaults(func=run)


def names(kind: str) -> list[tuple[str, str]]:
    """``(name, note)`` pairs; the note says which optional packages an entry needs and lacks here."""
    if kind == "ops":
        from nasforge.ops import get_op, list_ops  # the op catalog: no torch imported

        return [(n, get_op(n).describe()) for n in list_ops()]
    if kind == "tasks":
        from nasforge.data import list_tasks

        return [(n, "") for n in list_tasks()] + [("FILE.npz / FILE.csv", "your own data")]
    registry = _registry(kind)
    out = [(name, _note(registry, name)) for name in registry.names()]
    if kind == "strategies":  # one-shot methods: their own registry, the same --strategy flag
        from nasforge.oneshot import ONESHOT

        # the supernet spaces (nasforge.models.supernet.SUPERNET_SPACES), named here without importing torch
        note = "one-shot (edge-cell, nasnet, fabric)"
        out += [(name, note) for name in ONESHOT.names() if name != "retrain"]
    return out


def _note(registry: Any, name: str) -> str:
    """Which optional packages entry ``name`` lacks here, and how to install them (nothing is imported)."""
    from nasforge.registry import EXTRAS

    missing = registry.missing(name)
    if not missing:
        return ""
    extras = sorted({EXTRAS[m] for m in missing if m in EXTRAS})
    hint = f": pip install 'nasforge[{','.join(extras)}]'" if extras else ""
    return f"needs {', '.join(missing)}, not installed{hint}"


def _registry(kind: str) -> Any:
    if kind == "spaces":
        from nasforge.space import SPACES

        return SPACES
    if kind == "strategies":
        from nasforge.strategies import STRATEGIES

        return STRATEGIES
    if kind == "schedulers":
        from nasforge.schedulers import SCHEDULERS

        return SCHEDULERS
    if kind == "evaluators":
        from nasforge.estimate.registry import EVALUATORS

        return EVALUATORS
    from nasforge.study.executors import EXECUTORS

    return EXECUTORS


def run(args: argparse.Namespace) -> int:
    for name, note in names(args.kind):
        print(f"{name}  ({note})" if note else name)
    return 0
