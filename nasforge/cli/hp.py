"""``--hp`` and the ``[hp]`` config table of ``nasforge search``: training hyperparameters searched with
the architecture (:mod:`nasforge.space.joint`).

``--hp lr=1e-4..1e-1:log --hp batch_size=64,128,256 --hp optimizer=adamw,sgd``; in a TOML config::

    [hp]
    lr = "1e-4..1e-1:log"                      # or {low = 1e-4, high = 0.1, log = true}
    batch_size = [64, 128, 256]
    momentum = {low = 0.5, high = 0.99}        # only while optimizer = "sgd"

``default_first = K`` in the table (``--hp default_first=K``) is not a hyperparameter: the first ``K``
candidates train random architectures with the default recipe before the strategy searches the
hyperparameters too (:meth:`nasforge.space.joint.JointSpace.initial_candidate`).

Every spec is validated before the study is created: a range with low >= high, a log range with
low <= 0, an unknown optimizer or a name the training evaluator does not take is one ConfigError.
"""

from __future__ import annotations

from typing import Any

from nasforge.errors import ConfigError
from nasforge.space.hparams import make_hps, parse_hp_option

#: the ``hp`` table's one key that is not a hyperparameter
DEFAULT_FIRST = "default_first"


def _default_first(value: Any) -> int:
    try:
        count = int(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else -1
    except ValueError:
        count = -1
    if count < 0:
        raise ConfigError(f"hp {DEFAULT_FIRST}: how many first candidates train with the default recipe, "
                          f"an integer >= 0; got {value!r}")
    return count


def _specs(table: dict[str, Any]) -> dict[str, Any]:
    """The searched hyperparameters of an ``hp`` table (without :data:`DEFAULT_FIRST`)."""
    return {k: v for k, v in table.items() if k != DEFAULT_FIRST}


def hp_table(from_file: Any, flags: list[str] | None) -> dict[str, Any]:
    """The merged ``hp`` table (flags win over the file), each spec in its JSON form, validated."""
    table: dict[str, Any] = {}
    if from_file is not None:
        if not isinstance(from_file, dict):
            raise ConfigError(f"hp must be a table ([hp] with name = spec lines), got {from_file!r}")
        for name, spec in from_file.items():
            if name == DEFAULT_FIRST:
                table[name] = _default_first(spec)
            else:
                table[name] = parse_hp_option(f"{name}={spec}")[1] if isinstance(spec, str) else spec
    for item in flags or []:
        name, _, value = item.partition("=")
        if name.strip() == DEFAULT_FIRST:
            table[DEFAULT_FIRST] = _default_first(value.strip())
            continue
        name, spec = parse_hp_option(item)
        table[name] = spec
    specs = _specs(table)
    if table and not specs:
        raise ConfigError(f"hp {DEFAULT_FIRST} needs at least one searched hyperparameter, e.g. "
                          "--hp lr=1e-4..1e-1:log")
    if specs:
        make_hps(specs)  # fails early, naming the parameter
    return table


def with_hp(space: Any, table: dict[str, Any]) -> Any:
    """``space`` searched jointly with the hyperparameters ``table`` (``space`` itself when empty)."""
    if not table:
        return space
    if not type(space).input_kinds:
        raise ConfigError(f"--hp needs a training evaluator, but space {space.name!r} is a tabular benchmark "
                          "(its results are looked up, not trained); drop --hp or use a trainable space")
    from nasforge.space.joint import JointSpace

    specs = _specs(table)
    if isinstance(space, JointSpace):
        first = table.get(DEFAULT_FIRST, space.default_first)
        return JointSpace(space.inner, {**space.params["hp"], **specs}, default_first=first)
    return JointSpace(space, specs, default_first=table.get(DEFAULT_FIRST, 0))
