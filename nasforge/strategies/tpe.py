"""TPE through Optuna's own sampler (Bergstra et al. 2011; ``optuna.samplers.TPESampler``), not re-written.

The adapter maps the space's flat categorical view onto Optuna: decision ``i`` of ``space.decisions()``
becomes the parameter ``"<i>:<name>"`` with ``CategoricalDistribution(range(n))`` (choice indices, so any
choice value works). It works on every space with a flat view; conditional decisions are handled
define-by-run: decisions are visited in order and decision ``i`` is suggested only while
``space.active(indices so far)[i]`` holds (inactive ones read 0, as ``from_flat`` expects).

State and replay. Optuna keeps an in-memory study whose COMPLETE trials are exactly the told COMPLETE
trials, added (``study.add_trial``) in tell order; TPE reads nothing else (FAILED/PRUNED told trials are
added as FAIL, which TPE ignores). Every proposal is one Optuna ``ask`` whose trial is closed right away
with ``study.tell(state=FAIL)``: a proposal the base class filters as a duplicate therefore never leaves
a dangling RUNNING trial, and pending proposals do not change TPE's model (as with Optuna's
``constant_liar=False``). The sampler is reseeded before each proposal (as if re-created as
``TPESampler(seed=s)``) with ``s`` drawn from the strategy's per-ask generator (derived from
``(seed, #told, #pending)``), so the whole state is a function of the told trials and resume-by-replay
reproduces the original run (``tests/test_tpe.py`` checks it).
"""

from __future__ import annotations

from typing import Any

from nasforge.errors import ConfigError
from nasforge.strategies.base import Strategy, positive_int
from nasforge.trial import Candidate, Trial, TrialState

_SAMPLER_OPTIONS = ("n_startup_trials", "n_ei_candidates", "multivariate", "group", "constant_liar")


def _import_optuna() -> Any:
    try:
        import optuna
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError("strategy 'tpe' needs Optuna: pip install 'nasforge[bench]'") from exc
    return optuna


def _reseed(study: Any, seed: int, make_sampler: Any) -> None:
    """Make ``study.sampler`` behave exactly like ``TPESampler(seed=seed)`` for the next ask.

    A deterministic counterpart of ``TPESampler.reseed_rng()`` (which draws OS entropy): it reseeds the
    sampler's two random states in place, keeping Optuna's incremental search-space cache (re-creating
    the sampler at every ask recomputes that cache over all trials and made TPE ~3x slower). If Optuna's
    private layout ever changes, it falls back to a fresh sampler (same behaviour, slower).
    """
    sampler = study.sampler
    random_sampler = getattr(sampler, "_random_sampler", None)
    states = (getattr(sampler, "_rng", None), getattr(random_sampler, "_rng", None))
    if all(hasattr(state, "rng") and hasattr(state.rng, "seed") for state in states):
        for state in states:
            state.rng.seed(seed)
    else:  # pragma: no cover - depends on Optuna internals
        study.sampler = make_sampler(seed)


