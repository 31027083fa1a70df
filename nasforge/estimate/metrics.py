"""Cost metrics of a model: parameter count, MACs of one forward pass, inference latency."""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn


def count_params(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only))


def _conv_macs(module: nn.Module, out: torch.Tensor) -> int:
    kernel = 1
    for k in module.kernel_size:  # type: ignore[attr-defined]
        kernel *= int(k)
    per_output = (module.in_channels // module.groups) * kernel  # type: ignore[attr-defined]
    return int(out[0].numel()) * per_output


@torch.no_grad()
def count_macs(model: nn.Module, input_shape: tuple[int, ...], device: str | torch.device = "cpu") -> int:
    """Multiply-accumulates of one forward pass on one sample of ``input_shape`` (no batch dim).

    Counts convolutions and linear layers (the dominant terms) through forward hooks; norms,
    activations and pooling are ignored. The model is probed in eval mode and restored.
    """
    total = 0

    def hook(module: nn.Module, _inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            total += _conv_macs(module, out)
        elif isinstance(module, nn.Linear):
            total += int(out[0].numel()) * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear))]
    was_training = model.training
    model.eval()
    try:
        model(torch.zeros(1, *input_shape, device=device))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return int(total)


def measure_latency_ms(
    model: nn.Module,
    input_shape: tuple[int, ...],
    device: str | torch.device = "cpu",
    repeats: int = 20,
    warmup: int = 3,
) -> float:
    """Median wall time (ms) of a batch-1 forward pass in eval mode under ``inference_mode``."""
    was_training = model.training
    model.eval()
    x = torch.zeros(1, *input_shape, device=device)
    cuda = torch.device(device).type == "cuda"
    times = []
    try:
        with torch.inference_mode():
            for i in range(warmup + repeats):
                if cuda:
                    torch.cuda.synchronize()
                start = time.perf_counter()
                model(x)
                if cuda:
                    torch.cuda.synchronize()
                if i >= warmup:
                    times.append((time.perf_counter() - start) * 1000.0)
    finally:
        model.train(was_training)
    return float(statistics.median(times))
