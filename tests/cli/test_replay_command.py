"""`specviz replay` and simulation flags (issue 20, item 22): the same explanation
whether the flags come before the command or after the file."""

from __future__ import annotations

import pytest

from tests.cli.cli_support import assert_one_line_error, run_cli


@pytest.fixture
def trace(tmp_path):
    path = tmp_path / "run.jsonl"
    code, _, err = run_cli("run", "-n", "20", "--trace", str(path), "--quiet")
    assert code == 0, err
    return str(path)


@pytest.mark.parametrize("flags_first", [True, False])
def test_replay_explains_simulation_flags_wherever_they_stand(trace, flags_first):
    argv = ["-k", "5", "replay", trace] if flags_first else ["replay", trace, "-k", "5"]
    code, out, err = run_cli(*argv)
    assert_one_line_error(code, err, "--draft-length cannot be used with replay", "the trace fixes")
    assert "unrecognized" not in err


def test_replay_help_does_not_offer_simulation_flags():
    code, out, _ = run_cli("replay", "--help")
    assert code == 0 and "--draft-length" not in out and "FILE" in out
