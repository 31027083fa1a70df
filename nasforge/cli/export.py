"""``nasforge export NAME --out DIR [--trial N] [--format pytorch|onnx|all]``: a study's best (or
given) trained trial as a model that takes raw data.

``--format pytorch`` (default) writes ``model.py`` (imports only torch: ``Model`` with ``forward`` for
logits and ``predict`` for labels, ``build_model()``, ``load_model(weights_path=...)``) and
``weights.pt`` (a state dict for ``weights_only=True``); ``--format onnx`` writes ``model.onnx``
(input ``x`` with a dynamic batch axis, output ``logits``; needs ``pip install 'nasforge[onnx]'``);
``all`` writes both. ``genotype.json`` (genotype, input contract, preprocessing, metrics) always.
Every model takes the data as it was given to ``--task`` (a table's rows, the ``.npz`` array's own
samples, MNIST-1D's ``(N, 40)`` signals) and applies the task's preprocessing inside; each written
model is checked to reproduce the stored one.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from nasforge.cli.common import DEFAULT_STORE, add_store_arg


def register(subparsers: Any) -> None:
    """Add the ``export`` sub-command."""
    p = subparsers.add_parser("export", help="export a study's best model (PyTorch and/or ONNX)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", help="study name")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--trial", type=int, default=None, help="export this trial number instead of the best")
    p.add_argument("--format", default="pytorch", metavar="FORMAT",
                   help="pytorch (model.py + weights.pt, the default), onnx (model.onnx) or all")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_store_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export and print where the files went."""
    from nasforge.report.export import FORMATS, check_formats, export_trial

    formats = check_formats(args.format)  # before anything is read or written
    if "onnx" in formats:
        from nasforge.report.onnx import check_available

        check_available()
    summary = export_trial(args.store or DEFAULT_STORE, args.name, args.out, trial=args.trial,
                           formats=formats)
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
        return 0
    files = ["genotype.json"] + [f for fmt in formats for f in FORMATS[fmt]]
    checks = [f"{label} max |difference| {summary[key]:.2g}" for key, label in
              (("max_abs_diff", "model.py"), ("onnx_max_abs_diff", "model.onnx")) if key in summary]
    print(f"exported trial {summary['trial']} of {args.name!r} to {summary['out']}: {', '.join(files)}"
          + (f" ({'; '.join(checks)})" if checks else ""))
    return 0
