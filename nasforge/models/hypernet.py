"""The SMASH hypernetwork: weights of a supernet's chosen ops generated from an architecture encoding.

SMASH (Brock et al., ICLR 2018) trains one network ``H`` that maps an architecture's encoding ``e`` to
the weights of that architecture, so any architecture can be scored with generated weights instead of
being trained. :class:`HyperNet` does this for the supernets of :mod:`nasforge.models.supernet`:
every learnable tensor of every candidate op of every mixed op of every cell is a **slot** (a weight
slice of ``H``'s output), and for a genotype ``H`` emits the slots of the ops its path runs::

    z = tanh(MLP(e))                       # one code of ``rank`` numbers per slot, from the whole encoding
    W_s(e) = B_s + reshape(U_s @ z_s)      # B_s: the slot's bias (base slice), U_s: its basis (numel x rank)

``B_s`` is the output bias of the hypernetwork's last (linear) layer; it is stored as the supernet's own
parameter of that op (the same tensor, not a copy). So with ``U = 0`` the generated weights are the
shared weights of a single-path supernet, and ``U_s z_s(e)`` is the part that depends on the rest of
the architecture (each op's weights are conditioned on the whole encoding, as in the paper). The
stem, reductions, NASNet preprocessing and classifier are ordinary shared parameters.

:meth:`HyperNet.generate` returns ``{parameter name: tensor}`` with exactly the names and shapes of
the path's op parameters, and :meth:`HyperNet.run` calls the supernet with them through
``torch.func.functional_call`` (1-D and 2-D alike: the ops are the registry's modules). Gradients
reach ``B``, ``U`` and the MLP. :class:`GeneratedNet` is one encoding's network, with the interface
:func:`nasforge.oneshot.sampling.score` expects (``path_weights``, ``calibrated``, ``forward``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.func import functional_call

from nasforge.checks import check_int
from nasforge.models.mixed import recalibrate_bn
from nasforge.models.supernet import EdgeSupernetCell, NasNetSupernetCell, Supernet


def op_slots(net: Supernet) -> list[tuple[str, int, int, tuple[int, ...]]]:
    """Every parameter of every candidate op of every mixed op of ``net``, as
    ``(parameter name in net, decision point index, candidate index, shape)``."""
    out = []
    for prefix, cell in net.named_modules():
        if not isinstance(cell, (EdgeSupernetCell, NasNetSupernetCell)):
            continue
        for position, mixed in enumerate(cell.mixed):
            k = int(cell.points[position][0])
            for o, op in enumerate(mixed.ops):
                for name, p in op.named_parameters():
                    out.append((f"{prefix}.mixed.{position}.ops.{o}.{name}", k, o, tuple(p.shape)))
    return out


class HyperNet(nn.Module):
    """Generate the op weights of ``net``'s paths from encodings of ``encoding_dim`` numbers.

    Args:
        net: the supernet whose op parameters are generated (their tensors are the slot biases).
        encoding_dim: length of the encoding (``space.encode(arch, "onehot")``).
        rank: numbers per slot code (the basis width).
        hidden: width of the MLP's hidden layer.
        scale: initial size of the encoding-dependent part relative to each slot's initial weights.
    """

    def __init__(self, net: Supernet, encoding_dim: int, *, rank: int = 4, hidden: int = 64,
                 scale: float = 0.5) -> None:
        super().__init__()
        self.encoding_dim = check_int("encoding_dim", encoding_dim, 1)
        self.rank = check_int("rank", rank, 1)
        hidden = check_int("hidden", hidden, 1)
        self.slots = op_slots(net)
        params = dict(net.named_parameters())
        self.embed = nn.Sequential(nn.Linear(self.encoding_dim, hidden), nn.ReLU(),
                                   nn.Linear(hidden, max(len(self.slots), 1) * self.rank))
        basis = []
        for name, _, _, shape in self.slots:
            std = float(params[name].detach().std()) if math.prod(shape) > 1 else 0.1
            init = torch.randn(math.prod(shape), self.rank) * (scale * std / self.rank ** 0.5)
            basis.append(nn.Parameter(init))
        self.basis = nn.ParameterList(basis)

    def codes(self, encoding: torch.Tensor) -> torch.Tensor:
        """``(slots, rank)`` codes for one encoding vector."""
        return torch.tanh(self.embed(encoding.reshape(-1))).view(-1, self.rank)

    def active(self, weights: Sequence[torch.Tensor]) -> list[int]:
        """Indices of the slots whose op runs under the path ``weights`` (non-zero candidate weight)."""
        on = [[float(v) != 0.0 for v in w] for w in weights]
        return [s for s, (_, k, o, _) in enumerate(self.slots) if on[k][o]]

    def generate(self, net: Supernet, encoding: torch.Tensor,
                 weights: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
        """``{name: generated tensor}`` for every parameter of the ops the path ``weights`` runs."""
        params = dict(net.named_parameters())
        z = self.codes(encoding.to(dtype=self.basis[0].dtype if len(self.basis) else encoding.dtype))
        out = {}
        for s in self.active(weights):
            name, _, _, shape = self.slots[s]
            out[name] = params[name] + (self.basis[s] @ z[s]).view(shape)
        return out

    def run(self, net: Supernet, x: torch.Tensor, encoding: torch.Tensor,
            weights: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits of the path ``weights`` on ``x`` with weights generated from ``encoding``."""
        return functional_call(net, self.generate(net, encoding, weights), (x, weights))


class GeneratedNet(nn.Module):
    """``net`` with the op weights ``hyper`` generates for one ``encoding`` (the scoring interface of
    :func:`nasforge.oneshot.sampling.score`)."""

    def __init__(self, net: Supernet, hyper: HyperNet, encoding: torch.Tensor) -> None:
        super().__init__()
        self.net, self.hyper = net, hyper
        self.encoding = encoding

    def forward(self, x: torch.Tensor, weights: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.hyper.run(self.net, x, self.encoding, weights)

    def path_weights(self, weights: Mapping[str, Any], device: Any = None,
                     dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
        return self.net.path_weights(weights, device, dtype)

    @contextmanager
    def calibrated(self, weights: Sequence[torch.Tensor], batches: Iterable[torch.Tensor]) -> Iterator[Any]:
        """Batch-norm statistics re-estimated for the path with generated weights (see
        :meth:`nasforge.models.supernet.Supernet.calibrated`)."""
        with recalibrate_bn(self, batches, lambda x: self(x, weights)):
            yield self


__all__ = ["GeneratedNet", "HyperNet", "op_slots"]
