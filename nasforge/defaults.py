"""The built-in default search: what ``nasforge search`` runs with no arguments.

MNIST-1D, the chain space narrowed to strong building blocks (convolutions with batch norm, widths
64-96, 3-5 layers, global-average-pooling head), regularized evolution, short one-cycle training and
a wall-time budget sized for about 5 minutes on 2 CPU cores (two worker processes, one torch thread
each). Measured with ``benchmarks/bench_defaults.py`` (random samples, one thread, a loaded machine):
with widths 32-96 at 10 epochs test accuracy 98.2-99.2% (6 samples) and at 15 epochs 97.0-99.5%
(3 samples; the narrow ones were weakest); with widths 64-96 at 15 epochs 97.9-99.4% (4 samples).
Validation accuracy ranked the best sample first in each set. Trials stop starting after
``time_limit`` seconds (or ``trials`` trials); the best trial is chosen by validation accuracy.
"""

from __future__ import annotations

from typing import Any

#: chain-space parameters of the default search
CHAIN_SPACE: dict[str, Any] = {
    "min_layers": 3,
    "max_layers": 5,
    "ops": ["conv", "sep_conv", "dil_conv"],
    "widths": [64, 96],
    "kernel_sizes": [3, 5, 7],
    "strides": [1],
    "activations": ["relu", "gelu", "silu"],
    "norms": ["batch"],
    "dropouts": [0.0, 0.1],
    "head": "gap",
}

#: training recipe of the default search (TrainEvaluator keyword arguments besides task/space/epochs)
TRAINING: dict[str, Any] = {"batch_size": 128, "lr": 0.01, "weight_decay": 0.01}

#: the default search settings (keys of ``nasforge search`` flags / config files)
SEARCH: dict[str, Any] = {
    "task": "mnist1d",
    "space": "chain",
    "strategy": "regularized-evolution",
    "trials": 40,
    "time_limit": 270.0,
    "epochs": 15,
    "seed": 0,
    "device": "auto",
    "workers": 2,
    "executor": "auto",
    "retries": 1,
    "max_consecutive_failures": 10,
    "space_opt": dict(CHAIN_SPACE),
    "strategy_opt": {"population": 10, "sample": 3},
    "evaluator_opt": dict(TRAINING),
}

#: small data (``nasforge.estimate.cv``): when train+valid holds fewer than ``threshold`` samples, trials
#: are scored by ``folds``-fold cross-validation on train+valid (``cv="auto"``, ``nasforge search``'s
#: default) instead of a validation split too small to tell candidates apart
SMALL_DATA: dict[str, Any] = {"threshold": 1000, "folds": 5}

#: ``nasforge search`` on a small table (tabular, train+valid below ``SMALL_DATA["threshold"]``): the
#: settings the user did not give (``nasforge.cli.smalldata``). Trials are cross-validated, so each
#: trains ``SMALL_DATA["folds"]`` small networks; tuned with ``benchmarks/bench_small_tables.py`` on
#: split seeds 0-4 by cross-validation figures only (see docs/selection.md)
SMALL_TABLE: dict[str, Any] = {
    "trials": 12,
    "time_limit": None,
    "workers": 1,
    "executor": "auto",
    "epochs": 15,
    "evaluator_opt": {"batch_size": 16, "lr": 0.01, "weight_decay": 0.01},
    "space_opt": {
        "min_layers": 1,
        "max_layers": 3,
        "ops": ["dense"],
        "widths": [32, 64, 128],
        "activations": ["relu", "gelu", "silu"],
        "norms": ["batch", "none"],
        "dropouts": [0.0, 0.1],
    },
}
