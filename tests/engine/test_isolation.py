"""The engine never imports a UI library; headless commands don't pay for one."""

import json
import subprocess
import sys
from pathlib import Path


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_engine_imports_neither_textual_nor_rich():
    modules = _modules_after(
        "import specviz.engine, specviz.engine.run.simulation, specviz.engine.analysis.theory, specviz.engine.analysis.audit\n"
        "import pkgutil, importlib, specviz.engine as e\n"
        "[importlib.import_module(m.name) for m in pkgutil.walk_packages(e.__path__, 'specviz.engine.')]\n"
        "from specviz.engine import SimConfig, Simulation\n"
        "Simulation(SimConfig(target_length=50)).run()"
    )
    assert not {m for m in modules if m.split(".")[0] in ("textual", "rich")}
    # Every engine module, the hf pair's too, imports torch only when that pair is built.
    assert not {m for m in modules if m.split(".")[0] in ("torch", "transformers")}


def test_headless_run_does_not_import_textual():
    modules = _modules_after(
        "import contextlib, io\n"
        "from specviz.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['run', '-n', '20', '--json'])\n"
        "    main(['theory', '--json'])\n"
        "    main(['run', '--model', 'ngram', '-n', '20', '--json'])"
    )
    assert "textual" not in modules
    assert "torch" not in modules and "transformers" not in modules


def test_a_config_and_the_closed_forms_do_not_import_numpy():
    # The app paints its first frame from these before it loads the models.
    modules = _modules_after(
        "from specviz.engine import SimConfig, RunState, config_from_text\nfrom specviz.engine.analysis import theory\n"
        "from specviz.engine.catalog import method_is_lossless\n"
        "config = config_from_text(SimConfig(), {'model': 'ngram', 'method': 'typical'})\n"
        "RunState.before_start(config).cost()\n"
        "theory.expected_speedup(0.8, 4, 0.1)"
    )
    assert "numpy" not in modules
    assert "numpy" in _modules_after("from specviz.engine import Simulation")


def test_the_command_line_opens_the_app_without_numpy():
    # The parser (choices, analysis defaults) and the error handling are
    # numpy-free, so `specviz` paints its first frame before numpy loads.
    modules = _modules_after(
        "from specviz.cli import build_parser, config_from_args\n"
        "from specviz.engine.run.config import TraceError\n"
        "config_from_args(build_parser().parse_args(['-k', '3', '--model', 'ngram']))\n"
        "import specviz.app, specviz.engine.analysis.compare"
    )
    assert "numpy" not in modules


def test_import_reads_logs_without_numpy_or_textual():
    # `specviz import` is pure Python: it starts as fast as --help, even on a box without the engine's numpy.
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "import" / "vllm-v1-newest.log"
    modules = _modules_after(
        "import contextlib, io\n"
        "from specviz.cli import main\n"
        f"fixture = {str(fixture)!r}\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['import', str(fixture)]) == 0\n"
        "    assert main(['import', str(fixture), '--json']) == 0"
    )
    assert "numpy" not in modules and "textual" not in modules
    assert "rich" in modules  # the report
