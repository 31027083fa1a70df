"""Helpers shared by the CLI sub-commands: ``k=v`` options, the store flag, loading a study, output."""

from __future__ import annotations

import argparse
import json
from typing import Any

from nasforge.errors import ConfigError
from nasforge.report.html import fmt  # noqa: F401 (re-exported: one metric formatter for the CLI and reports)

DEFAULT_STORE = "nasforge.db"


def parse_value(raw: str) -> Any:
    """A JSON value if ``raw`` parses as one (``3``, ``0.5``, ``true``, ``[1, 2]``), else the string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def parse_options(items: list[str] | None, flag: str) -> dict[str, Any]:
    """``["max_layers=4", "widths=[32,64]"]`` -> ``{"max_layers": 4, "widths": [32, 64]}``."""
    options: dict[str, Any] = {}
    for item in items or []:
        key, eq, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not eq or not key or not key.isidentifier():
            raise ConfigError(f"{flag} expects KEY=VALUE (e.g. {flag} max_layers=4), got {item!r}")
        options[key] = parse_value(raw.strip())
    return options


def add_store_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", default=None, metavar="FILE", help=f"the study store (default: ./{DEFAULT_STORE})"
    )


def load_study(args: argparse.Namespace, *, need_evaluator: bool = False) -> Any:
    """Load ``args.name`` from ``args.store``: read-only (no strategy, no evaluator, no write: what
    ``status`` and ``best`` need) unless ``need_evaluator``."""
    from nasforge.study import Study

    store = args.store or DEFAULT_STORE
    if need_evaluator:
        return Study.load(store=store, name=args.name)
    return Study.load(store=store, name=args.name, read_only=True)


def genotype_summary(genes: dict[str, Any], width: int = 70) -> str:
    """One-line summary of a genotype: chain layers as ``op/width/kernel``, else compact JSON."""
    layers = genes.get("layers")
    if isinstance(layers, list) and layers and all(isinstance(layer, dict) for layer in layers):
        parts = []
        for layer in layers:
            text = str(layer.get("op", "?"))
            if "width" in layer:
                text += f"{layer['width']}"
            if "kernel" in layer:
                text += f"k{layer['kernel']}"
            if layer.get("stride", 1) != 1:
                text += f"s{layer['stride']}"
            parts.append(text)
        text = f"L={len(layers)}: " + " ".join(parts)
    else:
        text = json.dumps(genes, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= width else text[: width - 3] + "..."


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))
