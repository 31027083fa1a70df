"""The study driver: ask the strategy, run candidates on an executor, write every trial to the store.

Its guarantees (asynchronous submission, budget counted over the whole study, failures and bounded
re-queues, resume as replay, one driver per study under a lease, read-only loads, seeds, checkpoint
folders) are written out in ``docs/study.md``.
"""

from __future__ import annotations

import collections
import os
from pathlib import Path
from typing import Any

from nasforge import warmstart
from nasforge.checks import check_int, check_seconds
from nasforge.errors import ConfigError, StoreError
from nasforge.estimate.base import Evaluator
from nasforge.selection import best_trial
from nasforge.space.base import SearchSpace
from nasforge.strategies.base import Strategy
from nasforge.study import config as cfg
from nasforge.study import objectives as mo
from nasforge.study.driver import Driver, derive_seed, make_executor
from nasforge.study.executors.base import Executor
from nasforge.study.final import train_final
from nasforge.study.progress import Progress, RichProgress
from nasforge.study.replay import recover_and_replay
from nasforge.study.store import Store, StudyRecord
from nasforge.study.taskcheck import (
    check_compatible,
    check_task_data,
    describe_current,
    evaluator_config_for_resume,
    replace_task_file,
)
from nasforge.trial import Trial, TrialState

__all__ = ["Study", "derive_seed", "make_executor"]


