"""The report and the dashboard in a real browser (headless Chromium through WebDriver).

Checks what a person sees: no console errors (a blocked fetch or a script error is one), nothing
fetched from anywhere, every section and figure present and non-empty (the architecture drawing
included), the trial table sorting on a header click and paging, the dashboard reloading itself when a
search adds trials, and the fresh-clone bar: ``nasforge search --trials 6 --epochs 1`` then ``nasforge
report`` gives a page with every section. Skipped, with the reason, where no browser is installed
(``.ci/run`` installs one).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from report_fixtures import nbg_store
from tiny import tiny_task

from nasforge.report.browser import Browser, unavailable

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=f"no headless browser: {unavailable()}")
ROOT = Path(__file__).resolve().parents[1]
STUDY_SECTIONS = ["summary", "incumbent", "scatter", "curves", "architecture", "failures", "trials"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser() as b:
        yield b


@pytest.fixture(scope="module")
def big_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of a 150-trial NAS-Bench-Graph study (more than one page of table rows)."""
    from nasforge.report.build import write_report

    root = tmp_path_factory.mktemp("browser")
    store = nbg_store(root / "b.db", n_trials=150)
    return write_report(store, ["nbg"], root / "nbg.html")


def check_page(browser: Browser, expected_sections: list[str]) -> dict:
    """The page shows no console error, fetched nothing, and every figure is drawn; returns its state."""
    state = browser.state()
    assert browser.console() == [], "console errors"
    assert state["resources"] == [], "the page fetched something"
    for name in expected_sections:
        assert name in state["sections"], (name, state["sections"])
    assert state["figures"], "no figure at all"
    for fig in state["figures"]:
        assert fig["width"] > 100 and fig["height"] > 100 and fig["drawn"] > 10, fig
    return state


def trials_table(browser: Browser, column: str) -> tuple[list[str], list[float]]:
    """Shown texts of ``column`` in the table's current page, and that column's keys over all rows."""
    return browser.run(
        """
        var name = arguments[0], root = document.querySelector('section[data-section=trials] div.paged');
        var heads = Array.prototype.map.call(root.querySelectorAll('th'),
                                             function(h){ return h.textContent; });
        var col = heads.findIndex(function(h){ return h.indexOf(name) === 0; });
        var spec = JSON.parse(root.querySelector('script.rows').textContent);
        var shown = Array.prototype.map.call(root.querySelector('tbody').rows,
                                             function(r){ return r.cells[col].textContent; });
        return [shown, spec.keys[col]];
        """,
        column,
    )


def click_header(browser: Browser, column: str) -> str:
    return browser.run(
        """
        var name = arguments[0];
        var th = Array.prototype.find.call(document.querySelectorAll('section[data-section=trials] th'),
                                           function(h){ return h.textContent.indexOf(name) === 0; });
        th.click();
        return th.getAttribute('aria-sort');
        """,
        column,
    )


def test_report_renders_with_every_figure(browser: Browser, big_report: Path) -> None:
    browser.open(big_report)
    state = check_page(browser, STUDY_SECTIONS)
    kinds = {f["kind"]: f["section"] for f in state["figures"]}
    assert kinds == {
        "s0-incumbent-trials": "incumbent",
        "s0-incumbent-time": "incumbent",
        "s0-scatter": "scatter",
        "s0-curves": "curves",
        "s0-architecture": "architecture",
    }
    arch = browser.run("return document.querySelector('section[data-section=architecture] svg').textContent")
    assert "input" in arch and "output" in arch


