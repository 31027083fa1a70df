"""``nasforge report NAME [NAME ...] --out report.html``: a self-contained HTML report of studies.

One study: its summary, incumbent over trials and wall time, trials against parameters / MACs /
latency (with the Pareto front for several objectives), learning curves, rungs where a scheduler
ran, the one-shot phase where one ran, the best architecture drawn, failures by reason, and a
sortable table of every trial. Several studies: compared on one page (a summary row each,
incumbents overlaid), then each one's sections. The file loads nothing from the network.
"""

from __future__ import annotations

import argparse
from typing import Any

from nasforge.cli.common import DEFAULT_STORE, add_store_arg


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report", help="write a self-contained HTML report of one or more studies", description=__doc__
    )
    p.add_argument("names", nargs="+", metavar="NAME", help="study name(s); several are compared")
    add_store_arg(p)
    p.add_argument(
        "--out", default="report.html", metavar="FILE.html", help="output file (default report.html)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nasforge.report.build import write_report

    path = write_report(args.store or DEFAULT_STORE, args.names, args.out)
    size = path.stat().st_size / 1024
    print(f"wrote {path} ({size:,.0f} KiB): {', '.join(args.names)}")
    return 0
