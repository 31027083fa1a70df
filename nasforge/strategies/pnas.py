"""PNAS: progressive neural architecture search (Liu, Zoph, Neumann, Shlens, Hua, Li, Fei-Fei, Yuille,
Huang & Murphy, "Progressive Neural Architecture Search", ECCV 2018).

PNAS grows cells one block at a time: the K best cells with b blocks are expanded in every possible
way to b+1 blocks, a surrogate (an MLP ensemble in the paper's cheaper variant) trained on all
architectures evaluated so far ranks the expansions, and only the top K are evaluated; the K best
become the next beam.

nasforge spaces expose a fixed-length flat view, so the progression used here is over the decisions
of that view, in the space's order (for the chain space: the depth, then the first layer's choices,
then the next layer's -- i.e. growth of depth; for cell spaces: block after block; for NAS-Bench-Graph:
the link pattern, then the op of each node): at level ``l`` the first ``l`` decisions are fixed to a
beam member's values, decision ``l`` is expanded over all its choices, and the decisions after it are
filled by ``completions`` random completions (a fixed-size space has no smaller architecture to
evaluate). The surrogate ranks every expansion; the top ``beam`` unevaluated ones are proposed; the
beam of the next level is the ``beam`` best architectures told so far. After the last decision the
progression starts over from the first, keeping the beam. Level boundaries depend only on the
number of trials told, so replay is exact.
"""

from __future__ import annotations

import numpy as np

from nasforge.space.architecture import Architecture
from nasforge.strategies.bananas import ensemble_predict
from nasforge.strategies.base import Strategy, positive_int
from nasforge.strategies.candidates import single_threaded
from nasforge.trial import Candidate, Trial


class PNASStrategy(Strategy):
    """Progressive, surrogate-ranked expansion with beam width ``beam``.

    Args:
        beam: beam width K (also the number of evaluations per level and of the initial samples).
        completions: random completions of the undecided suffix per expansion.
        ensemble: MLPs in the surrogate ensemble.
        epochs: training steps of the surrogate per level.
        max_train: the surrogate is fitted on at most this many architectures (the best half and
            the most recent).
    """

    name = "pnas"

    def __init__(
        self, beam: int = 10, completions: int = 8, ensemble: int = 5, epochs: int = 100, max_train: int = 200
    ) -> None:
        super().__init__(
            beam=positive_int("beam", beam),
            completions=positive_int("completions", completions),
            ensemble=positive_int("ensemble", ensemble, 2),
            epochs=positive_int("epochs", epochs),
            max_train=positive_int("max_train", max_train, 2),
        )

    def on_setup(self) -> None:
        self._level_key: int | None = None
        self._ranked: list[Architecture] = []

    def _level(self) -> tuple[int, int]:
        """(level number, told count at which it started); level -1 = initial random samples."""
        k = self.params["beam"]
        told = len(self.history)
        if told < k:
            return -1, 0
        level = (told - k) // k
        return level, k + level * k

    def _expansions(self, level: int, start: int) -> list[Architecture]:
        space = self._space()
        history = [t for t in self.history[:start] if t.value is not None]
        if not history:
            return []
        beam = sorted(history, key=lambda t: t.value, reverse=True)[: self.params["beam"]]  # type: ignore
        decisions = space.decisions()
        pos = level % len(decisions)
        rng = np.random.default_rng([self.seed, start, 5])
        seen: dict[str, Architecture] = {}
        for member in beam:
            flat = list(space.to_flat(member.architecture))
            for choice in range(decisions[pos].n):
                for _ in range(self.params["completions"]):
                    child = flat[: pos] + [choice] + [int(rng.integers(d.n)) for d in decisions[pos + 1:]]
                    arch = space.from_flat(child)
                    seen.setdefault(self._key(arch), arch)
        cands = list(seen.values())
        ranked = self._rank(history, cands, (self.seed, start, 6))
        return ranked

    def _rank(
        self, history: list[Trial], cands: list[Architecture], seed: tuple[int, ...]
    ) -> list[Architecture]:
        space = self._space()
        cap = self.params["max_train"]
        if len(history) > cap:
            best = sorted(history, key=lambda t: t.value, reverse=True)[: cap // 2]  # type: ignore
            chosen = {id(t) for t in best}
            history = best + [t for t in reversed(history) if id(t) not in chosen][: cap - len(best)]
        x = np.stack([space.encode(t.architecture, "onehot") for t in history])
        y = np.array([t.value for t in history], dtype=np.float32)
        xc = np.stack([space.encode(a, "onehot") for a in cands])
        mean, _ = ensemble_predict(x, y, xc, ensemble=self.params["ensemble"], hidden=32,
                                   epochs=self.params["epochs"], seed=seed)
        return [cands[i] for i in np.argsort(-mean, kind="stable")]

    @single_threaded
    def propose(self) -> Candidate:
        space = self._space()
        level, start = self._level()
        if level < 0:
            return Candidate(space.sample(self.rng))
        if self._level_key != start:
            self._ranked = self._expansions(level, start)
            self._level_key = start
        for arch in self._ranked:
            if not self._known(arch):
                return Candidate(arch, info={"level": level})
        return Candidate(space.sample(self.rng))
