"""An architecture as graphs to draw: ``panels(space, arch) -> [(title, networkx.DiGraph), ...]``.

The generic builder reads the space's own graph view (``space.to_graph(arch)``, ops on nodes). Where
that view is lossy for a person, a space-specific builder in :data:`BUILDERS` draws more:

* ``chain``: a layer stack with every layer's op, width, kernel, stride, activation, norm, dropout;
* ``edge-cell``: the cell's own DAG (nodes are sums, every edge carries its op; edges off every
  input-output path drawn as unused);
* ``nasnet``: the normal and the reduction cell, each with its two inputs, per block two op nodes and
  the combiner, and the concatenated output;
* ``multibranch``: the layer DAG with skip connections and each layer's merge;
* ``nasbench-graph``: the generic view (input, four GNN ops, their links, output).

Node attributes: ``label`` (text, may hold newlines) and ``kind`` (``input``, ``op``, ``combine``,
``output``); edge attributes: ``label`` (an op on the edge, optional) and ``style`` (``solid``,
``dashed`` for skips, ``unused``). A new space gets a drawing through its ``to_graph`` without any
code here; register a builder with ``BUILDERS.register(space_name, fn)`` for a better one.
"""

from __future__ import annotations

import json
from typing import Any

import networkx as nx

from nasforge.registry import Registry
from nasforge.space.architecture import Architecture

Panels = list[tuple[str, nx.DiGraph]]

#: space name -> builder(space, arch) -> panels
BUILDERS: Registry[Any] = Registry(
    "architecture drawer",
    {
        "chain": "nasforge.report.archgraph:chain_panels",
        "edge-cell": "nasforge.report.archgraph:edge_cell_panels",
        "nasnet": "nasforge.report.archgraph:nasnet_panels",
        "multibranch": "nasforge.report.archgraph:multibranch_panels",
    },
)


def panels(space: Any, arch: Architecture) -> Panels:
    """The graphs that show ``arch`` (space-specific builder, else ``to_graph``, else none)."""
    if arch.space in BUILDERS:
        return BUILDERS.get(arch.space)(space, arch)
    if space is not None:
        try:
            return [("", graph_from_view(space.to_graph(arch)))]
        except NotImplementedError:
            pass
    return []


def genotype_text(arch: Architecture) -> str:
    """The genotype as indented JSON (what a drawing falls back to)."""
    return json.dumps(arch.genes, indent=1, sort_keys=True)


def _node(g: nx.DiGraph, key: Any, label: str, kind: str = "op") -> None:
    g.add_node(key, label=label, kind=kind)


def _edge(g: nx.DiGraph, a: Any, b: Any, label: str = "", style: str = "solid") -> None:
    g.add_edge(a, b, label=label, style=style)


def graph_from_view(view: Any) -> nx.DiGraph:
    """A space's :class:`~nasforge.space.base.Graph` (adjacency, labels) as a DiGraph; nodes on no
    edge (padding, absent layers) are left out."""
    adj, labels = view.adjacency, view.labels
    n = len(labels)
    g = nx.DiGraph()
    for i in range(n):
        if n > 1 and not adj[i].any() and not adj[:, i].any():
            continue
        kind = "input" if i == 0 else "output" if i == n - 1 else "op"
        _node(g, i, str(labels[i]), kind)
    for i in range(n):
        for j in range(n):
            if adj[i, j]:
                _edge(g, i, j)
    return g


def chain_panels(space: Any, arch: Architecture) -> Panels:
    """Input, one box per layer (all its hyperparameters), the head."""
    g = nx.DiGraph()
    _node(g, "in", "input", "input")
    prev = "in"
    for k, layer in enumerate(arch.genes.get("layers", []), start=1):
        _node(g, k, _layer_text(k, layer))
        _edge(g, prev, k)
        prev = k
    head = (space.params.get("head") if space is not None else None) or "classifier"
    _node(g, "out", f"head: {head}", "output")
    _edge(g, prev, "out")
    return [("layer stack", g)]


