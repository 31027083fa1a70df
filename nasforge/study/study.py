"""The study driver: ask the strategy, run candidates on an executor, write every trial to the store.

Semantics (see also :mod:`nasforge.study.store`):

* **Asynchronous.** Whenever the executor has a free slot the driver asks the strategy and submits;
  on each result it writes the trial (one transaction), then tells the strategy.
* **Budget.** ``n_trials`` counts the trials of the whole study, so a resumed study continues to the
  same total. ``timeout`` (seconds, per ``optimize`` call) stops submitting new trials; trials in
  flight finish.
* **Values.** A trial's value is the objective metric, negated if the study minimises it. A missing or
  non-finite objective fails the trial (``missing_objective`` / ``non_finite``).
* **Failures** are stored with their reason and traceback and told to the strategy.
  ``max_consecutive_failures`` failures in a row raise :class:`~nasforge.errors.StudyAborted` with
  a summary of reasons.
* **Re-queues.** A ``worker_lost`` trial is stored FAILED and its candidate re-run under a **new trial
  number** (``info["retry_of"]`` names the lost one) up to ``retries`` times; the lost trial is not
  told to the strategy and does not count in the budget. Trials cut short by Ctrl-C (``interrupted``),
  an abort (``aborted``) or a dead driver (``driver_lost``, found on resume) are re-queued the same way.
* **Resume is replay.** ``optimize`` first fails RUNNING trials left by a dead driver, re-tells the
  stored history to a freshly set-up strategy in completion order, then continues.
* **One driver.** A lease row keeps a second driver off a running study (:mod:`nasforge.study.lease`).
* **Seeds.** Trial ``n`` of a study with seed ``s`` is evaluated with ``derive_seed(s, n)``.
* **Checkpoints.** Each trial gets ``<store stem>_artifacts/<study>/<number>/`` as
  ``EvalContext.checkpoint_dir``; the path the evaluator reports is stored in ``trial.checkpoint``.
"""

from __future__ import annotations

import collections
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.errors import ConfigError
from nasforge.estimate.base import Evaluator
from nasforge.space.base import SearchSpace
from nasforge.strategies.base import Strategy
from nasforge.study import config as cfg
from nasforge.study.driver import Driver, derive_seed, make_executor, recover_and_replay
from nasforge.study.executors.base import Executor
from nasforge.study.progress import Progress, RichProgress
from nasforge.study.store import Store, StudyRecord
from nasforge.trial import Trial, TrialState

__all__ = ["Study", "derive_seed", "make_executor"]


