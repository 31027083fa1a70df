"""``nasforge dashboard [--store FILE] [--host 127.0.0.1] [--port N]``: a live local web page per study.

Serves, for every study in the store, the page ``nasforge report`` writes, and reloads it when a trial
finishes (so it follows a search writing to the same store). Bound to 127.0.0.1 unless ``--host``
says otherwise; it only reads the store. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
from typing import Any

from nasforge.cli.common import DEFAULT_STORE, add_store_arg


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "dashboard", help="serve live report pages of a store's studies", description=__doc__
    )
    add_store_arg(p)
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument(
        "--refresh", type=float, default=5.0, metavar="SECONDS", help="how often pages check for news"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nasforge.checks import check_int, check_number
    from nasforge.report.dashboard import make_server

    check_int("--port", args.port, 0, 65535)
    check_number("--refresh", args.refresh, 0.2, 3600)
    server = make_server(args.store or DEFAULT_STORE, args.host, args.port, args.refresh)
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in str(host) else host
    print(
        f"nasforge dashboard: {args.store or DEFAULT_STORE} at http://{shown}:{port}/ (Ctrl-C to stop)",
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.25)
    finally:
        server.server_close()
    return 0