def _layer_text(k: int, layer: dict[str, Any]) -> str:
    first = f"{k}: {layer.get('op', '?')}"
    if "width" in layer:
        first += f" {layer['width']}ch"
    details = []
    if "kernel" in layer:
        details.append(f"k{layer['kernel']}")
    if layer.get("stride", 1) != 1:
        details.append(f"s{layer['stride']}")
    for key in ("activation", "norm"):
        if layer.get(key) not in (None, "none"):
            details.append(str(layer[key]))
    if layer.get("dropout"):
        details.append(f"drop {layer['dropout']}")
    return first + ("\n" + " · ".join(details) if details else "")


def edge_cell_panels(space: Any, arch: Architecture) -> Panels:
    """Cell nodes (sums) with each non-``none`` edge labelled by its op; dead edges drawn unused."""
    ops = arch.genes["edges"]
    nodes = int(space.nodes) if space is not None else _edge_cell_nodes(len(ops))
    edges = [(i, j) for j in range(1, nodes) for i in range(j)]
    live = space.live_edges(arch) if space is not None else [op != "none" for op in ops]
    g = nx.DiGraph(rankdir="LR")
    for i in range(nodes):
        kind = "input" if i == 0 else "output" if i == nodes - 1 else "combine"
        _node(g, i, "cell input" if i == 0 else "cell output" if i == nodes - 1 else f"node {i} (sum)", kind)
    for (i, j), op, on in zip(edges, ops, live, strict=True):
        if op != "none":
            _edge(g, i, j, op, "solid" if on else "unused")
    return [("cell", g)]


def _edge_cell_nodes(n_edges: int) -> int:
    nodes = 2
    while nodes * (nodes - 1) // 2 < n_edges:
        nodes += 1
    return nodes


def nasnet_panels(space: Any, arch: Architecture) -> Panels:
    """One panel per cell (normal, reduce)."""
    genes = arch.genes
    return [(f"{cell} cell", _nasnet_cell(genes[cell])) for cell in ("normal", "reduce") if cell in genes]


def _nasnet_cell(blocks: list[dict[str, Any]]) -> nx.DiGraph:
    g = nx.DiGraph()
    _node(g, "in0", "c[k-2]", "input")
    _node(g, "in1", "c[k-1]", "input")
    used: set[int] = set()
    for b, block in enumerate(blocks):
        _node(g, f"b{b}", f"block {b}: {block['combine']}", "combine")
        for k, (inp, op) in enumerate(zip(block["inputs"], block["ops"], strict=True)):
            src = f"in{inp}" if inp < 2 else f"b{inp - 2}"
            if inp >= 2:
                used.add(inp - 2)
            _node(g, f"b{b}op{k}", str(op))
            _edge(g, src, f"b{b}op{k}")
            _edge(g, f"b{b}op{k}", f"b{b}")
    _node(g, "out", "concat → c[k]", "output")
    for b in range(len(blocks)):
        if b not in used:
            _edge(g, f"b{b}", "out")
    return g


def multibranch_panels(space: Any, arch: Architecture) -> Panels:
    """Stem, one node per layer (op, width, stride, merge when it has skips), skips dashed."""
    g = nx.DiGraph()
    _node(g, 0, "stem", "input")
    layers = arch.genes.get("layers", [])
    for k, layer in enumerate(layers, start=1):
        text = f"{k}: {layer['op']}\n{layer.get('width', '?')}ch"
        if layer.get("stride", 1) != 1:
            text += f" s{layer['stride']}"
        if layer.get("skips"):
            text += f" · {layer.get('merge', 'add')}"
        _node(g, k, text)
        _edge(g, k - 1, k)
        for i in layer.get("skips", []):
            _edge(g, int(i), k, style="dashed")
    _node(g, "out", "head", "output")
    _edge(g, len(layers), "out")
    return [("layer DAG", g)]
