"""The report's data view, sections and page (no browser): what each section shows, when it is left out,
selection by validation only, self-containment, and the ``nasforge report`` command's bad input."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from report_fixtures import empty_store, synthetic, toy_store, trial

from nasforge.cli.main import main
from nasforge.errors import StoreError
from nasforge.report import data, page
from nasforge.report.data import StudyData, pareto_mask, parse_objectives
from nasforge.report.sections import SECTIONS, ordered, register_section
from nasforge.trial import TrialState


def sections_of(html: str) -> list[str]:
    return re.findall(r'data-section="([^"]+)"', html)


@pytest.fixture(scope="module")
def plain_page() -> str:
    """The page of a single-objective synthetic study (rendered once for the module)."""
    return page.render([synthetic(name="syn <b>&")])


# -- data -----------------------------------------------------------------------------------------
def test_objectives_in_every_stored_form() -> None:
    assert parse_objectives({"objective": "valid_loss", "direction": "minimize"}) == [("valid_loss", "min")]
    assert parse_objectives({}) == [("valid_acc", "max")]
    forms = [["valid_acc", "max"], {"metric": "params", "direction": "minimize"}, "latency_ms:min"]
    assert parse_objectives({"objectives": forms}) == [
        ("valid_acc", "max"),
        ("params", "min"),
        ("latency_ms", "min"),
    ]


def test_macs_reads_the_older_flops_name() -> None:
    assert data.metric_value(trial(0, 0.5, flops=1234), "macs") == 1234.0
    assert data.metric_value(trial(0, 0.5, flops=1, macs=99), "macs") == 99.0
    assert data.metric_value(trial(0, 0.5, params=float("nan")), "params") is None


def test_pareto_mask_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    pts = rng.integers(0, 6, size=(60, 3)).astype(float)  # many ties and duplicates
    mask = pareto_mask(pts)
    for i, p in enumerate(pts):
        dominated = any(np.all(q >= p) and np.any(q > p) for q in pts)
        assert mask[i] == (not dominated)


def test_incumbent_follows_completion_order_and_direction() -> None:
    # completion order (seq) differs from trial numbers: trial 2 finished first
    trials = [trial(0, 0.6, seq=1, start=1), trial(1, 0.9, seq=2, start=2), trial(2, 0.7, seq=0, start=0)]
    s = StudyData("s", {"objective": "valid_acc"}, trials)
    x, y = s.incumbent("trials")
    assert x.tolist() == [1, 2, 3] and y.tolist() == [0.7, 0.7, 0.9]
    xt, _ = s.incumbent("time")
    assert xt.tolist() == [1.0, 2.0, 3.0]  # seconds from the first start (1000.0) to each completion
    low = [
        trial(0, None, seq=0, valid_loss=0.5),
        trial(1, None, seq=1, valid_loss=0.2),
        trial(2, None, seq=2, valid_loss=0.4),
    ]
    for t in low:
        t.value = -t.metrics["valid_loss"]
    s = StudyData("s", {"objective": "valid_loss", "direction": "minimize"}, low)
    assert s.incumbent()[1].tolist() == [0.5, 0.2, 0.2] and s.best.number == 1


def test_the_best_trial_is_chosen_by_validation_never_by_test() -> None:
    trials = [trial(0, 0.80, test_acc=0.99), trial(1, 0.85, test_acc=0.70), trial(2, 0.85, test_acc=0.95)]
    s = StudyData("s", {"objective": "valid_acc"}, trials)
    assert s.best.number == 1  # tie on validation: the lower number, whatever the test accuracy says
    html = page.render([s])
    assert "Best trial #1" in html and "never used to select" in html


def test_failures_grouped_by_reason() -> None:
    trials = [trial(i, None, state=TrialState.FAILED) for i in range(5)]
    for t, reason in zip(trials, ["timeout", "non_finite", "timeout", "worker_lost", "timeout"], strict=True):
        t.error = reason
    trials[3].info["requeued"] = True
    groups = StudyData("s", {}, trials).failures()
    assert list(groups) == ["timeout", "non_finite", "worker_lost"]
    assert [t.number for t in groups["timeout"]] == [0, 2, 4]


# -- sections -------------------------------------------------------------------------------------
def test_a_single_study_page_has_every_section_it_has_data_for(plain_page: str) -> None:
    html = plain_page
    assert sections_of(html) == [
        "summary",
        "incumbent",
        "scatter",
        "curves",
        "rungs",
        "architecture",
        "failures",
        "trials",
    ]
    assert html.count('<figure class="plot"') == 6  # 2 incumbents, scatter, curves, rungs, architecture
    assert "non_finite" in html and "loss became nan" in html  # the failure, with its last error line
    assert "MACs" in html  # flops read as MACs


def test_multi_objective_study_shows_the_pareto_front(plain_page: str) -> None:
    s = synthetic(objectives=[["valid_acc", "max"], ["params", "min"]])
    html = page.render([s])
    assert "pareto" in sections_of(html) and "Pareto-optimal" in html
    front = {t.number for t in s.pareto}
    for t in s.complete:  # every trial off the front is dominated by one on it
        if t.number not in front:
            assert any(
                f.metrics["valid_acc"] >= t.metrics["valid_acc"]
                and f.metrics["params"] <= t.metrics["params"]
                for f in s.pareto
            )
    assert "pareto" not in sections_of(plain_page) and "Pareto-optimal" not in plain_page


def test_oneshot_phase_renders_when_recorded(plain_page: str) -> None:
    history = [
        {"epoch": e, "alphas": {"edge 0->1": {"conv_3x3": 0.2 + 0.1 * e, "skip_connect": 0.8 - 0.1 * e}}}
        for e in range(4)
    ]
    ranking = [{"supernet": 0.1 * i, "standalone": 0.5 + 0.01 * i} for i in range(10)]
    s = synthetic(oneshot={"method": "darts", "epochs": 4, "alpha_history": history, "ranking": ranking})
    html = page.render([s])
    assert "oneshot" in sections_of(html)
    assert "Kendall tau = 1.000" in html  # the ranking above is perfectly concordant
    assert "oneshot" not in sections_of(plain_page)


def test_rungs_need_a_scheduler_or_several_budgets() -> None:
    same = synthetic(epochs=1)
    assert not same.has_budgets  # every trial reached epoch 1
    assert (
        synthetic(epochs=1, scheduler={"name": "hyperband"}).has_budgets and synthetic(epochs=3).has_budgets
    )
    from nasforge.report.multifidelity import RUNGS
    from nasforge.report.sections import Context

    assert RUNGS.render(same, Context()) is None
    html = RUNGS.render(synthetic(epochs=3), Context())
    assert "<svg" in html and "stopped there (pruned)" in html


def test_an_empty_study_says_so() -> None:
    html = page.render([StudyData("nothing", {"objective": "valid_acc"}, [])])
    assert "No completed trial yet" in html
    assert sections_of(html) == ["summary", "failures", "trials"] and "<svg" not in html


def test_registering_a_section_is_one_function(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SECTIONS, "_entries", dict(SECTIONS._entries))

    @register_section("hello", title="Hello section", order=15)
    def hello(study: StudyData, ctx: object) -> str | None:
        return f"<p>{len(study.trials)} trials say hello</p>" if study.trials else None

    html = page.render([StudyData("few", {}, [trial(0, 0.5), trial(1, 0.6)])])
    names = sections_of(html)
    assert names.index("hello") == names.index("summary") + 1 and "2 trials say hello" in html
    assert "hello" not in sections_of(page.render([StudyData("e", {}, [])]))
    assert [s.name for s in ordered("comparison")] == ["compare-summary", "compare-incumbent"]


def test_the_page_is_self_contained_and_escapes_names(plain_page: str) -> None:
    html = plain_page
    assert "syn <b>&" not in html and "syn &lt;b&gt;&amp;" in html
    assert 'http-equiv="Content-Security-Policy"' in html and "default-src &#x27;none&#x27;" in html
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert not re.search(r"url\(\s*['\"]?https?:", html)
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "element ids repeat across the figures of one page"


def test_comparison_page_has_a_row_and_a_line_per_study() -> None:
    a, b = synthetic(name="alpha", seed=1), synthetic(name="beta", seed=2)
    html = page.render([a, b])
    names = sections_of(html)
    assert names[:2] == ["compare-summary", "compare-incumbent"] and names.count("summary") == 2
    summary = html.split('data-section="compare-summary"')[1].split("</section>")[0]
    assert summary.count("<tr>") == 3 and "alpha" in summary and "beta" in summary  # header + 2 rows
    overlay = html.split('data-section="compare-incumbent"')[1].split("</section>")[0]
    assert overlay.count("<svg") == 2 and ">alpha<" in overlay and ">beta<" in overlay  # legend entries


# -- the command ----------------------------------------------------------------------------------
def test_report_command_writes_one_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = toy_store(tmp_path / "s.db", fail_x=[0, 1, 2, 3, 4])
    out = tmp_path / "r.html"
    assert main(["report", "toy", "--store", str(store), "--out", str(out)]) == 0
    html = out.read_text()
    assert "nasforge report: toy" in html and "failures" in sections_of(html) and "exception" in html
    assert not list(tmp_path.glob(".r.html.*"))  # the temporary file was renamed over the output
    toy_store(store, name="toy2")
    assert main(["report", "toy", "toy2", "--store", str(store), "--out", str(out)]) == 0
    assert "compare-summary" in sections_of(out.read_text())


def test_report_of_an_empty_study_is_a_page_that_says_so(tmp_path: Path) -> None:
    store = empty_store(tmp_path / "e.db")
    out = tmp_path / "e.html"
    assert main(["report", "empty", "--store", str(store), "--out", str(out)]) == 0
    assert "No completed trial yet" in out.read_text()


@pytest.mark.parametrize(
    "case",
    [
        "unknown-study",
        "missing-folder",
        "out-is-a-folder",
        "parent-is-a-file",
        "missing-store",
        "named-twice",
    ],
)
def test_report_bad_input_is_one_line_and_exit_2(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = toy_store(tmp_path / "s.db")
    (tmp_path / "file").write_text("x")
    args = {
        "unknown-study": ["nope", "--out", str(tmp_path / "r.html")],
        "missing-folder": ["toy", "--out", str(tmp_path / "no" / "r.html")],
        "out-is-a-folder": ["toy", "--out", str(tmp_path)],
        "parent-is-a-file": ["toy", "--out", str(tmp_path / "file" / "r.html")],
        "missing-store": ["toy", "--out", str(tmp_path / "r.html"), "--store", str(tmp_path / "none.db")],
        "named-twice": ["toy", "toy", "--out", str(tmp_path / "r.html")],
    }[case]
    if "--store" not in args:
        args += ["--store", str(store)]
    assert main(["report", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nasforge: error: ") and err.count("\n") == 1, err
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "none.db").exists()
    expected = {
        "unknown-study": "no study named 'nope'",
        "missing-folder": "does not exist",
        "out-is-a-folder": "is a directory",
        "parent-is-a-file": "does not exist",
        "missing-store": "does not exist",
        "named-twice": "named twice",
    }[case]
    assert expected in err


def test_a_study_whose_space_is_not_importable_still_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nasforge.space import SPACES

    store = toy_store(tmp_path / "p.db")
    monkeypatch.setattr(SPACES, "_entries", {k: v for k, v in SPACES._entries.items() if k != "toy"})
    loaded = data.load(store, "toy")
    assert loaded.space is None and "unknown space 'toy'" in loaded.extra["space_error"]
    assert len(loaded.trials) == 8 and loaded.best is not None
    html = page.render([loaded])
    assert "architecture" in sections_of(html) and "no graph view" in html
    with pytest.raises(StoreError, match="no study named 'nope'"):
        data.load(store, "nope")
