"""``nasforge predict NAME --data FILE [--out preds.csv] [--trial N]``: labels for new raw data.

Loads the study's best trained trial (by its validation objective; ``--trial N`` for another) and
predicts the samples in ``FILE``, read with the same rules as ``--task``: a ``.csv`` with the training
file's feature columns (the label column may be there too), or an ``.npz`` with an array ``x`` of
the raw per-sample shape (and optionally ``y``). Predictions are the task's own labels (strings where
the training CSV had strings), written as a CSV with a header row to ``--out``, or to stdout. When the
file holds labels, the accuracy is printed to stderr. Nothing in the store changes.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nasforge.cli.common import DEFAULT_STORE, add_store_arg


def register(subparsers: Any) -> None:
    """Add the ``predict`` sub-command."""
    p = subparsers.add_parser("predict", help="predict labels for a data file with a study's best model",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", help="study name")
    p.add_argument("--data", required=True, metavar="FILE", help="a .csv or .npz of raw samples")
    p.add_argument("--out", default=None, metavar="FILE", help="write the predictions here (default: stdout)")
    p.add_argument("--trial", type=int, default=None, help="use this trial number instead of the best")
    add_store_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Predict and write the CSV."""
    from nasforge.report.predict import predict_file

    result = predict_file(args.store or DEFAULT_STORE, args.name, args.data, out=args.out, trial=args.trial)
    if args.out is None:
        sys.stdout.write(result["csv"])
    accuracy = result["accuracy"]
    note = f"; accuracy {accuracy:.4f} against the file's labels" if accuracy is not None else ""
    where = f" to {args.out}" if args.out else ""
    print(f"predicted {result['n']} samples with trial {result['trial']} of {args.name!r}{where}{note}",
          file=sys.stderr)
    return 0
