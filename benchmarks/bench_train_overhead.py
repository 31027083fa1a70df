"""Overhead of nasforge's TrainEvaluator against a minimal hand-written PyTorch loop.

    python benchmarks/bench_train_overhead.py [--epochs 3] [--repeats 3] [--threads 1]

Both train the same architecture (a 4-layer, 64-channel convolutional chain on MNIST-1D) from the
same initial weights, on the same tensors, with the same batch size, AdamW and one-cycle schedule,
and evaluate validation and test accuracy at the end. Runs are interleaved (evaluator, loop,
evaluator, loop, loop, evaluator, ...) so drifting machine load hits both; the script prints each pair and the
median time ratio evaluator / loop (bar: <= 1.15).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

ARCH_LAYER = {"op": "conv", "width": 64, "kernel": 5, "stride": 1, "activation": "relu", "norm": "batch",
              "dropout": 0.0}


def hand_loop(model: torch.nn.Module, data: dict[str, torch.Tensor], epochs: int, batch_size: int,
              lr: float, weight_decay: float, seed: int) -> tuple[float, float]:
    """The plain PyTorch training loop one would write by hand."""
    x, y = data["x_train"], data["y_train"]
    n = len(y)
    steps = (n + batch_size - 1) // batch_size
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=g)
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        valid = (model(data["x_valid"]).argmax(1) == data["y_valid"]).float().mean().item()
        test = (model(data["x_test"]).argmax(1) == data["y_test"]).float().mean().item()
    return valid, test


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--repeats", type=int, default=4)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    import nasforge as nf
    from nasforge.estimate import EvalContext, TrainEvaluator

    space = nf.spaces.create("chain", input_kind="1d")
    arch = nf.Architecture("chain", {"depth": 4, "layers": [dict(ARCH_LAYER) for _ in range(4)]})
    ev = TrainEvaluator("mnist1d", space=space, epochs=args.epochs, threads=args.threads)
    ev.prepare()
    task = ev.task_data
    data = {k: torch.as_tensor(getattr(task, k)) for k in
            ("x_train", "y_train", "x_valid", "y_valid", "x_test", "y_test")}
    ev.evaluate(arch, EvalContext(seed=0, budget=1))  # warm-up (allocator, kernels)
    ratios = []
    for r in range(args.repeats):
        order = ("evaluator", "loop") if r % 2 == 0 else ("loop", "evaluator")
        times: dict[str, float] = {}
        for which in order:
            t0 = time.perf_counter()
            if which == "evaluator":
                valid_eval = ev.evaluate(arch, EvalContext(seed=r))["valid_acc"]
            else:
                torch.manual_seed(r)
                model = ev.build_model(arch)
                valid_loop, _ = hand_loop(model, data, args.epochs, ev.batch_size, ev.lr, ev.weight_decay, r)
            times[which] = time.perf_counter() - t0
        ratios.append(times["evaluator"] / times["loop"])
        print(f"repeat {r}: evaluator {times['evaluator']:.2f}s (valid {valid_eval:.3f}) | hand loop "
              f"{times['loop']:.2f}s (valid {valid_loop:.3f}) | ratio {ratios[-1]:.3f}", flush=True)
    print(f"median ratio evaluator/hand-loop over {args.repeats} interleaved repeats, {args.epochs} epochs: "
          f"{statistics.median(ratios):.3f} (bar <= 1.15)")


if __name__ == "__main__":
    main()
