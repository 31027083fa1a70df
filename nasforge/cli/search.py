"""``nasforge search``: run (or continue) an architecture search.

With no arguments it runs the built-in default (``nasforge/defaults.py``: MNIST-1D, the chain space,
regularized evolution, a demo budget) into ``./nasforge.db``. Settings come from, in increasing priority:
the built-in default, ``--config FILE.toml`` (keys = the flag names with underscores; ``space_opt``,
``strategy_opt`` and ``evaluator_opt`` are tables) and the flags. Example config::

    task = "digits"
    space = "chain"
    strategy = "regularized-evolution"
    trials = 30
    epochs = 5
    [space_opt]
    max_layers = 4
    [strategy_opt]
    population = 10
    sample = 3

The demo budget (a time limit, a trial count and 2 workers) applies only when no budget is given: with
any of --trials, --time-limit, --workers, --executor, --ray-address (or those keys in the file), what is
not given means no time limit and 1 worker. The first line printed lists every setting and where it came
from (default / config / flag).

A study that already exists under ``--name`` is continued when its stored config matches (up to the
new ``--trials`` total) and refused, showing the difference, when it does not.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

from nasforge.checks import check_folds
from nasforge.cli import smalldata
from nasforge.cli.common import DEFAULT_STORE, parse_options
from nasforge.cli.hp import hp_table, with_hp
from nasforge.cli.running import (
    BUDGET_KEYS,
    TRAINING_WARM,
    add_run_args,
    fill_budget,
    make_run_executor,
    prestart,
    print_settings,
    run_study,
    settings_line,
    validate_run_settings,
)
from nasforge.errors import ConfigError
from nasforge.schedulers.cli import add_scheduler_args, scheduler_from_settings
from nasforge.study.config import scheduler_entry
from nasforge.study.objectives import preflight

#: the keys of a search config (flags use dashes)
SCALAR_KEYS: dict[str, type] = {
    "task": str,
    "space": str,
    "strategy": str,
    "evaluator": str,
    "trials": int,
    "time_limit": float,
    "epochs": int,
    "store": str,
    "name": str,
    "seed": int,
    "device": str,
    "workers": int,
    "executor": str,
    "ray_address": str,
    "trial_timeout": float,
    "retries": int,
    "max_consecutive_failures": int,
    "scheduler": str,
    "cv": int,
    "objective": str,
    "constraint": str,
    "warm_start": str,
}
TABLE_KEYS = ("space_opt", "strategy_opt", "evaluator_opt", "scheduler_opt")


def register(subparsers: Any) -> None:
    """Add the ``search`` sub-command."""
    p = subparsers.add_parser(
        "search",
        help="search architectures (no arguments: the built-in MNIST-1D demo)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_args(p)
    p.add_argument("--task", help="built-in task name (see `nasforge list tasks`) or a .npz/.csv file")
    p.add_argument("--space", help="search space (see `nasforge list spaces`)")
    p.add_argument("--strategy", help="search strategy (see `nasforge list strategies`) or a one-shot method "
                   "(darts, spos, path-dropout)")
    p.add_argument("--evaluator", help="train (default) or supernet (shared weights of a trained supernet)")
    p.add_argument("--epochs", type=int, help="training epochs per trial")
    p.add_argument("--name", help="study name (default: TASK-SPACE-STRATEGY)")
    p.add_argument("--seed", type=int, help="study seed (default 0)")
    p.add_argument("--device", help="auto, cpu or cuda[:N]")
    p.add_argument("--cv", type=int, metavar="K", help="score trials by K-fold cross-validation on "
                   "train+valid; 0: the validation split (default: 5 folds below 1,000 samples, else 0)")
    p.add_argument("--config", metavar="FILE.toml", help="read settings from a TOML file")
    p.add_argument("--objective", metavar="M:max|min,...",
                   help="objectives, e.g. valid_acc:max,params:min (first selects; default valid_acc:max)")
    p.add_argument("--constraint", metavar="M<=BOUND,...", help="infeasible unless, e.g. params<=100000")
    p.add_argument("--warm-start", metavar="STUDY,...|auto", help="seed the search from earlier studies")
    p.add_argument("--space-opt", action="append", metavar="KEY=VALUE", help="space parameter (repeatable)")
    p.add_argument("--strategy-opt", action="append", metavar="KEY=VALUE", help="strategy parameter")
    p.add_argument("--evaluator-opt", action="append", metavar="KEY=VALUE", help="evaluator parameter")
    add_scheduler_args(p)
    p.add_argument("--inherit-weights", action="store_true",
                   help="children start from their parent's trained weights (morphisms / shape match)")
    p.add_argument("--inherit-epochs", type=int, metavar="N", help="training epochs of an inheriting child")
    p.add_argument("--hp", action="append", metavar="NAME=SPEC",
                   help="search a training hyperparameter too: lr=1e-4..1e-1:log, batch_size=64,128,256")
    p.set_defaults(func=run)


# -- settings -----------------------------------------------------------------------------------
def builtin_defaults() -> dict[str, Any]:
    """The built-in default search settings (``nasforge.defaults.SEARCH``, a copy)."""
    from nasforge import defaults

    return _copy(defaults.SEARCH)


def _copy(d: dict[str, Any]) -> dict[str, Any]:
    return {k: dict(v) if isinstance(v, dict) else v for k, v in d.items()}


def read_config_file(path: str) -> dict[str, Any]:
    """Settings from a TOML file; unknown keys and wrong types raise :class:`ConfigError`."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"--config file {path!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read --config file {path!r}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--config file {path!r} is not valid TOML: {exc}") from exc
    out: dict[str, Any] = {}
    for key, value in data.items():
        k = key.replace("-", "_")
        if k in (*TABLE_KEYS, "hp"):
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: {key} must be a table ([{key}] with key = value lines)")
            out[k] = dict(value)
        elif k in SCALAR_KEYS:
            out[k] = _typed(k, value, path)
        else:
            allowed = ", ".join([*SCALAR_KEYS, *TABLE_KEYS, "hp"])
            raise ConfigError(f"{path}: unknown key {key!r}; expected one of: {allowed}")
    return out


def _typed(key: str, value: Any, source: str) -> Any:
    want = SCALAR_KEYS[key]
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, want) or isinstance(value, bool):
        raise ConfigError(f"{source}: {key} must be a {want.__name__}, got {value!r}")
    return value


