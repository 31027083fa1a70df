"""Figures one at a time (``nasforge plot``) and the architecture drawing of every registered space.

The drawing tests are generated from the space registry: every space gets a drawing whose graph has
the genotype's structure, a layered layout in which every edge runs forward, and an SVG that names
every op.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pytest
from report_fixtures import empty_store, nbg_store, synthetic, toy_store

from nasforge.cli.main import main
from nasforge.report import figures
from nasforge.report.archdraw import draw, layout
from nasforge.report.archgraph import panels
from nasforge.report.svg import to_svg
from nasforge.space import SPACES, create

SPACE_OPTIONS = {"nasbench-graph": {"dataset": "cora"}}


def _space_and_arch(name: str, seed: int = 0) -> tuple[object, object]:
    space = create(name, **SPACE_OPTIONS.get(name, {}))
    rng = np.random.default_rng(seed)
    best = space.sample(rng)
    for _ in range(30):  # a rich genotype: the one with the most distinct labels of a few samples
        arch = space.sample(rng)
        if len(set(str(arch.genes))) > len(set(str(best.genes))):
            best = arch
    return space, best


@pytest.mark.parametrize("name", SPACES.names())
def test_every_space_is_drawn_with_every_op_named(name: str) -> None:
    space, arch = _space_and_arch(name)
    graphs = panels(space, arch)
    svg = to_svg(draw(space, arch, title=f"{name} drawing"), f"t-{name}")
    texts = {html.unescape(t) for t in re.findall(r">([^<>]+)</text>", svg)}
    if not graphs:  # no graph view: the genotype is shown as text
        assert "no graph view" in svg
        return
    for _, g in graphs:
        pos = layout(g)
        assert set(pos) == set(g.nodes)
        for a, b in g.edges:  # every edge runs forward (down, or right in left-to-right cells)
            d = pos[b] - pos[a]
            assert (d[0] > 0) if g.graph.get("rankdir") == "LR" else (d[1] < 0), (name, a, b)
        for _, label in g.nodes(data="label"):
            assert all(line in texts for line in label.split("\n")), (name, label)
        for _, _, label in g.edges(data="label"):
            assert not label or label in texts


def test_chain_is_a_layer_stack_with_every_hyperparameter() -> None:
    space, arch = _space_and_arch("chain", 1)
    ((_, g),) = panels(space, arch)
    layers = arch.genes["layers"]
    assert g.number_of_nodes() == len(layers) + 2 and g.number_of_edges() == len(layers) + 1
    for k, layer in enumerate(layers, start=1):
        label = g.nodes[k]["label"]
        assert label.startswith(f"{k}: {layer['op']} {layer['width']}ch") and f"k{layer['kernel']}" in label


def test_edge_cell_draws_its_ops_on_edges_and_dead_edges_as_unused() -> None:
    space = create("edge-cell")
    # edges (0,1) (0,2) (1,2) (0,3) (1,3) (2,3): node 2 feeds nothing live -> its in-edges are dead
    arch = space.from_flat([3, 2, 4, 0, 1, 0])
    ((_, g),) = panels(space, arch)
    ops = arch.genes["edges"]
    assert g.number_of_edges() == sum(op != "none" for op in ops)
    live = space.live_edges(arch)
    edges = [(i, j) for j in range(1, 4) for i in range(j)]
    for (i, j), op, on in zip(edges, ops, live, strict=True):
        if op != "none":
            assert g.edges[i, j]["label"] == op and (g.edges[i, j]["style"] == "unused") == (not on)


def test_nasnet_draws_both_cells_block_by_block() -> None:
    space, arch = _space_and_arch("nasnet", 2)
    drawn = panels(space, arch)
    assert [title for title, _ in drawn] == ["normal cell", "reduce cell"]
    for (_, g), cell in zip(drawn, ("normal", "reduce"), strict=True):
        blocks = arch.genes[cell]
        assert g.number_of_nodes() == 2 + 3 * len(blocks) + 1
        for b, block in enumerate(blocks):
            assert g.nodes[f"b{b}"]["label"] == f"block {b}: {block['combine']}"
            assert sorted(g.nodes[f"b{b}op{k}"]["label"] for k in (0, 1)) == sorted(block["ops"])
        assert g.in_degree("out") == len(space.unused_blocks(arch, cell))


def test_multibranch_draws_skips_dashed() -> None:
    space, arch = _space_and_arch("multibranch", 3)
    ((_, g),) = panels(space, arch)
    skips = sum(len(layer["skips"]) for layer in arch.genes["layers"])
    assert sum(1 for *_, s in g.edges(data="style") if s == "dashed") == skips


def test_nasbench_graph_links_match_its_graph_view() -> None:
    space, arch = _space_and_arch("nasbench-graph")
    ((_, g),) = panels(space, arch)
    view = space.to_graph(arch)
    assert sorted(g.edges) == sorted(zip(*np.nonzero(view.adjacency), strict=True))


def test_inline_svg_ids_are_prefixed_and_the_prologue_is_gone() -> None:
    a = to_svg(figures.incumbent([synthetic()]), "one")
    b = to_svg(figures.incumbent([synthetic()]), "two")
    ids_a, ids_b = set(re.findall(r'\bid="([^"]+)"', a)), set(re.findall(r'\bid="([^"]+)"', b))
    assert ids_a and not ids_a & ids_b and all(i.startswith("one-") for i in ids_a)
    refs = set(re.findall(r"url\(#([^)]+)\)", a)) | set(re.findall(r'href="#([^"]+)"', a))
    assert refs <= ids_a  # every reference still points at an element of its own figure
    assert a.startswith("<svg ") and "<?xml" not in a and "<metadata>" not in a


# -- the command ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("plots")
    return {
        "nbg": nbg_store(root / "n.db", n_trials=15),
        "empty": empty_store(root / "e.db"),
        "toy": toy_store(root / "t.db"),
    }


@pytest.mark.parametrize(
    "kind,suffix",
    [("incumbent", "png"), ("scatter", "svg"), ("curves", "pdf"), ("arch", "svg"), ("rungs", "png")],
)
def test_plot_writes_each_kind(kind: str, suffix: str, stores: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / f"fig.{suffix}"
    assert main(["plot", "nbg", "--kind", kind, "--store", str(stores["nbg"]), "--out", str(out)]) == 0
    raw = out.read_bytes()
    magic = {"png": b"\x89PNG", "pdf": b"%PDF", "svg": b"<?xml"}[suffix]
    assert raw.startswith(magic) and len(raw) > 2000
    if suffix == "svg" and kind == "arch":
        assert b"input" in raw and b"output" in raw


def test_plot_overlays_incumbents_of_several_studies(stores: dict[str, Path], tmp_path: Path) -> None:
    nbg_store(stores["nbg"], name="nbg2", n_trials=10, seed=4)
    out = tmp_path / "both.svg"
    assert (
        main(["plot", "nbg", "nbg2", "--axis", "time", "--store", str(stores["nbg"]), "--out", str(out)]) == 0
    )
    text = out.read_text()
    assert "nbg2" in text and "wall time" in text


@pytest.mark.parametrize("case", ["kind", "axis", "suffix", "empty", "unknown", "folder", "several"])
def test_plot_bad_input_is_one_line_and_exit_2(
    case: str, stores: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "f.png")
    args, expected = {
        "kind": (["nbg", "--kind", "pie", "--out", out], "--kind must be one of"),
        "axis": (["nbg", "--axis", "epochs", "--out", out], "--axis must be one of"),
        "suffix": (["nbg", "--out", str(tmp_path / "f.jpeg")], "--out must end in one of"),
        "empty": (["empty", "--out", out, "--store", str(stores["empty"])], "no completed trial yet"),
        "unknown": (["nope", "--out", out], "no study named 'nope'"),
        "folder": (["nbg", "--out", str(tmp_path / "missing" / "f.png")], "does not exist"),
        "several": (["nbg", "nbg", "--kind", "arch", "--out", out], "draws one study"),
    }[case]
    if "--store" not in args:
        args += ["--store", str(stores["nbg"])]
    assert main(["plot", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nasforge: error: ") and err.count("\n") == 1 and expected in err, err
    assert not Path(out).exists()
