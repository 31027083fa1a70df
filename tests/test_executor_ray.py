"""RayExecutor on a local Ray cluster (one ``ray.init`` for the module): results and fault reasons."""

from __future__ import annotations

import logging
import time

import pytest

ray = pytest.importorskip("ray")

import executor_fakes  # noqa: E402
from executor_fakes import FakeEvaluator, arch  # noqa: E402

from nasforge.errors import ConfigError  # noqa: E402
from nasforge.estimate.base import EvalContext  # noqa: E402
from nasforge.study.executors import create  # noqa: E402
from nasforge.study.executors.ray import RayExecutor  # noqa: E402
from nasforge.trial import Job, JobResult  # noqa: E402


def job(n: int, mode: str = "ok", t: float = 0.0) -> Job:
    return Job(n, arch(mode, n, t), EvalContext(trial_number=n, seed=100 + n))


def collect(executor: RayExecutor, n: int, limit: float = 90.0) -> dict[int, JobResult]:
    out: dict[int, JobResult] = {}
    deadline = time.monotonic() + limit
    while len(out) < n and time.monotonic() < deadline:
        for result in executor.wait(timeout=1.0):
            out[result.trial_number] = result
    assert len(out) == n, f"only {len(out)} of {n} results arrived"
    return out


@pytest.fixture(scope="module")
def cluster():
    """The module's one local Ray instance (executors and the CLI join it)."""
    # the tests directory is not on the Ray workers' path: ship the fakes by value
    ray.cloudpickle.register_pickle_by_value(executor_fakes)
    # 4 logical CPUs: the module's idle executor keeps 2 actors while the CLI test starts 2 more
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    yield ray
    ray.shutdown()
    ray.cloudpickle.unregister_pickle_by_value(executor_fakes)


#: trial number -> the step after which the driver answers "stop"; every report answered, in order
STOP_AFTER: dict[int, int] = {}
ANSWERED: list[tuple[int, float]] = []


def answer(number: int, step: float, metrics: dict[str, float]) -> bool:
    ANSWERED.append((number, step))
    return step < STOP_AFTER.get(number, 10**9)


@pytest.fixture(scope="module")
def executor(cluster):
    ex = create("ray", workers=2, trial_timeout=15.0)  # a loaded 2-core machine starts actors slowly
    ex.start(FakeEvaluator(payload_size=1_000_000), on_report=answer)
    ex.ready()
    yield ex
    ex.shutdown(cancel=True)
    assert cluster.is_initialized()  # the executor leaves an instance it did not start running


def test_jobs_run_on_two_actors_with_the_evaluator_shipped_once(executor):
    assert executor.capacity == 2 and len(executor.pids) == 2
    for n in range(4):
        executor.submit(job(n, t=0.2))
    assert executor.in_flight == 4
    results = collect(executor, 4)
    assert executor.in_flight == 0
    assert all(r.status == "ok" for r in results.values()), [(r.status, r.reason) for r in results.values()]
    assert {r.metrics["pid"] for r in results.values()} == set(executor.pids)
    assert {r.metrics["loads"] for r in results.values()} == {1}
    assert {r.metrics["prepared"] for r in results.values()} == {1}
    assert results[2].metrics["seed"] == 102
    assert [step for step, _ in results[0].intermediate] == [1.0, 2.0]


def test_the_drivers_stop_answer_stops_a_running_actor_trial_at_that_step(executor):
    STOP_AFTER[40] = 3
    executor.submit(Job(40, arch("steps", 10, 0.05), EvalContext(trial_number=40)))
    result = collect(executor, 1)[40]
    assert result.status == "pruned", result.traceback
    assert result.metrics["stopped_at"] == 3 and result.metrics["last_step"] == 3  # at step 3, not later
    assert [step for step, _ in result.intermediate] == [1.0, 2.0, 3.0]
    assert [s for n, s in ANSWERED if n == 40] == [1.0, 2.0, 3.0]  # answered live, one by one


def test_exception_and_non_finite_are_failures(executor):
    executor.submit(job(10, "raise"))
    executor.submit(job(11, "nan"))
    results = collect(executor, 2)
    assert (results[10].status, results[10].reason) == ("failed", "exception")
    assert "ValueError: boom 10" in results[10].traceback
    assert (results[11].status, results[11].reason) == ("failed", "non_finite")


def test_killed_actor_is_lost_and_replaced(executor):
    executor.submit(job(20, "kill"))
    executor.submit(job(21, t=0.5))
    results = collect(executor, 2)
    assert (results[20].status, results[20].reason) == ("failed", "worker_lost")
    assert results[21].status == "ok"
    executor.submit(job(22))
    executor.submit(job(23))
    assert all(r.status == "ok" for r in collect(executor, 2).values())


def test_timeout_kills_the_actor_and_frees_the_slot(executor):
    executor.submit(job(30, "hang"))
    results = collect(executor, 1)
    assert (results[30].status, results[30].reason) == ("failed", "timeout")
    executor.submit(job(31))
    executor.submit(job(32))
    assert all(r.status == "ok" for r in collect(executor, 2).values())


def test_bad_parameters_fail_before_ray_starts():
    with pytest.raises(ConfigError, match="workers must be"):
        RayExecutor(workers=0).start(FakeEvaluator())
    with pytest.raises(ConfigError, match="address must be"):
        RayExecutor(workers=1, address="").start(FakeEvaluator())
    with pytest.raises(ConfigError, match="before start"):
        RayExecutor(workers=1).submit(job(0))


@pytest.mark.slow
def test_cli_search_on_ray_stores_every_trial(cluster, tmp_path, capsys):
    from nasforge.cli.main import main
    from nasforge.study import Study, TrialState

    store = tmp_path / "cli.db"
    argv = ["search", "--executor", "ray", "--workers", "2", "--trials", "3", "--epochs", "1",
            "--store", str(store), "--name", "onray", "--space-opt", "min_layers=2",
            "--space-opt", "max_layers=2", "--space-opt", "widths=[16]"]
    assert main(argv) == 0, capsys.readouterr().err
    study = Study.load(store=store, name="onray", build_evaluator=False)
    trials = study.trials
    assert len(trials) == 3 and all(t.state is TrialState.COMPLETE for t in trials)
    assert all(0.0 <= t.metrics["valid_acc"] <= 1.0 and "test_acc" in t.metrics for t in trials)


def test_study_on_ray_reruns_a_lost_trial(cluster, tmp_path):
    from executor_fakes import ToyFaultEvaluator
    from fakes import ToySpace

    import nasforge as nf
    from nasforge.study import Study, TrialState

    evaluator = ToyFaultEvaluator(kill_at=[1])
    study = Study.create(store=tmp_path / "r.db", name="ray-faults", space=ToySpace(),
                         strategy=nf.strategies.create("random"), evaluator=evaluator, seed=2)
    study.optimize(n_trials=5, workers=2, executor="ray", retries=1, show_progress=False)
    trials = {t.number: t for t in study.trials}
    assert trials[1].error == "worker_lost"
    rerun = [t for t in trials.values() if t.info.get("retry_of") == 1]
    assert len(rerun) == 1 and rerun[0].state is TrialState.COMPLETE
    assert rerun[0].architecture == trials[1].architecture
    assert study.store.count_budget(study.record.id) == 5 and len(trials) == 6
    assert all(t.state is TrialState.COMPLETE for n, t in trials.items() if n != 1)
