"""ProcessExecutor: spawned workers, evaluator shipped once, faults mapped to reasons, clean shutdown."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from executor_fakes import FakeEvaluator, arch

from nasforge.errors import ConfigError, EvaluationError
from nasforge.estimate.base import EvalContext
from nasforge.study.executors import create
from nasforge.study.executors.process import ProcessExecutor
from nasforge.trial import Job, JobResult


def job(n: int, mode: str = "ok", t: float = 0.0, x: int | None = None) -> Job:
    return Job(n, arch(mode, n if x is None else x, t), EvalContext(trial_number=n, seed=100 + n))


def collect(executor: ProcessExecutor, n: int, limit: float = 60.0) -> dict[int, JobResult]:
    out: dict[int, JobResult] = {}
    deadline = time.monotonic() + limit
    while len(out) < n and time.monotonic() < deadline:
        for result in executor.wait(timeout=1.0):
            out[result.trial_number] = result
    assert len(out) == n, f"only {len(out)} of {n} results arrived"
    return out


def gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{pid}"):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def executor():
    ex = create("process", workers=2, trial_timeout=4.0, threads=1)
    ex.start(FakeEvaluator(payload_size=1_000_000))
    yield ex
    ex.shutdown(cancel=True)


def test_jobs_run_on_both_workers_and_evaluator_is_shipped_once(executor):
    assert executor.capacity == 2 and len(executor.pids) == 2
    for n in range(6):
        executor.submit(job(n, t=0.2))
    assert executor.in_flight == 6  # more than capacity is queued, never refused
    results = collect(executor, 6)
    assert executor.in_flight == 0
    assert all(r.status == "ok" for r in results.values())
    assert {r.metrics["pid"] for r in results.values()} == set(executor.pids)
    # each worker unpickled the evaluator (and ran prepare) exactly once, not per trial
    assert {r.metrics["loads"] for r in results.values()} == {1}
    assert {r.metrics["prepared"] for r in results.values()} == {1}
    assert results[3].metrics["seed"] == 103 and results[3].metrics["valid_acc"] == pytest.approx(0.3)
    assert [step for step, _ in results[0].intermediate] == [1.0, 2.0]
    assert results[0].started_at <= results[0].completed_at


def test_the_drivers_stop_answer_stops_a_running_worker_trial_at_that_step():
    seen: list[tuple[int, float]] = []

    def answer(number: int, step: float, metrics: dict[str, float]) -> bool:
        seen.append((number, step))
        return step < 3  # stop after the third epoch

    with ProcessExecutor(workers=1) as ex:
        ex.start(FakeEvaluator(), on_report=answer)
        ex.submit(job(60, "steps", t=0.05, x=10))
        result = collect(ex, 1)[60]
        ex.submit(job(61, "ok"))  # the worker serves the next trial as usual
        assert collect(ex, 1)[61].status == "ok"
    assert result.status == "pruned", result.traceback
    assert result.metrics["stopped_at"] == 3 and result.metrics["last_step"] == 3  # at step 3, not later
    assert [step for step, _ in result.intermediate] == [1.0, 2.0, 3.0]
    assert seen[:3] == [(60, 1.0), (60, 2.0), (60, 3.0)]  # each report answered while the trial ran


def test_workers_use_the_configured_torch_threads():
    with ProcessExecutor(workers=1, threads=1) as ex:  # torch imported lazily inside the trial
        ex.start(FakeEvaluator())
        ex.submit(job(50, "threads"))
        result = collect(ex, 1)[50]
    assert result.status == "ok", result.traceback
    assert result.metrics["threads"] == 1


def test_exception_and_non_finite_are_failures_and_the_worker_survives(executor):
    pids = set(executor.pids)
    executor.submit(job(10, "raise"))
    executor.submit(job(11, "nan"))
    executor.submit(job(12, "nan_metric"))
    executor.submit(job(13))
    results = collect(executor, 4)
    assert (results[10].status, results[10].reason) == ("failed", "exception")
    assert "ValueError: boom 10" in results[10].traceback
    assert (results[11].status, results[11].reason) == ("failed", "non_finite")
    assert (results[12].status, results[12].reason) == ("failed", "non_finite")
    assert results[13].status == "ok"
    assert set(executor.pids) == pids


def test_killed_worker_is_lost_and_replaced_without_touching_the_other(executor):
    old = set(executor.pids)
    executor.submit(job(20, "ok", t=1.0))
    executor.submit(job(21, "kill"))
    results = collect(executor, 2)
    assert (results[21].status, results[21].reason) == ("failed", "worker_lost")
    assert [step for step, _ in results[21].intermediate] == [1.0]  # streamed before it died
    assert results[20].status == "ok"
    executor.submit(job(22))
    executor.submit(job(23, t=0.3))
    again = collect(executor, 2)
    assert all(r.status == "ok" for r in again.values())
    assert len(executor.pids) == 2 and set(executor.pids) != old
    assert {r.metrics["loads"] for r in again.values()} == {1}


def test_timeout_kills_the_worker_and_frees_the_slot(executor):
    executor.submit(job(30, "hang"))
    t0 = time.monotonic()
    hung_pids = set(executor.pids)
    results = collect(executor, 1)
    elapsed = time.monotonic() - t0
    assert (results[30].status, results[30].reason) == ("failed", "timeout")
    assert 3.5 < elapsed < 30
    assert "trial_timeout" in results[30].traceback
    executor.submit(job(31))
    executor.submit(job(32))
    assert all(r.status == "ok" for r in collect(executor, 2).values())
    assert len(hung_pids - set(executor.pids)) == 1  # exactly the hung worker was replaced


def test_shutdown_cancel_is_prompt_and_leaves_no_process():
    ex = ProcessExecutor(workers=1)
    ex.start(FakeEvaluator())
    pids = ex.pids
    ex.submit(job(40, "hang"))
    assert ex.wait(timeout=0.3) == []
    t0 = time.monotonic()
    ex.shutdown(cancel=True)
    assert time.monotonic() - t0 < 5
    assert all(gone(pid) for pid in pids)
    assert ex.in_flight == 0 and ex.wait(timeout=0) == []
    ex.shutdown(cancel=True)  # idempotent


def test_shutdown_without_cancel_lets_the_running_trial_finish():
    ex = ProcessExecutor(workers=1)
    ex.start(FakeEvaluator())
    ex.submit(job(41, t=0.5))
    assert ex.wait(timeout=0.1) == []
    pids = ex.pids
    t0 = time.monotonic()
    ex.shutdown(cancel=False)
    assert time.monotonic() - t0 >= 0.3  # waited for the trial
    assert all(gone(pid) for pid in pids)
    ex.start(FakeEvaluator())  # an executor can be started again
    ex.submit(job(42))
    assert collect(ex, 1)[42].status == "ok"
    ex.shutdown()


class _Unpicklable(FakeEvaluator):
    def __reduce__(self):
        raise TypeError("cannot pickle this evaluator")


class _BadPrepare(FakeEvaluator):
    def prepare(self) -> None:
        raise FileNotFoundError("task data missing")


def test_bad_configuration_fails_early_with_typed_errors():
    with pytest.raises(ConfigError, match="workers must be an integer >= 1"):
        ProcessExecutor(workers=0).start(FakeEvaluator())
    with pytest.raises(ConfigError, match="trial_timeout"):
        ProcessExecutor(workers=1, trial_timeout=-1).start(FakeEvaluator())
    with pytest.raises(ConfigError, match="picklable"):
        ProcessExecutor(workers=1).start(_Unpicklable())
    with pytest.raises(ConfigError, match="before start"):
        ProcessExecutor(workers=1).submit(job(0))


def test_prepare_failure_is_reported_before_the_first_job():
    ex = ProcessExecutor(workers=1)
    ex.start(_BadPrepare())  # returns at once: the workers start while the driver prepares
    with pytest.raises(EvaluationError, match="task data missing") as info:
        ex.ready()
    assert info.value.reason == "worker_init"
    assert ex.pids == []
    ex = ProcessExecutor(workers=1)
    ex.start(_BadPrepare())
    with pytest.raises(EvaluationError, match="task data missing"):
        ex.submit(job(0))  # submit waits for the workers first
    assert ex.in_flight == 0


class _Returns(FakeEvaluator):
    def __init__(self, value: object) -> None:
        super().__init__()
        self.value = value

    def evaluate(self, architecture, context, reporter=None):
        for step in (1, 2, 3):
            if reporter is not None and not reporter.report(step, {"valid_acc": np.float32(step / 10)}):
                break
        return self.value


def test_run_job_maps_outcomes_without_a_process():
    from nasforge.study.executors.worker import CollectingReporter, run_job

    ok = run_job(_Returns({"valid_acc": np.float64(0.5), "checkpoint": "/x/model.pt"}), job(1))
    assert ok.status == "ok" and type(ok.metrics["valid_acc"]) is float
    assert ok.checkpoint == "/x/model.pt" and "checkpoint" not in ok.metrics
    assert [s for s, _ in ok.intermediate] == [1.0, 2.0, 3.0]
    assert type(ok.intermediate[0][1]["valid_acc"]) is float
    bad = run_job(_Returns([0.5]), job(2))
    assert (bad.status, bad.reason) == ("failed", "bad_metrics")
    inf = run_job(_Returns({"valid_acc": 0.5, "loss": float("inf")}), job(3))
    assert (inf.status, inf.reason) == ("failed", "non_finite") and "loss" in inf.traceback
    seen: list[tuple[int, float]] = []

    def answer(n: int, step: float, metrics: dict[str, float]) -> bool:
        seen.append((n, step))
        return step < 2

    pruned = run_job(_Returns({"valid_acc": 0.2}), job(4), CollectingReporter(4, on_report=answer))
    assert pruned.status == "pruned" and [s for s, _ in pruned.intermediate] == [1.0, 2.0]
    assert seen == [(4, 1.0), (4, 2.0)]
    silent = CollectingReporter(5, on_report=lambda n, s, m: None)  # no answer: continue
    assert run_job(_Returns({"valid_acc": 0.3}), job(5), silent).status == "ok"


def test_ray_is_imported_only_when_a_ray_executor_starts():
    import subprocess
    import sys

    code = (
        "import sys; import nasforge.study.executors.ray as r, nasforge.study.executors.process as p; "
        "r.RayExecutor(workers=2); print('ray' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_workers_started_before_the_evaluator_serve_it_once_it_comes():
    ex = ProcessExecutor(workers=2)
    ex.prestart(warm=("json",))  # as the CLI does while it loads data and builds the study
    early = set(ex.pids) if ex.pids else set()
    warm = {p.pid for p, _ in ex._warm}
    assert len(warm) == 2 and early == set()  # running, not yet serving
    ex.start(FakeEvaluator())
    assert set(ex.pids) == warm  # the same processes took the evaluator: none spawned again
    for n in range(4):
        ex.submit(job(70 + n))
    results = collect(ex, 4)
    assert {r.metrics["pid"] for r in results.values()} == warm
    assert {r.metrics["loads"] for r in results.values()} == {1}
    ex.shutdown()
    assert all(gone(pid) for pid in warm)
    unused = ProcessExecutor(workers=1)
    unused.prestart()
    pid = unused._warm[0][0].pid
    unused.shutdown()  # never started: its early worker is stopped too
    assert gone(pid)
