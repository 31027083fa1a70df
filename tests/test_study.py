"""The study driver: budgets, replay, failures, aborts, re-queues, Ctrl-C, config checks, the lease."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fakes import FlakyExecutor, ToyEvaluator, ToySpace, score

import nasforge as nf
from nasforge.errors import ConfigError, StoreError, StudyAborted
from nasforge.study import Study, TrialState, derive_seed
from nasforge.study.lease import read_lease


def _study(path: Path, name: str = "s", evaluator: ToyEvaluator | None = None, seed: int = 0,
           population: int = 4, **kw: object) -> Study:
    return Study.create(
        store=path,
        name=name,
        space=ToySpace(),
        strategy=nf.strategies.create("regularized-evolution", population=population, sample=2),
        evaluator=evaluator or ToyEvaluator(),
        seed=seed,
        **kw,  # type: ignore[arg-type]
    )


def test_optimize_records_trials_best_and_checkpoints(store_path: Path) -> None:
    study = _study(store_path).optimize(n_trials=8, show_progress=False)
    trials = study.trials
    assert [t.number for t in trials] == list(range(8))
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert len({t.architecture for t in trials}) == 8  # no duplicate proposals
    best = study.best_trial
    assert best is not None and best.value == max(t.value for t in trials)  # type: ignore[type-var]
    assert best.value == score(best.architecture["x"], best.architecture["y"])
    assert Path(best.checkpoint).read_text() == f"{best.architecture['x']},{best.architecture['y']}"
    assert Path(best.checkpoint).parent == store_path.parent / "study_artifacts" / "s" / str(best.number)
    assert all(t.metrics["seed"] == derive_seed(0, t.number) == t.info["seed"] for t in trials)
    summary = study.summary()
    assert summary["states"] == {"COMPLETE": 8} and summary["best"]["number"] == best.number


def test_same_seed_same_trials(tmp_path: Path) -> None:
    a = _study(tmp_path / "a.db", seed=5).optimize(n_trials=6, show_progress=False)
    b = _study(tmp_path / "b.db", seed=5).optimize(n_trials=6, show_progress=False)
    c = _study(tmp_path / "c.db", seed=6).optimize(n_trials=6, show_progress=False)
    arches = lambda s: [t.architecture for t in s.trials]  # noqa: E731
    assert arches(a) == arches(b) and arches(a) != arches(c)


def test_replay_gives_the_same_next_ask(store_path: Path) -> None:
    study = _study(store_path).optimize(n_trials=7, show_progress=False)
    expected = study.strategy.ask()
    loaded = Study.load(store=store_path, name="s", evaluator=ToyEvaluator())
    loaded._recover_and_replay()
    assert loaded.strategy.ask() == expected


def test_resume_continues_to_the_same_total(store_path: Path) -> None:
    _study(store_path).optimize(n_trials=4, show_progress=False)
    study = Study.load(store=store_path, name="s", evaluator=ToyEvaluator())
    study.optimize(n_trials=6, show_progress=False)
    assert len(study.trials) == 6
    study.optimize(n_trials=6, show_progress=False)
    assert len(study.trials) == 6
    # the uninterrupted run makes the same trials
    straight = _study(store_path.parent / "straight.db").optimize(n_trials=6, show_progress=False)
    assert [t.architecture for t in straight.trials] == [t.architecture for t in study.trials]


def test_budget_by_time(store_path: Path) -> None:
    study = _study(store_path, evaluator=ToyEvaluator(sleep=0.05))
    study.optimize(timeout=0.3, show_progress=False)
    assert 2 <= len(study.trials) <= 12
    assert all(t.state is TrialState.COMPLETE for t in study.trials)


def test_failures_recorded_and_told(store_path: Path) -> None:
    study = _study(store_path, evaluator=ToyEvaluator(fail_x=[0, 1, 2, 3, 4])).optimize(
        n_trials=10, show_progress=False
    )
    failed = [t for t in study.trials if t.state is TrialState.FAILED]
    assert failed and all(t.error == "exception" and "ValueError: toy failure" in t.traceback for t in failed)
    assert len(study.strategy.history) == 10
    assert study.best_trial is not None and study.best_trial.architecture["x"] >= 5


def test_consecutive_failures_abort_with_summary(store_path: Path) -> None:
    study = _study(store_path, evaluator=ToyEvaluator(fail_all=True))
    with pytest.raises(StudyAborted, match=r"3 consecutive failed trials \(non_finite x3\)"):
        study.optimize(n_trials=10, max_consecutive_failures=3, show_progress=False)
    assert [t.error for t in study.trials] == ["non_finite"] * 3
    with pytest.raises(StudyAborted):  # the lease was released: a second run starts (and aborts) again
        study.optimize(n_trials=10, max_consecutive_failures=3, show_progress=False)
    assert len(study.trials) == 6


def test_minimize_and_missing_objective(tmp_path: Path) -> None:
    study = _study(tmp_path / "m.db", objective="params", direction="minimize")
    study.optimize(n_trials=5, show_progress=False)
    best = study.best_trial
    assert best is not None and best.value == -best.metrics["params"]
    assert study.user_value(best) == min(t.metrics["params"] for t in study.trials)
    other = _study(tmp_path / "o.db", evaluator=ToyEvaluator(metric="accuracy"))
    other.optimize(n_trials=2, show_progress=False, max_consecutive_failures=5)
    assert {t.error for t in other.trials} == {"missing_objective"}


def test_bad_arguments_fail_early(store_path: Path) -> None:
    study = _study(store_path)
    for kwargs in ({"n_trials": 0}, {"n_trials": -3}, {"timeout": 0}, {"workers": 0}, {"retries": -1},
                   {"executor": "serial", "workers": 2}):
        with pytest.raises(ConfigError):
            study.optimize(show_progress=False, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="test split"):
        _study(store_path.parent / "t.db", objective="test_acc")
    with pytest.raises(ConfigError, match="direction"):
        _study(store_path.parent / "t.db", direction="up")
    assert study.trials == []


def test_config_mismatch_refuses_and_shows_difference(store_path: Path) -> None:
    _study(store_path).optimize(n_trials=2, show_progress=False)
    with pytest.raises(StoreError, match="already exists"):
        _study(store_path)
    same = _study(store_path, load_if_exists=True)
    assert len(same.trials) == 2
    with pytest.raises(StoreError, match=r"strategy.population: stored 4, given 5"):
        _study(store_path, population=5, load_if_exists=True)
    with pytest.raises(StoreError, match=r"evaluator.sleep"):
        Study.load(store=store_path, name="s", evaluator=ToyEvaluator(sleep=1.0))
    assert len(Study.load(store=store_path, name="s", evaluator=ToyEvaluator()).trials) == 2


def test_second_driver_refuses_and_dead_lease_is_taken_over(store_path: Path) -> None:
    study = _study(store_path)
    store = study.store
    with store.transaction() as conn:  # a live driver (this very process, another token)
        conn.execute("INSERT INTO leases VALUES (?, 'other', ?, ?, 0)",
                     (study.record.id, __import__("os").getpid(), __import__("socket").gethostname()))
    with pytest.raises(StoreError, match="already being run by another driver"):
        study.optimize(n_trials=2, show_progress=False, save_budget=True)
    assert study.trials == [] and "budget" not in store.get_study("s").config  # nothing altered
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with store.transaction() as conn:
        conn.execute("UPDATE leases SET pid = ? WHERE study_id = ?", (dead.pid, study.record.id))
    study.optimize(n_trials=2, show_progress=False, save_budget=True)
    assert len(study.trials) == 2 and read_lease(store, study.record.id) is None
    assert store.get_study("s").config["budget"] == {
        "n_trials": 2, "workers": 1, "executor": "auto", "retries": 1, "max_consecutive_failures": 10}


def test_worker_lost_is_requeued_and_counted_once(store_path: Path) -> None:
    study = _study(store_path, seed=1)
    first = study.strategy.ask()
    study.strategy.setup(study.space, study.seed)
    key = (first.architecture["x"], first.architecture["y"])
    study.optimize(n_trials=4, executor=FlakyExecutor(lose=[key]), retries=1, show_progress=False)
    trials = study.trials
    lost = [t for t in trials if t.error == "worker_lost"]
    assert len(lost) == 1 and lost[0].info["requeued"]
    rerun = [t for t in trials if t.info.get("retry_of") == lost[0].number]
    assert len(rerun) == 1 and rerun[0].architecture == lost[0].architecture
    assert rerun[0].state is TrialState.COMPLETE and rerun[0].info["attempt"] == 2
    assert len(trials) == 5 and study.store.count_budget(study.record.id) == 4
    assert lost[0] not in study.strategy.history


def test_worker_lost_beyond_retries_fails_for_good(store_path: Path) -> None:
    study = _study(store_path, seed=1)
    everything = [(x, y) for x in range(10) for y in range(10)]
    study.optimize(n_trials=2, executor=FlakyExecutor(lose=everything, always=True), retries=1,
                   max_consecutive_failures=None, show_progress=False)
    trials = study.trials
    assert all(t.error == "worker_lost" for t in trials) and len(trials) == 4
    assert sum(not t.info["requeued"] for t in trials) == 2


def test_ctrl_c_stops_cleanly_and_resume_reruns(store_path: Path) -> None:
    study = _study(store_path, evaluator=ToyEvaluator(interrupt_at=2))
    study.optimize(n_trials=5, show_progress=False)
    assert study.interrupted
    trials = study.trials
    assert [t.state for t in trials[:2]] == [TrialState.COMPLETE] * 2
    assert trials[2].state is TrialState.FAILED and trials[2].error == "interrupted"
    assert read_lease(study.store, study.record.id) is None and study.store.integrity_check() == "ok"
    resumed = Study.load(store=store_path, name="s", evaluator=ToyEvaluator())
    resumed.optimize(n_trials=5, show_progress=False)
    trials = resumed.trials
    assert len(trials) == 6 and resumed.store.count_budget(resumed.record.id) == 5
    assert trials[3].info["retry_of"] == 2 and trials[3].architecture == trials[2].architecture
    assert all(t.state is TrialState.COMPLETE for t in trials if t.number != 2)


def test_running_trials_of_dead_driver_are_failed_and_rerun(store_path: Path) -> None:
    study = _study(store_path)
    cand = study.strategy.ask()
    study.store.create_trial(study.record.id, cand, hash_="x", seed_fn=lambda n: 0)
    study.optimize(n_trials=3, show_progress=False)
    trials = study.trials
    assert trials[0].error == "driver_lost" and trials[1].info["retry_of"] == 0
    assert trials[1].architecture == cand.architecture and len(trials) == 4


def test_load_unknown_and_rebuilds_parts(store_path: Path) -> None:
    _study(store_path).optimize(n_trials=2, show_progress=False)
    with pytest.raises(StoreError, match="no study named 'zzz'"):
        Study.load(store=store_path, name="zzz")
    loaded = Study.load(store=store_path, name="s", build_evaluator=False)
    assert loaded.space.to_config() == {"name": "toy", "width": 10}
    assert loaded.strategy.to_config()["population"] == 4 and loaded.best_trial is not None


def test_serial_trial_timeout(store_path: Path) -> None:
    study = _study(store_path, evaluator=ToyEvaluator(sleep=5.0))
    study.optimize(n_trials=2, trial_timeout=0.2, max_consecutive_failures=None, show_progress=False)
    trials = study.trials
    assert [t.error for t in trials] == ["timeout", "timeout"]
    assert all(t.duration is not None and t.duration < 2.0 for t in trials)


def test_progress_reports_done_total_and_best(store_path: Path) -> None:
    import io

    from rich.console import Console

    from nasforge.study.progress import Progress, RichProgress

    calls: list[tuple[str, object]] = []

    class Recorder(Progress):
        def start(self, done: int, total: int | None, best: float | None) -> None:
            calls.append(("start", (done, total, best)))

        def update(self, done: int, best: float | None, failed: int = 0) -> None:
            calls.append(("update", (done, best)))

        def stop(self) -> None:
            calls.append(("stop", None))

    study = _study(store_path)
    study.optimize(n_trials=3, progress=Recorder())
    assert calls[0] == ("start", (0, 3, None)) and calls[-1] == ("stop", None)
    updates = [c[1] for c in calls if c[0] == "update"]
    assert [u[0] for u in updates] == [1, 2, 3]  # type: ignore[index]
    assert updates[-1][1] == study.best_trial.value  # type: ignore[index,union-attr]
    buffer = io.StringIO()
    bar = RichProgress("valid_acc", console=Console(file=buffer, width=100))
    study.optimize(n_trials=5, progress=bar)
    assert "5/5" in buffer.getvalue() and "best valid_acc" in buffer.getvalue()


class _EpochToy(ToyEvaluator):
    """The toy evaluator as a 4-epoch training: reports epochs 1 and 2, then returns."""

    epochs = 4

    def evaluate(self, architecture, context, reporter=None):  # type: ignore[no-untyped-def]
        import time

        for step, acc in ((1, 0.5), (2, 0.625)):
            time.sleep(0.25)
            if reporter is not None:
                reporter.report(step, {"valid_acc": acc, "train_loss": 1.0 / step})
        return super().evaluate(architecture, context, None)


def test_progress_shows_each_running_trial_with_its_epoch_and_valid_acc(store_path: Path) -> None:
    import io

    from rich.console import Console

    from nasforge.study.progress import Progress, RichProgress

    events: list[tuple[str, object]] = []

    class Recorder(Progress):
        def trial_started(self, number: int, budget: float | None) -> None:
            events.append(("started", (number, budget)))

        def trial_report(self, number: int, step: float, metrics: dict[str, float]) -> None:
            events.append(("report", (number, step, metrics["valid_acc"])))

        def trial_finished(self, number: int) -> None:
            events.append(("finished", number))

    study = _study(store_path, evaluator=_EpochToy())
    study.optimize(n_trials=1, progress=Recorder())
    assert events == [("started", (0, 4)), ("report", (0, 1.0, 0.5)), ("report", (0, 2.0, 0.625)),
                      ("finished", 0)]
    buffer = io.StringIO()  # a terminal: rich redraws while the trial runs
    console = Console(file=buffer, width=120, force_terminal=True, color_system=None)
    study.optimize(n_trials=3, progress=RichProgress("valid_acc", console=console, refresh_every=0.0))
    text = buffer.getvalue()
    assert "#1 epoch" in text and "#2 epoch" in text  # a line per running trial ...
    assert "2/4" in text and "valid_acc 0.6250" in text  # ... with its epoch/budget and latest accuracy
    assert "3/3" in text and "best valid_acc" in text  # and the bar with done/total and the best
