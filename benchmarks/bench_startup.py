"""Start-up of the ``nasforge search`` command against ``python -c 'import torch'``, in the same run.

    python benchmarks/bench_startup.py [--repeats 3] [--workers 1] [--trials 1] [--epochs 1]

Runs, interleaved so drifting machine load hits all: the baseline ``python -c "import torch"``, the floor
any training command pays (``import torch`` plus a first ``torch.optim.AdamW``, which imports
``torch._dynamo``), and the whole command ``nasforge search --trials T --epochs E --workers W
--no-progress`` (the built-in MNIST-1D task, chain space and regularized evolution, into a fresh store
each time), all as fresh processes with ``OMP_NUM_THREADS=1``. For the command it reads the trials'
``train_seconds`` and completion times from the store and reports the start-up as the whole wall time
minus the wall time spent training (the union of the trials' training intervals: parallel workers
overlap). Prints each run and the medians: whole command / import torch, start-up (command
minus training) / import torch (goal < 2x), and the floor / import torch.
The second MNIST-1D load of a run hits the task cache where the data layer has one; the first run of a
fresh machine fills it (run it twice to see both).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], cwd: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds


def training_seconds(store: Path) -> float:
    """Wall time the trials spent training: the union of the intervals ``[completed - train_seconds,
    completed]`` of the stored trials (parallel workers train at the same time)."""
    conn = sqlite3.connect(store)
    try:
        rows = conn.execute(
            "SELECT completed, json_extract(metrics, '$.train_seconds') FROM trials"
        ).fetchall()
    finally:
        conn.close()
    spans = sorted((end - (train or 0.0), end) for end, train in rows if end is not None)
    total, reach = 0.0, float("-inf")
    for start, end in spans:
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--trials", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]))
    torch_s, floor_s, command_s, startup_s = [], [], [], []
    floor = "import torch; torch.optim.AdamW([torch.zeros(1, requires_grad=True)])"
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            store = Path(tmp) / f"startup-{i}.db"
            cmd = [sys.executable, "-c", "from nasforge.cli.main import main; raise SystemExit(main())",
                   "search", "--trials", str(args.trials), "--epochs", str(args.epochs), "--workers",
                   str(args.workers), "--no-progress", "--store", str(store), "--name", "startup"]
            order = ("torch", "floor", "command") if i % 2 == 0 else ("command", "floor", "torch")
            for what in order:
                if what == "torch":
                    torch_s.append(timed([sys.executable, "-c", "import torch"], tmp, env))
                elif what == "floor":
                    floor_s.append(timed([sys.executable, "-c", floor], tmp, env))
                else:
                    command_s.append(timed(cmd, tmp, env))
                    startup_s.append(command_s[-1] - training_seconds(store))
            print(f"run {i}: import torch {torch_s[-1]:.2f} s, + first AdamW {floor_s[-1]:.2f} s, "
                  f"command {command_s[-1]:.2f} s, "
                  f"start-up (command minus training) {startup_s[-1]:.2f} s", flush=True)
    base = statistics.median(torch_s)
    whole, startup = statistics.median(command_s), statistics.median(startup_s)
    print(f"\nmedians over {args.repeats} runs (workers={args.workers}, trials={args.trials}, "
          f"epochs={args.epochs}): import torch {base:.2f} s, command {whole:.2f} s, "
          f"start-up {startup:.2f} s")
    print(f"whole command / import torch: {whole / base:.2f}x")
    print(f"start-up / import torch: {startup / base:.2f}x (goal < 2x)")
    print(f"floor (import torch + first AdamW) / import torch: {statistics.median(floor_s) / base:.2f}x")


if __name__ == "__main__":
    main()
