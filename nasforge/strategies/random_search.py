"""Random search: uniform samples from the space (Bergstra & Bengio, JMLR 2012; the NAS baseline)."""

from __future__ import annotations

from nasforge.strategies.base import Strategy
from nasforge.trial import Candidate


class RandomSearch(Strategy):
    """Samples every candidate independently with ``space.sample``; skips already-seen ones."""

    name = "random"

    def __init__(self) -> None:
        super().__init__()

    def propose(self) -> Candidate:
        return Candidate(self._space().sample(self.rng))