def test_trial_table_sorts_on_a_header_click_and_pages(browser: Browser, big_report: Path) -> None:
    browser.open(big_report)
    shown, _ = trials_table(browser, "#")
    assert shown[:3] == ["0", "1", "2"] and len(shown) == 100  # first page in trial order
    assert click_header(browser, "valid_acc") == "ascending"
    shown, keys = trials_table(browser, "valid_acc")
    values = [float(v) for v in shown]
    assert values == sorted(values) and values[0] == pytest.approx(min(keys), abs=1e-4)
    assert click_header(browser, "valid_acc") == "descending"
    shown, keys = trials_table(browser, "valid_acc")
    values = [float(v) for v in shown]
    assert values == sorted(values, reverse=True) and values[0] == pytest.approx(max(keys), abs=1e-4)
    browser.run("document.querySelector('section[data-section=trials] button.next').click()")
    pos = browser.run("return document.querySelector('section[data-section=trials] .pos').textContent")
    assert pos == "rows 101-150 of 150" and len(trials_table(browser, "#")[0]) == 50
    assert browser.console() == []


def test_dashboard_pages_render_and_follow_a_search(browser: Browser, tmp_path: Path) -> None:
    from nasforge.estimate.tabular import TabularEvaluator
    from nasforge.report.dashboard import make_server
    from nasforge.study import Study

    store = nbg_store(tmp_path / "d.db", n_trials=12)
    server = make_server(store, port=0, refresh=0.3)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        browser.open(base + "/")
        assert browser.console() == [] and "nbg" in browser.run("return document.body.innerText")
        browser.open(base + "/study/nbg")
        check_page(browser, STUDY_SECTIONS)
        marker = browser.run("window.__still_here = 1; return window.__still_here")
        assert marker == 1
        study = Study.load(store=store, name="nbg", evaluator=TabularEvaluator(dataset="cora"))
        study.optimize(n_trials=20, show_progress=False)
        study.store.close()
        deadline = time.time() + 30
        pos = ""
        while time.time() < deadline:  # the page notices the new trials and reloads itself
            reloaded = browser.run("return window.__still_here === undefined")
            pos = browser.run("var p = document.querySelector('.pos'); return p ? p.textContent : ''")
            if reloaded and pos.endswith("of 20"):
                break
            time.sleep(0.2)
        assert pos == "rows 1-20 of 20"
        check_page(browser, STUDY_SECTIONS)
        server.shutdown()  # a page left open stops polling a dashboard that is gone, and says so
        server.server_close()
        deadline = time.time() + 10
        while "not answering" not in browser.run("return document.getElementById('live').textContent"):
            assert time.time() < deadline
            time.sleep(0.1)
        time.sleep(1.0)
        assert len(browser.console()) == 1  # the one refused poll; no more after it
    finally:
        browser.open("about:blank")
        browser.console()
        server.shutdown()
        server.server_close()


def test_fresh_clone_bar_search_then_report(browser: Browser, tmp_path: Path) -> None:
    """``nasforge search --trials 6 --epochs 1 && nasforge report NAME --out r.html`` (tiny task)."""
    task = tiny_task("1d", n=90)
    np.savez(
        tmp_path / "tiny.npz",
        x=np.concatenate([task.x_train, task.x_valid]),
        y=np.concatenate([task.y_train, task.y_valid]),
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    cli = [sys.executable, "-m", "nasforge.cli.main"]
    search = [
        *cli,
        "search",
        "--task",
        str(tmp_path / "tiny.npz"),
        "--trials",
        "6",
        "--epochs",
        "1",
        "--name",
        "fresh",
        "--store",
        str(tmp_path / "f.db"),
        "--no-progress",
        "--space-opt",
        "min_layers=1",
        "--space-opt",
        "max_layers=3",
        "--space-opt",
        "widths=[8,16]",
    ]
    done = subprocess.run(search, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = [*cli, "report", "fresh", "--store", str(tmp_path / "f.db"), "--out", str(tmp_path / "r.html")]
    done = subprocess.run(report, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    browser.open(tmp_path / "r.html")
    state = check_page(browser, STUDY_SECTIONS)
    assert {f["section"] for f in state["figures"]} == {"incumbent", "scatter", "curves", "architecture"}
    text = browser.run("return document.querySelector('section[data-section=architecture] svg').textContent")
    assert "head: gap" in text and "input" in text  # the chain's layer stack
    assert "6 trials" in browser.run(
        "return document.querySelector('section[data-section=trials]').innerText"
    )
