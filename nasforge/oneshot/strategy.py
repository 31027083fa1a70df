"""One-shot methods as ask/tell strategies: the genotypes a supernet search derived, one per ask.

A :class:`OneShotStrategy` stores only its keyword parameters (the method's options; that is its
config in the store). The study's one-shot phase (:func:`nasforge.oneshot.phase.run_phase`) trains
the supernet with :meth:`OneShotStrategy.make_search`, derives genotypes with
:meth:`OneShotStrategy.derive` and records them in the study; :meth:`OneShotStrategy.set_derived`
hands them back (from that record on every resume), and each ``ask`` proposes the next one, to be
retrained from scratch by the study's evaluator. State is the derived list plus the told trials, so
resume is replay as for every strategy.

* ``darts``: one genotype, the discretised alphas (``order`` 1 or 2).
* ``spos`` / ``path-dropout``: a black-box ``search_strategy`` (regularized evolution by default) asks
  ``queries`` genotypes of the supernet (scored by shared weights after BN recalibration); the best
  ``top_k`` are derived.
* ``retrain``: the given ``genotypes`` (how ``--evaluator supernet`` studies retrain their best).
"""

from __future__ import annotations

from typing import Any, ClassVar

from nasforge.checks import check_int
from nasforge.errors import ConfigError
from nasforge.space.architecture import Architecture
from nasforge.strategies.base import Strategy
from nasforge.trial import Candidate

#: options every supernet-training method takes (passed to :class:`~nasforge.oneshot.base.SupernetSearch`)
TRAIN_KEYS = ("epochs", "batch_size", "lr", "lr_min", "momentum", "weight_decay", "grad_clip")


class OneShotStrategy(Strategy):
    """Propose the derived genotypes in order (random samples once they are used up)."""

    #: whether the method trains a supernet (``retrain`` does not)
    trains_supernet: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.derived: list[Architecture] = []

    def on_setup(self) -> None:
        if self.trains_supernet:
            from nasforge.models.supernet import check_supernet_space

            check_supernet_space(self.space)

    def set_derived(self, genotypes: list[Any]) -> None:
        """The genotypes to propose (Architecture objects or their dicts)."""
        self.derived = [g if isinstance(g, Architecture) else Architecture.from_dict(g) for g in genotypes]

    def n_derived(self) -> int:
        return len(self.derived)

    def propose(self) -> Candidate:
        k = len(self.history) + len(self.pending)
        if k < len(self.derived):
            return Candidate(self.derived[k])
        return Candidate(self._space().sample(self.rng))

    # -- the supernet phase -------------------------------------------------------------------
    def search_class(self) -> Any:
        raise NotImplementedError

    def search_options(self) -> dict[str, Any]:
        return {k: v for k, v in self.params.items() if k in TRAIN_KEYS}

    def make_search(self, space: Any, task: Any, *, seed: int, device: str, checkpoint_dir: Any) -> Any:
        """The supernet search this method runs (resuming from ``checkpoint_dir`` if it holds a state)."""
        return self.search_class()(space, task, seed=seed, device=device, checkpoint_dir=checkpoint_dir,
                                   **self.search_options())

    def derive(self, search: Any) -> tuple[list[Architecture], dict[str, Any]]:
        """``(genotypes to retrain, extra record entries)`` from the trained ``search``."""
        raise NotImplementedError


class DartsStrategy(OneShotStrategy):
    """DARTS (see :mod:`nasforge.oneshot.darts`); options: ``order``, ``alpha_lr``,
    ``alpha_weight_decay``, ``xi``, ``max_skip``, ``max_param_free``, ``freeze_share``, ``warmup_epochs``
    and the supernet's
    ``epochs``/``batch_size``/``lr``/...."""

    name = "darts"
    KEYS = ("order", "alpha_lr", "alpha_weight_decay", "xi", "max_skip", "max_param_free", "freeze_share",
            "warmup_epochs")

    def __init__(self, **params: Any) -> None:
        from nasforge.oneshot.darts import check_options

        _check_keys(self.name, params, (*self.KEYS, *TRAIN_KEYS))
        check_options(**params)
        super().__init__(**params)

    def search_class(self) -> Any:
        from nasforge.oneshot.darts import Darts

        return Darts

    def search_options(self) -> dict[str, Any]:
        return {**super().search_options(), **{k: v for k, v in self.params.items() if k in self.KEYS}}

    def derive(self, search: Any) -> tuple[list[Architecture], dict[str, Any]]:
        return [search.derived()], {}


class _SampledStrategy(OneShotStrategy):
    KEYS = ("search_strategy", "queries", "top_k", "calib_batches")

    def __init__(self, **params: Any) -> None:
        _check_keys(self.name, params, (*self.KEYS, *self.EXTRA, *TRAIN_KEYS))
        check_int("queries", params.get("queries", 100), 1)
        check_int("top_k", params.get("top_k", 1), 1)
        from nasforge import strategies

        strategies.STRATEGIES.get(params.get("search_strategy", "regularized-evolution"))
        super().__init__(**params)

    EXTRA: ClassVar[tuple[str, ...]] = ()

    def search_options(self) -> dict[str, Any]:
        return {**super().search_options(), **{k: v for k, v in self.params.items() if k in self.EXTRA}}

    def derive(self, search: Any) -> tuple[list[Architecture], dict[str, Any]]:
        from nasforge.oneshot.sampling import search_on_supernet

        strategy = self.params.get("search_strategy", "regularized-evolution")
        top = search_on_supernet(search, strategy, int(self.params.get("queries", 100)),
                                 int(self.params.get("top_k", 1)), seed=self.seed,
                                 calib_batches=int(self.params.get("calib_batches", 4)))
        archs = [Architecture(search.space.name, t["genes"]) for t in top]
        return archs, {"search_strategy": strategy, "queries": int(self.params.get("queries", 100)),
                       "candidates": [{"genotype": a.to_dict(), "supernet": t["valid_acc"]}
                                      for a, t in zip(archs, top, strict=True)]}


class SposStrategy(_SampledStrategy):
    """SPOS supernet + a black-box search on it (see :mod:`nasforge.oneshot.sampling`)."""

    name = "spos"

    def search_class(self) -> Any:
        from nasforge.oneshot.sampling import Spos

        return Spos


class PathDropoutStrategy(_SampledStrategy):
    """Path-dropout one-shot supernet (``drop_rate``) + a black-box search on it."""

    name = "path-dropout"
    EXTRA = ("drop_rate",)

    def search_class(self) -> Any:
        from nasforge.oneshot.sampling import PathDropout

        return PathDropout


class RetrainStrategy(OneShotStrategy):
    """Propose the given ``genotypes`` (dicts), e.g. the best of a supernet-scored study."""

    name = "retrain"
    trains_supernet = False

    def __init__(self, genotypes: list[dict[str, Any]] | None = None, source: str | None = None) -> None:
        if not isinstance(genotypes, list) or not genotypes:
            raise ConfigError("strategy 'retrain' needs genotypes=[...] (a non-empty list of genotype dicts)")
        super().__init__(genotypes=genotypes, source=source)
        self.set_derived(genotypes)


def _check_keys(name: str, params: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(f"one-shot method {name!r} does not take {unknown}; it takes {sorted(allowed)}")


__all__ = ["DartsStrategy", "OneShotStrategy", "PathDropoutStrategy", "RetrainStrategy", "SposStrategy"]
