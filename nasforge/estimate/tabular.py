"""Tabular evaluation: an architecture's metrics are a lookup in a benchmark's table.

The benchmark tables are loaded once per process (module-level cache in
:func:`nasforge.space.nasbench_graph.load_table`); the evaluator itself only stores its parameters, so
it pickles to worker processes for free.
"""

from __future__ import annotations

from typing import Any, ClassVar

from nasforge.errors import ConfigError
from nasforge.estimate.base import EvalContext, Evaluator, Reporter
from nasforge.space.architecture import Architecture

BENCHMARKS = ("nasbench-graph",)


class TabularEvaluator(Evaluator):
    """Looks ``valid_acc`` (selection), ``test_acc`` (reporting only), ``latency_ms`` and ``params`` up.

    A valid genotype without a table entry raises ``EvaluationError("not_in_table")``. The light
    NAS-Bench-Graph tables hold one fidelity, so ``context.budget`` is ignored.

    Args:
        benchmark: ``"nasbench-graph"``.
        dataset: the benchmark's dataset (``cora``, ..., ``proteins``).
    """

    name: ClassVar[str] = "tabular"

    def __init__(self, benchmark: str = "nasbench-graph", dataset: str = "cora") -> None:
        if benchmark not in BENCHMARKS:
            raise ConfigError(f"benchmark must be one of {list(BENCHMARKS)}, got {benchmark!r}")
        from nasforge.space.nasbench_graph import check_dataset

        self.benchmark = benchmark
        self.dataset = check_dataset(dataset)
        self._space: Any = None

    @property
    def space(self) -> Any:
        """The benchmark's search space for ``dataset`` (validates the dataset name)."""
        if self._space is None:
            from nasforge.space.nasbench_graph import NasBenchGraphSpace

            self._space = NasBenchGraphSpace(dataset=self.dataset)
        return self._space

    def prepare(self) -> None:
        """Load the table (once per process)."""
        _ = self.space.table

    def evaluate(
        self, architecture: Architecture, context: EvalContext | None = None, reporter: Reporter | None = None
    ) -> dict[str, Any]:
        """The table entry of ``architecture`` (``train_seconds`` is 0: nothing is trained)."""
        metrics: dict[str, Any] = self.space.entry(architecture)
        metrics["train_seconds"] = 0.0
        if reporter is not None:
            reporter.report(1.0, {"valid_acc": metrics["valid_acc"]})
        return metrics

    def reported_metrics(self) -> tuple[str, ...]:
        return ("valid_acc", "test_acc", "latency_ms", "params", "train_seconds")

    def to_config(self) -> dict[str, Any]:
        return {"name": self.name, "benchmark": self.benchmark, "dataset": self.dataset}

    def describe_task(self) -> dict[str, Any]:
        return {"name": f"{self.benchmark}/{self.dataset}", "kind": "tabular-benchmark"}

    def __getstate__(self) -> dict[str, Any]:  # send parameters only; the table loads per process
        return {"benchmark": self.benchmark, "dataset": self.dataset, "_space": None}
