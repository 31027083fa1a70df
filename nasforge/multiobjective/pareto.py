"""Pareto utilities on cost vectors: dominance, non-dominated sorting, crowding distance, hypervolume.

Convention: every function takes an ``(n, m)`` array of **costs** (every column minimised). Turn a
maximised metric into a cost by negating it (:func:`nasforge.multiobjective.objectives.cost_matrix`
does this from a study's objectives).

Hypervolume is exact in 1, 2 and 3 dimensions: the Lebesgue measure of the region dominated by the
points and bounded by the **reference point** ``ref`` (a cost vector worse than every point of interest
in every objective). Points that do not strictly dominate ``ref`` in every objective add nothing.
The value depends on ``ref``, so hypervolumes are only comparable under the same reference point:

* compare runs with a fixed ``ref`` chosen before the runs (e.g. the benchmark scripts normalise every
  objective to [0, 1] over the whole table and use ``ref = (1, ..., 1)``, so accuracy 0 and the
  table's largest cost bound the box);
* :func:`reference_point` gives the usual default otherwise: the nadir of the points plus 10% of
  their range per objective (pymoo and Optuna leave the choice to the user, as here).

2-D is a sweep over the sorted front (``O(n log n)``); 3-D slices along the third objective and sums
2-D areas between consecutive slices (``O(n^2 log n)``, exact; fine for thousands of points).
"""

from __future__ import annotations

import numpy as np

from nasforge.errors import ConfigError


def _costs(points: np.ndarray | list, name: str = "points") -> np.ndarray:
    arr = np.asarray(points, dtype=float)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1) if arr.size else arr.reshape(0, 1)
    if arr.ndim != 2:
        raise ConfigError(f"{name} must be an (n, m) array of costs, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"{name} must be finite (drop trials without the objective metrics first)")
    return arr


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether cost vector ``a`` Pareto-dominates ``b`` (no worse everywhere, better somewhere)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all(a <= b) and np.any(a < b))


def non_dominated(points: np.ndarray | list) -> np.ndarray:
    """Boolean mask of the rows no other row dominates (duplicates of a front point all stay)."""
    f = _costs(points)
    keep = np.ones(len(f), dtype=bool)
    for i in range(len(f)):
        worse_or_equal = np.all(f <= f[i], axis=1) & np.any(f < f[i], axis=1)
        keep[i] = not worse_or_equal.any()
    return keep


def non_dominated_sort(points: np.ndarray | list) -> list[np.ndarray]:
    """Fronts of the fast non-dominated sort (Deb et al., NSGA-II, 2002): a list of index arrays,
    front 0 being the non-dominated rows, front 1 those dominated only by front 0, ..."""
    f = _costs(points)
    n = len(f)
    if n == 0:
        return []
    le = np.all(f[:, None, :] <= f[None, :, :], axis=2)
    lt = np.any(f[:, None, :] < f[None, :, :], axis=2)
    dom = le & lt  # dom[i, j]: i dominates j
    count = dom.sum(axis=0)  # how many dominate j
    fronts: list[np.ndarray] = []
    current = np.flatnonzero(count == 0)
    while current.size:
        fronts.append(current)
        count = count - dom[current].sum(axis=0)
        count[current] = -1
        current = np.flatnonzero(count == 0)
    return fronts


def ranks(points: np.ndarray | list) -> np.ndarray:
    """Front number of every row (0 = non-dominated)."""
    f = _costs(points)
    out = np.zeros(len(f), dtype=int)
    for r, front in enumerate(non_dominated_sort(f)):
        out[front] = r
    return out


def crowding_distance(points: np.ndarray | list) -> np.ndarray:
    """NSGA-II's crowding distance of each row within the given set (usually one front): the sum over
    objectives of the normalised gap between its two neighbours; the extremes get ``inf``."""
    f = _costs(points)
    n, m = f.shape
    dist = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for k in range(m):
        order = np.argsort(f[:, k], kind="stable")
        col = f[order, k]
        span = col[-1] - col[0]
        dist[order[0]] = dist[order[-1]] = np.inf
        if span > 0:
            dist[order[1:-1]] += (col[2:] - col[:-2]) / span
    return dist


def reference_point(points: np.ndarray | list, margin: float = 0.1) -> np.ndarray:
    """The default reference point: the nadir (worst cost per objective) plus ``margin`` times the
    range per objective (plus ``margin`` where the range is 0)."""
    f = _costs(points)
    if len(f) == 0:
        raise ConfigError("a reference point needs at least one point")
    lo, hi = f.min(axis=0), f.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return hi + margin * span


def _hv2_sweep(f: np.ndarray, ref: np.ndarray) -> float:
    """Area dominated by 2-D points (x ascending sweep with a staircase)."""
    order = np.lexsort((f[:, 1], f[:, 0]))
    area, prev_y = 0.0, ref[1]
    pts = f[order]
    # staircase: keep points improving y as x grows
    stair = []
    for x, y in pts:
        if y < prev_y:
            stair.append((x, y))
            prev_y = y
    for i, (x, y) in enumerate(stair):
        right = stair[i + 1][0] if i + 1 < len(stair) else ref[0]
        # the area between x and the next staircase x, from y up to ref
        area += (right - x) * (ref[1] - y)
    return float(area)


def _hv3(f: np.ndarray, ref: np.ndarray) -> float:
    order = np.argsort(f[:, 2], kind="stable")
    f = f[order]
    volume = 0.0
    for i in range(len(f)):
        z_next = f[i + 1, 2] if i + 1 < len(f) else ref[2]
        depth = z_next - f[i, 2]
        if depth > 0:
            volume += depth * _hv2_sweep(f[: i + 1, :2], ref[:2])
    return float(volume)


def hypervolume(points: np.ndarray | list, ref: np.ndarray | list) -> float:
    """Exact hypervolume of cost vectors ``points`` (1-3 objectives) w.r.t. reference point ``ref``
    (see the module docstring); points not strictly better than ``ref`` everywhere are ignored."""
    f = _costs(points)
    r = np.asarray(ref, dtype=float).reshape(-1)
    if f.size == 0:
        return 0.0
    if r.shape[0] != f.shape[1]:
        raise ConfigError(f"reference point has {r.shape[0]} entries for {f.shape[1]} objectives")
    if not np.all(np.isfinite(r)):
        raise ConfigError(f"reference point must be finite, got {r.tolist()}")
    f = f[np.all(f < r, axis=1)]
    if len(f) == 0:
        return 0.0
    m = f.shape[1]
    if m == 1:
        return float(r[0] - f[:, 0].min())
    if m == 2:
        return _hv2_sweep(f, r)
    if m == 3:
        return _hv3(f, r)
    raise ConfigError(f"exact hypervolume is implemented for 1-3 objectives, got {m}")
