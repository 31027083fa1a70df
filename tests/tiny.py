"""Tiny synthetic tasks for the torch tests (a few dozen samples; instant to train)."""

from __future__ import annotations

import numpy as np

from nasforge.data import Task, load


def tiny_task(kind: str = "1d", n: int = 60, classes: int = 3, seed: int = 0) -> Task:
    """A learnable toy task: the class sets the sign pattern of the input (plus noise)."""
    rng = np.random.default_rng(seed)
    shape = {"1d": (1, 16), "2d": (1, 8, 8), "tabular": (10,)}[kind]
    y = np.arange(n) % classes
    x = rng.normal(size=(n, *shape)).astype(np.float32) * 0.3
    flat = x.reshape(n, -1)
    width = flat.shape[1] // classes
    for c in range(classes):
        flat[y == c, c * width:(c + 1) * width] += 1.5
    return load((flat.reshape(n, *shape), y), name=f"tiny-{kind}", seed=seed)
