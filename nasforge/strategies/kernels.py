"""Architecture kernels of the GP strategy (:mod:`nasforge.strategies.gp`) beyond the feature kernels.

Every kernel here gives a *similarity* ``S(x, x')`` with ``S(x, x) = 1``; the GP uses ``exp((S - 1) / l)``
with a length scale ``l`` chosen by marginal likelihood, exactly as for the WL / one-hot feature kernels
(normalised feature dot products, :class:`~nasforge.strategies.candidates.FeatureMap`).

* :class:`ArcKernel` (Swersky, Duvenaud, Snoek, Hutter & Osborne, "Raiders of the Lost Architecture:
  Kernels for Bayesian Optimization in Conditional Parameter Spaces", 2013): every decision of the flat
  view is embedded on an arc, ``g_i(x) = w [sin(pi rho u_i), cos(pi rho u_i)]`` for a numeric value
  ``u_i`` in [0, 1] (a joint space's floats, on their log scale where ``log``) and the scaled one-hot
  of the choice for a categorical; an *inactive* decision maps to the origin, so two genotypes that
  differ only in inactive parameters embed identically (kernel value 1). ``S = 1 - |g - g'|^2 / (2 m)``
  with ``m`` the number of decisions, so ``exp((S - 1) / l)`` is the squared-exponential kernel on the
  embedding.
* :class:`OtmannKernel` (Kandasamy, Neiswanger, Schneider, Poczos & Xing, "Neural Architecture Search
  with Bayesian Optimisation and Optimal Transport", NeurIPS 2018): the OTMANN distance between the
  graphs of ``to_graph`` is an optimal transport of *layer masses* (a chain layer's width relative to
  64, else 1; input/output 10% of the rest, as in NASBOT) with three costs: the *label mismatch* cost
  (0 for the same op, 0.2 within an op family, 1 across families, forbidden between input/output and
  other layers), the *non-assignment* cost (1 per unit of mass left unmatched, through a null node on
  each side) and the *structural* cost ``nu_str`` times the mean absolute difference of the layers'
  shortest, longest and random-walk path lengths from the input and to the output. The transport is
  solved with ``scipy.optimize.linprog`` (HiGHS), or with POT's network simplex (``ot.emd2``, same
optimum, about 20x faster) where POT is installed; the distance is normalised by the total mass and
  ``S = 1 - d``. Distances are cached per pair of canonical hashes.

On a joint space (architecture + training hyperparameters) the OTMANN similarity of the architectures
is averaged with the arc similarity of the hyperparameters, so the GP still sees the learning rate.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import linprog

from nasforge.space.architecture import Architecture
from nasforge.space.base import Graph, SearchSpace

#: op name -> family for the label-mismatch cost (unknown ops are their own family)
FAMILIES = {
    "conv": "conv", "sep_conv": "conv", "dil_conv": "conv", "conv_3x3": "conv", "conv_1x1": "conv",
    "max_pool": "pool", "avg_pool": "pool", "identity": "skip", "skip": "skip", "skip_connect": "skip",
    "dense": "fc", "fc": "fc", "linear": "fc",
    "gcn": "mp", "gat": "mp", "sage": "mp", "gin": "mp", "cheb": "mp", "arma": "mp", "k-gnn": "mp",
    "graph": "mp", "sgc": "mp", "appnp": "mp", "gated": "mp",
}
TERMINALS = ("input", "output")


def _unit_values(space: SearchSpace, arch: Architecture) -> dict[int, float]:
    """Flat position -> value in [0, 1] of every numeric (float) decision ``space`` exposes."""
    getter = getattr(space, "float_units", None)
    return {} if getter is None else getter(arch)


def _float_hps(space: SearchSpace) -> dict[int, Any]:
    hps = getattr(space, "hps", None)
    inner = getattr(space, "inner", None)
    if hps is None or inner is None:
        return {}
    offset = len(inner.decisions())
    return {offset + i: h for i, h in enumerate(hps) if h.is_float}


class ArcKernel:
    """Swersky et al.'s arc kernel on the flat view (see the module docstring).

    Args:
        rho: arc angle factor in (0, 1]: a numeric decision spans ``pi * rho`` radians.
        positions: only these flat positions (``None``: all).
    """

    def __init__(self, rho: float = 0.5, positions: Sequence[int] | None = None) -> None:
        self.rho = float(rho)
        self.positions = None if positions is None else list(positions)
        self._cache: dict[str, np.ndarray] = {}

    def embed(self, space: SearchSpace, arch: Architecture, key: str | None = None) -> np.ndarray:
        """The arc embedding of ``arch`` (inactive decisions at the origin)."""
        key = space.canonical_hash(arch) if key is None else key
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self.embed_flat(space, space.to_flat(arch), _unit_values(space, arch))
        return found

    def embed_flat(self, space: SearchSpace, flat: Sequence[int], floats: dict[int, float] | None = None
                   ) -> np.ndarray:
        """The embedding of an index vector of the flat view (``floats``: flat position -> unit value of
        a float decision); entries of inactive decisions are never read."""
        decisions = space.decisions()
        active = space.active(flat)
        floats = floats or {}
        numeric = _float_hps(space)
        parts: list[np.ndarray] = []
        for i in self.positions if self.positions is not None else range(len(decisions)):
            if i in numeric:
                vec = np.zeros(2)
                if active[i] and i in floats:
                    angle = math.pi * self.rho * floats[i]
                    vec = np.array([math.sin(angle), math.cos(angle)])
            else:
                vec = np.zeros(decisions[i].n)
                if active[i]:
                    vec[flat[i]] = 1.0
            parts.append(vec)
        return np.concatenate(parts) if parts else np.zeros(1)

    def dimension_count(self, space: SearchSpace) -> int:
        return len(self.positions) if self.positions is not None else len(space.decisions())

    def similarity(self, space: SearchSpace, a: Sequence[Architecture], b: Sequence[Architecture],
                   keys_a: Sequence[str] | None = None, keys_b: Sequence[str] | None = None) -> np.ndarray:
        """``S[i, j] = 1 - |g(a_i) - g(b_j)|^2 / (2 m)``."""
        ea = np.stack([self.embed(space, x, None if keys_a is None else keys_a[i]) for i, x in enumerate(a)])
        eb = np.stack([self.embed(space, x, None if keys_b is None else keys_b[i]) for i, x in enumerate(b)])
        sq = (ea * ea).sum(1)[:, None] + (eb * eb).sum(1)[None, :] - 2.0 * ea @ eb.T
        return 1.0 - np.maximum(sq, 0.0) / (2.0 * max(self.dimension_count(space), 1))


# -- OTMANN ---------------------------------------------------------------------------------------
def _layers(space: SearchSpace, arch: Architecture) -> tuple[Graph, list[int], np.ndarray]:
    """The graph, the nodes on some input-to-output path, and their masses."""
    graph = space.to_graph(arch)
    adj = np.asarray(graph.adjacency, dtype=bool)
    n = adj.shape[0]
    reach_in = _reach(adj, 0)
    reach_out = _reach(adj.T, n - 1)
    nodes = [i for i in range(n) if reach_in[i] and reach_out[i]]
    genes = arch.genes
    inner = genes.get("arch", genes) if arch.space == "joint" else genes
    layers = inner.get("layers") if isinstance(inner, dict) else None
    mass = np.ones(len(nodes))
    for k, node in enumerate(nodes):
        if isinstance(layers, list) and 0 < node <= len(layers) and isinstance(layers[node - 1], dict):
            width = layers[node - 1].get("width")
            if isinstance(width, (int, float)) and width > 0:
                mass[k] = float(width) / 64.0
    terminal = [k for k, node in enumerate(nodes) if graph.labels[node] in TERMINALS]
    rest = float(mass.sum() - mass[terminal].sum())
    mass[terminal] = 0.1 * max(rest, 1.0)
    return graph, nodes, mass


def _reach(adj: np.ndarray, start: int) -> np.ndarray:
    seen = np.zeros(adj.shape[0], dtype=bool)
    stack = [start]
    seen[start] = True
    while stack:
        u = stack.pop()
        for v in np.flatnonzero(adj[u]):
            if not seen[v]:
                seen[v] = True
                stack.append(int(v))
    return seen


def path_lengths(graph: Graph, nodes: list[int]) -> np.ndarray:
    """Per node of ``nodes``: shortest, longest and random-walk path lengths from the input and to the
    output (NASBOT's six structural features; the graph is a DAG in topological node order)."""
    adj = np.asarray(graph.adjacency, dtype=bool)
    keep = set(nodes)
    n = adj.shape[0]
    out = np.zeros((n, 6))
    inf = float("inf")
    sp, lp, rw = [inf] * n, [-inf] * n, [0.0] * n
    sp[0] = lp[0] = 0.0
    for v in range(1, n):
        preds = [u for u in np.flatnonzero(adj[:, v]) if u in keep and sp[u] < inf]
        if preds:
            sp[v] = 1 + min(sp[u] for u in preds)
            lp[v] = 1 + max(lp[u] for u in preds)
            rw[v] = 1 + float(np.mean([rw[u] for u in preds]))
    so, lo, ro = [inf] * n, [-inf] * n, [0.0] * n
    so[n - 1] = lo[n - 1] = 0.0
    for v in range(n - 2, -1, -1):
        succs = [w for w in np.flatnonzero(adj[v]) if w in keep and so[w] < inf]
        if succs:
            so[v] = 1 + min(so[w] for w in succs)
            lo[v] = 1 + max(lo[w] for w in succs)
            ro[v] = 1 + float(np.mean([ro[w] for w in succs]))
    for v in nodes:
        out[v] = [sp[v], lp[v], rw[v], so[v], lo[v], ro[v]]
    return out[nodes]


@functools.lru_cache(maxsize=4096)
def label_cost(a: str, b: str) -> float:
    """NASBOT's label-mismatch cost: 0 same op, 0.2 same family, 1 otherwise; ``inf`` between a
    terminal (input/output) and anything else."""
    if a == b:
        return 0.0
    if a in TERMINALS or b in TERMINALS:
        return math.inf
    fa, fb = FAMILIES.get(a, a), FAMILIES.get(b, b)
    return 0.2 if fa == fb else 1.0


LayerTable = tuple[list[str], np.ndarray, np.ndarray]


def layer_table(space: SearchSpace, arch: Architecture) -> LayerTable:
    """``(labels, masses, structural features)`` of the layers of ``arch`` on an input-output path."""
    graph, nodes, mass = _layers(space, arch)
    return [graph.labels[i] for i in nodes], mass, path_lengths(graph, nodes)


def transport_problem(ta: LayerTable, tb: LayerTable,
                      nu_str: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(cost, allowed, supply, demand)`` of the OTMANN transport between two layer tables; the last
    row / column is each side's null node (non-assignment)."""
    la, ma, sa = ta
    lb, mb, sb = tb
    p, q = len(la), len(lb)
    lm = np.array([[label_cost(x, y) for y in lb] for x in la], dtype=np.float64).reshape(p, q)
    allowed = np.ones((p + 1, q + 1), dtype=bool)
    allowed[:p, :q] = lm < math.inf
    lm[~allowed[:p, :q]] = 0.0
    cost = np.ones((p + 1, q + 1))
    cost[p, q] = 0.0
    cost[:p, :q] = lm + (nu_str / 6.0) * np.abs(sa[:, None, :] - sb[None, :, :]).sum(-1)
    supply, demand = np.empty(p + 1), np.empty(q + 1)
    supply[:p], supply[p] = ma, mb.sum()
    demand[:q], demand[q] = mb, ma.sum()
    return cost, allowed, supply, demand


def solve_transport(cost: np.ndarray, allowed: np.ndarray, supply: np.ndarray, demand: np.ndarray,
                    solver: str = "linprog") -> float:
    """The optimal transport cost: ``scipy.optimize.linprog`` (HiGHS; forbidden cells bounded to 0) or
    ``"pot"`` (POT's network simplex ``ot.emd2``; forbidden cells priced out, which is exact because
    sending mass through the null nodes never costs more than 2 per unit)."""
    if solver == "pot":
        priced = np.ascontiguousarray(np.where(allowed, cost, 1e6), dtype=np.float64)
        return _pot_emd(np.ascontiguousarray(supply, dtype=np.float64),
                        np.ascontiguousarray(demand, dtype=np.float64), priced)
    rows, cols = cost.shape
    a_eq = np.zeros((rows + cols, rows * cols))
    for i in range(rows):
        a_eq[i, i * cols:(i + 1) * cols] = 1.0
    for j in range(cols):
        a_eq[rows + j, j::cols] = 1.0
    bounds = [(0.0, None if ok else 0.0) for ok in allowed.ravel()]
    result = linprog(cost.ravel(), A_eq=a_eq, b_eq=np.concatenate([supply, demand]), bounds=bounds,
                     method="highs")
    if not result.success:  # pragma: no cover - the null nodes make every problem feasible
        raise RuntimeError(f"OTMANN transport failed: {result.message}")
    return float(result.fun)


def _pot_emd(supply: np.ndarray, demand: np.ndarray, cost: np.ndarray) -> float:
    """POT's network simplex: its C entry point (``emd_c``, no per-call input checks: about 40x less
    overhead than ``ot.emd2``) where this POT has it, else ``ot.emd2``."""
    try:
        from ot.lp.emd_wrap import emd_c
    except ImportError:  # pragma: no cover - depends on the POT version
        import ot

        return float(ot.emd2(supply, demand, cost))
    result = emd_c(supply, demand, cost, 100_000, 1)
    return float(result[1])


def otmann_distance(space: SearchSpace, a: Architecture, b: Architecture, nu_str: float = 0.1,
                    solver: str = "linprog") -> float:
    """The normalised OTMANN distance of ``a`` and ``b`` (>= 0; 0 for an architecture and itself)."""
    ta, tb = layer_table(space, a), layer_table(space, b)
    cost, allowed, supply, demand = transport_problem(ta, tb, nu_str)
    total = float(ta[1].sum() + tb[1].sum())
    return max(solve_transport(cost, allowed, supply, demand, solver), 0.0) / total


def default_solver() -> str:
    """``"pot"`` where POT is installed (about 20x faster), else ``"linprog"``."""
    from nasforge.registry import installed

    return "pot" if installed("ot") else "linprog"


class OtmannKernel:
    """``S = 1 - d_OTMANN`` (see the module docstring); on a joint space averaged with the arc kernel
    of the hyperparameters. ``nu_str`` weighs the structural cost."""

    def __init__(self, nu_str: float = 0.1, solver: str | None = None) -> None:
        self.nu_str = float(nu_str)
        self.solver = solver or default_solver()
        self._dist: dict[tuple[str, str], float] = {}
        self._tables: dict[str, LayerTable] = {}
        self._hp: ArcKernel | None = None

    def distance(self, space: SearchSpace, a: Architecture, b: Architecture,
                 ka: str | None = None, kb: str | None = None) -> float:
        ka = space.canonical_hash(a) if ka is None else ka
        kb = space.canonical_hash(b) if kb is None else kb
        if ka == kb:
            return 0.0
        pair = (ka, kb) if ka < kb else (kb, ka)
        found = self._dist.get(pair)
        if found is None:
            ta, tb = self._table(space, a, ka), self._table(space, b, kb)
            problem = transport_problem(ta, tb, self.nu_str)
            found = max(solve_transport(*problem, solver=self.solver), 0.0) / float(ta[1].sum() + tb[1].sum())
            self._dist[pair] = found
        return found

    def _table(self, space: SearchSpace, arch: Architecture, key: str) -> Any:
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = layer_table(space, arch)
        return table

    def similarity(self, space: SearchSpace, a: Sequence[Architecture], b: Sequence[Architecture],
                   keys_a: Sequence[str] | None = None, keys_b: Sequence[str] | None = None) -> np.ndarray:
        keys_a = [space.canonical_hash(x) for x in a] if keys_a is None else list(keys_a)
        keys_b = [space.canonical_hash(x) for x in b] if keys_b is None else list(keys_b)
        out = np.empty((len(a), len(b)))
        for i, x in enumerate(a):
            for j, y in enumerate(b):
                out[i, j] = 1.0 - self.distance(space, x, y, keys_a[i], keys_b[j])
        inner = getattr(space, "inner", None)
        if inner is not None and getattr(space, "hps", None):
            if self._hp is None:
                n = len(inner.decisions())
                self._hp = ArcKernel(positions=range(n, len(space.decisions())))
            out = 0.5 * (out + self._hp.similarity(space, a, b, keys_a, keys_b))
        return out


KERNELS = ("wl", "onehot", "arc", "otmann")


def make_kernel(name: str) -> ArcKernel | OtmannKernel | None:
    """The kernel object of ``name`` (``None`` for the feature kernels ``wl`` / ``onehot``)."""
    if name == "arc":
        return ArcKernel()
    if name == "otmann":
        return OtmannKernel()
    return None


__all__ = ["FAMILIES", "KERNELS", "ArcKernel", "OtmannKernel", "label_cost", "layer_table", "make_kernel",
           "otmann_distance", "path_lengths", "solve_transport", "transport_problem"]
