"""The phenotype of a joint genotype: its architecture part, built by the inner space's builder
(the hyperparameters shape training, not the network)."""

from __future__ import annotations

from typing import Any


def build_joint(space: Any, architecture: Any, input_shape: tuple[int, ...], num_classes: int) -> Any:
    """Build the inner architecture of ``architecture``, a :class:`~nasforge.space.joint.JointSpace`
    genotype."""
    from nasforge.models import BUILDERS

    inner, _ = space.split(architecture)
    space.inner.check(inner)
    return BUILDERS.get(space.inner.name)(space.inner, inner, input_shape, num_classes)
