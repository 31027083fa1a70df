"""Draw an architecture's graphs (:mod:`nasforge.report.archgraph`) with matplotlib.

Layout through networkx: nodes are layered by ``topological_generations`` (input on top, output at
the bottom) and placed by ``multipartite_layout``; coordinates are then scaled to inches so the
axes have an equal aspect and curved edges can be labelled at their true midpoint. Node boxes are
coloured by kind; edges are clipped at the boxes; an edge that skips layers is curved so it does not
run through the nodes between.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from nasforge.report.archgraph import genotype_text, panels
from nasforge.report.svg import pyplot
from nasforge.space.architecture import Architecture

X_GAP = 2.1  # inches between neighbours of a layer
Y_GAP = 0.95  # inches between layers
COLOURS = {"input": "#c7e9c0", "output": "#fdd0a2", "combine": "#dadaeb", "op": "#c6dbef"}
EDGE_STYLE = {"solid": ("-", "#333333"), "dashed": ("--", "#6a51a3"), "unused": (":", "#bbbbbb")}


def layout(g: nx.DiGraph) -> dict[Any, np.ndarray]:
    """Node -> (x, y) in inches: one rank per topological generation, top to bottom (left to right
    when ``g.graph["rankdir"] == "LR"``); within a rank, nodes ordered by their predecessors'
    mean position (the barycentre heuristic, fewer crossings)."""
    if g.number_of_nodes() == 0:
        return {}
    ranked = nx.DiGraph()
    offset: dict[Any, float] = {}
    index = {node: i for i, node in enumerate(g.nodes)}
    for depth, generation in enumerate(nx.topological_generations(g)):

        def barycentre(node: Any) -> tuple[float, int]:
            preds = [offset[p] for p in g.predecessors(node) if p in offset]
            return (float(np.mean(preds)) if preds else 0.0, index[node])  # ties: the graph's order

        generation = sorted(generation, key=barycentre)
        for i, node in enumerate(generation):
            g.nodes[node]["layer"] = depth
            offset[node] = i - (len(generation) - 1) / 2
            ranked.add_node(node, layer=depth)
    pos = nx.multipartite_layout(ranked, subset_key="layer", align="horizontal")
    rows: dict[int, list[float]] = {}
    for node, (x, _) in pos.items():
        rows.setdefault(g.nodes[node]["layer"], []).append(float(x))
    gaps = [np.diff(sorted(xs)).min() for xs in rows.values() if len(xs) > 1]
    unit = min(gaps) if gaps else 1.0
    x_gap = g.graph["x_gap"] = x_spacing(g)
    if g.graph.get("rankdir") == "LR":
        return {
            n: np.array([g.nodes[n]["layer"] * x_gap, -float(x) / unit * Y_GAP * 1.6])
            for n, (x, _) in pos.items()
        }
    return {n: np.array([float(x) / unit * x_gap, -g.nodes[n]["layer"] * Y_GAP]) for n, (x, _) in pos.items()}


def x_spacing(g: nx.DiGraph) -> float:
    """Inches between node centres along a rank: the widest label plus a margin (>= 1 inch)."""
    widest = max(
        (len(line) for _, d in g.nodes(data=True) for line in str(d.get("label", "")).split("\n")), default=4
    )
    return max(1.0, min(X_GAP, 0.075 * widest + 0.45))


def draw(space: Any, arch: Architecture, title: str = "") -> Any:
    """A figure of ``arch``: one panel per graph of the space's drawer; the genotype as text if the
    space has no graph view."""
    plt = pyplot()
    graphs = panels(space, arch)
    if not graphs:
        return _text_figure(arch, title)
    layouts = [layout(g) for _, g in graphs]
    edges = [edge_geometry(g, pos) for (_, g), pos in zip(graphs, layouts, strict=True)]
    limits = [_limits(g, pos, e) for (_, g), pos, e in zip(graphs, layouts, edges, strict=True)]
    widths = [x1 - x0 for x0, x1, _, _ in limits]
    heights = [y1 - y0 for _, _, y0, y1 in limits]
    fig, axes = plt.subplots(
        1,
        len(graphs),
        figsize=(max(2.5, sum(widths)), max(heights) + 0.7),
        squeeze=False,
        gridspec_kw={"width_ratios": widths},
    )
    for ax, (sub, g), pos, e, lim in zip(axes[0], graphs, layouts, edges, limits, strict=True):
        draw_graph(ax, g, pos, e)
        ax.set_xlim(lim[0], lim[1])
        ax.set_ylim(lim[2], lim[3])
        if len(graphs) > 1:
            ax.set_title(sub, fontsize=10)
    height = max(heights) + 0.7
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.55 / height, wspace=0.05)
    fig.suptitle(title or f"architecture ({arch.space})", fontsize=11)
    return fig


Edge = tuple[Any, Any, dict[str, Any], float, np.ndarray]


def edge_geometry(g: nx.DiGraph, pos: dict[Any, np.ndarray]) -> list[Edge]:
    """Per edge: ``(a, b, data, arc curvature, midpoint of the drawn arc)``."""
    out = []
    for k, (a, b, data) in enumerate(g.edges(data=True)):
        rad = _curvature(g, pos, a, b, k)
        d = pos[b] - pos[a]
        out.append((a, b, data, rad, (pos[a] + pos[b]) / 2 + 0.5 * rad * np.array([d[1], -d[0]])))
    return out


def _limits(g: nx.DiGraph, pos: dict[Any, np.ndarray], edges: list[Edge]) -> tuple[float, ...]:
    """Axes limits (inches) holding every node box and every arc."""
    xy = np.array([*pos.values(), *(e[4] for e in edges)]) if pos else np.zeros((1, 2))
    half = g.graph.get("x_gap", X_GAP) / 2
    return (
        float(xy[:, 0].min() - half),
        float(xy[:, 0].max() + half),
        float(xy[:, 1].min() - Y_GAP / 2),
        float(xy[:, 1].max() + Y_GAP / 2),
    )


def draw_graph(ax: Any, g: nx.DiGraph, pos: dict[Any, np.ndarray], edges: list[Edge] | None = None) -> None:
    """Boxes for the nodes of ``g`` at ``pos``, arrows for its edges, op labels on labelled edges."""
    boxes = {}
    for node, data in g.nodes(data=True):
        x, y = pos[node]
        boxes[node] = ax.text(
            x,
            y,
            data.get("label", str(node)),
            ha="center",
            va="center",
            fontsize=8,
            zorder=2,
            bbox={
                "boxstyle": "round,pad=0.35",
                "fc": COLOURS.get(data.get("kind", "op"), "#eeeeee"),
                "ec": "#555555",
                "lw": 0.8,
            },
        )
    for a, b, data, rad, mid in edges if edges is not None else edge_geometry(g, pos):
        line, colour = EDGE_STYLE.get(data.get("style", "solid"), EDGE_STYLE["solid"])
        ax.annotate(
            "",
            xy=tuple(pos[b]),
            xytext=tuple(pos[a]),
            zorder=3,  # after the boxes: clipped at them
            arrowprops={
                "arrowstyle": "-|>",
                "color": colour,
                "linestyle": line,
                "lw": 1.0,
                "connectionstyle": f"arc3,rad={rad}",
                "patchA": boxes[a].get_bbox_patch(),
                "patchB": boxes[b].get_bbox_patch(),
                "shrinkA": 1,
                "shrinkB": 1,
            },
        )
        if data.get("label"):
            ax.text(
                mid[0],
                mid[1],
                data["label"],
                ha="center",
                va="center",
                fontsize=7,
                zorder=4,
                color="#08306b",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
            )
    ax.set_aspect("equal")
    ax.set_anchor("N")
    ax.axis("off")


def _curvature(g: nx.DiGraph, pos: dict[Any, np.ndarray], a: Any, b: Any, k: int) -> float:
    """0 for an edge between neighbouring ranks; an arc (alternating sides) for one that skips ranks,
    bulging past the boxes when it would otherwise run straight through the nodes between."""
    span = abs(g.nodes[b].get("layer", 0) - g.nodes[a].get("layer", 0))
    if span <= 1:
        return 0.0
    d = pos[b] - pos[a]
    length = float(np.hypot(*d))
    if min(abs(d[0]), abs(d[1])) > 1e-9 or length == 0:
        return 0.12 if k % 2 else -0.12
    labels = [str(data.get("label", n)).split("\n") for n, data in g.nodes(data=True)]
    if g.graph.get("rankdir") == "LR":
        half = max(len(lines) for lines in labels) * 0.07 + 0.1
    else:
        half = max(len(line) for lines in labels for line in lines) * 0.034 + 0.1
    bulge = half + 0.15 + 0.12 * (span - 2)
    rad = 2 * bulge / length
    return rad if k % 2 else -rad


def _text_figure(arch: Architecture, title: str) -> Any:
    plt = pyplot()
    text = genotype_text(arch)
    lines = text.count("\n") + 1
    fig, ax = plt.subplots(figsize=(5.0, min(8.0, 0.6 + 0.16 * lines)))
    ax.text(0.0, 1.0, text, family="monospace", fontsize=7, va="top", ha="left", transform=ax.transAxes)
    ax.axis("off")
    ax.set_title(f"genotype ({arch.space}; this space has no graph view)", fontsize=9)
    fig.suptitle(title or "architecture", fontsize=11)
    return fig
