"""The driver lease is really held: it beats while a serial trial trains, and a driver whose lease was
taken over stops without touching the trials of the driver that took it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from executor_fakes import ToyFaultEvaluator
from fakes import ToyEvaluator, ToySpace

import nasforge as nf
from nasforge.errors import LeaseLost
from nasforge.study import Study, TrialState
from nasforge.study import lease as lease_module
from nasforge.study.lease import DriverLease, read_lease
from nasforge.study.store import Store


class HookEvaluator(ToyEvaluator):
    """The toy evaluator, calling ``hook(context)`` inside trial ``at`` (serial executor only)."""

    def __init__(self, at: int, hook: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.at, self.hook = at, hook

    def evaluate(self, architecture: Any, context: Any, reporter: Any = None) -> dict[str, Any]:
        if context.trial_number == self.at:
            self.hook(context)
        return super().evaluate(architecture, context, reporter)


def _study(path: Path, evaluator: Any) -> Study:
    return Study.create(store=path, name="s", space=ToySpace(), strategy=nf.strategies.create("random"),
                        evaluator=evaluator, seed=0)


def _dead_pid() -> int:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    return dead.pid


def _take_over(path: Path, sid: int) -> tuple[DriverLease, int, Store]:
    """What a second driver does once the first looks dead: take the lease, recover, start a trial."""
    other = Store(path)
    with other.transaction() as conn:  # the first driver's pid is now that of a finished process
        conn.execute("UPDATE leases SET pid = ? WHERE study_id = ?", (_dead_pid(), sid))
    second = DriverLease(other, sid, "s")
    second.acquire()
    other.fail_running(sid, "driver_lost")  # its recovery: the first driver's trial is lost
    candidate = nf.study.Candidate(nf.space.Architecture("toy", {"x": 9, "y": 9}))
    number = other.create_trial(sid, candidate, hash_="h99", seed_fn=lambda n: n, driver=second.token)
    return second, number, other


def test_heartbeat_runs_while_a_serial_trial_trains(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lease_module, "HEARTBEAT_EVERY", 0.05)
    beats: list[float] = []

    def watch(context: Any) -> None:  # inside the trial: the driver's loop is blocked here
        for _ in range(2):
            beats.append(read_lease(study.store, study.record.id)[3])  # type: ignore[index]
            time.sleep(0.4)

    study = _study(store_path, HookEvaluator(1, watch))
    study.optimize(n_trials=3, show_progress=False)
    assert len(beats) == 2 and beats[1] > beats[0]  # refreshed while the trial ran
    assert read_lease(study.store, study.record.id) is None


def test_taken_over_driver_stops_and_leaves_the_new_drivers_trials(store_path: Path) -> None:
    taken: dict[str, Any] = {}

    def take(context: Any) -> None:
        taken["lease"], taken["number"], taken["store"] = _take_over(store_path, study.record.id)

    study = _study(store_path, HookEvaluator(1, take))
    with pytest.raises(LeaseLost, match="taken over by another driver"):
        study.optimize(n_trials=6, show_progress=False)
    trials = {t.number: t for t in study.trials}
    assert sorted(trials) == [0, 1, 2]  # the first driver started nothing after it lost the lease
    assert trials[0].state is TrialState.COMPLETE
    # trial 1 was lost to the second driver's recovery; the first driver did not write its result
    assert trials[1].state is TrialState.FAILED and trials[1].error == "driver_lost" and not trials[1].metrics
    # the second driver's trial is untouched by the first driver's clean-up, and so is its lease
    assert trials[taken["number"]].state is TrialState.RUNNING
    assert read_lease(study.store, study.record.id)[0] == taken["lease"].token  # type: ignore[index]
    taken["lease"].release()
    taken["store"].close()
    assert read_lease(study.store, study.record.id) is None


def test_heartbeat_finds_a_lost_lease_while_a_process_trial_runs(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lease_module, "HEARTBEAT_EVERY", 0.1)
    study = Study.create(store=store_path, name="s", space=ToySpace(), seed=0,
                         strategy=nf.strategies.create("random"), evaluator=ToyFaultEvaluator(sleep=8.0))
    taken: dict[str, Any] = {}
    checked = threading.Event()

    def second_driver() -> None:
        with Store(store_path) as probe:  # wait until the first trial is RUNNING on its worker
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not any(
                t.state is TrialState.RUNNING for t in probe.trials(study.record.id)
            ):
                time.sleep(0.05)
        time.sleep(0.5)
        taken["at"] = time.monotonic()
        taken["lease"], taken["number"], taken["store"] = _take_over(store_path, study.record.id)
        checked.wait(60)
        taken["lease"].release()  # the second driver ends (in its own thread: its store is its own)
        taken["store"].close()

    thread = threading.Thread(target=second_driver)
    thread.start()
    with pytest.raises(LeaseLost):
        study.optimize(n_trials=3, workers=1, executor="process", show_progress=False)
    stopped = time.monotonic()
    assert stopped - taken["at"] < 5.0  # found by the heartbeat, long before the 8 s trial ended
    trials = {t.number: t for t in study.trials}
    assert trials[0].error == "driver_lost" and trials[taken["number"]].state is TrialState.RUNNING
    assert read_lease(study.store, study.record.id)[0] == taken["lease"].token  # type: ignore[index]
    checked.set()
    thread.join()
    assert read_lease(study.store, study.record.id) is None
