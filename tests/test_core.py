"""Core contracts: registry, Architecture, params, strategy base."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge.errors import ConfigError, RegistryError, SpaceError
from nasforge.registry import Registry
from nasforge.space import Architecture, Categorical, Integer


def test_architecture_is_frozen_value_with_stable_hash() -> None:
    a = Architecture("chain", {"depth": 2, "layers": [{"op": "conv"}]})
    b = Architecture("chain", {"layers": [{"op": "conv"}], "depth": 2})
    assert a == b and hash(a) == hash(b) and a.content_hash == b.content_hash
    assert a.content_hash == Architecture.from_json(a.to_json()).content_hash
    with pytest.raises(AttributeError):
        a.space = "x"  # type: ignore[misc]
    genes = a.genes
    genes["depth"] = 3
    assert a["depth"] == 2
    assert a.replace(depth=3) != a


def test_architecture_rejects_non_json() -> None:
    with pytest.raises(SpaceError):
        Architecture("chain", {"x": float("nan")})
    with pytest.raises(SpaceError):
        Architecture.from_json("{not json")
    with pytest.raises(SpaceError):
        Architecture.from_dict({"genes": {}})


def test_params_validate_arguments() -> None:
    with pytest.raises(ConfigError, match="low <= high"):
        Integer("width", 3, 1)
    with pytest.raises(ConfigError):
        Categorical("op", ())
    p = Integer("depth", 1, 8, 1)
    rng = np.random.default_rng(0)
    assert all(1 <= p.sample(rng) <= 8 for _ in range(20))
    with pytest.raises(SpaceError, match="depth"):
        p.validate(9)


def test_registry_suggests_close_name() -> None:
    reg: Registry[object] = Registry("thing", {"regularized-evolution": "nasforge.errors:ConfigError"})
    with pytest.raises(RegistryError, match="Did you mean 'regularized-evolution'"):
        reg.get("regularised-evolution")
    assert reg.get("regularized-evolution") is ConfigError
