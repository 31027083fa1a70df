"""The :class:`Strategy` contract: ask/tell, seeded, replayable.

A strategy owns no threads, processes or store. Its state is a function of the trials told so far:
on resume the study re-tells the stored history (completion order) and the next ``ask`` is the one
the original run would have made. To make that hold, the random generator a proposal uses is derived
from ``(seed, trials told, asks pending)`` at every ask, never carried over.

Subclasses implement :meth:`propose` (and usually :meth:`observe`). The base class
- keeps ``self.history`` (told trials, completion order) and the pending candidates,
- never returns a pending or already-evaluated architecture (same canonical hash) unless the space
  is exhausted: proposals that collide are retried, then replaced by fresh random samples.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from nasforge.checks import check_int
from nasforge.errors import ConfigError, MorphismError
from nasforge.space.architecture import Architecture
from nasforge.space.base import SearchSpace
from nasforge.trial import Candidate, Trial, TrialState

_MAX_RETRIES = 50


class Strategy(ABC):
    """Base class of every black-box search strategy.

    Constructors only store keyword parameters (``self.params``); :meth:`setup` binds the space and
    seed and is called by the study before the first ``ask``/``tell``.
    """

    name: ClassVar[str] = ""
    #: proposals tried per ask before falling back to random samples (lower it where proposing is costly)
    proposal_retries: ClassVar[int] = _MAX_RETRIES
    #: the strategy works only on spaces with network-morphism operators (:meth:`check_space`)
    requires_morphisms: ClassVar[bool] = False

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dict(params)
        self.space: SearchSpace | None = None
        self.seed: int = 0
        self.history: list[Trial] = []
        self.pending: dict[str, Candidate] = {}
        self.evaluated: set[str] = set()
        self.rng: np.random.Generator = np.random.default_rng(0)
        self.objectives: list[Any] | None = None  # set by bind(): the study's objectives
        self.constraints: list[Any] = []
        self.warm_start: dict[str, Any] | None = None
        self.task: dict[str, Any] | None = None  # set by bind(): the study's task descriptor
        self._portfolio = None

    # -- life cycle ---------------------------------------------------------------------------
    def setup(self, space: SearchSpace, seed: int = 0) -> Strategy:
        """Bind the search space and the seed; resets all state. Returns ``self``."""
        check_int("seed", seed, 0)
        self.check_space(space)
        self.space = space
        self.seed = int(seed)
        self.history = []
        self.pending = {}
        self.evaluated = set()
        self.rng = np.random.default_rng([self.seed, 0, 0])
        self._portfolio: list[Architecture] | None = None
        self.on_setup()
        return self

    def on_setup(self) -> None:
        """Hook for subclasses: build state that depends on the space."""

    def check_space(self, space: SearchSpace) -> None:
        """Refuse a space this strategy cannot search (:class:`~nasforge.errors.MorphismError`, one line):
        with :attr:`requires_morphisms`, one without network-morphism operators."""
        if not self.requires_morphisms:
            return
        from nasforge.models.morphisms import MORPHISMS, supports

        if not supports(space):
            have = sorted({n.split(".", 1)[0] for n in MORPHISMS.names()})
            raise MorphismError(
                f"strategy {self.name!r} grows and shrinks networks by morphisms, which space "
                f"{space.name!r} does not have; use a space with morphisms ({', '.join(have)}) or a "
                "strategy such as nsga2 or mo-evolution"
            )

    def bind(self, objectives: list[Any] | None = None, constraints: list[Any] | None = None,
             warm_start: dict[str, Any] | None = None, task: dict[str, Any] | None = None) -> Strategy:
        """What the study tells a strategy before :meth:`setup` (read from its stored config, so replay
        sees the same): its objectives (:class:`~nasforge.multiobjective.objectives.Objective` list;
        ``None`` for a single-objective study), constraints, and warm-start data
        (:mod:`nasforge.warmstart`), and the task descriptor (input shape, classes; read by strategies
        that compute cheap objectives such as the parameter count before training). Kept across
        :meth:`setup`; single-objective strategies read the trial's ``value`` and need none of it.
        Returns ``self``."""
        self.objectives = list(objectives) if objectives and len(objectives) > 1 else None
        self.constraints = list(constraints or [])
        self.warm_start = warm_start
        self.task = dict(task) if task else None
        return self

    # -- ask / tell ---------------------------------------------------------------------------
    def ask(self) -> Candidate:
        """The next candidate; never a pending or evaluated architecture unless exhausted."""
        space = self._space()
        self.rng = np.random.default_rng([self.seed, len(self.history), len(self.pending)])
        candidate = self._warm_candidate() or self._initial_candidate()
        for _ in range(0 if candidate is not None else self.retries_per_ask()):
            proposal = self.propose()
            if not self._known(proposal.architecture):
                candidate = proposal
                break
        if candidate is None:
            for _ in range(_MAX_RETRIES * 4):
                proposal = Candidate(space.sample(self.rng))
                if not self._known(proposal.architecture):
                    candidate = proposal
                    break
        if candidate is None:  # space (nearly) exhausted: allow a repeat
            candidate = self.propose()
        self.pending[self._key(candidate.architecture)] = candidate
        return candidate

    def tell(self, trial: Trial) -> None:
        """Record a finished trial (COMPLETE, FAILED or PRUNED)."""
        key = self._key(trial.architecture)
        self.pending.pop(key, None)
        self.evaluated.add(key)
        self.history.append(trial)
        self.observe(trial)

    def _warm_candidate(self) -> Candidate | None:
        """The first warm-start portfolio architecture not yet asked (:mod:`nasforge.warmstart`)."""
        if not self.warm_start:
            return None
        if self._portfolio is None:
            from nasforge.warmstart import portfolio

            self._portfolio = portfolio(self.warm_start, self._space())
        for arch in self._portfolio:
            if not self._known(arch):
                return Candidate(arch, info={"warm_start": True})
        return None

    def _initial_candidate(self) -> Candidate | None:
        """A new genotype of the space's initial design (:meth:`SearchSpace.initial_candidate`), if
        it has one for this ask."""
        space = self._space()
        n_asked = len(self.history) + len(self.pending)
        for _ in range(_MAX_RETRIES):
            arch = space.initial_candidate(self.rng, n_asked)
            if arch is None:
                return None
            if not self._known(arch):
                return Candidate(arch, info={"initial_design": True})
        return None

    def retries_per_ask(self) -> int:
        """How many proposals :meth:`ask` tries before falling back to random samples."""
        return self.proposal_retries

    def mark_pending(self, candidate: Candidate) -> None:
        """Register ``candidate`` as running without asking for it.

        The study calls this on resume for candidates it re-runs (their trial was lost with a dead
        driver or worker): the strategy then never proposes them again while they run, and the next
        ``ask`` draws from the same random stream as in the original run.
        """
        self.pending[self._key(candidate.architecture)] = candidate

    def forget(self, candidate: Candidate) -> None:
        """Drop a pending candidate that will never be told (cancelled, to be re-run)."""
        self.pending.pop(self._key(candidate.architecture), None)

    @abstractmethod
    def propose(self) -> Candidate:
        """A proposal using ``self.rng``; duplicates are filtered by :meth:`ask`."""

    def observe(self, trial: Trial) -> None:
        """Update internal state with a told trial (default: nothing beyond ``history``)."""

    # -- helpers ------------------------------------------------------------------------------
    @property
    def completed(self) -> list[Trial]:
        """Told trials that are COMPLETE with a value, in completion order."""
        return [t for t in self.history if t.state is TrialState.COMPLETE and t.value is not None]

    def best(self) -> Trial | None:
        """Best completed trial told so far (highest value)."""
        done = self.completed
        return max(done, key=lambda t: t.value) if done else None  # type: ignore[arg-type,return-value]

    def _space(self) -> SearchSpace:
        if self.space is None:
            raise ConfigError(f"strategy {self.name!r}: call setup(space, seed) before ask()")
        return self.space

    def _key(self, arch: Architecture) -> str:
        return self._space().canonical_hash(arch)

    def _known(self, arch: Architecture) -> bool:
        key = self._key(arch)
        return key in self.pending or key in self.evaluated

    def to_config(self) -> dict[str, Any]:
        """``{"name": ..., **params}``; JSON-serialisable."""
        return {"name": self.name, **self.params}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


def positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """Validate an integer parameter ``>= minimum``; raises :class:`ConfigError`."""
    return check_int(name, value, minimum)  # type: ignore[return-value]