class TPEStrategy(Strategy):
    """Optuna's ``TPESampler`` driven through ask/tell on the space's flat categorical view.

    Args:
        n_startup_trials: random trials before TPE starts (Optuna's default 10).
        n_ei_candidates: candidates scored by the acquisition per parameter (Optuna's default 24).
        multivariate: Optuna's multivariate TPE (``None``: Optuna's default).
        group: Optuna's group decomposition (needs ``multivariate``).
        constant_liar: passed to ``TPESampler``; has no effect here since proposals are closed at once.
    """

    name = "tpe"

    def __init__(
        self,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 24,
        multivariate: bool | None = None,
        group: bool = False,
        constant_liar: bool = False,
    ) -> None:
        positive_int("n_startup_trials", n_startup_trials, 0)
        positive_int("n_ei_candidates", n_ei_candidates)
        flags = (("multivariate", multivariate), ("group", group), ("constant_liar", constant_liar))
        for flag, value in flags:
            if value is not None and not isinstance(value, bool):
                raise ConfigError(f"{flag} must be true or false, got {value!r}")
        super().__init__(
            n_startup_trials=n_startup_trials,
            n_ei_candidates=n_ei_candidates,
            multivariate=multivariate,
            group=group,
            constant_liar=constant_liar,
        )
        self._study: Any = None
        self._names: list[str] = []
        self._dists: list[Any] = []
        self._proposals = 0

    def on_setup(self) -> None:
        optuna = _import_optuna()
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # no per-trial INFO lines
        decisions = self._space().decisions()
        self._names = [f"{i}:{d.name}" for i, d in enumerate(decisions)]
        self._dists = [optuna.distributions.CategoricalDistribution(list(range(d.n))) for d in decisions]
        self._study = self._new_study()
        self._proposals = 0

    def _new_study(self) -> Any:
        """An in-memory Optuna study: one maximised value per objective (several objectives: Optuna's
        multi-objective TPE, Ozaki et al. 2020/2022, reads the values as a vector)."""
        optuna = _import_optuna()
        n = len(self.objectives) if self.objectives else 1
        return optuna.create_study(directions=["maximize"] * n, sampler=self._sampler(self.seed))

    def _values(self, trial: Trial) -> list[float] | None:
        """The told trial's values for Optuna (each maximised), ``None`` if it has none."""
        if trial.state is not TrialState.COMPLETE:
            return None
        if not self.objectives:
            return None if trial.value is None else [float(trial.value)]
        if trial.metrics.get("constraint_violation"):
            return None  # infeasible: told as FAIL, which TPE ignores
        from nasforge.multiobjective.objectives import cost_vector

        costs = cost_vector(trial.metrics, self.objectives)
        return None if costs is None else [-float(c) for c in costs]

    def retries_per_ask(self) -> int:
        """Re-proposals allowed per ask: 10 early on, down to 1 at 1,000 told trials.

        One Optuna proposal costs time linear in the told trials (about 10 ms at 1,000), and a
        converged TPE keeps re-proposing known architectures; past that point a random sample is the
        cheaper way to a new one. Early on, re-proposing keeps the search TPE's (30 seeds x 9
        NAS-Bench-Graph datasets: 0.81 points of regret with a single try, 0.73 with many).
        """
        return max(1, min(10, 1000 // max(len(self.history), 1)))

    def _sampler(self, seed: int) -> Any:
        optuna = _import_optuna()
        options = {k: self.params[k] for k in _SAMPLER_OPTIONS if self.params[k] is not None}
        if options.get("group") is False:
            options.pop("group")
        try:
            return optuna.samplers.TPESampler(seed=seed, **options)
        except ValueError as exc:  # e.g. group=True without multivariate=True
            raise ConfigError(f"strategy 'tpe': invalid TPESampler options {options}: {exc}") from exc

    def propose(self) -> Candidate:
        optuna = _import_optuna()
        space = self._space()
        _reseed(self._study, int(self.rng.integers(2**31 - 1)), self._sampler)
        trial = self._study.ask()
        indices = [0] * len(self._names)
        for i, (name, dist) in enumerate(zip(self._names, self._dists, strict=True)):
            if space.active(indices)[i]:
                indices[i] = int(trial.suggest_categorical(name, dist.choices))
        self._study.tell(trial, state=optuna.trial.TrialState.FAIL)
        self._proposals += 1
        if self._proposals > max(100, len(self.history)):
            self._compact()
        return Candidate(space.from_flat(indices))

    def _compact(self) -> None:
        """Rebuild the Optuna study from the told trials only, dropping the closed proposals.

        TPE never reads FAIL trials, so this changes no proposal; it keeps Optuna's per-sample cost
        (linear in the study's trial count) proportional to the told trials.
        """
        self._study = self._new_study()
        self._proposals = 0
        for told in self.history:
            self._add(told)

    def observe(self, trial: Trial) -> None:
        self._add(trial)

    def _add(self, trial: Trial) -> None:
        optuna = _import_optuna()
        space = self._space()
        indices = space.to_flat(trial.architecture)
        active = space.active(indices)
        params = {n: int(indices[i]) for i, n in enumerate(self._names) if active[i]}
        dists = {n: self._dists[i] for i, n in enumerate(self._names) if active[i]}
        values = self._values(trial)
        if values is not None:
            frozen = optuna.trial.create_trial(params=params, distributions=dists, values=values)
        else:
            frozen = optuna.trial.create_trial(
                params=params, distributions=dists, state=optuna.trial.TrialState.FAIL
            )
        self._study.add_trial(frozen)