def resolve_settings(args: argparse.Namespace, defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge the built-in default, the TOML file and the flags (flags win); ``settings["_sources"]`` says
    where each came from (``default`` / ``config`` / ``flag``).

    The default's ``space_opt``/``strategy_opt``/``evaluator_opt`` belong to the default space, strategy
    and (training) evaluator: they are dropped when another space/strategy is chosen. The budget follows
    :mod:`nasforge.cli.running` (the demo budget only when no budget key is given).
    """
    defaults = defaults if defaults is not None else builtin_defaults()
    settings = _copy(defaults)
    sources = {key: "default" for key in (*SCALAR_KEYS, *TABLE_KEYS)}
    from_file = read_config_file(args.config) if getattr(args, "config", None) else {}
    settings.update(from_file)
    sources.update({key: "config" for key in from_file})
    for key in SCALAR_KEYS:
        value = getattr(args, key, None)
        if value is not None:
            settings[key] = value
            sources[key] = "flag"
    given = {key for key in BUDGET_KEYS if sources[key] != "default"}
    fill_budget(settings, sources, given, defaults)
    for opt, part in (("space_opt", "space"), ("strategy_opt", "strategy"), ("evaluator_opt", "space")):
        if opt not in from_file and settings.get(part) != defaults.get(part):
            settings[opt] = {}
    for opt in TABLE_KEYS:
        given_opts = parse_options(getattr(args, opt, None), "--" + opt.replace("_", "-"))
        settings[opt] = {**(settings.get(opt) or {}), **given_opts}
        settings[f"_{opt}_is_default"] = opt not in from_file and not given_opts
        if given_opts:
            sources[opt] = "flag" if opt not in from_file else "config+flag"
    if getattr(args, "inherit_weights", False) or getattr(args, "inherit_epochs", None) is not None:
        settings["strategy_opt"].update(inherit_weights=True, inherit_epochs=args.inherit_epochs)
    hp = hp_table(from_file.get("hp"), getattr(args, "hp", None))
    if hp:  # shown (and stored in the space config) only when given
        settings["hp"], sources["hp"] = hp, "flag" if getattr(args, "hp", None) else "config"
    validate_settings(settings)
    settings["_sources"] = sources
    return settings


def validate_settings(s: dict[str, Any]) -> None:
    """Budgets and counts in range, the parts named; one clear :class:`ConfigError` otherwise."""
    validate_run_settings(s)
    if s.get("cv") is not None:
        check_folds(s["cv"], "--cv")
    for key in ("task", "space", "strategy"):
        if not isinstance(s.get(key), str) or not s[key]:
            raise ConfigError(f"--{key} must be given (got {s.get(key)!r})")
    name = s.get("name")
    if name is not None and (not name.strip() or len(name) > 200):
        raise ConfigError(f"--name must be a non-empty study name, got {name!r}")


#: the settings shown in ``search``'s first line, in order
SHOWN = ("task", "space", "strategy", "evaluator", "epochs", "trials", "time_limit", "workers", "executor",
         "ray_address", "trial_timeout", "retries", "seed", "device", "cv", "store", "name", "space_opt",
         "strategy_opt", "evaluator_opt", "scheduler", "scheduler_opt", "objective", "constraint",
         "warm_start", "hp")


def default_name(s: dict[str, Any], space: Any = None) -> str:
    """``TASK-SPACE-STRATEGY`` (a tabular benchmark names its dataset instead of the task)."""
    task = Path(s["task"]).stem if s["task"].endswith((".npz", ".csv")) else s["task"]
    if space is not None and not type(space).input_kinds:
        task = str(space.params.get("dataset", "table"))
    return f"{task}-{s['space']}-{s['strategy']}"


# -- building the parts -------------------------------------------------------------------------
def build_parts(s: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(space, strategy, evaluator) from settings; every bad input fails here, before any store write."""
    from nasforge import oneshot, spaces, strategies
    from nasforge.estimate.inherit import check_evaluator as check_inheritance
    from nasforge.estimate.registry import EVALUATORS

    space_cls = spaces.SPACES.get(s["space"])
    if not space_cls.input_kinds and s.get("hp"):
        with_hp(space_cls(), s["hp"])  # raises: a tabular benchmark trains nothing
    make_strategy = oneshot.create if oneshot.is_oneshot(s["strategy"]) else strategies.create
    strategy = make_strategy(s["strategy"], **_checked_kwargs(s["strategy_opt"], "--strategy-opt"))
    evaluator_space = oneshot.check_settings(s)  # one-shot / supernet input, before any work
    space_opt = _checked_kwargs(s["space_opt"], "--space-opt")
    evaluator_opt = _checked_kwargs(s["evaluator_opt"], "--evaluator-opt")
    if not space_cls.input_kinds:  # a tabular benchmark: look results up, no training, no task
        if s.get("cv") is not None:
            raise ConfigError(f"--cv needs a training evaluator; space {s['space']!r} looks results up")
        space = spaces.create(s["space"], **space_opt)
        params = {"benchmark": space.name, **evaluator_opt}
        if "dataset" in space.params:
            params.setdefault("dataset", space.params["dataset"])
        tabular = EVALUATORS.create("tabular", **params)
        strategy.check_space(space)  # e.g. LEMONADE without morphisms: one line, before any work
        check_inheritance(tabular, strategy)  # before the settings line: bad input is one line
        return space, strategy, tabular
    evaluator = _train_evaluator(s, evaluator_opt, strategy, evaluator_space)
    task = evaluator.task_data
    if smalldata.apply(s, task):  # a small table: its own defaults (re-reading it costs milliseconds)
        options = _checked_kwargs(s["evaluator_opt"], "--evaluator-opt")
        evaluator = _train_evaluator(s, options, strategy, evaluator_space)
        space_opt = _checked_kwargs(s["space_opt"], "--space-opt")
    if task.input_kind == "tabular" and s.get("_space_opt_is_default"):
        space_opt = {}  # the default's options choose signal ops; tabular data needs the space's own
    space = with_hp(_space_for_task(s["space"], space_opt, task.input_kind), s.get("hp") or {})
    evaluator.space = space  # the evaluator builds its models in this space (it has built none yet)
    strategy.check_space(space)
    check_inheritance(evaluator, strategy)  # before the settings line: bad input is one line
    return space, strategy, evaluator


def _train_evaluator(s: dict[str, Any], options: dict[str, Any], strategy: Any, space: Any = None) -> Any:
    """The training (or ``--evaluator``) evaluator of the settings, its task loaded (the space follows
    its input kind). A strategy whose children inherit weights gets no k-fold by default."""
    from nasforge.estimate.registry import EVALUATORS

    name = s.get("evaluator") or "train"
    inherits = bool(strategy.params.get("inherit_weights"))  # nash and lemonade: on by default
    auto = 0 if inherits else "auto"  # children start from one parent network: no k-fold by default
    folds = {"cv": auto if s.get("cv") is None else s["cv"]} if name == "train" else {}
    evaluator = EVALUATORS.create(name, task=s["task"], space=space, epochs=s["epochs"],
                                  device=s.get("device") or "auto", **folds, **options)
    evaluator.prepare()
    from nasforge.estimate.train import resolve_device

    resolve_device(str(getattr(evaluator, "device", None) or "cpu"))  # no CUDA: refused before storing
    return evaluator


def _space_for_task(name: str, options: dict[str, Any], kind: str) -> Any:
    """The space with ``input_kind`` set from the task when the space has that parameter and the
    user did not set it."""
    from nasforge import spaces

    if "input_kind" not in options:
        try:
            return spaces.create(name, **options, input_kind=kind)
        except (ConfigError, TypeError):
            pass  # no input_kind parameter (or another problem, reported below)
    return spaces.create(name, **options)


def _checked_kwargs(options: dict[str, Any], flag: str) -> dict[str, Any]:
    for key in options:
        if not isinstance(key, str) or not key.isidentifier():
            raise ConfigError(f"{flag}: option names must be identifiers, got {key!r}")
    return dict(options)


def run(args: argparse.Namespace) -> int:
    """Create (or continue) the study and optimise it."""
    from nasforge.study import Study

    s = resolve_settings(args)
    executor, where = make_run_executor(s), (s.get("workers"), s.get("executor"))
    try:  # whatever fails, the workers started early stop with it
        prestart(executor, _warm_modules(s["space"]))  # they start while the data loads
        try:
            space, strategy, evaluator = build_parts(s)
        except TypeError as exc:  # an unexpected keyword in --space-opt / --strategy-opt / --evaluator-opt
            raise ConfigError(f"bad option for {s['space']}/{s['strategy']}: {exc}") from exc
        if (s.get("workers"), s.get("executor")) != where:  # the small-table defaults changed it
            executor.shutdown(cancel=True)
            executor = make_run_executor(s)
        name = s.get("name") or default_name(s, space)
        preflight({**s, "name": name}, space, evaluator, s.get("store") or DEFAULT_STORE)
        sources = s["_sources"]
        shown = {k: v for k, v in s.items() if not k.endswith("_opt") or sources.get(k) != "default"}
        shown.update(store=s.get("store") or DEFAULT_STORE, name=name, cv=getattr(evaluator, "folds", None))
        shown = {k: v for k, v in shown.items() if v is not None or k not in ("objective", "constraint",
                                                                             "warm_start")}
        sources.setdefault("name", "default")
        sources["cv"] = sources.get("cv", "default").replace("default", "default: auto")
        scheduler = scheduler_from_settings(s, args)
        scheduler_entry(scheduler, evaluator)  # bad budgets, an evaluator without one: before the first line
        print_settings(settings_line("search", shown, sources, SHOWN))  # the first line, input valid
        study = Study.create(
            store=s.get("store") or DEFAULT_STORE,
            name=name,
            space=space,
            strategy=strategy,
            evaluator=evaluator,
            seed=s.get("seed") or 0,
            load_if_exists=True,
            scheduler=scheduler,
            objectives=s.get("objective"),
            constraints=s.get("constraint"),
            warm_start=s.get("warm_start"),
        )
        code = run_study(study, s, args, executor)
        if code == 0 and evaluator.name == "supernet":  # the best k, retrained from scratch
            from nasforge.cli.oneshot_retrain import retrain_best

            code = retrain_best(study, s, args)
        return code
    finally:
        executor.shutdown(cancel=True)


def _warm_modules(space_name: str) -> tuple[str, ...]:
    """What early workers import: the training stack, unless the space is a tabular benchmark."""
    from nasforge import spaces

    try:
        return TRAINING_WARM if spaces.SPACES.get(space_name).input_kinds else ()
    except ConfigError:  # an unknown space: build_parts reports it
        return ()
