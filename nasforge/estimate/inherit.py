"""Weight inheritance: a child network starts from its parent's trained weights.

A strategy with ``inherit_weights=True`` proposes a child with ``info["inherit_weights"] = True`` and a
``info["lineage"]`` record (:func:`lineage`): parent trial, the parent's genotype, the morphism moves
(empty for a mutation that is no morphism), ``operator`` and ``exact``. The study passes the parent
trial's checkpoint (``EvalContext.parent_checkpoint``) and the lineage (``EvalContext.extra``) to the
evaluator, which calls :func:`load_parent` on the freshly built child network:

* a morphism child gets the parent's weights through the moves' transforms
  (:func:`nasforge.models.morphisms.apply_moves`): it starts computing what the parent computed;
* any other mutation inherits every tensor whose name and shape still match (Real et al. 2017) and
  keeps the fresh initialisation of the rest;
* a missing or unreadable parent checkpoint: a warning, and the child trains from scratch
  (``metrics["inherited"] = 0``).

The lineage is stored with the trial (``trial.info["lineage"]``) and shown by ``nasforge status``.
:func:`check_evaluator` refuses inheritance with an evaluator that leaves no checkpoints (tabular).
"""

from __future__ import annotations

import warnings
from typing import Any

from nasforge.errors import EvaluationError, MorphismError
from nasforge.space.architecture import Architecture


def lineage(parent_number: int, parent: Architecture, moves: list[Any] | None,
            recipe: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON lineage record of a child of trial ``parent_number`` made by ``moves`` (``Move`` objects
    or dicts; ``None``/empty: a plain mutation). ``recipe`` overrides the child's training recipe."""
    moves = [m if isinstance(m, dict) else m.to_dict() for m in (moves or [])]
    record: dict[str, Any] = {
        "parent": int(parent_number),
        "parent_genotype": parent.to_dict(),
        "moves": moves,
        "operator": "+".join(m["operator"] for m in moves) if moves else "mutation",
        "exact": bool(moves) and all(m["exact"] for m in moves),
    }
    if recipe:
        record["recipe"] = dict(recipe)
    return record


def describe(info: dict[str, Any]) -> str | None:
    """``"#3 widen+deepen (exact)"`` for a trial's info with a lineage, else ``None``."""
    record = info.get("lineage") if isinstance(info, dict) else None
    if not isinstance(record, dict):
        return None
    kind = "exact" if record.get("exact") else "approx." if record.get("moves") else "shape-matched"
    return f"#{record.get('parent')} {record.get('operator')} ({kind})"


def check_evaluator(evaluator: Any, strategy: Any = None) -> None:
    """Raise :class:`MorphismError` when inheritance is asked for but ``evaluator`` leaves no weights."""
    if strategy is not None and not (getattr(strategy, "params", {}) or {}).get("inherit_weights"):
        return
    if getattr(evaluator, "folds", 0):
        raise MorphismError(
            f"inherit_weights: trials scored by {evaluator.folds}-fold cross-validation train one network "
            "per fold, so a child has no single parent network to start from; use cv=0 (--cv 0) with "
            "weight inheritance"
        )
    if not getattr(evaluator, "leaves_checkpoints", False):
        name = getattr(evaluator, "name", type(evaluator).__name__)
        raise MorphismError(
            f"inherit_weights: evaluator {name!r} leaves no checkpoints (it trains no weights), so a child "
            "has no parent weights to start from; use the train evaluator or drop --inherit-weights"
        )


def load_parent(model: Any, architecture: Architecture, space: Any, context: Any,
                input_shape: tuple[int, ...], num_classes: int) -> dict[str, Any]:
    """Load the parent's weights into ``model`` (see the module docstring); returns metrics to record:
    ``inherited`` (1 or 0) and ``inherited_fraction`` (tensors taken from the parent)."""
    from nasforge.estimate import checkpoint as ckpt
    from nasforge.models import morphisms

    device = next(iter(model.state_dict().values())).device if model.state_dict() else "cpu"
    try:
        parent_state, _ = ckpt.load_weights(context.parent_checkpoint, "cpu")
    except EvaluationError as exc:
        warnings.warn(f"trial {context.trial_number}: parent checkpoint unusable ({exc}); training it "
                      "from scratch", stacklevel=2)
        return {"inherited": 0}
    record = (context.extra or {}).get("lineage") or {}
    moves = [morphisms.Move.from_dict(m) for m in record.get("moves") or []]
    state = None
    if moves and record.get("parent_genotype"):
        parent = Architecture.from_dict(record["parent_genotype"])
        try:
            child, state = morphisms.apply_moves(space, parent, moves, parent_state, input_shape,
                                                 num_classes, seed=int(context.seed))
        except (MorphismError, KeyError, RuntimeError) as exc:
            warnings.warn(f"trial {context.trial_number}: morphism replay failed ({exc}); inheriting "
                          "the tensors whose shapes match", stacklevel=2)
            state = None
        else:
            if space.canonical_hash(child) != space.canonical_hash(architecture):
                state = None
    total = len(model.state_dict())
    if state is None:
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        taken = morphisms.inherit_matching(parent_state, state)
    else:
        taken = total
    model.load_state_dict({k: v.to(device) for k, v in state.items()})
    return {"inherited": 1, "inherited_fraction": taken / max(total, 1)}


__all__ = ["check_evaluator", "describe", "lineage", "load_parent"]
