"""Quickstart: the nasforge Python API on a tiny budget (about a minute on one CPU core).

    python examples/quickstart.py [--store quickstart.db] [--trials 4] [--epochs 2]

Searches the chain space on MNIST-1D with regularized evolution, prints the best trial (selected by
validation accuracy; the test accuracy is only reported), loads its trained network and predicts the
raw test split with it.
Run it again with more ``--trials``: the study resumes where it stopped.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import nasforge as nf


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", default="quickstart.db")
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    task = nf.data.load("mnist1d")
    space = nf.spaces.create("chain", min_layers=2, max_layers=4, widths=[32, 64], norms=["batch"])
    strategy = nf.strategies.create("regularized-evolution", population=4, sample=2)
    evaluator = nf.estimate.TrainEvaluator(task, space=space, epochs=args.epochs)
    study = nf.Study.create(store=args.store, name="quickstart", space=space, strategy=strategy,
                            evaluator=evaluator, seed=0, load_if_exists=True)
    study.optimize(n_trials=args.trials, show_progress=False)

    best = study.best_trial                              # chosen by validation accuracy
    model = study.best_model()                           # its trained network (stored weights)
    x_raw, y_raw = task.raw_split("test")                # the test split as the user has it
    predicted = model.predict(x_raw)                     # labels in the task's own label space
    accuracy = float(np.mean([p == y for p, y in zip(predicted, y_raw, strict=True)]))
    logits = model.network(torch.as_tensor(task.x_test[:8]))
    print(f"trials: {len(study.trials)}; best trial #{best.number}: "
          f"valid_acc {best.metrics['valid_acc']:.4f}, test_acc {best.metrics['test_acc']:.4f}, "
          f"params {best.metrics.get('params')}; model output {tuple(logits.shape)}; "
          f"predict on raw test data: {accuracy:.4f}")
    print(best.architecture.to_json())


if __name__ == "__main__":
    main()
