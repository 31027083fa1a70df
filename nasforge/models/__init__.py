"""Phenotypes: genotype -> ``nn.Module``. One builder per space, behind one registry.

A builder is ``build(space, architecture, input_shape, num_classes) -> nn.Module`` where
``input_shape`` excludes the batch dimension: ``(C, L)`` for signals, ``(C, H, W)`` for images,
``(F,)`` for tabular data.
"""

from __future__ import annotations

from typing import Any

from nasforge.registry import Registry

BUILDERS: Registry[Any] = Registry(
    "model builder",
    {
        "chain": "nasforge.models.chain:build_chain",
        "nasnet": "nasforge.models.cells:build_nasnet",
        "edge-cell": "nasforge.models.cells:build_edge_cell",
        "multibranch": "nasforge.models.multibranch:build_multibranch",
        "joint": "nasforge.models.joint:build_joint",
        "fabric": "nasforge.models.fabric:build_fabric",
    },
)


def build(space: Any, architecture: Any, task: Any) -> Any:
    """Build the ``nn.Module`` of ``architecture`` (validated against ``space``) for ``task``.

    ``task`` is a :class:`nasforge.data.Task` (or anything with ``input_shape`` and ``num_classes``).
    """
    space.check(architecture)
    builder = BUILDERS.get(space.name)
    return builder(space, architecture, tuple(task.input_shape), int(task.num_classes))


__all__ = ["BUILDERS", "build"]
