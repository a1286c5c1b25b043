"""An import opened in the app (issue 14): which series, and the run set up from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from specviz.engine.analysis.cost import cost_model_for
from specviz.engine.io.importers import import_stream
from specviz.engine.io.importers.derive import summarise
from specviz.engine.io.importers.opened import OpenedImport, SeriesNotFound, config_for_series, find_series
from specviz.engine.run.config import SimConfig

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "import"


def opened(*names: str, config: SimConfig | None = None) -> OpenedImport:
    config = config or SimConfig()
    results = []
    for name in names:
        with open(FIXTURES / name, encoding="utf-8") as stream:
            results.append(import_stream(stream, str(FIXTURES / name)))
    return OpenedImport(summarise(results, cost_model_for(config)), config.section("cost"))


def test_the_run_takes_k_and_alpha_from_the_series_shown():
    imported = opened("vllm-prometheus.txt", config=SimConfig(draft_cost=0.05, verify_overhead=0.01))
    first, second = imported.series
    assert first["draft_length"] == second["draft_length"] == 2
    assert abs(first["alpha_iid"] - second["alpha_iid"]) > 0.1  # the two engines differ
    for index, series in enumerate(imported.series):
        imported.show(index)
        config, said = config_for_series(SimConfig(draft_length=7, acceptance_rate=0.5, seed=9), imported)
        assert config.draft_length == 2
        assert config.acceptance_rate == pytest.approx(series["alpha_iid"], abs=5e-5)
        # The cost settings the advice was priced with; the rest of the run stays.
        assert (config.draft_cost, config.verify_overhead, config.seed) == (0.05, 0.01, 9)
        assert said[0] == "k = 2 (the log's draft_length)"
        assert said[1].startswith(f"α = {round(series['alpha_iid'], 4):g} (alpha_iid")


def test_what_the_import_does_not_know_is_kept_and_said():
    imported = opened("spec-bench.jsonl")  # Spec-Bench gives neither k nor, without it, alpha_iid
    assert imported.current["draft_length"] is None and imported.current["alpha_iid"] is None
    config, said = config_for_series(SimConfig(draft_length=6, acceptance_rate=0.6), imported)
    assert (config.draft_length, config.acceptance_rate) == (6, 0.6)
    assert said[0].startswith("k unknown") and said[0].endswith("kept 6")
    assert said[1].startswith("α unknown") and said[1].endswith("kept 0.6")


def test_alpha_from_the_fit_needs_the_pair_whose_alpha_is_a_knob(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat and the dog sat on the log " * 20)
    config, said = config_for_series(SimConfig(model="ngram", corpus=str(corpus)), opened("vllm-v1-newest.log"))
    assert config.model == "synthetic" and config.corpus is None
    assert any("synthetic pair" in line for line in said)


def test_a_series_is_found_by_label_or_number():
    summary = opened("vllm-prometheus.txt", "vllm-v1-newest.log", "vllm-v1-mid2025.log").summary
    assert find_series(summary, "engine=1, model_name=llama-8b") == 1
    assert find_series(summary, "3") == 2
    with pytest.raises(SeriesNotFound, match=r"no series labelled 'engine=2'.*1 'engine=0, model_name=llama-8b'"):
        find_series(summary, "engine=2")
    with pytest.raises(SeriesNotFound, match="a number from 1 to 4"):
        find_series(summary, "5")
    with pytest.raises(SeriesNotFound, match="several series are labelled ''"):
        find_series(summary, "")  # both vLLM logs are one unlabelled series each


def test_a_series_is_named_by_engine_and_label_or_file():
    imported = opened("vllm-prometheus.txt", "vllm-v1-newest.log")
    assert imported.name(1) == "vLLM · engine=1, model_name=llama-8b"
    assert imported.name(2) == "vLLM · vllm-v1-newest.log"


def test_the_advice_is_repriced_by_the_run_cost_model():
    config = SimConfig(draft_cost=0.2)
    imported = opened("vllm-v1-newest.log", config=config)
    same, given = imported.advice_under(cost_model_for(config)), dict(imported.current["advice"])
    assert same is not None
    same.pop("cost_model"), given.pop("cost_model")  # summarise adds c and v to the model's description
    assert same == given
    cheaper = imported.advice_under(cost_model_for(SimConfig(draft_cost=0.01)))
    assert cheaper is not None
    rows = imported.current["advice"]["speedup_by_k"]
    assert all(new["speedup"] > old["speedup"] for new, old in zip(cheaper["speedup_by_k"], rows))


def test_the_warnings_that_bear_on_the_series_shown():
    imported = opened("vllm-v1-bad.log", "vllm-v1-newest.log")
    assert imported.warnings() and all("line" in warning for warning in imported.warnings())
    imported.show(1)
    assert imported.warnings() == []