class Study:
    """A named search stored in a SQLite file. Build with :meth:`create` or :meth:`load`.

    The space and the strategy are built from the stored config on first use, so a read-only study
    (:meth:`load` with ``read_only=True``) imports no strategy's dependencies (Optuna for TPE, ...).
    """

    def __init__(
        self,
        *,
        store: Store,
        record: StudyRecord,
        space: SearchSpace | None = None,
        strategy: Strategy | None = None,
        evaluator: Evaluator | None = None,
        read_only: bool = False,
    ) -> None:
        self.store = store
        self.record = record
        self._space = space
        self._strategy = strategy
        self._strategy_ready = False
        self.evaluator = evaluator
        self.read_only = read_only
        self.interrupted = False
        self._pending_config: dict[str, Any] = {}  # config changes written when the next run holds the lease

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
        scheduler: Any = None,
        objectives: Any = None,
        constraints: Any = None,
        warm_start: Any = None,
    ) -> Study:
        """Create study ``name`` in ``store``.

        With ``load_if_exists`` an existing study of the same name is loaded if its stored config
        equals this one, and refused with the difference otherwise (what ``nasforge search`` does).
        ``scheduler``: a :class:`~nasforge.schedulers.Scheduler` (multi-fidelity; stored as ``scheduler``).
        ``objectives`` (``"valid_acc:max,params:min"`` or pairs) and ``constraints``
        (``"params<=1e5"``): :mod:`nasforge.multiobjective.objectives`; ``warm_start`` (study names or
        ``"auto"``): :mod:`nasforge.warmstart`.
        """
        objective, direction, extra = mo.resolve(objectives, constraints, objective, direction, evaluator)
        objective = cfg.check_parts(name, space, strategy, evaluator, seed, objective, direction)
        check_compatible(space, evaluator)
        config = cfg.normalise(
            {
                "space": space.to_config(),
                "strategy": strategy.to_config(),
                "evaluator": evaluator.to_config(),
                "objective": objective,
                "direction": direction,
                "seed": int(seed),
                "task": evaluator.describe_task(),
                **cfg.scheduler_entry(scheduler, evaluator),
                **extra,
            }
        )
        st = store if isinstance(store, Store) else Store(store, create=True)
        config.update(warmstart.resolve(st, name, warm_start, config, space))
        if load_if_exists and st.has_study(name):
            record = st.get_study(name)
            cfg.check_same(name, record.config, config)
            check_task_data(name, record.config.get("task"), config["task"])
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
        read_only: bool = False,
        task: str | None = None,
    ) -> Study:
        """Load study ``name``; the space and strategy are rebuilt from the stored config when first
        used, the evaluator now unless given. ``read_only=True`` (``status``, ``best``, ``export``)
        opens the store without writing and builds no evaluator; such a study cannot ``optimize``.
        ``build_evaluator=False`` skips the evaluator only. ``task``: a data file replacing the stored
        one (moved), accepted when its content hash matches; recorded when the next run starts."""
        if read_only and not isinstance(store, Store):
            st = Store(store, create=False, read_only=True)
        else:
            st = store if isinstance(store, Store) else Store(store, create=False)
        record = st.get_study(name)
        config, changes = record.config, {}
        if task is not None:
            config = replace_task_file(name, record.config, task)
            changes = {"evaluator": config["evaluator"], "task": config["task"]}
        if evaluator is None and build_evaluator and not read_only:
            evaluator = cfg.evaluator_from_config(evaluator_config_for_resume(config))
        elif evaluator is not None:
            stored = {"evaluator": record.config.get("evaluator"), "task": record.config.get("task")}
            cfg.check_same(
                name, stored, {"evaluator": evaluator.to_config(), "task": evaluator.describe_task()}
            )
        study = cls(store=st, record=record, evaluator=evaluator, read_only=read_only)
        study._pending_config = changes
        return study

    # -- parts built on first use -------------------------------------------------------------
    @property
    def space(self) -> SearchSpace:
        """The study's search space (rebuilt from the stored config on first use)."""
        if self._space is None:
            self._space = cfg.space_from_config(self.record.config)
        return self._space

    @property
    def strategy(self) -> Strategy:
        """The study's strategy, set up with the space and seed (built from the config on first use)."""
        if self._strategy is None:
            self._strategy = cfg.strategy_from_config(self.record.config)
        if not self._strategy_ready:
            self._strategy.bind(*mo.bindings(self.record.config)).setup(self.space, self.seed)
            self._strategy_ready = True
        return self._strategy

    @property
    def scheduler(self) -> Any:
        """The study's scheduler (``None`` without one), rebuilt from the config and set up."""
        return cfg.scheduler_from_config(self.record.config, self.evaluator)

    def fresh_strategy(self) -> Strategy:
        """The strategy in the state :meth:`~Strategy.setup` leaves it (set up again if it was used)."""
        strategy = self.strategy
        if strategy.history or strategy.pending:
            strategy.setup(self.space, self.seed)
        return strategy

    @property
    def strategy_name(self) -> str:
        """The strategy's registry name, read from the config (builds nothing)."""
        return str((self.record.config.get("strategy") or {}).get("name", "?"))

    @property
    def space_name(self) -> str:
        """The space's registry name, read from the config (builds nothing)."""
        return str((self.record.config.get("space") or {}).get("name", "?"))

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
        """The best COMPLETE trial by :data:`nasforge.selection.RULE` (validation only, never test)."""
        return best_trial(self.trials)

    @property
    def budget(self) -> dict[str, Any]:
        """The stored run settings (``n_trials``, ``time_limit``, ``workers``, ``executor``, ...) that
        ``nasforge resume`` reuses."""
        return dict(self.record.config.get("budget") or {})

    def set_budget(self, **budget: Any) -> None:
        """Store run settings (e.g. ``n_trials``) with the study; they never block a resume."""
        self._update_config(budget={**self.budget, **budget})

    @property
    def skipped_trials(self) -> list[int]:
        """Trial numbers never told to the strategy (see :meth:`skip_trials`)."""
        return [int(n) for n in self.record.config.get("skip_trials") or []]

    def skip_trials(self, numbers: list[int]) -> None:
        """Never tell these finished trials to the strategy again (a strategy that cannot take them made
        resume fail). Recorded in the study config, so every replay leaves out the same trials."""
        known = {t.number: t for t in self.trials}
        for number in numbers:
            check_int("skip trial", number, 0)
            trial = known.get(int(number))
            if trial is None or not trial.state.finished:
                state = "no such trial" if trial is None else "it is still RUNNING"
                raise ConfigError(
                    f"--skip-trial {number}: study {self.name!r} has no finished trial {number} ({state}); "
                    f"see `nasforge status {self.name}`"
                )
        self._update_config(skip_trials=sorted({*self.skipped_trials, *(int(n) for n in numbers)}))

    def set_oneshot(self, record: dict[str, Any]) -> None:
        """Store the one-shot phase's record (``config["oneshot"]``; see :mod:`nasforge.oneshot.phase`)."""
        self._update_config(oneshot=record)

    def _update_config(self, **changes: Any) -> None:
        if self.read_only:
            raise StoreError(f"study {self.name!r} was loaded read-only; it cannot be changed")
        config = {**self.record.config, **changes}
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
        constructor (e.g. ``{"address": "HOST:PORT"}`` for Ray). ``retries``: re-runs of a candidate
        lost with its worker or driver, counted across resumes. ``save_budget`` stores the run settings
        (``n_trials``, ``time_limit``, ``workers``, ``executor``, ...) with the study once the run has
        started (``nasforge resume`` reuses them). Ctrl-C stops cleanly and sets :attr:`interrupted`.
        Returns ``self``.
        """
        check_int("n_trials", n_trials, 1, allow_none=True)
        check_seconds("timeout", timeout)
        check_seconds("trial_timeout", trial_timeout)
        check_int("workers", workers, 1)
        check_int("retries", retries, 0)
        check_int("max_consecutive_failures", max_consecutive_failures, 1, allow_none=True)
        if self.read_only:
            raise ConfigError(f"study {self.name!r} was loaded read-only; load it without read_only=True")
        if self.evaluator is None:
            raise ConfigError("this study was loaded without an evaluator; pass evaluator=... to Study.load")
        stored_task = {**(self.record.config.get("task") or {}), **self._pending_config.get("task", {})}
        check_task_data(self.name, stored_task, describe_current(self.name, stored_task, self.evaluator))
        self.strategy  # noqa: B018 - built and set up now: a missing extra fails before the lease is taken
        ex = make_executor(executor, workers, trial_timeout, executor_options)
        if progress is None:
            sign = -1.0 if self.direction == "minimize" else 1.0
            progress = RichProgress(self.objective, sign) if show_progress else Progress()
        changes = dict(self._pending_config)
        if save_budget:
            run_settings = {"n_trials": n_trials, "time_limit": timeout, "workers": workers,
                            "executor": executor if isinstance(executor, str) else ex.name,
                            "trial_timeout": trial_timeout, "retries": retries,
                            "max_consecutive_failures": max_consecutive_failures,
                            "executor_options": executor_options or None}
            changes["budget"] = {**self.budget, **{k: v for k, v in run_settings.items() if v is not None}}
        self.interrupted = False
        driver = Driver(
            self,
            ex,
            progress,
            n_trials=n_trials,
            timeout=timeout,
            retries=retries,
            max_consecutive_failures=max_consecutive_failures,
            config_changes=changes,
        )
        self.interrupted = driver.run()
        self._pending_config = {}
        if not self.interrupted:  # a cross-validated best trial gets its model on all non-test data
            train_final(self)
        return self

    def _recover_and_replay(self, retries: int = 1) -> Any:
        """Fail RUNNING trials of a dead driver and replay the history (see :mod:`~.replay`)."""
        return recover_and_replay(self, retries)

    def __repr__(self) -> str:
        return f"Study(name={self.name!r}, store={str(self.store.path)!r})"

    def best_model(self, trial: int | None = None) -> Any:
        """The best (or ``trial``'s) trained network as a :class:`~nasforge.models.trained.TrainedModel`:
        ``.network`` (stored weights), ``.logits(x)`` / ``.predict(x)`` on raw samples."""
        from nasforge.models.trained import trained_from_study

        return trained_from_study(self, trial)

    def predict(self, x: Any, trial: int | None = None) -> list[Any]:
        """Labels (the task's own: strings where its CSV had strings) of raw samples ``x``
        (``(N, *raw shape)``, as given to the task) from the best trained trial, or trial ``trial``.
        See :meth:`best_model`."""
        return self.best_model(trial).predict(x)

