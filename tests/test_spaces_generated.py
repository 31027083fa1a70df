"""Generated from the space registry: every space samples, validates, round-trips, mutates, encodes
and (where it has a PyTorch phenotype) builds a model that trains a step on tiny 1-D and 2-D tasks.
Spaces whose module is not importable yet are skipped with the reason."""

from __future__ import annotations

import inspect
import json
import math

import numpy as np
import pytest

from nasforge.errors import SpaceError
from nasforge.space import SPACES, Architecture, SearchSpace


def _space(name: str) -> SearchSpace:
    try:
        cls = SPACES.get(name)
    except ImportError as exc:
        pytest.skip(f"space {name!r} is not importable yet: {exc}")
    try:
        return cls()
    except ImportError as exc:
        pytest.skip(f"space {name!r} needs an optional dependency: {exc}")


def _samples(space: SearchSpace, n: int = 4) -> list[Architecture]:
    rng = np.random.default_rng(0)
    return [space.sample(rng) for _ in range(n)]


@pytest.mark.parametrize("name", SPACES.names())
def test_sample_validate_json_round_trip(name: str) -> None:
    space = _space(name)
    for arch in _samples(space):
        space.check(arch)
        again = Architecture.from_json(arch.to_json())
        assert again == arch and again.content_hash == arch.content_hash
        space.validate(again)
        assert json.loads(json.dumps(arch.to_dict())) == arch.to_dict()


@pytest.mark.parametrize("name", SPACES.names())
def test_validate_rejects_foreign_genotypes(name: str) -> None:
    space = _space(name)
    with pytest.raises(SpaceError):
        space.validate(Architecture(name, {"not_a_gene": 1}))
    with pytest.raises(SpaceError):
        space.check(Architecture(name + "-other", _samples(space, 1)[0].genes))


@pytest.mark.parametrize("name", SPACES.names())
def test_mutate_stays_valid_and_differs(name: str) -> None:
    space = _space(name)
    rng = np.random.default_rng(1)
    arch = _samples(space, 1)[0]
    for _ in range(15):
        child = space.mutate(arch, rng)
        space.validate(child)
        assert child != arch
        arch = child


@pytest.mark.parametrize("name", SPACES.names())
def test_neighbours_are_valid(name: str) -> None:
    space = _space(name)
    arch = _samples(space, 1)[0]
    neighbours = space.neighbours(arch)
    assert neighbours, "a space of more than one genotype has neighbours"
    for other in neighbours[:50]:
        space.validate(other)
        assert other != arch


@pytest.mark.parametrize("name", SPACES.names())
def test_flat_view_and_encodings_are_consistent(name: str) -> None:
    space = _space(name)
    decisions = space.decisions()
    shapes: dict[str, tuple[int, ...]] = {}
    for arch in _samples(space):
        flat = space.to_flat(arch)
        assert len(flat) == len(decisions) == len(space.active(flat))
        assert all(0 <= i < d.n for i, d in zip(flat, decisions, strict=True))
        if math.isinf(space.size()):  # continuous dimensions: the flat view is a grid over them
            assert space.to_flat(space.from_flat(flat)) == flat
        else:
            assert space.canonical_hash(space.from_flat(flat)) == space.canonical_hash(arch)
        for kind in space.encodings():
            vec = space.encode(arch, kind)
            assert np.all(np.isfinite(vec))
            assert shapes.setdefault(kind, vec.shape) == vec.shape, f"{kind} shape varies"
    assert "onehot" in shapes and "tokens" in shapes
    assert shapes["tokens"] == (len(decisions),)
    assert shapes["onehot"] == (sum(d.n for d in decisions),)


@pytest.mark.parametrize("name", SPACES.names())
def test_config_round_trip(name: str) -> None:
    space = _space(name)
    config = space.to_config()
    json.dumps(config)
    again = SearchSpace.from_config(json.loads(json.dumps(config)))
    assert type(again) is type(space) and again.to_config() == config
    for arch in _samples(space, 2):
        again.validate(arch)


@pytest.mark.parametrize("kind", ["1d", "2d"])
@pytest.mark.parametrize("name", SPACES.names())
def test_builds_and_trains_one_step(name: str, kind: str) -> None:
    cls_space = _space(name)
    if kind not in type(cls_space).input_kinds:
        kinds = sorted(type(cls_space).input_kinds)
        pytest.skip(f"space {name!r} has no {kind} phenotype (input_kinds={kinds})")
    torch = pytest.importorskip("torch")
    from tiny import tiny_task

    import nasforge as nf

    task = tiny_task(kind, n=30)
    params = {"input_kind": kind} if "input_kind" in inspect.signature(type(cls_space)).parameters else {}
    space = type(cls_space)(**params) if params else cls_space
    torch.manual_seed(0)
    for arch in _samples(space, 2):
        model = nf.models.build(space, arch, task)
        x = torch.as_tensor(task.x_train[:8])
        logits = model(x)
        assert logits.shape == (8, task.num_classes)
        loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(task.y_train[:8]))
        loss.backward()
        assert torch.isfinite(loss)
        assert any(p.grad is not None for p in model.parameters())
