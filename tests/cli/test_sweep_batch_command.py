"""`specviz sweep --batch-sizes` (issue 15): the table, --json and --csv by batch size."""

import csv
import io
import json

import pytest

from tests.cli.cli_support import assert_one_line_error, run_cli

PRESET = ("--cost-model", "llama-7b-f16-v100-llamacpp")
GRID = ("--k-max", "4", "--alphas", "0.6,0.8", "--rounds", "5000")


def test_json_has_a_batch_size_on_every_cell_and_a_best_row_per_batch_size_and_alpha():
    code, out, err = run_cli("sweep", *PRESET, *GRID, "--batch-sizes", "128,1,8", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["batch_sizes"] == [1, 8, 128] and data["cost_model"] == "llama-7b-f16-v100-llamacpp"
    assert [c["batch_size"] for c in data["cells"]] == [b for b in (1, 8, 128) for _ in range(8)]
    assert [(r["batch_size"], r["alpha"]) for r in data["best"]] == [(b, a) for b in (1, 8, 128) for a in (0.6, 0.8)]
    for cell in data["cells"]:
        assert cell["loses_expected"] == (cell["expected_speedup"] < 1)
    # A pass of 128 tokens on this V100 costs 3.45 ms a token: no k pays there.
    assert all(row["loses_expected"] for row in data["best"] if row["batch_size"] == 128)
    assert not any(row["loses_expected"] for row in data["best"] if row["batch_size"] == 1)


def test_csv_has_a_batch_size_column():
    code, out, err = run_cli("sweep", *PRESET, *GRID, "--batch-sizes", "1,32", "--csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 2 * 8 and list(rows[0])[0] == "batch_size"
    assert {row["batch_size"] for row in rows} == {"1", "32"}
    assert all(row["loses_expected"] == str(float(row["expected_speedup"]) < 1) for row in rows)


def test_the_table_has_one_grid_per_batch_size_and_says_where_speculation_loses():
    code, out, err = run_cli("sweep", *PRESET, *GRID, "--batch-sizes", "1,128")
    assert code == 0, err
    text = " ".join(out.split())
    assert "batch size 1 (plain step: one pass of 1 token," in text
    assert "batch size 128 (plain step: one pass of 128 tokens," in text
    assert text.count("best k=") == 2  # one best row per batch size
    assert "speculation pays at every k and alpha here" not in text.split("batch size 128")[1]
    assert "at every k for α = 0.6, 0.8: decode without speculation there (k = 0)" in text
    assert "priced at every b by the llama-7b-f16-v100-llamacpp cost model" in text


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--batch-sizes", "1,0"), "invalid batch sizes (--batch-sizes): '1,0'"),
        (("--batch-sizes", "8", "--batch-size", "8"), "--batch-size cannot be used with --batch-sizes"),
        (
            ("--draft-policy", "batch-table", "--k-by-batch-size", "[[1,8,2]]"),
            "a policy other than batch-table",
        ),
    ],
)
def test_bad_batch_input_is_one_line_exit_2(args, fragment):
    code, _, err = run_cli("sweep", "--k-max", "2", "--alphas", "0.7", "--rounds", "100", *args)
    assert_one_line_error(code, err, fragment)


def test_a_cost_model_prices_the_sweep_even_without_batch_sizes():
    import json

    code, out, _ = run_cli(
        "sweep", "--cost-model", "llama-7b-f16-v100-llamacpp", "--alphas", "0.7", "--k-max", "4", "--json"
    )
    assert code == 0
    cells = json.loads(out)["cells"]
    assert {cell["batch_size"] for cell in cells} == {1}
    # Priced by the preset (best k 2 at 1.22x), not by the constant-ratio default (c = 0.1).
    best = max(cells, key=lambda cell: cell["expected_speedup"])
    assert best["k"] == 2 and round(best["expected_speedup"], 2) == 1.22
