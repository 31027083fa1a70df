"""REINFORCE controller (Zoph & Le, "Neural Architecture Search with Reinforcement Learning", ICLR 2017).

An LSTM policy (:class:`~nasforge.strategies.policy.TokenPolicy`, shared with ENAS) emits the
genotype as the space's flat decisions (``space.decisions()``), one token at a time: each step feeds
the embedding of the previous token, and a per-decision softmax head picks the next one. Decisions
that are inactive given the earlier tokens (``space.active``) are skipped (they read 0 and add no
log-probability). Every told trial is one episode: the policy takes a
REINFORCE step on ``-(R - b) * log p(arch) - entropy_weight * H``, with ``b`` an exponential moving
average of the rewards (the paper's baseline) and rewards standardised by their running spread.
Torch is seeded from the strategy seed and runs on one thread, so replaying the told trials
rebuilds the same policy and the same next proposal. When a sample is already evaluated or pending
(a peaked policy), a random unseen neighbour of it is proposed instead of resampling.
"""

from __future__ import annotations

from collections.abc import Sequence

from nasforge.checks import check_number
from nasforge.strategies.base import Strategy, positive_int
from nasforge.trial import Candidate, Trial, TrialState


def _unit(name: str, value: object, low: float = 0.0, high: float | None = None) -> float:
    return check_number(name, value, low, high)  # type: ignore[return-value]


class ReinforceController(Strategy):
    """LSTM policy over the flat decisions, trained with REINFORCE.

    Args:
        hidden: LSTM hidden size.
        lr: Adam learning rate.
        baseline_decay: decay of the moving-average baseline (0.95 in the paper's setup).
        entropy_weight: weight of the entropy bonus.
        temperature: softmax temperature when sampling.
    """

    name = "reinforce"

    def __init__(
        self,
        hidden: int = 32,
        lr: float = 0.01,
        baseline_decay: float = 0.9,
        entropy_weight: float = 1e-3,
        temperature: float = 1.0,
    ) -> None:
        super().__init__(
            hidden=positive_int("hidden", hidden),
            lr=_unit("lr", lr, 1e-8, 10.0),
            baseline_decay=_unit("baseline_decay", baseline_decay, 0.0, 1.0),
            entropy_weight=_unit("entropy_weight", entropy_weight),
            temperature=_unit("temperature", temperature, 1e-3, 100.0),
        )

    def on_setup(self) -> None:
        import torch

        from nasforge.strategies.policy import TokenPolicy

        torch.set_num_threads(1)
        space = self._space()
        self.sizes = [d.n for d in space.decisions()]
        self.policy = TokenPolicy(self.sizes, self.params["hidden"], self.seed)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=self.params["lr"])
        self.baseline: float | None = None
        self.spread = 1.0

    def _run(self, tokens: Sequence[int] | None) -> tuple[list[int], object, object]:
        """Sample (``tokens`` None, using ``self.rng``) or score ``tokens``: (tokens, logp, entropy)."""
        return self.policy.run(self._space().active, tokens,
                               draw=lambda p: int(self.rng.choice(len(p), p=p)),
                               temperature=self.params["temperature"])

    def propose(self) -> Candidate:
        import torch

        space = self._space()
        with torch.no_grad():
            tokens, _, _ = self._run(None)
        arch = space.from_flat(tokens)
        if self._known(arch):
            # a peaked policy keeps sampling evaluated architectures: take the nearest unseen one
            # (a random unseen neighbour) instead of resampling many times
            nbrs = space.neighbours(arch)
            order = self.rng.permutation(len(nbrs))
            for i in order:
                if not self._known(nbrs[i]):
                    return Candidate(nbrs[i], info={"policy_sample": arch.to_dict()})
        return Candidate(arch)

    def observe(self, trial: Trial) -> None:
        if trial.state is not TrialState.COMPLETE or trial.value is None:
            return
        reward = float(trial.value)
        if self.baseline is None:
            self.baseline = reward
            return
        advantage = reward - self.baseline
        decay = self.params["baseline_decay"]
        self.spread = decay * self.spread + (1 - decay) * abs(advantage)
        self.baseline = decay * self.baseline + (1 - decay) * reward
        _, logp, entropy = self._run(self._space().to_flat(trial.architecture))
        loss = -(advantage / max(self.spread, 1e-8)) * logp - self.params["entropy_weight"] * entropy
        self.optimizer.zero_grad()
        loss.backward()  # type: ignore[attr-defined]
        self.optimizer.step()
