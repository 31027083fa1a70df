"""``nasforge export NAME --out DIR``: the best trial of a study as standalone PyTorch.

Writes ``genotype.json``, ``model.py`` (imports only torch; ``build_model()`` and
``load_model(weights_path=...)``) and ``weights.pt`` (a state dict for ``weights_only=True``) from
the trial's stored checkpoint, and checks that the written model reproduces the stored one.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from nasforge.cli.common import DEFAULT_STORE, add_store_arg


def register(subparsers: Any) -> None:
    """Add the ``export`` sub-command."""
    p = subparsers.add_parser("export", help="export a study's best architecture as standalone PyTorch",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", help="study name")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--trial", type=int, default=None, help="export this trial number instead of the best")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_store_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export and print where the files went."""
    from nasforge.report.export import export_trial

    summary = export_trial(args.store or DEFAULT_STORE, args.name, args.out, trial=args.trial)
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        print(f"exported trial {summary['trial']} of {args.name!r} to {summary['out']}: genotype.json, "
              f"model.py, weights.pt (max |difference| {summary['max_abs_diff']:.2g})")
    return 0
