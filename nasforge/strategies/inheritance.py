"""Weight inheritance for evolution-style strategies (``inherit_weights=True``).

A child proposed from a parent trial carries ``info["inherit_weights"]`` and a lineage record
(:func:`nasforge.estimate.inherit.lineage`): if the mutation is a network morphism
(:func:`nasforge.models.morphisms.detect`) the child starts from the parent's weights transformed by
it, otherwise from every parent tensor whose shape still matches. ``inherit_epochs`` is the child's
short training budget (``None``: the evaluator's full budget). The parameters appear in a strategy's
config only when inheritance is on, so configs of studies without it are unchanged.
"""

from __future__ import annotations

from typing import Any

from nasforge.checks import check_choice, check_int
from nasforge.errors import ConfigError
from nasforge.space.architecture import Architecture
from nasforge.space.base import SearchSpace
from nasforge.trial import Candidate, Trial


def inherit_params(inherit_weights: Any, inherit_epochs: Any) -> dict[str, Any]:
    """Validated inheritance parameters to merge into a strategy's ``params`` (empty when off)."""
    check_choice("inherit_weights", inherit_weights, (True, False))
    check_int("inherit_epochs", inherit_epochs, 1, allow_none=True)
    if not inherit_weights:
        if inherit_epochs is not None:
            raise ConfigError(f"inherit_epochs={inherit_epochs} needs inherit_weights=True")
        return {}
    return {"inherit_weights": True, "inherit_epochs": inherit_epochs}


def child_candidate(space: SearchSpace, parent: Trial, child: Architecture, params: dict[str, Any],
                    moves: list[Any] | None = None, recipe: dict[str, Any] | None = None) -> Candidate:
    """The candidate for ``child`` of ``parent``: plain unless ``params["inherit_weights"]``, then with
    the lineage (``moves`` given, or the detected morphism) and the ``inherit_epochs`` budget."""
    if not params.get("inherit_weights"):
        return Candidate(child, parent=parent.number)
    from nasforge.estimate.inherit import lineage

    if moves is None:
        from nasforge.models.morphisms import detect, supports

        move = detect(space, parent.architecture, child) if supports(space) else None
        moves = [move] if move is not None else []
    info = {"inherit_weights": True, "lineage": lineage(parent.number, parent.architecture, moves, recipe)}
    return Candidate(child, budget=params.get("inherit_epochs"), parent=parent.number, info=info)


__all__ = ["child_candidate", "inherit_params"]
