"""Data loading: built-in tasks, user files, arrays, and every bad-data case -> DataError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nasforge as nf
from nasforge.data import Task, list_tasks, load
from nasforge.errors import DataError, RegistryError


def arrays(n: int = 40, shape: tuple[int, ...] = (1, 12), classes: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, *shape)).astype(np.float32), np.arange(n) % classes


def test_list_and_unknown_task() -> None:
    assert {"mnist1d", "digits"} <= set(list_tasks())
    with pytest.raises(RegistryError, match=r"unknown task 'mnist2d'.*Did you mean 'mnist1d'"):
        load("mnist2d")


def test_digits_is_a_2d_task_with_fixed_split() -> None:
    task = load("digits")
    again = load("digits")
    assert task.input_shape == (1, 8, 8) and task.num_classes == 10 and task.input_kind == "2d"
    total = len(task.y_train) + len(task.y_valid) + len(task.y_test)
    assert total == 1797
    assert np.array_equal(task.y_valid, again.y_valid) and np.array_equal(task.x_test, again.x_test)
    assert abs(float(task.x_train.mean())) < 1e-3 and abs(float(task.x_train.std()) - 1) < 1e-2


def test_mnist1d_shapes_split_and_cache() -> None:
    import time

    task = load("mnist1d")
    assert task.input_shape == (1, 40) and task.num_classes == 10
    assert len(task.y_train) + len(task.y_valid) == 4000 and len(task.y_test) == 1000
    assert 980 <= len(task.y_valid) <= 1020
    assert task.x_train.dtype == np.float32 and task.y_train.dtype == np.int64
    start = time.perf_counter()
    again = load("mnist1d")
    assert time.perf_counter() - start < 0.5, "second load must come from the in-memory cache"
    assert np.array_equal(task.x_valid, again.x_valid)
    assert task.describe()["n_test"] == 1000


def test_arrays_tuple_mapping_and_given_test_split() -> None:
    x, y = arrays(60)
    task = load((x, y), name="mine")
    assert isinstance(task, Task) and task.name == "mine" and task.num_classes == 4
    assert len(task.y_train) + len(task.y_valid) + len(task.y_test) == 60
    for split in (task.y_train, task.y_valid, task.y_test):
        assert set(split.tolist()) == {0, 1, 2, 3}, "splits are stratified"
    xt, yt = arrays(12, seed=1)
    task2 = load({"x": x, "y": y, "x_test": xt, "y_test": yt})
    assert len(task2.y_test) == 12
    assert load(task2) is task2
    raw = load((x, y), standardize=False)
    assert np.allclose(np.sort(raw.x_test.ravel()), np.sort(raw.x_test.ravel()))


def test_npz_and_csv_files(tmp_path: Path) -> None:
    x, y = arrays(40, shape=(2, 5, 5))
    path = tmp_path / "imgs.npz"
    np.savez(path, x=x, y=y)
    task = load(str(path))
    assert task.input_shape == (2, 5, 5) and task.name == "imgs" and task.input_kind == "2d"

    csv = tmp_path / "table.csv"
    rows = ["a,b,species"] + [f"{i * 0.1},{(i % 3) * 1.0},{['cat', 'dog', 'owl'][i % 3]}" for i in range(30)]
    csv.write_text("\n".join(rows) + "\n")
    task = load(csv)
    assert task.input_shape == (2,) and task.num_classes == 3 and task.input_kind == "tabular"
    assert task.meta["classes"] == "cat,dog,owl" and task.meta["target"] == "species"
    num = tmp_path / "num.csv"
    num.write_text("label,f1,f2\n" + "".join(f"{i % 2},{i},{i * 2}\n" for i in range(20)))
    task = load(num)
    assert task.meta["target"] == "label" and task.input_shape == (2,) and task.num_classes == 2
    with pytest.raises(DataError, match="at least 3 samples of every class"):
        load(num, target="f1")  # every value of f1 is its own class


def bad_cases() -> list[tuple[str, dict, str]]:
    x, y = arrays(40)
    nan = x.copy()
    nan[3, 0, 2] = np.nan
    inf = x.copy()
    inf[5, 0, 0] = np.inf
    return [
        ("1-D inputs", {"x": x[:, 0, 0], "y": y}, r"reshape a single feature to \(N, 1\)"),
        ("5-D inputs", {"x": x[:, :, :, None, None, None], "y": y}, "must have shape"),
        ("length mismatch", {"x": x, "y": y[:-1]}, "40 inputs but 39 labels"),
        ("2-D labels", {"x": x, "y": np.stack([y, y], 1)}, "1-D array of class indices"),
        ("NaN", {"x": nan, "y": y}, "NaN/inf values .*sample 3"),
        ("inf", {"x": inf, "y": y}, "NaN/inf values .*sample 5"),
        ("negative label", {"x": x, "y": np.where(y == 0, -1, y)}, r"labels must be in \[0"),
        ("fractional label", {"x": x, "y": y + 0.5}, "whole numbers"),
        ("empty", {"x": x[:0], "y": y[:0]}, "empty"),
        ("one class", {"x": x, "y": np.zeros(40, dtype=int)}, "at least 2 classes"),
        ("gap in labels", {"x": x, "y": np.where(y == 1, 3, y)}, "class 1 has 0"),
        ("tiny class", {"x": x, "y": np.where(np.arange(40) == 0, 4, y)}, "class 4 has 1"),
        ("test label out of range", {"x": x, "y": y, "x_test": x[:5], "y_test": np.full(5, 7)},
         r"test labels must be in \[0, 4\)"),
        ("test shape", {"x": x, "y": y, "x_test": x[:5, :, :6], "y_test": y[:5]}, "per-sample shape"),
        ("text inputs", {"x": np.array([["a"]] * 40), "y": y}, "numeric"),
        ("only x_test", {"x": x, "y": y, "x_test": x[:5]}, "both x_test and y_test"),
    ]


@pytest.mark.parametrize(("label", "data", "match"), bad_cases(), ids=[c[0] for c in bad_cases()])
def test_bad_arrays_raise_data_error(label: str, data: dict, match: str) -> None:
    with pytest.raises(DataError, match=match):
        load(data)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load(tmp_path / "missing.npz")
    np.savez(tmp_path / "nox.npz", features=np.zeros((4, 2)))
    with pytest.raises(DataError, match="must contain arrays 'x' and 'y'"):
        load(tmp_path / "nox.npz")
    np.savez(tmp_path / "obj.npz", x=np.array([object()] * 4, dtype=object), y=np.zeros(4))
    with pytest.raises(DataError, match="object arrays are refused"):
        load(tmp_path / "obj.npz")
    (tmp_path / "text.csv").write_text("a,target\nhello,1\nworld,0\n")
    with pytest.raises(DataError, match="features must be numeric"):
        load(tmp_path / "text.csv")
    (tmp_path / "ragged.csv").write_text("a,b,target\n1,2,0\n1,1\n")
    with pytest.raises(DataError, match="row 3 has 2 fields"):
        load(tmp_path / "ragged.csv")
    (tmp_path / "t.csv").write_text("a,b\n1,0\n")
    with pytest.raises(DataError, match="target column 'c'"):
        load(tmp_path / "t.csv", target="c")
    (tmp_path / "data.txt").write_text("1,2\n")
    with pytest.raises(DataError, match=r"\.npz or \.csv"):
        load(tmp_path / "data.txt")
    with pytest.raises(DataError, match="built-in name"):
        load(12345)


def test_api_alias() -> None:
    assert nf.data.load is load


# ------------------------------------------------------------------ the input contract (preprocessing)
def contract_sources(tmp_path: Path) -> dict[str, object]:
    x, y = arrays(60, shape=(2, 3, 3))
    np.savez(tmp_path / "imgs.npz", x=(x * 40 + 100).clip(0, 255).astype(np.uint8), y=y)
    names = ["cat", "dog", "owl"]
    rows = ["a,b,species"] + [f"{i * 0.5 + 10},{(i % 3) * 7.0},{names[i % 3]}" for i in range(45)]
    (tmp_path / "table.csv").write_text("\n".join(rows) + "\n")
    text = np.array(["b", "a", "c"])[np.arange(60) % 3]
    return {"digits": "digits", "mnist1d": "mnist1d", "npz": tmp_path / "imgs.npz",
            "csv": tmp_path / "table.csv", "arrays": (x[:, 0] * 5 - 2, text)}


def test_preprocessing_reproduces_every_split_from_raw_data(tmp_path: Path) -> None:
    import json

    from nasforge.data import Preprocessing

    raw_shapes = {"digits": (8, 8), "mnist1d": (40,), "npz": (2, 3, 3), "csv": (2,), "arrays": (3, 3)}
    for case, source in contract_sources(tmp_path).items():
        task = load(source)
        prep = task.preprocessing
        assert prep.raw_shape == raw_shapes[case] and prep.input_shape == task.input_shape, case
        for split in ("train", "valid", "test"):
            x, labels = task.raw_split(split)
            assert x.shape[1:] == prep.raw_shape
            assert np.array_equal(prep.apply(x), getattr(task, f"x_{split}")), (case, split)  # bit for bit
            assert np.array_equal(prep.encode(labels), getattr(task, f"y_{split}"))
        stored = json.loads(json.dumps(task.describe()))["preprocessing"]
        assert Preprocessing.from_dict(stored) == prep
    assert load(tmp_path / "imgs.npz").raw_split("test")[0].dtype == np.uint8
    assert load("mnist1d").input_shape == (1, 40) and load("digits").input_shape == (1, 8, 8)
    csv = load(tmp_path / "table.csv")
    assert csv.labels == ["cat", "dog", "owl"] and csv.preprocessing.columns == ("a", "b")
    assert csv.preprocessing.target == "species" and csv.raw_split("test")[1][0] in ("cat", "dog", "owl")
    # statistics come from the training split only, per feature of a table
    x_train = csv.raw_split("train")[0]
    assert np.allclose(csv.preprocessing.mean, x_train.mean(axis=0), rtol=1e-6)


def test_text_labels_in_arrays_keep_their_names() -> None:
    x, _ = arrays(60)
    text = np.array(["owl", "cat", "dog"])[np.arange(60) % 3]
    task = load((x, text))
    assert task.labels == ["cat", "dog", "owl"] and task.num_classes == 3
    assert sorted(set(task.raw_split("valid")[1].tolist())) == ["cat", "dog", "owl"]
    with pytest.raises(DataError, match="test labels hold 'emu'"):
        load({"x": x, "y": text, "x_test": x[:3], "y_test": np.array(["emu", "cat", "dog"])})
    named = load((x, np.arange(60) % 3), labels=["no", "maybe", "yes"])
    assert named.labels == ["no", "maybe", "yes"]


def test_preprocessing_checks_raw_inputs_and_labels() -> None:
    from nasforge.data import Preprocessing

    prep = Preprocessing((4,), "float64", (4,), (1.0,) * 4, (2.0,) * 4, (0, 1, 2))
    assert np.array_equal(prep.apply(np.full((1, 4), 3.0)), np.ones((1, 4), np.float32))
    with pytest.raises(DataError, match="3 features per sample, the model expects 4"):
        prep.apply(np.zeros((2, 3)))
    with pytest.raises(DataError, match="must be numeric"):
        prep.apply(np.array([["a"] * 4]))
    with pytest.raises(DataError, match=r"NaN/inf values \(first in sample 1\)"):
        prep.apply(np.array([[0.0] * 4, [np.inf] * 4]))
    assert prep.encode(["2", 1.0, np.int64(0)]).tolist() == [2, 1, 0]
    with pytest.raises(DataError, match=r"'cat' .*not one of the task's integer labels"):
        prep.encode(["cat"])
    with pytest.raises(DataError, match=r"1\.5"):
        prep.encode([1.5])
    text = Preprocessing((2, 2), "uint8", (1, 2, 2), (0.0,), (1.0,), ("cat", "dog"))
    with pytest.raises(DataError, match=r"per-sample shape \(4,\), the model expects \(2, 2\)"):
        text.apply(np.zeros((3, 4)))
    with pytest.raises(DataError, match=r"holds 3 .*text labels"):
        text.encode([3])
    with pytest.raises(DataError, match="lacks"):
        Preprocessing.from_dict({"raw_shape": [2]})
    with pytest.raises(DataError, match="differ in size"):
        Preprocessing((3,), "float32", (1, 2), (0.0,), (1.0,), (0, 1))
    with pytest.raises(DataError, match="numeric dtype"):
        Preprocessing((2,), "str", (2,), (0.0, 0.0), (1.0, 1.0), (0, 1))


def test_mnist1d_arrays_are_cached_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nasforge.data import builtin, cache

    calls: list[int] = []

    def fake(seed: int) -> dict[str, np.ndarray]:
        calls.append(seed)
        rng = np.random.default_rng(seed)
        return {"x": rng.normal(size=(50, 40)), "y": np.arange(50) % 10, "x_test": rng.normal(size=(20, 40)),
                "y_test": np.arange(20) % 10}

    monkeypatch.setattr(builtin, "_generate_mnist1d", fake)
    monkeypatch.setattr(builtin, "_CACHE", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("NASFORGE_CACHE_DIR", raising=False)
    first = builtin._mnist1d_arrays(7)
    files = list((tmp_path / "xdg" / "nasforge").iterdir())
    assert calls == [7] and len(files) == 1 and "seed7" in files[0].name and "mnist1d-" in files[0].name
    assert not [f for f in files if f.suffix == ".tmp"]
    monkeypatch.setattr(builtin, "_CACHE", {})  # a new process: reads the file, does not generate
    again = builtin._mnist1d_arrays(7)
    assert calls == [7] and all(np.array_equal(first[k], again[k]) for k in first)
    with np.load(files[0], allow_pickle=False) as data:
        assert sorted(data.files) == ["x", "x_test", "y", "y_test"]
    files[0].write_bytes(b"not a zip")  # a broken file is regenerated and rewritten
    monkeypatch.setattr(builtin, "_CACHE", {})
    builtin._mnist1d_arrays(7)
    assert calls == [7, 7] and np.load(files[0])["x"].shape == (50, 40)
    blocked = tmp_path / "file"
    blocked.write_text("")  # a cache "directory" that is a file: unwritable, so generate every time
    monkeypatch.setenv("NASFORGE_CACHE_DIR", str(blocked / "sub"))
    monkeypatch.setattr(builtin, "_CACHE", {})
    assert cache.cache_dir() == blocked / "sub"
    assert builtin._mnist1d_arrays(8)["x"].shape == (50, 40) and calls == [7, 7, 8]
