"""``nasforge plot NAME --kind incumbent|scatter|curves|arch|rungs [--out FILE.png|svg|pdf]``: one figure.

The figures are those of ``nasforge report``: ``incumbent`` (best validation objective so far; several
names overlay their incumbents; ``--axis time`` puts wall time on x), ``scatter`` (objective against
parameters / MACs / latency), ``curves`` (per-epoch learning curves), ``arch`` (the best architecture
drawn as a graph), ``rungs`` (budgets reached, where a scheduler ran).
"""

from __future__ import annotations

import argparse
from typing import Any

from nasforge.cli.common import DEFAULT_STORE, add_store_arg


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "plot", help="draw one figure of a study to a PNG/SVG/PDF file", description=__doc__
    )
    p.add_argument("names", nargs="+", metavar="NAME", help="study name (several: incumbents overlaid)")
    add_store_arg(p)
    p.add_argument("--kind", default="incumbent", help="incumbent, scatter, curves, arch or rungs")
    p.add_argument("--axis", default="trials", help="incumbent x axis: trials (default) or time")
    p.add_argument("--out", metavar="FILE", help="output .png, .svg or .pdf (default NAME-KIND.png)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nasforge.checks import check_choice
    from nasforge.report import data
    from nasforge.report.build import check_out
    from nasforge.report.figures import PLOT_KINDS, plot
    from nasforge.report.svg import check_path, save

    check_choice("--kind", args.kind, list(PLOT_KINDS))
    check_choice("--axis", args.axis, ["trials", "time"])
    from nasforge.report.page import slug

    out = args.out or f"{slug(args.names[0])}-{args.kind}.png"
    check_path(out)
    path = check_out(out)
    studies = [data.load(args.store or DEFAULT_STORE, name) for name in args.names]
    fig = plot(args.kind, studies, args.axis)
    try:
        save(fig, path)
    except OSError as exc:
        from nasforge.errors import ConfigError

        raise ConfigError(
            f"cannot write --out {str(path)!r}: {exc.strerror or exc}; pass a writable path"
        ) from exc
    print(f"wrote {path}")
    return 0
