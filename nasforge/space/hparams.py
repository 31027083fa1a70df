"""Training hyperparameters as search dimensions: the specs a joint space (:mod:`nasforge.space.joint`)
adds to an architecture space.

A spec is plain data with a JSON form (the ``hp`` table of a joint space's config):

* ``{"low": 1e-4, "high": 0.1, "log": true}``: a float range (log-uniform where ``log``);
* ``{"choices": [64, 128, 256]}`` (or just the list): a categorical;
* either with ``"when": {"optimizer": ["sgd"]}``: active only while that categorical takes one of the
  listed values (conditional, as layers past the depth are in the chain space).

Names are :class:`~nasforge.recipe.Recipe` fields; every value is checked against the recipe
at construction, so an unknown optimizer or a negative learning rate fails before the search starts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nasforge.errors import ConfigError
from nasforge.space.params import Categorical, Float

#: recipe fields that hold integers (searched as categoricals only)
_INT_FIELDS = ("batch_size", "restart_period", "restart_mult")


def recipe_fields() -> tuple[str, ...]:
    """The training hyperparameters a joint space may search (the recipe's fields)."""
    from nasforge.recipe import Recipe

    return Recipe.field_names()


@dataclass(frozen=True)
class HP:
    """One searched hyperparameter: ``param`` (a :class:`Float` or :class:`Categorical`) and its
    condition ``when`` (parent name -> the parent's values that activate it)."""

    param: Float | Categorical
    when: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    @property
    def name(self) -> str:
        return self.param.name

    @property
    def is_float(self) -> bool:
        return isinstance(self.param, Float)

    def active(self, values: Mapping[str, Any]) -> bool:
        """Whether this parameter applies given the (already chosen) ``values`` of its parents."""
        return all(parent in values and values[parent] in allowed for parent, allowed in self.when)

    def to_config(self) -> Any:
        """The JSON form (see the module docstring)."""
        if isinstance(self.param, Float):
            out: dict[str, Any] = {"low": self.param.low, "high": self.param.high, "log": self.param.log}
        else:
            out = {"choices": list(self.param.choices)}
        if self.when:
            out["when"] = {parent: list(allowed) for parent, allowed in self.when}
        return out

    def unit(self, value: float) -> float:
        """A float value mapped to [0, 1] (on the log scale where ``log``)."""
        p = self.param
        assert isinstance(p, Float)
        lo, hi, v = (math.log(p.low), math.log(p.high), math.log(value)) if p.log else (p.low, p.high, value)
        return min(max((v - lo) / (hi - lo), 0.0), 1.0)

    def from_unit(self, u: float) -> float:
        """Inverse of :meth:`unit`."""
        p = self.param
        assert isinstance(p, Float)
        u = min(max(float(u), 0.0), 1.0)
        if p.log:
            return float(min(max(math.exp(math.log(p.low) + u * (math.log(p.high) - math.log(p.low))),
                                 p.low), p.high))
        return float(p.low + u * (p.high - p.low))


class LogFloat:
    """``LogFloat(1e-4, 1e-1)``: a log-uniform float range for :func:`nasforge.space.joint`."""

    def __init__(self, low: float, high: float, when: Mapping[str, Any] | None = None) -> None:
        self.config: dict[str, Any] = {"low": low, "high": high, "log": True}
        if when:
            self.config["when"] = dict(when)


class UniformFloat:
    """``UniformFloat(0.0, 0.2)``: a uniform float range for :func:`nasforge.space.joint`."""

    def __init__(self, low: float, high: float, when: Mapping[str, Any] | None = None) -> None:
        self.config: dict[str, Any] = {"low": low, "high": high, "log": False}
        if when:
            self.config["when"] = dict(when)


def _check_value(name: str, value: Any) -> None:
    """``value`` is a valid recipe ``name`` (the recipe's own message names the allowed values)."""
    from nasforge.recipe import Recipe

    if name in _INT_FIELDS and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"hp {name}: values must be integers, got {value!r}")
    try:
        Recipe(**{name: value})
    except ConfigError as exc:
        raise ConfigError(f"hp {name}: {exc}") from None


