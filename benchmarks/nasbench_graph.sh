#!/usr/bin/env bash
# Issue #3's full benchmark: random search, regularized evolution and Optuna TPE on all 9
# NAS-Bench-Graph datasets, 30 seeds x 100 queries each. Writes results.csv, summary.md, regret.png.
#   benchmarks/nasbench_graph.sh [OUT_DIR] [extra nasforge bench flags, e.g. --workers 2]
set -euo pipefail
OUT="${1:-bench-nasbench-graph}"
shift || true
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
/usr/bin/time -p nasforge bench nasbench-graph \
  --strategies random,regularized-evolution,tpe --queries 100 --seeds 30 --out "$OUT" "$@"
echo "summary: $OUT/summary.md"
