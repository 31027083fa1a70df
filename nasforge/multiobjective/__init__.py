"""Several objectives: parsing objectives and constraints, Pareto utilities (non-dominated sorting,
crowding distance, exact hypervolume), and the study hooks. Strategies live in
:mod:`nasforge.strategies` (``nsga2``, ``mo-evolution``)."""

from nasforge.multiobjective.objectives import (
    Constraint,
    Objective,
    cost_matrix,
    parse_constraints,
    parse_objectives,
)
from nasforge.multiobjective.pareto import (
    crowding_distance,
    hypervolume,
    non_dominated,
    non_dominated_sort,
    reference_point,
)

__all__ = [
    "Constraint",
    "Objective",
    "cost_matrix",
    "crowding_distance",
    "hypervolume",
    "non_dominated",
    "non_dominated_sort",
    "parse_constraints",
    "parse_objectives",
    "reference_point",
]
