"""The Optuna TPE adapter: runs on nasbench-graph, seeded, replayable, general over flat views."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")
pytest.importorskip("nas_bench_graph")

from nasforge.errors import ConfigError, NasforgeError  # noqa: E402
from nasforge.space import Architecture, Decision, SearchSpace, create  # noqa: E402
from nasforge.strategies import create as create_strategy  # noqa: E402
from nasforge.strategies.tpe import TPEStrategy  # noqa: E402
from nasforge.trial import Trial, TrialState  # noqa: E402


class TinySpace(SearchSpace):
    """depth in {1, 2}; ``b`` matters only when depth == 2 (a conditional decision); 6 genotypes."""

    name = "tiny-tpe-test"

    def decisions(self, arch: Architecture | None = None) -> list[Decision]:
        return [Decision("depth", (1, 2)), Decision("a", ("x", "y")), Decision("b", ("u", "v", "w"))]

    def active(self, indices: Sequence[int]) -> list[bool]:
        return [True, True, indices[0] == 1]

    def to_flat(self, arch: Architecture) -> tuple[int, ...]:
        g = arch.genes
        b = 0 if g["depth"] == 1 else ("u", "v", "w").index(g["b"])
        return ((1, 2).index(g["depth"]), ("x", "y").index(g["a"]), b)

    def from_flat(self, indices: Sequence[int]) -> Architecture:
        genes = {"depth": (1, 2)[indices[0]], "a": ("x", "y")[indices[1]]}
        if genes["depth"] == 2:
            genes["b"] = ("u", "v", "w")[indices[2]]
        return Architecture(self.name, genes)

    def sample(self, rng: np.random.Generator) -> Architecture:
        return self.from_flat([int(rng.integers(d.n)) for d in self.decisions()])

    def validate(self, arch: Architecture) -> None:
        self.to_flat(arch)

    def size(self) -> float:
        return 8.0


def drive(strategy: TPEStrategy, space: SearchSpace, n: int, score) -> list[Trial]:
    trials = []
    for q in range(n):
        arch = strategy.ask().architecture
        trial = Trial(q, arch, TrialState.COMPLETE, score(arch))
        strategy.tell(trial)
        trials.append(trial)
    return trials


@pytest.fixture(scope="module")
def cora():
    space = create("nasbench-graph", dataset="cora")
    return space, (lambda a: space.entry(a)["valid_acc"])


def test_tpe_on_nasbench_graph_is_seeded(cora) -> None:
    space, score = cora
    first = drive(create_strategy("tpe").setup(space, 7), space, 30, score)
    again = drive(create_strategy("tpe").setup(space, 7), space, 30, score)
    other = drive(create_strategy("tpe").setup(space, 8), space, 30, score)
    archs = [t.architecture for t in first]
    assert archs == [t.architecture for t in again]
    assert archs != [t.architecture for t in other]
    assert len({space.canonical_hash(a) for a in archs}) == 30  # the base class filtered duplicates


def test_tpe_state_is_a_function_of_told_trials(cora) -> None:
    space, score = cora
    original = create_strategy("tpe", n_startup_trials=5).setup(space, 1)
    told = drive(original, space, 20, score)
    replayed = create_strategy("tpe", n_startup_trials=5).setup(space, 1)
    for trial in told:  # resume = replay of the tells, no asks
        replayed.tell(trial)
    assert [replayed.ask().architecture for _ in range(3)] == [
        original.ask().architecture for _ in range(3)
    ]
    complete = original._study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    assert [t.value for t in complete] == [t.value for t in told]


def test_tpe_learns_on_cora(cora) -> None:
    space, score = cora
    best_tpe = np.mean(
        [max(t.value for t in drive(TPEStrategy().setup(space, s), space, 60, score)) for s in range(3)]
    )
    rng = np.random.default_rng(0)
    best_random = np.mean([max(score(space.sample(rng)) for _ in range(60)) for _ in range(3)])
    assert best_tpe > space.best_valid() - 0.03
    assert best_tpe >= best_random - 0.005


def test_filtered_duplicates_leave_optuna_consistent_on_a_tiny_conditional_space() -> None:
    space = TinySpace()
    strategy = TPEStrategy(n_startup_trials=2).setup(space, 0)
    values = {}
    trials = drive(strategy, space, 6, lambda a: values.setdefault(a, len(values) / 10))
    assert len({t.architecture for t in trials}) == 6  # every genotype once: repeats were filtered
    study = strategy._study
    assert not study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    assert len(complete) == 6
    for frozen, trial in zip(complete, trials, strict=True):  # inactive decision never suggested
        assert ("2:b" in frozen.params) == (trial.architecture["depth"] == 2)
    # exhausted: the base class allows a repeat, and Optuna still has no dangling trial
    strategy.tell(Trial(6, strategy.ask().architecture, TrialState.FAILED, error="x"))
    assert not study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))


def test_tpe_on_the_chain_space_flat_view() -> None:
    try:
        space = create("chain")
    except (ImportError, NasforgeError) as exc:
        pytest.skip(f"chain space not available yet: {exc}")
    strategy = TPEStrategy(n_startup_trials=3).setup(space, 0)
    trials = drive(strategy, space, 8, lambda a: float(len(a.to_json()) % 7))
    for trial in trials:
        space.validate(trial.architecture)
    assert len({space.canonical_hash(t.architecture) for t in trials}) == 8


def test_bad_options_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="n_ei_candidates"):
        TPEStrategy(n_ei_candidates=0)
    with pytest.raises(ConfigError, match="multivariate"):
        TPEStrategy(multivariate="yes")
    with pytest.raises(ConfigError, match="group"):
        TPEStrategy(group=True, multivariate=False).setup(TinySpace(), 0)
