"""``nasforge train ARCH.json --task TASK``: retrain one genotype from scratch and report accuracy.

``ARCH.json`` is a genotype (``{"space": ..., "genes": {...}}``), e.g. the ``genotype.json`` written
by ``nasforge export`` (its ``space_config`` is used when present) or ``nasforge best NAME --json``
output. ``--out DIR`` also exports the retrained model like ``nasforge export``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from nasforge.errors import ConfigError, SpaceError


def register(subparsers: Any) -> None:
    """Add the ``train`` sub-command."""
    p = subparsers.add_parser("train", help="retrain one architecture from scratch",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("arch", metavar="ARCH.json", help="genotype JSON file")
    p.add_argument("--task", default="mnist1d", help="built-in task or .npz/.csv file (default mnist1d)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: the built-in default)")
    p.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.add_argument("--space-opt", action="append", metavar="KEY=VALUE", help="space parameter (repeatable)")
    p.add_argument("--out", metavar="DIR", default=None, help="also export the trained model here")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=run)


def read_genotype(path: str) -> tuple[Any, dict[str, Any]]:
    """``(Architecture, space config or {})`` from a genotype JSON file."""
    from nasforge.space import Architecture

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"genotype file {path!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read genotype file {path!r}: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpaceError(f"genotype file {path!r} is not valid JSON: {exc}") from exc
    if isinstance(data, dict) and "architecture" in data and "genes" not in data:
        data = data["architecture"]  # `nasforge best --json` style
    if not isinstance(data, dict):
        raise SpaceError(f"genotype file {path!r} must hold a JSON object, got {type(data).__name__}")
    space_config = data.get("space_config") if isinstance(data.get("space_config"), dict) else {}
    arch = Architecture.from_dict({"space": data.get("space"), "genes": data.get("genes")}
                                  if "space" in data and "genes" in data else data)
    return arch, dict(space_config)


def run(args: argparse.Namespace) -> int:
    """Build the space, train the genotype, print accuracies."""
    from nasforge import data, defaults, spaces
    from nasforge.cli.common import parse_options
    from nasforge.estimate import EvalContext, TrainEvaluator

    if args.epochs is not None and args.epochs < 1:
        raise ConfigError(f"--epochs must be an integer >= 1, got {args.epochs}")
    if args.seed < 0:
        raise ConfigError(f"--seed must be an integer >= 0, got {args.seed}")
    arch, space_config = read_genotype(args.arch)
    task = data.load(args.task)
    options = dict(space_config)
    options.pop("name", None)
    if not options and arch.space == "chain":
        options = dict(defaults.CHAIN_SPACE)  # widest compatible guess: the default search's space
    options.update(parse_options(args.space_opt, "--space-opt"))
    if arch.space == "chain" and "input_kind" not in options:
        layers = arch.genes.get("layers") or [{}]
        dense = isinstance(layers[0], dict) and "kernel" not in layers[0]
        options["input_kind"] = "tabular" if dense else task.input_kind
    space = spaces.create(arch.space, **options)
    try:
        space.check(arch)
    except SpaceError:
        if space_config or arch.space != "chain":
            raise
        space = spaces.create("chain", input_kind=options["input_kind"])  # a genotype of the full space
        space.check(arch)
    epochs = args.epochs if args.epochs is not None else int(defaults.SEARCH["epochs"])
    evaluator = TrainEvaluator(task, space=space, epochs=epochs, device=args.device, **defaults.TRAINING)
    checkpoint = None
    if args.out:
        checkpoint = str(Path(args.out) / "checkpoint")
    metrics = evaluator.evaluate(arch, EvalContext(seed=args.seed, checkpoint_dir=checkpoint))
    if args.out:
        import torch

        from nasforge.report.export import export_model

        model = evaluator.build_model(arch)
        model.load_state_dict(torch.load(metrics["checkpoint"], map_location="cpu", weights_only=True))
        extra = {"space_config": space.to_config(), "task": task.describe(), "metrics": {
            k: v for k, v in metrics.items() if isinstance(v, (int, float))}}
        export_model(model, args.out, task.preprocessing, arch, extra)
    if args.json:
        print(json.dumps({"architecture": arch.to_dict(), "task": task.name, **metrics}, sort_keys=True))
    else:
        print(f"{task.name}: valid_acc {metrics['valid_acc']:.4f}  test_acc {metrics['test_acc']:.4f}  "
              f"params {metrics['params']:,}  epochs {metrics['epochs']}  {metrics['train_seconds']:.1f}s"
              + (f"  exported to {args.out}" if args.out else ""))
    return 0
