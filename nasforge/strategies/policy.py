"""The LSTM policy that emits a genotype token by token (shared by REINFORCE and ENAS).

:class:`TokenPolicy` is the controller of Zoph & Le (2017) and Pham et al. (2018) over a space's flat
decisions (``space.decisions()``): each step feeds the embedding of the previous token (token 0 of
the embedding table starts the sequence) into an LSTM cell, and a per-decision linear head gives the
logits of the next token. Decisions that are inactive given the earlier tokens (``space.active``)
are skipped: they read 0 and add neither log-probability nor entropy.

:meth:`TokenPolicy.run` either samples a sequence (``draw`` picks each token from its probability
vector, so the caller owns the randomness: a NumPy generator for the REINFORCE strategy, the search's
torch generator for ENAS, ``argmax`` for a greedy decode) or scores given ``tokens``; it returns the
tokens with their summed log-probability and entropy, differentiable with respect to the policy's
parameters. The parameters are initialised from ``seed`` without touching the global torch RNG.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

#: picks a token index from a probability vector (float64, sums to ~1)
Draw = Callable[[np.ndarray], int]


def greedy(probs: np.ndarray) -> int:
    """The most probable token (lowest index on ties)."""
    return int(np.argmax(probs))


class TokenPolicy(nn.Module):
    """LSTM policy over flat decisions of sizes ``sizes`` (see the module docstring).

    Args:
        sizes: the number of choices of each decision, in order.
        hidden: the embedding and LSTM width.
        seed: seeds the initialisation (a forked torch RNG).
    """

    def __init__(self, sizes: Sequence[int], hidden: int, seed: int) -> None:
        super().__init__()
        self.sizes = [int(n) for n in sizes]
        self.hidden = int(hidden)
        gen = torch.Generator().manual_seed(int(seed))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(2**62, (1,), generator=gen)))
            self.embed = nn.Embedding(sum(self.sizes) + 1, self.hidden)
            self.cell = nn.LSTMCell(self.hidden, self.hidden)
            self.heads = nn.ModuleList(nn.Linear(self.hidden, n) for n in self.sizes)
        self.offsets = np.concatenate([[1], 1 + np.cumsum(self.sizes)[:-1]]).astype(int)

    def run(self, active: Callable[[Sequence[int]], Sequence[bool]], tokens: Sequence[int] | None = None,
            draw: Draw | None = None, temperature: float = 1.0, tanh_constant: float | None = None
            ) -> tuple[list[int], torch.Tensor, torch.Tensor]:
        """Sample (``tokens`` None: each token ``draw(probs)``) or score ``tokens``; returns
        ``(tokens, log p, entropy)`` summed over the active decisions. ``active(chosen)`` says which
        decisions matter given the tokens chosen so far (e.g. ``space.active``). The logits are the
        head's output divided by ``temperature``, then, with ``tanh_constant`` ``c``, squashed to
        ``c * tanh(logits)`` (ENAS's bound on how peaked the policy can get)."""
        if tokens is None and draw is None:
            raise ValueError("TokenPolicy.run needs tokens to score or a draw function to sample")
        h = self.hidden
        state = (torch.zeros(1, h), torch.zeros(1, h))
        inp = self.embed(torch.zeros(1, dtype=torch.long))
        chosen = [0] * len(self.sizes)
        logp = torch.zeros(())
        entropy = torch.zeros(())
        for i, n in enumerate(self.sizes):
            if not active(chosen)[i]:
                continue
            state = self.cell(inp, state)
            logits = self.heads[i](state[0])[0] / temperature
            if tanh_constant is not None:
                logits = tanh_constant * torch.tanh(logits)
            log_probs = torch.log_softmax(logits, dim=-1)
            if tokens is None:
                probs = log_probs.exp().detach().double().numpy()
                token = int(draw(probs / probs.sum()))  # type: ignore[misc]
            else:
                token = int(tokens[i])
            if not 0 <= token < n:
                raise ValueError(f"decision {i}: token {token} outside [0, {n - 1}]")
            chosen[i] = token
            logp = logp + log_probs[token]
            entropy = entropy - (log_probs.exp() * log_probs).sum()
            inp = self.embed(torch.tensor([int(self.offsets[i]) + token]))
        return chosen, logp, entropy


__all__ = ["Draw", "TokenPolicy", "greedy"]