def make_hp(name: str, spec: Any) -> HP:
    """Validate one spec (JSON form, a list, :class:`LogFloat` / :class:`UniformFloat`) into an
    :class:`HP`."""
    allowed = recipe_fields()
    if name not in allowed:
        raise ConfigError(f"hp: unknown training hyperparameter {name!r}; the evaluator takes "
                          f"{list(allowed)}")
    if isinstance(spec, (LogFloat, UniformFloat)):
        spec = spec.config
    if isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        spec = {"choices": list(spec)}
    if not isinstance(spec, Mapping):
        spec = {"choices": [spec]}
    extra = sorted(set(spec) - {"low", "high", "log", "choices", "when"})
    if extra:
        raise ConfigError(f"hp {name}: unknown keys {extra}; expected low/high/log, or choices, and when")
    when = _when(name, spec.get("when"))
    if "choices" in spec:
        choices = spec["choices"]
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Sequence) or not choices:
            raise ConfigError(f"hp {name}: choices must be a non-empty list, got {choices!r}")
        for value in choices:
            _check_value(name, value)
        return HP(Categorical(name, tuple(choices)), when)
    if "low" not in spec or "high" not in spec:
        raise ConfigError(f"hp {name}: a range needs low and high (or give choices), got {dict(spec)}")
    low, high, log = spec["low"], spec["high"], spec.get("log", False)
    if name in _INT_FIELDS:
        raise ConfigError(f"hp {name}: integer hyperparameter, give a list of choices, got a range "
                          f"{low}..{high}")
    if not isinstance(log, bool):
        raise ConfigError(f"hp {name}: log must be true or false, got {log!r}")
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
            raise ConfigError(f"hp {name}: range bounds must be finite numbers, got {bound!r}")
    if not low < high:
        raise ConfigError(f"hp {name}: a range low..high needs low < high, got low={low}, high={high}")
    if log and low <= 0:
        raise ConfigError(f"hp {name}: a log range needs low > 0, got low={low}")
    _check_value(name, float(low))
    _check_value(name, float(high) if name not in ("momentum", "label_smoothing") else float(low))
    if name in ("momentum", "label_smoothing") and not high < 1:
        raise ConfigError(f"hp {name}: must be in [0, 1), got high={high}")
    return HP(Float(name, float(low), float(high), log), when)


def _when(name: str, when: Any) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if when is None:
        return ()
    if not isinstance(when, Mapping):
        raise ConfigError(f"hp {name}: when must map a categorical hyperparameter to its values, "
                          f"got {when!r}")
    out = []
    for parent, values in sorted(when.items()):
        values = [values] if isinstance(values, (str, int, float)) else list(values)
        out.append((str(parent), tuple(values)))
    return tuple(out)


def make_hps(specs: Mapping[str, Any]) -> list[HP]:
    """Validate the ``hp`` table; parents come before their children. ``momentum`` without a condition
    is conditioned on ``optimizer`` being ``sgd`` when the optimizer is searched (Adam ignores it)."""
    hps = {name: make_hp(name, spec) for name, spec in specs.items()}
    opt = hps.get("optimizer")
    mom = hps.get("momentum")
    if mom is not None and not mom.when and opt is not None and isinstance(opt.param, Categorical):
        if "sgd" in opt.param.choices:
            hps["momentum"] = HP(mom.param, (("optimizer", ("sgd",)),))
    for hp in hps.values():
        for parent, allowed in hp.when:
            target = hps.get(parent)
            if target is None or not isinstance(target.param, Categorical) or target.when:
                raise ConfigError(f"hp {hp.name}: when names {parent!r}, which must be an unconditional "
                                  f"categorical hyperparameter of this table ({sorted(hps)})")
            for value in allowed:
                if not any(value == c for c in target.param.choices):
                    raise ConfigError(f"hp {hp.name}: when {parent}={value!r} is not one of "
                                      f"{list(target.param.choices)}")
    return sorted(hps.values(), key=lambda h: (bool(h.when), list(hps).index(h.name)))


def parse_hp_option(text: str) -> tuple[str, Any]:
    """Parse one CLI ``--hp`` value: ``lr=1e-4..1e-1:log``, ``weight_decay=0..0.1``,
    ``batch_size=64,128,256``, ``optimizer=adamw,sgd`` -> ``(name, spec)``."""
    if "=" not in text:
        raise ConfigError(f"--hp must be NAME=LOW..HIGH[:log] or NAME=A,B,..., got {text!r}")
    name, _, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if name not in recipe_fields():
        raise ConfigError(f"--hp: unknown training hyperparameter {name!r}; the evaluator takes "
                          f"{list(recipe_fields())}, got {text!r}")
    if ".." in value:
        rng, _, scale = value.partition(":")
        if scale not in ("", "log", "linear"):
            raise ConfigError(f"--hp {name}: scale must be ':log' or nothing, got {scale!r}")
        low, _, high = rng.partition("..")
        try:
            spec: Any = {"low": float(low), "high": float(high), "log": scale == "log"}
        except ValueError:
            raise ConfigError(f"--hp {name}: range bounds must be numbers, got {rng!r}") from None
        return name, spec
    return name, [_scalar(v.strip()) for v in value.split(",") if v.strip()]


def _scalar(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


__all__ = ["HP", "LogFloat", "UniformFloat", "make_hp", "make_hps", "parse_hp_option", "recipe_fields"]