def _check_int(name: str, value: Any, minimum: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        extra = " (or None for no limit)" if allow_none else ""
        raise ConfigError(f"{name} must be an integer >= {minimum}{extra}, got {value!r}")


def _check_seconds(name: str, value: Any) -> None:
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigError(f"{name} must be a positive number of seconds (or None), got {value!r}")


class Study:
    """A named search stored in a SQLite file. Build with :meth:`create` or :meth:`load`."""

    def __init__(
        self,
        *,
        store: Store,
        record: StudyRecord,
        space: SearchSpace,
        strategy: Strategy,
        evaluator: Evaluator | None,
    ) -> None:
        self.store = store
        self.record = record
        self.space = space
        self.strategy = strategy
        self.evaluator = evaluator
        self.interrupted = False
        strategy.setup(space, self.seed)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        *,
        store: str | os.PathLike[str] | Store,
        name: str,
        space: SearchSpace,
        strategy: Strategy,
        evaluator: Evaluator,
        seed: int = 0,
        objective: str | None = None,
        direction: str = "maximize",
        load_if_exists: bool = False,
    ) -> Study:
        """Create study ``name`` in ``store``.

        With ``load_if_exists`` an existing study of the same name is loaded if its stored config
        equals this one, and refused with the difference otherwise (what ``nasforge search`` does).
        """
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise ConfigError(f"study name must be a non-empty string (<= 200 chars), got {name!r}")
        if not isinstance(space, SearchSpace):
            raise ConfigError(
                f"space must be a SearchSpace (nf.spaces.create(...)), got {type(space).__name__}"
            )
        if not isinstance(strategy, Strategy):
            raise ConfigError(
                f"strategy must be a Strategy (nf.strategies.create(...)), got {type(strategy).__name__}"
            )
        if not isinstance(evaluator, Evaluator):
            raise ConfigError(f"evaluator must be an Evaluator, got {type(evaluator).__name__}")
        _check_int("seed", seed, 0)
        objective = objective or evaluator.default_objective
        if not isinstance(objective, str) or not objective:
            raise ConfigError(f"objective must be a metric name such as 'valid_acc', got {objective!r}")
        if objective.startswith("test"):
            raise ConfigError(
                f"objective {objective!r} reads the test split, which never selects; use a validation "
                "metric such as 'valid_acc'"
            )
        if direction not in ("maximize", "minimize"):
            raise ConfigError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
        _check_compatible(space, evaluator)
        config = cfg.normalise(
            {
                "space": space.to_config(),
                "strategy": strategy.to_config(),
                "evaluator": evaluator.to_config(),
                "objective": objective,
                "direction": direction,
                "seed": int(seed),
                "task": evaluator.describe_task(),
            }
        )
        st = store if isinstance(store, Store) else Store(store, create=True)
        if load_if_exists and st.has_study(name):
            record = st.get_study(name)
            cfg.check_same(name, record.config, config)
        else:
            record = st.create_study(name, config)
        return cls(store=st, record=record, space=space, strategy=strategy, evaluator=evaluator)

    @classmethod
    def load(
        cls,
        *,
        store: str | os.PathLike[str] | Store,
        name: str,
        evaluator: Evaluator | None = None,
        build_evaluator: bool = True,
    ) -> Study:
        """Load study ``name``: space and strategy are rebuilt from the stored config, the evaluator
        too unless given (``build_evaluator=False`` skips it for read-only use: status, best)."""
        st = store if isinstance(store, Store) else Store(store, create=False)
        record = st.get_study(name)
        space = cfg.space_from_config(record.config)
        strategy = cfg.strategy_from_config(record.config)
        if evaluator is None and build_evaluator:
            evaluator = cfg.evaluator_from_config(record.config)
        elif evaluator is not None:
            stored = {"evaluator": record.config.get("evaluator"), "task": record.config.get("task")}
            cfg.check_same(
                name, stored, {"evaluator": evaluator.to_config(), "task": evaluator.describe_task()}
            )
        return cls(store=st, record=record, space=space, strategy=strategy, evaluator=evaluator)

    # -- properties ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.record.name

    @property
    def config(self) -> dict[str, Any]:
        return self.record.config

    @property
    def seed(self) -> int:
        return int(self.record.config.get("seed", 0))

    @property
    def objective(self) -> str:
        return str(self.record.config.get("objective", "valid_acc"))

    @property
    def direction(self) -> str:
        return str(self.record.config.get("direction", "maximize"))

    @property
    def artifacts_dir(self) -> Path:
        """``<store stem>_artifacts/<study name>/`` next to the store file (absolute path)."""
        path = self.store.path.resolve()
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.name)
        return path.parent / f"{path.stem}_artifacts" / safe

    @property
    def trials(self) -> list[Trial]:
        """Every trial, by number (fresh from the store)."""
        return self.store.trials(self.record.id)

    @property
    def best_trial(self) -> Trial | None:
        """The COMPLETE trial with the best objective value (validation only; ties: lowest number)."""
        done = [t for t in self.trials if t.state is TrialState.COMPLETE and t.value is not None]
        if not done:
            return None
        return max(done, key=lambda t: (t.value, -t.number))

    @property
    def budget(self) -> dict[str, Any]:
        """The stored run budget (``n_trials``, ``timeout``) the CLI resumes with."""
        return dict(self.record.config.get("budget") or {})

    def set_budget(self, **budget: Any) -> None:
        """Store run settings (e.g. ``n_trials``) with the study; they never block a resume."""
        config = dict(self.record.config)
        config["budget"] = {**self.budget, **budget}
        self.store.update_study_config(self.record.id, config)
        self.record = StudyRecord(self.record.id, self.record.name, config, self.record.created)

    def user_value(self, trial: Trial) -> float | None:
        """The objective as the user states it (un-negated for minimised objectives)."""
        if trial.value is None:
            return None
        return -trial.value if self.direction == "minimize" else trial.value

    def summary(self) -> dict[str, Any]:
        """Counts per state, failure reasons, budget used and the best trial, as plain data."""
        trials = self.trials
        states = collections.Counter(t.state.value for t in trials)
        reasons = collections.Counter(t.error for t in trials if t.state is TrialState.FAILED)
        best = self.best_trial
        return {
            "name": self.name,
            "store": str(self.store.path),
            "objective": self.objective,
            "direction": self.direction,
            "n_trials": len(trials),
            "budget_used": self.store.count_budget(self.record.id),
            "states": dict(states),
            "failure_reasons": dict(reasons),
            "best": None
            if best is None
            else {
                "number": best.number,
                self.objective: self.user_value(best),
                "metrics": best.metrics,
                "genotype": best.architecture.to_dict(),
                "checkpoint": best.checkpoint,
            },
            "config": self.config,
        }

    # -- the driver ---------------------------------------------------------------------------
    def optimize(
        self,
        n_trials: int | None = None,
        timeout: float | None = None,
        workers: int = 1,
        executor: str | Executor = "auto",
        trial_timeout: float | None = None,
        retries: int = 1,
        max_consecutive_failures: int | None = 10,
        show_progress: bool = True,
        executor_options: dict[str, Any] | None = None,
        progress: Progress | None = None,
        save_budget: bool = False,
    ) -> Study:
        """Run trials until the study holds ``n_trials`` (counted) trials or ``timeout`` passes.

        ``executor``: ``"auto"`` (serial for one worker, process otherwise), ``"serial"``,
        ``"process"``, ``"ray"`` or an :class:`Executor` instance; ``executor_options`` go to its
        constructor (e.g. ``{"address": "HOST:PORT"}`` for Ray). ``save_budget`` stores ``n_trials``
        and ``timeout`` with the study once the run has started (``nasforge resume`` reuses them).
        Ctrl-C stops cleanly and sets :attr:`interrupted`. Returns ``self``.
        """
        _check_int("n_trials", n_trials, 1, allow_none=True)
        _check_seconds("timeout", timeout)
        _check_seconds("trial_timeout", trial_timeout)
        _check_int("workers", workers, 1)
        _check_int("retries", retries, 0)
        _check_int("max_consecutive_failures", max_consecutive_failures, 1, allow_none=True)
        if self.evaluator is None:
            raise ConfigError("this study was loaded without an evaluator; pass evaluator=... to Study.load")
        ex = make_executor(executor, workers, trial_timeout, executor_options)
        if progress is None:
            sign = -1.0 if self.direction == "minimize" else 1.0
            progress = RichProgress(self.objective, sign) if show_progress else Progress()
        self.interrupted = False
        driver = Driver(
            self,
            ex,
            progress,
            n_trials=n_trials,
            timeout=timeout,
            retries=retries,
            max_consecutive_failures=max_consecutive_failures,
            save_budget=save_budget,
        )
        self.interrupted = driver.run()
        return self

    def _recover_and_replay(self) -> Any:
        """Fail RUNNING trials of a dead driver and replay the history (see :mod:`~.driver`)."""
        return recover_and_replay(self)

    def __repr__(self) -> str:
        return f"Study(name={self.name!r}, store={str(self.store.path)!r})"

    def predict(self, x: Any, trial: int | None = None) -> list[Any]:
        """Labels (the task's own: strings where its CSV had strings) of raw samples ``x``
        (``(N, *raw shape)``, as given to the task) from the best trained trial, or trial ``trial``.
        See :mod:`nasforge.report.predict`."""
        from nasforge.report.predict import trained_from_study

        return trained_from_study(self, trial).predict(x)


