"""Search spaces: genotypes as pure data (no torch imported here)."""

from __future__ import annotations

from typing import Any

from nasforge.registry import Registry
from nasforge.space.architecture import Architecture
from nasforge.space.base import Decision, Graph, SearchSpace
from nasforge.space.cell_base import CellSpaceBase, DecisionPoint
from nasforge.space.hparams import LogFloat, UniformFloat
from nasforge.space.joint import JointSpace, joint  # the function shadows the submodule's name
from nasforge.space.params import Categorical, Conditional, Float, Integer

SPACES: Registry[type[SearchSpace]] = Registry(
    "space",
    {
        "chain": "nasforge.space.chain:ChainSpace",
        "nasbench-graph": "nasforge.space.nasbench_graph:NasBenchGraphSpace",
        "nasnet": "nasforge.space.nasnet:NasNetSpace",
        "edge-cell": "nasforge.space.edge_cell:EdgeCellSpace",
        "multibranch": "nasforge.space.multibranch:MultiBranchSpace",
        "joint": "nasforge.space.joint:JointSpace",
        "fabric": "nasforge.space.fabric:FabricSpace",
    },
)


def create(name: str, /, **params: Any) -> SearchSpace:
    """Create the registered space ``name`` with its keyword parameters."""
    return SPACES.create(name, **params)


def list_spaces() -> list[str]:
    """Names of the registered spaces."""
    return SPACES.names()


def register(name: str) -> Any:
    """Decorator registering a :class:`SearchSpace` subclass under ``name``."""
    return SPACES.register(name)


__all__ = [
    "SPACES",
    "Architecture",
    "Categorical",
    "CellSpaceBase",
    "Conditional",
    "Decision",
    "DecisionPoint",
    "Float",
    "Graph",
    "Integer",
    "JointSpace",
    "LogFloat",
    "SearchSpace",
    "UniformFloat",
    "create",
    "joint",
    "list_spaces",
    "register",
]
