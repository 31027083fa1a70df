"""Screening wrapper: NF_GRID=wide widens the GP's hyperparameter grid, then runs bench_kernels."""
import os
import runpy
import sys
from pathlib import Path

import nasforge.strategies.gp as gp

if os.environ.get("NF_GRID") == "wide":
    gp._LENGTHSCALES = (0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)
    gp._NOISES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
sys.argv = ["bench_kernels.py", *sys.argv[1:]]
runpy.run_path(str(Path(__file__).resolve().parents[2] / "bench_kernels.py"), run_name="__main__")
