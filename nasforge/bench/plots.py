"""``regret.png``: validation regret against queries, one panel per dataset, one line per strategy.

Each line is the mean over seeds; the band is mean ± one standard deviation over seeds (clipped at 0).
The y axis is scaled to the curves after the first tenth of the queries.
Rendered with matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from nasforge.bench.runner import RunResult


def plot_regret(results: Sequence[RunResult], path: str) -> None:
    """Write the regret curves of ``results`` to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(r.spec.dataset for r in results))
    strategies = list(dict.fromkeys(r.spec.strategy for r in results))
    ncols = min(3, max(1, len(datasets)))
    nrows = max(1, math.ceil(len(datasets) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, dataset in zip(axes.ravel(), datasets, strict=False):
        top = 0.0
        for k, strategy in enumerate(strategies):
            runs = [r for r in results if r.spec.dataset == dataset and r.spec.strategy == strategy]
            if not runs:
                continue
            regret = np.stack([r.regret_pp for r in runs])
            x = np.arange(1, regret.shape[1] + 1)
            with np.errstate(all="ignore"):
                mean = np.nanmean(regret, axis=0)
                std = np.nanstd(regret, axis=0)
            colour = colours[k % len(colours)]
            ax.plot(x, mean, color=colour, label=f"{strategy} ({len(runs)} seeds)", linewidth=1.5)
            ax.fill_between(x, np.clip(mean - std, 0, None), mean + std, color=colour, alpha=0.18)
            # scale to the curves after the first tenth of the budget (the first queries dwarf the rest)
            upper = (mean + std)[min(len(x) - 1, max(4, len(x) // 10)) :]
            if np.isfinite(upper).any():
                top = max(top, float(np.nanmax(upper)))
        ax.set_title(dataset)
        ax.set_xlabel("queries")
        ax.set_ylabel("validation regret (pp)")
        ax.set_ylim(0, top * 1.15 if top > 0 else None)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(datasets) :]:
        ax.set_visible(False)
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=max(1, len(strategies)), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(path, dpi=110)
    plt.close(fig)
