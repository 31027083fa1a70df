"""Every strategy beats random search in mean regret over seeds on a cheap tabular space (can fail).

The space is a 5 x 6-choice flat space (7,776 architectures) whose score is a fixed random additive
term plus pairwise interactions of neighbouring decisions: it has structure a search can learn, and
it is cheap to enumerate. Random search and each strategy run on the same seeds and budget.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

import nasforge.strategies as strategies
from nasforge.errors import RegistryError, SpaceError
from nasforge.space.architecture import Architecture
from nasforge.space.base import Decision, SearchSpace
from nasforge.trial import Trial, TrialState

N_DECISIONS, N_CHOICES = 5, 6
QUERIES, SEEDS = 40, 8


class ToyTabularSpace(SearchSpace):
    """Genes ``{"x": [5 ints in 0..5]}``; the table is the whole product space."""

    name = "toy-tabular"

    def __init__(self) -> None:
        super().__init__()

    def decisions(self, arch: Architecture | None = None) -> list[Decision]:
        return [Decision(f"x{i}", tuple(range(N_CHOICES))) for i in range(N_DECISIONS)]

    def to_flat(self, arch: Architecture) -> tuple[int, ...]:
        return tuple(arch.genes["x"])

    def from_flat(self, indices: Sequence[int]) -> Architecture:
        return Architecture(self.name, {"x": [int(i) for i in indices]})

    def sample(self, rng: np.random.Generator) -> Architecture:
        return self.from_flat(rng.integers(N_CHOICES, size=N_DECISIONS).tolist())

    def validate(self, arch: Architecture) -> None:
        x = arch.genes.get("x")
        if not isinstance(x, list) or len(x) != N_DECISIONS or not all(0 <= v < N_CHOICES for v in x):
            raise SpaceError(f"x must be {N_DECISIONS} ints in [0, {N_CHOICES - 1}], got {x!r}")


_RNG = np.random.default_rng(1234)
_UNARY = _RNG.normal(size=(N_DECISIONS, N_CHOICES))
_PAIR = 0.6 * _RNG.normal(size=(N_DECISIONS - 1, N_CHOICES, N_CHOICES))


def score(x: Sequence[int]) -> float:
    value = sum(_UNARY[i, v] for i, v in enumerate(x))
    value += sum(_PAIR[i, x[i], x[i + 1]] for i in range(N_DECISIONS - 1))
    return float(value)


_BEST = max(score(np.unravel_index(i, (N_CHOICES,) * N_DECISIONS)) for i in range(N_CHOICES**N_DECISIONS))

#: budget-appropriate settings (small initial designs for a 40-query budget)
OPTIONS: dict[str, dict[str, object]] = {
    "gp": {"n_initial": 8},
    "smac": {"n_initial": 8, "n_trees": 20, "n_random": 300, "ls_steps": 2, "n_starts": 3},
    "bananas": {"n_initial": 8, "epochs": 60, "n_mutations": 40},
    "pnas": {"beam": 5, "completions": 3, "epochs": 60},
    "regularized-evolution": {"population": 10, "sample": 3},
    "evolution": {"population": 10},
    "reinforce": {"lr": 0.05},
}


def mean_regret(name: str) -> float:
    space = ToyTabularSpace()
    regrets = []
    for seed in range(SEEDS):
        strategy = strategies.create(name, **OPTIONS.get(name, {})).setup(space, seed)
        best = -np.inf
        for number in range(QUERIES):
            arch = strategy.ask().architecture
            value = score(arch.genes["x"])
            best = max(best, value)
            strategy.tell(Trial(number, arch, TrialState.COMPLETE, value, {"valid_acc": value}))
        regrets.append(_BEST - best)
    return float(np.mean(regrets))


_RANDOM: list[float] = []


def _random_regret() -> float:
    if not _RANDOM:
        _RANDOM.append(mean_regret("random"))
    return _RANDOM[0]


@pytest.mark.parametrize("name", [n for n in strategies.list_strategies() if n != "random"])
def test_strategy_beats_random_search(name: str) -> None:
    try:
        strategies.STRATEGIES.get(name)
    except (ImportError, RegistryError) as exc:
        pytest.skip(f"strategy {name!r} is not importable: {exc}")
    if getattr(strategies.STRATEGIES.get(name), "requires_morphisms", False):
        pytest.skip(f"{name!r} needs a space with network morphisms and real training; its search "
                    "behaviour is tested in its own module (tests/test_lemonade.py)")
    ours, baseline = mean_regret(name), _random_regret()
    assert ours < baseline, f"{name}: mean regret {ours:.3f} is not below random search's {baseline:.3f}"
