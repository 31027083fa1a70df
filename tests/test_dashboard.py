"""``nasforge dashboard``: routes, read-only use of the store, answers while a search writes to it,
a clean stop on Ctrl-C, and bad input."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from report_fixtures import toy_store

from nasforge.cli.main import build_parser, main
from nasforge.report.dashboard import make_server

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def get(base: str, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(base + path, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _snapshot(path: Path) -> tuple[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT * FROM studies ORDER BY id").fetchall()
        rows += conn.execute("SELECT * FROM trials ORDER BY id").fetchall()
    finally:
        conn.close()
    return hashlib.sha256(path.read_bytes()).hexdigest(), rows


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A dashboard on a free port over a store with two toy studies; yields (base URL, store)."""
    store = toy_store(tmp_path / "d.db", name="alpha", fail_x=[0, 1, 2])
    toy_store(store, name="beta <b>")
    server = make_server(store, port=0, refresh=0.5)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", store
    finally:
        server.shutdown()
        server.server_close()


def test_routes(served: tuple[str, Path]) -> None:
    base, _ = served
    status, index = get(base, "/")
    assert status == 200 and 'href="/study/alpha"' in index and 'href="/study/beta%20%3Cb%3E"' in index
    assert "beta &lt;b&gt;" in index and "/compare?name=alpha&amp;name=beta" in index
    status, page = get(base, "/study/alpha")
    assert status == 200 and 'data-section="trials"' in page and "/api/version?name=alpha" in page
    assert "connect-src &#x27;self&#x27;" in page  # the page may call back only to this server
    status, cmp = get(base, "/compare?name=alpha&name=beta%20%3Cb%3E")
    assert status == 200 and 'data-section="compare-summary"' in cmp
    status, body = get(base, "/api/studies")
    assert status == 200 and [s["name"] for s in json.loads(body)] == ["alpha", "beta <b>"]
    status, body = get(base, "/study/nope")
    assert status == 404 and "no study named" in body
    assert get(base, "/nowhere")[0] == 404 and get(base, "/favicon.ico")[0] == 204


def test_version_changes_when_a_trial_finishes_and_pages_are_cached(served: tuple[str, Path]) -> None:
    from fakes import ToyEvaluator

    from nasforge.study import Study

    base, store = served
    before = json.loads(get(base, "/api/version?name=alpha")[1])["version"]
    assert json.loads(get(base, "/api/version?name=alpha")[1])["version"] == before
    first, again = get(base, "/study/alpha")[1], get(base, "/study/alpha")[1]
    assert first == again  # nothing changed: the cached page, byte for byte
    study = Study.load(store=store, name="alpha", evaluator=ToyEvaluator(fail_x=[0, 1, 2]))
    study.optimize(n_trials=len(study.trials) + 1, show_progress=False)
    study.store.close()
    after = json.loads(get(base, "/api/version?name=alpha")[1])["version"]
    assert after != before and f'var v="{after}"' in get(base, "/study/alpha")[1]


def test_the_dashboard_only_reads_the_store(served: tuple[str, Path]) -> None:
    base, store = served
    before = _snapshot(store)
    for path in ("/", "/study/alpha", "/api/version?all=1", "/api/studies", "/compare?name=alpha&name=alpha"):
        get(base, path)
    assert _snapshot(store) == before  # the same rows and the same bytes


def test_it_answers_while_a_search_writes(tmp_path: Path) -> None:
    """A toy search (40 trials, 0.1 s each) runs in another process; the dashboard serves throughout."""
    store = tmp_path / "live.db"
    search = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "fakes.py"), str(store), "live", "40", "0.1"],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not store.exists():
            time.sleep(0.05)
        server = None
        while server is None and time.time() < deadline:
            try:
                server = make_server(store, port=0)
            except Exception:  # the study is not created yet
                time.sleep(0.05)
        assert server is not None
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        while get(base, "/api/version?name=live")[0] == 404 and time.time() < deadline:
            time.sleep(0.02)  # the store exists, the study not yet
        versions, statuses, last_page = set(), [], 0.0
        while search.poll() is None and time.time() < deadline:
            status, body = get(base, "/api/version?name=live")
            statuses.append(status)
            if status == 200:
                versions.add(json.loads(body)["version"])
            if time.time() - last_page > 1.0:  # a whole page now and then (rendering takes a while)
                statuses.append(get(base, "/study/live")[0])
                last_page = time.time()
            time.sleep(0.05)
        out, err = search.communicate(timeout=30)
        assert search.returncode == 0 and "DONE 40" in out, err
        assert set(statuses) == {200} and len(versions) >= 3, (statuses, len(versions))
        status, page = get(base, "/study/live")
        assert status == 200 and "40 trials" in page
        server.shutdown()
        server.server_close()
    finally:
        if search.poll() is None:
            search.kill()
            search.wait()


def test_ctrl_c_stops_it_cleanly(tmp_path: Path) -> None:
    store = toy_store(tmp_path / "c.db")
    proc = subprocess.Popen(
        [sys.executable, "-m", "nasforge.cli.main", "dashboard", "--store", str(store), "--port", "0"],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, line
        base = line.split(" at ")[1].split()[0].rstrip("/")
        assert get(base, "/")[0] == 200
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in (0, 130) and "Traceback" not in err, err


def test_defaults_and_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["dashboard"])
    assert args.host == "127.0.0.1"
    store = toy_store(tmp_path / "b.db")
    server = make_server(store)
    try:
        assert server.server_address[0] == "127.0.0.1"
        taken = server.server_address[1]
        for argv, expected in (
            (["--store", str(tmp_path / "missing.db")], "does not exist"),
            (["--store", str(store), "--port", "70000"], "--port must be an integer"),
            (["--store", str(store), "--port", str(taken)], f"cannot listen on 127.0.0.1:{taken}"),
            (["--store", str(store), "--refresh", "0"], "--refresh must be"),
        ):
            assert main(["dashboard", *argv]) == 2
            err = capsys.readouterr().err
            assert err.startswith("nasforge: error: ") and err.count("\n") == 1 and expected in err, err
    finally:
        server.server_close()
    assert not (tmp_path / "missing.db").exists()
