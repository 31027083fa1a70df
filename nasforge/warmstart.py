"""Warm starts: seed a new study with what earlier studies in the store learned (meta-learning).

``nasforge search --warm-start A,B`` (API: ``Study.create(..., warm_start=["A", "B"])``) or
``--warm-start auto``. The method, for every strategy:

1. **Sources.** Named studies, or with ``auto`` every other study in the store whose space is
   compatible and whose task descriptor is closest (:func:`task_distance`: 0 for the same task, 1 for
   another dataset of the same tabular benchmark or another training task of the same input kind,
   plus terms for differing shapes, classes and sizes); all studies at the smallest distance are used.
   A compatible space has the same name and parameters, except ``dataset``; the sources' first
   objective must be the new study's.
2. **Recorded data.** The sources' completed trials (genes and value, best ``max_trials`` per source)
   are copied into the new study's config (``warm_start.data``), so the warm start is read from the
   store once and replay never reads the sources again.
3. **Portfolio first (zero-shot).** Each source's values become quantiles in (0, 1]; an architecture's
   score is the shrunk mean ``(sum of its quantiles + 0.5) / (number of sources that ran it + 1)``;
   the ``top_k`` best (valid in the new space) are the study's first candidates, in that order
   (the base :class:`~nasforge.strategies.base.Strategy` asks them before its own proposals, so they
   fill regularized evolution's initial population and GP's initial design).
4. **Surrogate prior (GP).** The GP strategy also fits its residuals over a prior mean learnt from the
   pooled source quantiles (see :mod:`nasforge.strategies.gp`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from nasforge.errors import ConfigError
from nasforge.space.architecture import Architecture

DEFAULT_TOP_K = 10
MAX_TRIALS = 200


def _names(spec: Any) -> list[str] | str:
    if isinstance(spec, str):
        if spec.strip() == "auto":
            return "auto"
        names = [s.strip() for s in spec.split(",") if s.strip()]
    elif isinstance(spec, Sequence):
        names = [str(s) for s in spec]
    else:
        raise ConfigError(f"warm_start must be study names or 'auto', got {spec!r}")
    if not names:
        raise ConfigError("--warm-start needs study names (A,B) or 'auto'")
    return names


def compatible_space(source: dict[str, Any] | None, target: dict[str, Any]) -> bool:
    """Same space name and parameters, ``dataset`` aside."""
    if not isinstance(source, dict):
        return False
    strip = lambda c: {k: v for k, v in c.items() if k != "dataset"}  # noqa: E731
    return strip(source) == strip(target)


def task_distance(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float:
    """How far two task descriptors are (``inf``: not related; see the module docstring)."""
    a, b = a or {}, b or {}
    if a.get("kind") == "tabular-benchmark" or b.get("kind") == "tabular-benchmark":
        if a.get("kind") != b.get("kind"):
            return math.inf
        bench_a, bench_b = str(a.get("name", "")).split("/")[0], str(b.get("name", "")).split("/")[0]
        if bench_a != bench_b:
            return math.inf
        return 0.0 if a.get("name") == b.get("name") else 1.0
    if a.get("name") == b.get("name") and a.get("data_hash") == b.get("data_hash"):
        return 0.0
    shape_a, shape_b = a.get("input_shape"), b.get("input_shape")
    if shape_a is not None and shape_b is not None and len(shape_a) != len(shape_b):
        return math.inf  # another input kind
    d = 1.0 + (shape_a != shape_b) + 0.5 * (a.get("num_classes") != b.get("num_classes"))
    na, nb = a.get("n_train"), b.get("n_train")
    if isinstance(na, (int, float)) and isinstance(nb, (int, float)) and na > 0 and nb > 0:
        d += abs(math.log(na / nb)) / 10
    return d


def resolve(store: Any, name: str, spec: Any, config: dict[str, Any], space: Any = None,
            top_k: int = DEFAULT_TOP_K) -> dict[str, Any]:
    """The ``warm_start`` config entry (``{}`` without ``spec``): the spec as given and the data read
    from the sources now. Raises :class:`ConfigError` for a missing study or an incompatible one."""
    if spec is None or spec == [] or spec == "":
        return {}
    names = _names(spec)
    records = {r.name: r for r in store.list_studies()}
    if names == "auto":
        related = []
        for rec in records.values():
            if rec.name == name or not compatible_space(rec.config.get("space"), config["space"]):
                continue
            if rec.config.get("objective") != config["objective"]:
                continue
            d = task_distance(rec.config.get("task"), config.get("task"))
            if math.isfinite(d) and any(t.value is not None for t in store.history(rec.id)):
                related.append((d, rec.name))
        if not related:
            raise ConfigError(
                f"--warm-start auto: the store has no other study on a compatible space "
                f"({config['space'].get('name')}) with objective {config['objective']!r}; run one first or "
                "name the sources"
            )
        best = min(d for d, _ in related)
        chosen = sorted(n for d, n in related if d == best)
    else:
        chosen = []
        for source in names:
            if source not in records:
                raise ConfigError(
                    f"--warm-start: no study {source!r} in {store.path}; see `nasforge status` for the "
                    "stored studies"
                )
            if source == name:
                raise ConfigError(f"--warm-start: study {name!r} cannot warm-start from itself")
            rec = records[source]
            if not compatible_space(rec.config.get("space"), config["space"]):
                raise ConfigError(
                    f"--warm-start: study {source!r} searched an incompatible space "
                    f"({rec.config.get('space')}); the new study's is {config['space']}"
                )
            if rec.config.get("objective") != config["objective"]:
                raise ConfigError(
                    f"--warm-start: study {source!r} optimised {rec.config.get('objective')!r}, this study "
                    f"optimises {config['objective']!r}"
                )
            chosen.append(source)
    sources = []
    for source in chosen:
        rec = records[source]
        done = [t for t in store.history(rec.id) if t.value is not None and t.state.value == "COMPLETE"]
        done.sort(key=lambda t: (-t.value, t.number))
        sources.append({
            "study": source,
            "task": (rec.config.get("task") or {}).get("name"),
            "trials": [[t.architecture.genes, float(t.value)] for t in done[:MAX_TRIALS]],
        })
    if not any(s["trials"] for s in sources):
        raise ConfigError(f"--warm-start: the source studies {chosen} have no completed trial")
    text = spec if isinstance(spec, str) else ",".join(names)
    return {"warm_start": {"spec": text, "top_k": int(top_k),
                           "data": {"top_k": int(top_k), "sources": sources}}}


def source_quantiles(data: dict[str, Any], space: Any) -> dict[str, tuple[Architecture, list[float]]]:
    """Canonical hash -> (architecture, its quantile in each source that ran it); architectures
    invalid in ``space`` are left out."""
    out: dict[str, tuple[Architecture, list[float]]] = {}
    for source in data.get("sources", []):
        trials = source.get("trials") or []
        values = sorted(v for _, v in trials)
        n = len(values)
        for genes, value in trials:
            arch = Architecture(space.name, genes)
            try:
                space.validate(arch)
                key = space.canonical_hash(arch)
            except Exception:
                continue
            below = sum(1 for v in values if v <= value)
            out.setdefault(key, (arch, []))[1].append(below / n)
    return out


def portfolio(data: dict[str, Any] | None, space: Any, top_k: int | None = None) -> list[Architecture]:
    """The warm-start portfolio (step 3 of the module docstring), best first."""
    if not data:
        return []
    k = int(data.get("top_k", DEFAULT_TOP_K) if top_k is None else top_k)
    scored = [((sum(q) + 0.5) / (len(q) + 1), key, arch) for key, (arch, q) in
              source_quantiles(data, space).items()]
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [arch for _, _, arch in scored[:k]]