def _check_compatible(space: SearchSpace, evaluator: Evaluator) -> None:
    """Fail early when the evaluator's task cannot be modelled by the space (or vice versa)."""
    if getattr(evaluator, "name", "") != "train":
        return
    shape = evaluator.describe_task().get("input_shape")
    if not isinstance(shape, (list, tuple)) or len(shape) not in (1, 2, 3):
        return
    kind = {1: "tabular", 2: "1d", 3: "2d"}[len(shape)]
    task = evaluator.describe_task().get("name", "?")
    kinds = type(space).input_kinds
    if not kinds:
        raise ConfigError(
            f"space {space.name!r} is a tabular benchmark with no PyTorch models; it cannot train on "
            f"task {task!r}. Use its tabular evaluator, or a space such as 'chain'"
        )
    if kind not in kinds:
        raise ConfigError(
            f"space {space.name!r} builds models for {sorted(kinds)} inputs, but task {task!r} is "
            f"{kind!r}; pick a space that supports {kind!r} inputs"
        )
    space_kind = space.params.get("input_kind")
    if isinstance(space_kind, str) and space_kind != kind:
        raise ConfigError(
            f"space {space.name!r} was built with input_kind={space_kind!r}, but task {task!r} is "
            f"{kind!r}; pass input_kind={kind!r} (--space-opt input_kind={kind})"
        )
