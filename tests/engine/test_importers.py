"""Importers (issue 14): each hand-written fixture gives the figures computed by hand from its lines.

The fixtures in tests/fixtures/import/ follow REFERENCE §6's format strings;
every expected figure below is worked out from the fixture's numbers (the
comment beside it shows the sum), never copied from the importer's output.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specviz.engine.analysis import theory
from specviz.engine.analysis.cost import CostModel
from specviz.engine.io.importers import FORMATS, NoRecordError, import_stream
from specviz.engine.io.importers.base import infer_steps, printable
from specviz.engine.io.importers.derive import advise, alpha_for_length, conditional_rates, derive

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "import"


def read(name: str, formats=None):
    with open(FIXTURES / name, encoding="utf-8", errors="replace") as stream:
        return import_stream(stream, name, formats)


def figures(name: str, draft_length=None, formats=None) -> list[dict]:
    return [derive(series, draft_length) for series in read(name, formats).series]


# file -> (format, [expected figures of each series, in order])
EXPECTED = {
    # Two interval lines, summed: drafts 100 + 50 (drafted / k = 300/3, 150/3);
    # accepted 180 + 90; per position (80+45, 60+30, 40+15) over 150 drafts.
    "vllm-v1-newest.log": (
        "vllm",
        [
            dict(
                num_drafts=150,
                num_draft_tokens=450,
                num_accepted_tokens=270,
                draft_length=3,
                mean_acceptance_length=1 + 270 / 150,
                draft_acceptance_rate=270 / 450,
                accepted_per_position=[125, 90, 55],
                per_position_acceptance=[125 / 150, 90 / 150, 55 / 150],
                conditional_acceptance=[125 / 150, 90 / 125, 55 / 90],
            )
        ],
    ),
    # One line: 800 drafted / 4 rates = 200 drafts; 0.75, 0.5, 0.3, 0.15 of them.
    "vllm-v1-mid2025.log": (
        "vllm",
        [
            dict(
                num_drafts=200,
                num_draft_tokens=800,
                num_accepted_tokens=340,
                draft_length=4,
                mean_acceptance_length=2.7,
                draft_acceptance_rate=0.425,
                per_position_acceptance=[0.75, 0.5, 0.3, 0.15],
                conditional_acceptance=[0.75, 0.5 / 0.75, 0.6, 0.5],
            )
        ],
    ),
    # Counts only: 250 + 150 accepted of 400 + 300 drafted; no k, so no drafts.
    "vllm-v1-early.log": (
        "vllm",
        [
            dict(
                num_drafts=None,
                num_draft_tokens=700,
                num_accepted_tokens=400,
                draft_length=None,
                mean_acceptance_length=None,
                draft_acceptance_rate=400 / 700,
                per_position_acceptance=None,
                alpha_iid=None,
            )
        ],
    ),
    # Cumulative: the last line holds the totals. steps = 1000 / 4 = 250; the
    # kept prefix is emitted - steps = 800 - 250 = 550, not v0's 640.
    "vllm-v0.log": (
        "vllm-v0",
        [
            dict(
                num_drafts=250,
                num_draft_tokens=1000,
                num_accepted_tokens=550,
                draft_length=4,
                mean_acceptance_length=1 + 550 / 250,
                draft_acceptance_rate=550 / 1000,
                engine_figures={
                    "Number of accepted tokens": 640,
                    "Number of emitted tokens": 800,
                    "Draft acceptance rate": 0.64,
                    "System efficiency": 800 / (250 * 5),
                },
            )
        ],
    ),
    # Two engines, kept apart.
    "vllm-prometheus.txt": (
        "vllm-prometheus",
        [
            dict(
                label="engine=0, model_name=llama-8b",
                num_drafts=100,
                num_draft_tokens=200,
                num_accepted_tokens=130,
                draft_length=2,
                mean_acceptance_length=2.3,
                draft_acceptance_rate=0.65,
                per_position_acceptance=[0.8, 0.5],
                conditional_acceptance=[0.8, 0.625],
            ),
            dict(
                label="engine=1, model_name=llama-8b",
                num_drafts=40,
                num_draft_tokens=80,
                num_accepted_tokens=40,
                draft_length=2,
                mean_acceptance_length=2.0,
                draft_acceptance_rate=0.5,
                per_position_acceptance=[0.75, 0.25],
                conditional_acceptance=[0.75, 1 / 3],
                # 1 + a + a^2 = 2: a = (sqrt(5) - 1) / 2
                alpha_iid=(5**0.5 - 1) / 2,
            ),
        ],
    ),
    # Histograms [39, 1, 0, 3] + [2, 3, 3, 2]; accepted 10 + 15 of 129 + 30.
    "vllm-request-summary.jsonl": (
        "vllm-request",
        [
            dict(
                label="model llama-8b",
                num_drafts=53,
                num_draft_tokens=159,
                num_accepted_tokens=25,
                draft_length=3,
                mean_acceptance_length=1 + 25 / 53,
                draft_acceptance_rate=25 / 159,
                acceptance_histogram=[41, 4, 3, 5],
                per_position_acceptance=[12 / 53, 8 / 53, 5 / 53],
                tokens_per_step_distribution={"1": 41 / 53, "2": 4 / 53, "3": 3 / 53, "4": 5 / 53},
            )
        ],
    ),
    # One pretty-printed response; per_step_accepted [2, 0, 1, 2, 2].
    "vllm-request-detailed.json": (
        "vllm-request",
        [
            dict(
                label="model qwen-7b",
                num_drafts=5,
                num_draft_tokens=10,
                num_accepted_tokens=7,
                draft_length=2,
                mean_acceptance_length=2.4,
                draft_acceptance_rate=0.7,
                acceptance_histogram=[1, 1, 3],
                per_position_acceptance=[0.8, 0.6],
            )
        ],
    ),
    # steps = n_predict - n_accept = 256 - 196 = 60.
    "llamacpp-speculative.log": (
        "llama.cpp",
        [
            dict(
                num_drafts=60,
                num_draft_tokens=480,
                num_accepted_tokens=196,
                draft_length=8,
                mean_acceptance_length=1 + 196 / 60,
                draft_acceptance_rate=196 / 480,
                per_position_acceptance=None,
            )
        ],
    ),
    # Two requests: 118 + 82 accepted of 144 + 106 generated.
    "llama-server-old.log": (
        "llama-server",
        [dict(num_drafts=None, num_draft_tokens=250, num_accepted_tokens=200, draft_acceptance_rate=0.8)],
    ),
    # Per request: steps 87 (ceil(259 / 3)) and 40; positions 70+30, 55+20, 42+10.
    # Statistics: cumulative, the last line's totals (127 drafts, 379, 227).
    "llama-server-new.log": (
        "llama-server",
        [
            dict(
                label="per request (print_timing)",
                num_drafts=127,
                num_draft_tokens=379,
                num_accepted_tokens=227,
                draft_length=3,
                accepted_per_position=[100, 75, 52],
                per_position_acceptance=[100 / 127, 75 / 127, 52 / 127],
            ),
            dict(
                label="statistics draft-eagle3",
                num_drafts=127,
                num_draft_tokens=379,
                num_accepted_tokens=227,
                draft_length=3,
                accepted_per_position=[100, 75, 52],
                engine_figures={"#acc drafts": 100, "#mean acc len": 1 + 227 / 127},
            ),
        ],
    ),
    # Streamed chunks count once per id (the last: 347, 65) plus one response (153, 85).
    "llama-server-timings.jsonl": (
        "llama-server-json",
        [dict(records=2, num_drafts=None, num_draft_tokens=500, num_accepted_tokens=150, draft_acceptance_rate=0.3)],
    ),
    # accept len 3.00 with 1 running request, 2.00 with 3: (3 + 6) / 4.
    "sglang-decode-old.log": (
        "sglang",
        [
            dict(
                num_drafts=None,
                num_accepted_tokens=None,
                mean_acceptance_length=9 / 4,
                engine_figures={"accept len": 2.25},
            )
        ],
    ),
    "sglang-decode-new.log": (
        "sglang",
        [dict(mean_acceptance_length=2.6, engine_figures={"accept len": 2.6, "accept rate": 0.4})],
    ),
    # Histograms [1, 0, 1, 0] + [1, 2, 3, 4]; correct drafts 2 + 20 of 6 + 30.
    "sglang-request.jsonl": (
        "sglang-request",
        [
            dict(
                num_drafts=12,
                num_draft_tokens=36,
                num_accepted_tokens=22,
                draft_length=None,
                mean_acceptance_length=1 + 22 / 12,
                draft_acceptance_rate=22 / 36,
                acceptance_histogram=[2, 2, 4, 4],
                per_position_acceptance=[10 / 12, 8 / 12, 4 / 12],
                engine_figures={"spec_accept_length": 34 / 12},
            )
        ],
    ),
    # 12 + 6 drafted, 7 + 5 accepted over 4 + 2 steps; draftOverhead (0.2·20 + 0.5·10) / 30.
    "trtllm-iterations.jsonl": (
        "trtllm",
        [
            dict(
                num_drafts=6,
                num_draft_tokens=18,
                num_accepted_tokens=12,
                draft_length=3,
                mean_acceptance_length=3.0,
                draft_acceptance_rate=12 / 18,
                engine_figures={"acceptanceLength": 3.0, "draftOverhead": 0.3},
            )
        ],
    ),
    # Buckets 10, 40, 100 cumulative: [10, 30, 60] steps kept 0, 1, 2.
    "tgi-metrics.txt": (
        "tgi",
        [
            dict(
                num_drafts=100,
                num_draft_tokens=200,
                num_accepted_tokens=150,
                draft_length=2,
                mean_acceptance_length=2.5,
                acceptance_histogram=[10, 30, 60],
                per_position_acceptance=[0.9, 0.6],
                conditional_acceptance=[0.9, 0.6 / 0.9],
            )
        ],
    ),
    # writing: lengths 3 4 2 1 5 2 2 3 (8 steps, 14 kept); math: 1 1 2 4 (a flat list).
    "spec-bench.jsonl": (
        "spec-bench",
        [
            dict(
                label="model eagle-vicuna-7b, category writing",
                num_drafts=8,
                num_draft_tokens=None,
                num_accepted_tokens=14,
                mean_acceptance_length=1 + 14 / 8,
                acceptance_histogram=[1, 3, 2, 1, 1],
                per_position_acceptance=[7 / 8, 4 / 8, 2 / 8, 1 / 8],
                engine_figures={"mean accepted tokens (tau)": 2.75, "tokens/s": 22 / 0.7},
            ),
            dict(
                label="model eagle-vicuna-7b, category math",
                num_drafts=4,
                num_accepted_tokens=4,
                mean_acceptance_length=2.0,
                acceptance_histogram=[2, 1, 0, 1],
                per_position_acceptance=[0.5, 0.25, 0.25],
            ),
        ],
    ),
}


def assert_matches(actual, expected, where):
    if isinstance(expected, dict):
        for key, value in expected.items():
            assert_matches(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (where, actual)
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_matches(a, e, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-9), (where, actual, expected)
    else:
        assert actual == expected, (where, actual, expected)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fixture_gives_its_hand_computed_figures(name):
    fmt, expected = EXPECTED[name]
    result = read(name)
    assert result.formats == [fmt], "recognised by content as its own format only"
    series = [derive(s) for s in result.series]
    assert len(series) == len(expected)
    for got, want in zip(series, expected):
        assert_matches(got, want, name)
        assert got["warnings"] == [] and result.warnings == []
        # alpha_iid reproduces the mean acceptance length at k.
        if got["alpha_iid"] is not None:
            k, alpha = got["draft_length"], got["alpha_iid"]
            assert theory.expected_tokens_per_round(alpha, k) == pytest.approx(got["mean_acceptance_length"])


def test_every_format_has_a_fixture():
    assert {fmt for fmt, _ in EXPECTED.values()} == set(FORMATS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_forcing_another_format_finds_nothing(name):
    fmt, _ = EXPECTED[name]
    other = "tgi" if fmt != "tgi" else "vllm"
    with pytest.raises(NoRecordError, match=f"formats tried: {other}"):
        read(name, [other])
    assert read(name, [fmt]).formats == [fmt]


def test_counts_are_summed_not_rates_averaged():
    # The two lines' per-position rates at position 1 are 0.8 and 0.9: their
    # mean, 0.85, is not the rate over all 150 drafts, 125/150.
    (series,) = figures("vllm-v1-newest.log")
    assert series["per_position_acceptance"][0] == pytest.approx(125 / 150)
    assert series["per_position_acceptance"][0] != pytest.approx((0.8 + 0.9) / 2)


def test_vllm_v0_accepted_is_not_the_prefix():
    (series,) = figures("vllm-v0.log")
    assert series["num_accepted_tokens"] == 550 < series["engine_figures"]["Number of accepted tokens"] == 640
    assert "NOT the kept prefix" in series["engine_definitions"]["Number of accepted tokens"]


def test_a_draft_length_given_fills_in_what_the_records_do_not_say():
    (series,) = figures("sglang-request.jsonl", draft_length=3)
    assert series["draft_length"] == 3
    assert theory.expected_tokens_per_round(series["alpha_iid"], 3) == pytest.approx(1 + 22 / 12)
    (series,) = figures("vllm-v1-mid2025.log", draft_length=7)
    assert series["draft_length"] == 4, "the log's own k wins"


def test_sglang_accept_len_includes_the_bonus():
    # 2.25 is the mean acceptance length itself (tokens per step), not 1 + 2.25.
    (series,) = figures("sglang-decode-old.log", draft_length=3)
    assert series["mean_acceptance_length"] == pytest.approx(2.25)
    assert theory.expected_tokens_per_round(series["alpha_iid"], 3) == pytest.approx(2.25)


# ---- bad input ------------------------------------------------------------------


def test_bad_vllm_lines_warn_by_line_and_the_rest_is_imported():
    (series,) = figures("vllm-v1-bad.log")
    warnings = "\n".join(series["warnings"])
    assert "line 3:" in warnings and "truncated" in warnings  # cut before its counts: skipped
    assert "line 4:" in warnings and "Avg Draft acceptance rate" in warnings  # cut in its rates: counts kept
    assert "line 5:" in warnings and "rise" in warnings  # rising rates: counts kept, rates not
    assert "line 6: 400 accepted is more than the 300 drafted" in warnings  # skipped
    assert "line 7:" in warnings and "75.0%" in warnings  # a rate that does not match its counts
    assert len(series["warnings"]) == 5
    # Lines 2, 4, 5, 7 counted (100 + 50 + 100 + 50 drafts); per-position rates
    # from lines 2 and 7 only, over their 150 drafts.
    assert (series["num_drafts"], series["num_draft_tokens"], series["num_accepted_tokens"]) == (300, 900, 510)
    assert series["accepted_per_position"] == [125, 90, 55]
    assert series["per_position_acceptance"] == pytest.approx([125 / 150, 90 / 150, 55 / 150])
    assert any("from 2 of the 4 records" in note for note in series["notes"])


def test_a_counter_that_goes_down_is_a_restart_and_the_segments_add_up():
    (series,) = figures("vllm-prometheus-restart.txt")
    # 100 before the restart, then 20 and 50 after: 100 + 50.
    assert (series["num_drafts"], series["num_draft_tokens"], series["num_accepted_tokens"]) == (150, 300, 190)
    assert series["accepted_per_position"] == [120, 70]
    (warning,) = series["warnings"]
    assert warning.startswith("line 8: counters went down") and "restart" in warning


def test_a_restarted_llama_server_statistics_line():
    text = (FIXTURES / "llama-server-new.log").read_text()
    restarted = text + text.splitlines()[4] + "\n"  # the first statistics line again: 87 < 127
    (_, stats) = [derive(s) for s in import_stream(io.StringIO(restarted), "log").series]
    assert stats["num_drafts"] == 127 + 87 and stats["num_accepted_tokens"] == 227 + 167
    assert any("went down" in warning for warning in stats["warnings"])


def test_contradictory_json_records_warn_and_are_left_out():
    lines = [
        # accepted > drafted: skipped
        '{"timings": {"draft_n": 10, "draft_n_accepted": 12}}',
        # a histogram that does not fit its counts: counts kept, histogram not
        '{"meta_info": {"spec_verify_ct": 4, "spec_num_correct_drafts": 3, "spec_correct_drafts_histogram": [1, 1, 1]}}',
        '{"meta_info": {"spec_verify_ct": 2, "spec_num_correct_drafts": 2, "spec_correct_drafts_histogram": [1, 0, 1]}}',
    ]
    result = import_stream(io.StringIO("\n".join(lines)), "mixed")
    by_format = {s.format: derive(s) for s in result.series}
    timings, sglang = by_format["llama-server-json"], by_format["sglang-request"]
    assert timings["records"] == 0 and timings["num_draft_tokens"] is None
    assert "line 1: 12 accepted is more than the 10 drafted: the record is skipped" in timings["warnings"]
    assert sglang["num_drafts"] == 6 and sglang["num_accepted_tokens"] == 5
    assert sglang["acceptance_histogram"] == [1, 0, 1]
    assert any(w.startswith("line 2: the acceptance histogram counts 3 steps") for w in sglang["warnings"])


def test_truncated_json_and_control_characters():
    result = read("spec-bench-bad.jsonl")
    assert any(w.startswith("line 2: truncated or invalid JSON") for w in result.warnings)
    (series,) = [derive(s) for s in result.series]
    assert "\x1b" not in series["label"] and "\\x1b[31m" in series["label"]
    assert series["num_drafts"] == 2  # the lengths 0 and 2.5 are left out, with a warning
    assert any("left out" in w for w in series["warnings"])


def test_no_record_names_the_formats_tried():
    with pytest.raises(NoRecordError) as error:
        import_stream(io.StringIO("INFO hello\nnothing here\n"), "app.log")
    message = str(error.value)
    assert "\n" not in message and message.startswith("app.log: no speculative-decoding record")
    assert all(name in message for name in FORMATS)


def test_printable_escapes_control_characters():
    assert printable("a\x1b[2Jb\r\n\tc") == "a\\x1b[2Jb\\r\\n\\tc"
    assert printable("x" * 500, 10) == "x" * 10 + "…"


# ---- inferring steps, alpha, conditional rates --------------------------------------


def test_infer_steps_where_the_rounded_mean_sits_on_a_rounding_boundary():
    # Found by the emit round trip (greedy, k 4, n 42, seed 1): 40 steps give a
    # mean of exactly 1.025, printed 1.02, and a rate of 0.025; the range from
    # the mean once lost its end point 40 to floating point.
    assert infer_steps(1, 154, 4, 1.02, [0.025, 0.0, 0.0, 0.0]) == (40, True)


def test_infer_steps_from_a_line_with_a_short_draft():
    # 99 drafts of 3 and one of 2: 299 drafted, ceil(299 / 3) = 100 drafts.
    rates = [0.8, 0.6, 0.4]  # 80 + 60 + 40 = 180 accepted
    assert infer_steps(180, 299, 3, 2.80, rates) == (100, True)
    # Drafts of varying length (a dynamic k): 250 drafted over 100 drafts, found from the mean and rates.
    assert infer_steps(180, 250, 3, 2.80, rates) == (100, True)
    # Nothing fits: the estimate from the mean, flagged.
    assert infer_steps(180, 300, 3, 2.80, [0.9, 0.9, 0.9])[1] is False


@settings(max_examples=80, deadline=None)
@given(st.floats(0.0, 0.999), st.integers(1, 20))
def test_alpha_for_length_inverts_the_closed_form(alpha, k):
    length = theory.expected_tokens_per_round(alpha, k)
    assert alpha_for_length(length, k) == pytest.approx(alpha, abs=1e-9)


def test_alpha_for_length_at_the_ends():
    assert alpha_for_length(1.0, 4) == 0.0 and alpha_for_length(5.0, 4) == 1.0
    assert alpha_for_length(theory.expected_tokens_per_round(0.8, 5), 5) == pytest.approx(0.8)


def test_conditional_rates():
    assert conditional_rates([0.8, 0.6, 0.0, 0.0]) == pytest.approx([0.8, 0.75, 0.0, None], nan_ok=True)
    assert conditional_rates([0.8, 0.6, 0.0, 0.0])[3] is None


# ---- advice -------------------------------------------------------------------


def iid_figures(alpha: float, k: int) -> dict:
    rates = [alpha**i for i in range(1, k + 1)]
    return {
        "per_position_acceptance": rates,
        "conditional_acceptance": conditional_rates(rates),
        "alpha_iid": alpha,
        "draft_length": k,
    }


@pytest.mark.parametrize("alpha, c", [(0.6, 0.02), (0.8, 0.02), (0.9, 0.1), (0.7, 0.1)])
def test_advice_under_iid_acceptance_is_the_closed_form(alpha, c):
    k = 10
    advice = advise(iid_figures(alpha, k), CostModel(draft_cost=c))
    rows = advice["speedup_by_k"]
    assert [row["k"] for row in rows] == list(range(1, 2 * k + 1))
    for row in rows:
        assert row["tokens_per_step"] == pytest.approx(theory.expected_tokens_per_round(alpha, row["k"]))
        assert row["speedup"] == pytest.approx(theory.expected_speedup(alpha, row["k"], c))
        assert row["extrapolated"] == (row["k"] > k)
    best_k, best_speedup = theory.optimal_k(alpha, c, k_max=2 * k)
    assert (advice["best_k"], advice["best_speedup"]) == (best_k, pytest.approx(best_speedup))
    assert advice["speedup_at_measured_k"] == pytest.approx(theory.expected_speedup(alpha, k, c))


def test_advice_extrapolates_with_the_last_conditional_rate():
    (series,) = figures("vllm-v1-mid2025.log")  # conditional 0.75, 0.667, 0.6, 0.5
    rows = advise(series, CostModel(draft_cost=0.05))["speedup_by_k"]
    assert rows[3]["tokens_per_step"] == pytest.approx(2.7)  # the measured mean at the measured k
    assert rows[4]["tokens_per_step"] == pytest.approx(2.7 + 0.15 * 0.5)
    assert rows[5]["tokens_per_step"] == pytest.approx(2.7 + 0.15 * 0.5 + 0.15 * 0.25)
    iid = advise(series, CostModel(draft_cost=0.05), extrapolation="iid")
    alpha = series["alpha_iid"]
    assert iid["speedup_by_k"][4]["tokens_per_step"] == pytest.approx(2.7 + 0.15 * alpha)


def test_advice_names_the_best_k_and_its_gain():
    (series,) = figures("vllm-v1-mid2025.log")
    advice = advise(series, CostModel(draft_cost=0.1))
    # k = 3: (1 + 0.75 + 0.5 + 0.3) / 1.3 = 1.9615 beats k = 4: 2.7 / 1.4 = 1.9286.
    assert advice["best_k"] == 3
    assert advice["best_speedup"] == pytest.approx(2.55 / 1.3)
    assert advice["speedup_at_measured_k"] == pytest.approx(2.7 / 1.4)
    assert advice["gain_over_measured_k"] == pytest.approx((2.55 / 1.3) / (2.7 / 1.4))
    assert "k = 3" in advice["verdict"] and advice["beats_plain_decoding"]


def test_advice_says_when_no_k_beats_plain_decoding():
    (series,) = figures("vllm-v1-mid2025.log")
    advice = advise(series, CostModel(draft_cost=3.0))
    assert advice["beats_plain_decoding"] is False
    assert advice["best_speedup"] < 1 and "no k" in advice["verdict"]


def test_advice_from_alpha_alone_and_none_without_k():
    (series,) = figures("vllm-v0.log")  # no per-position rates: every k from alpha_iid
    advice = advise(series, CostModel(draft_cost=0.05))
    assert all(row["extrapolated"] for row in advice["speedup_by_k"])
    assert advice["speedup_by_k"][3]["tokens_per_step"] == pytest.approx(3.2)
    (series,) = figures("sglang-decode-old.log")  # a mean, no k
    assert advise(series, CostModel()) is None
