"""DARTS: differentiable architecture search (Liu, Simonyan & Yang, ICLR 2019), first and second order.

The architecture weights alpha (one vector per decision point, shared by every cell of a type) are
their **own** ``nn.Parameter`` list with their **own** Adam optimizer (lr 3e-4, betas (0.5, 0.999),
weight decay 1e-3, as the paper); they are never in the network's parameter list, so the weight
optimizer (SGD) cannot touch them. The training split is halved: the weights train on one half, alpha
on the other. Per batch pair: one alpha step, then one weight step (mixture weights detached).

* ``order=1``: alpha follows the gradient of the validation-half loss at the current weights.
* ``order=2``: alpha follows the gradient of the unrolled objective ``L_val(w', alpha)`` with
  ``w' = w - xi * (grad_w L_train(w, alpha) + weight_decay * w)`` (``xi`` defaults to the weights'
  learning rate, as the reference): ``grad_alpha L_val(w', alpha) - xi * H v`` where ``v =
  grad_w' L_val(w', alpha)`` and the Hessian-vector product ``H v = grad^2_{alpha,w} L_train v`` is the
  central finite difference ``(grad_alpha L_train(w + eps v) - grad_alpha L_train(w - eps v)) / 2 eps``
  with ``eps = 0.01 / ||v||`` (the reference code's :func:`unrolled_alpha_grad`).

The result is discretised by :func:`~nasforge.oneshot.derive.derive`; the guards against collapse
(``max_skip``, ``freeze_share``) are documented there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from nasforge.checks import check_choice, check_int, check_number
from nasforge.errors import ConfigError
from nasforge.oneshot.base import DEFAULT_EPOCHS, SupernetSearch
from nasforge.oneshot.derive import derive, param_free_share
from nasforge.space.architecture import Architecture


def check_alpha_lr(alpha_lr: Any) -> float:
    """``alpha_lr`` if it is a number > 0; :class:`ConfigError` otherwise."""
    if isinstance(alpha_lr, bool) or not isinstance(alpha_lr, (int, float)) or not alpha_lr > 0:
        raise ConfigError(
            f"alpha_lr (the architecture weights' Adam learning rate) must be > 0, got {alpha_lr!r}"
        )
    return float(alpha_lr)


def check_options(*, epochs: Any = DEFAULT_EPOCHS, order: Any = 1, alpha_lr: Any = 3e-4,
                  alpha_weight_decay: Any = 1e-3, xi: Any = None, max_skip: Any = None,
                  max_param_free: Any = None, freeze_share: Any = None, warmup_epochs: Any = 0,
                  **_: Any) -> None:
    """Every DARTS option checked without building a supernet (the strategy checks them when it is
    created, before a study is stored; :class:`Darts` again); :class:`ConfigError` naming the first
    bad one. Options of the shared supernet training (``**_``) are checked by :class:`SupernetSearch`."""
    check_choice("order", order, (1, 2))
    check_alpha_lr(alpha_lr)
    check_number("alpha_weight_decay", alpha_weight_decay, 0.0)
    check_number("xi", xi, 0.0, allow_none=True)
    check_int("max_skip", max_skip, 0, allow_none=True)
    check_int("max_param_free", max_param_free, 0, allow_none=True)
    check_number("freeze_share", freeze_share, 0.0, 1.0, allow_none=True)
    warmup = check_int("warmup_epochs", warmup_epochs, 0)
    epochs = check_int("epochs", epochs, 1)
    if warmup >= epochs:
        raise ConfigError(f"warmup_epochs must be < epochs ({epochs}) so that alpha is trained at all, "
                          f"got {warmup}")


def unrolled_alpha_grad(net: torch.nn.Module, alphas: list[torch.Tensor], train: tuple[Any, Any],
                        valid: tuple[Any, Any], xi: float, weight_decay: float = 0.0,
                        momentum: list[torch.Tensor] | None = None, r: float = 0.01) -> list[torch.Tensor]:
    """The second-order DARTS gradient of alpha (see the module docstring); ``momentum`` are the weight
    optimizer's momentum buffers already scaled by its momentum (the reference's ``moment``)."""
    names = [n for n, _ in net.named_parameters()]
    w = [p for _, p in net.named_parameters()]
    xt, yt = train
    xv, yv = valid

    def mixture() -> list[torch.Tensor]:
        return [a.softmax(dim=-1) for a in alphas]

    gw = torch.autograd.grad(F.cross_entropy(net(xt, mixture()), yt), w)
    moment = momentum if momentum is not None else [torch.zeros_like(p) for p in w]
    w_prime = [(p.detach() - xi * (m + g + weight_decay * p.detach())).requires_grad_()
               for p, g, m in zip(w, gw, moment, strict=True)]
    unrolled = dict(zip(names, w_prime, strict=True))
    loss_v = F.cross_entropy(functional_call(net, unrolled, (xv, mixture())), yv)
    grads = torch.autograd.grad(loss_v, [*alphas, *w_prime])
    direct, v = list(grads[: len(alphas)]), list(grads[len(alphas):])
    eps = r / torch.cat([g.reshape(-1) for g in v]).norm()

    def alpha_grad(sign: float) -> tuple[torch.Tensor, ...]:
        moved = {n: p.detach() + sign * eps * g for n, p, g in zip(names, w, v, strict=True)}
        loss = F.cross_entropy(functional_call(net, moved, (xt, mixture())), yt)
        return torch.autograd.grad(loss, alphas)

    plus, minus = alpha_grad(1.0), alpha_grad(-1.0)
    return [d - xi * (p - m) / (2 * eps) for d, p, m in zip(direct, plus, minus, strict=True)]


class Darts(SupernetSearch):
    """DARTS on a cell space's supernet.

    Args:
        order: 1 (first order) or 2 (second order, the unrolled objective).
        alpha_lr, alpha_weight_decay: alpha's Adam (betas (0.5, 0.999)).
        xi: the unrolled step size (default: the weights' ``lr``).
        max_skip: cap on ``skip_connect`` in the derived cell (``None``: no cap).
        max_param_free: cap on parameter-free ops in the derived cell (``None``: no cap).
        freeze_share: stop alpha updates once the derived cell's parameter-free share exceeds this.
        warmup_epochs: train only the weights (on the uniform mixture) for this many epochs before
            the first alpha update (as PC-DARTS' warm-up): parameter-free ops win early because the
            parametric ops are still untrained, so alphas that move from the first batch on drift to
            them. ``0`` (the default): alpha moves from the first batch, as the paper.
        **kwargs: :class:`~nasforge.oneshot.base.SupernetSearch` (epochs, lr, seed, device, ...).
    """

    method = "darts"
    split_halves = True

    def __init__(self, space: Any, task: Any, *, order: int = 1, alpha_lr: float = 3e-4,
                 alpha_weight_decay: float = 1e-3, xi: float | None = None, max_skip: int | None = None,
                 max_param_free: int | None = None, freeze_share: float | None = None,
                 warmup_epochs: int = 0, **kwargs: Any) -> None:
        check_options(order=order, alpha_lr=alpha_lr, alpha_weight_decay=alpha_weight_decay, xi=xi,
                      max_skip=max_skip, max_param_free=max_param_free, freeze_share=freeze_share,
                      warmup_epochs=warmup_epochs, **kwargs)
        self.order, self.warmup_epochs, self.alpha_lr = order, int(warmup_epochs), float(alpha_lr)
        super().__init__(space, task, **kwargs)
        self.method = f"darts-{'1st' if self.order == 1 else '2nd'}"
        self.xi = self.lr if xi is None else float(xi)
        self.max_skip, self.max_param_free, self.freeze_share = max_skip, max_param_free, freeze_share
        gen = torch.Generator().manual_seed(self.seed + 1)
        self.alphas = [torch.nn.Parameter(1e-3 * torch.randn(p.n, generator=gen, dtype=self.dtype)
                                          .to(self.device)) for p in self.net.points]
        self.alpha_optimizer = torch.optim.Adam(self.alphas, lr=self.alpha_lr, betas=(0.5, 0.999),
                                                weight_decay=float(alpha_weight_decay))
        self.frozen_at: int | None = None
        self._alpha_batches: list[tuple[torch.Tensor, torch.Tensor]] = []

    def mixture(self) -> list[torch.Tensor]:
        """Softmaxed alphas (with gradients), one vector per decision point."""
        return [a.softmax(dim=-1) for a in self.alphas]

    def softmaxed(self) -> dict[str, list[float]]:
        """``{point: softmax(alpha)}`` as plain lists."""
        return {p.name: [float(v) for v in a.detach().softmax(-1).cpu()]
                for p, a in zip(self.net.points, self.alphas, strict=True)}

    def train_step(self, x: torch.Tensor, y: torch.Tensor, step: int, steps: int) -> float:
        if step == 0:
            self._alpha_batches = self.batches(self.x_a, self.y_a)
        if self.frozen_at is None and self._alpha_batches and self.epoch >= self.warmup_epochs:
            xv, yv = self._alpha_batches[step % len(self._alpha_batches)]
            self.net.train()
            self.alpha_optimizer.zero_grad(set_to_none=True)
            if self.order == 1:
                grads = torch.autograd.grad(self.loss(xv, yv, self.mixture()), self.alphas)
            else:
                moment = self._momentum()
                grads = unrolled_alpha_grad(self.net, self.alphas, (x, y), (xv, yv), self.xi,
                                            self.weight_decay, moment)
            for a, g in zip(self.alphas, grads, strict=True):
                a.grad = g.detach()
            self.alpha_optimizer.step()
        return self.weight_step(x, y, [m.detach() for m in self.mixture()])

    def _momentum(self) -> list[torch.Tensor] | None:
        state = self.optimizer.state
        params = list(self.net.parameters())
        if not all("momentum_buffer" in state.get(p, {}) for p in params):
            return None
        return [state[p]["momentum_buffer"] * self.momentum for p in params]

    def derived(self) -> Architecture:
        """The genotype the current alphas select (with the ``max_skip`` cap)."""
        weights = {k: np.array(v) for k, v in self.softmaxed().items()}
        return derive(self.space, weights, max_skip=self.max_skip, max_param_free=self.max_param_free)

    def end_epoch(self) -> dict[str, Any]:
        arch = self.derived()
        share = param_free_share(self.space, arch)
        if self.freeze_share is not None and self.frozen_at is None and share > self.freeze_share:
            self.frozen_at = self.epoch
        return {"alphas": self.softmaxed(), "param_free_share": share, "derived": arch.to_dict(),
                "alpha_frozen": self.frozen_at is not None}

    def extra_state(self) -> dict[str, Any]:
        return {"alphas": [a.detach().cpu() for a in self.alphas],
                "alpha_optimizer": self.alpha_optimizer.state_dict(),
                "frozen_at": -1 if self.frozen_at is None else self.frozen_at}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            for a, saved in zip(self.alphas, state["alphas"], strict=True):
                a.copy_(saved)
        self.alpha_optimizer.load_state_dict(state["alpha_optimizer"])
        self.frozen_at = None if int(state["frozen_at"]) < 0 else int(state["frozen_at"])

    def record(self) -> dict[str, Any]:
        out = super().record()
        arch = self.derived()
        out.update(order=self.order, derived=arch.to_dict(),
                   param_free_share=param_free_share(self.space, arch),
                   alpha_frozen_at=self.frozen_at, max_skip=self.max_skip, max_param_free=self.max_param_free,
                   freeze_share=self.freeze_share, warmup_epochs=self.warmup_epochs,
                   alpha_history=[{"epoch": h["epoch"], "alphas": _by_op(self.space, h["alphas"])}
                                  for h in self.history if "alphas" in h])
        return out


def _by_op(space: Any, alphas: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    points = {p.name: p for p in space.decision_points()}
    return {name: {str(c): round(v, 5) for c, v in zip(points[name].candidates, w, strict=True)}
            for name, w in alphas.items()}


__all__ = ["Darts", "check_alpha_lr", "unrolled_alpha_grad"]
