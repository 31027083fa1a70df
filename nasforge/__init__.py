"""nasforge: Neural Architecture Search on real PyTorch training and on tabular benchmarks.

The public API is imported lazily, so ``import nasforge`` stays light (no torch)::

    import nasforge as nf
    task = nf.data.load("mnist1d")
    space = nf.spaces.create("chain", max_layers=6)
    strategy = nf.strategies.create("regularized-evolution", population=20, sample=5)
    evaluator = nf.estimate.TrainEvaluator(task, epochs=10)
    study = nf.Study.create(store="nasforge.db", name="demo", space=space, strategy=strategy,
                            evaluator=evaluator, seed=0)
    study.optimize(n_trials=50)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "spaces": "nasforge.space",
    "space": "nasforge.space",
    "strategies": "nasforge.strategies",
    "schedulers": "nasforge.schedulers",
    "data": "nasforge.data",
    "estimate": "nasforge.estimate",
    "models": "nasforge.models",
    "ops": "nasforge.ops",
    "study": "nasforge.study",
    "errors": "nasforge.errors",
    "report": "nasforge.report",
}
_LAZY_ATTRS = {
    "Study": ("nasforge.study", "Study"),
    "Architecture": ("nasforge.space.architecture", "Architecture"),
    "NasforgeError": ("nasforge.errors", "NasforgeError"),
}

__all__ = ["Architecture", "NasforgeError", "Study", "__version__", *sorted(set(_LAZY))]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return importlib.import_module(_LAZY[name])
    if name in _LAZY_ATTRS:
        module, attr = _LAZY_ATTRS[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'nasforge' has no attribute {name!r}")
