"""Help lists every option with its default and range; every example works when pasted."""

from __future__ import annotations

import re
import shlex

import pytest

import specviz.app
import specviz.cli as cli
import specviz.cli.options as cli_options
import specviz.cli.replay as cli_replay
import specviz.cli.run as cli_run
import specviz.cli.theory as cli_theory
from tests.cli.cli_support import REPO, run_cli


@pytest.mark.parametrize("command", [[], ["run"], ["theory"], ["replay"]])
def test_help_exits_zero(command):
    code, out, err = run_cli(*command, "--help")
    assert code == 0 and err == ""
    assert "examples:" in out


@pytest.mark.parametrize("command", [[], ["run"], ["theory"]])
def test_help_lists_every_simulation_option_with_its_default(command):
    _, out, _ = run_cli(*command, "--help")
    flat = " ".join(out.split("run options:", 1)[1].split())  # the first part's group
    for flags, field_name, _ in cli_options.SIMULATION_OPTIONS:
        assert flags[-1] in out
        helped = re.search(re.escape(flags[-1]) + r" \S+ (.*?)\(default: ([^)]*)\)", flat)
        assert helped, flags
        assert helped.group(2) == cli_options.default_text(field_name)


def test_run_help_names_its_own_options():
    _, out, _ = run_cli("run", "--help")
    for flag in ("--json", "--quiet", "--rounds-shown", "--trace", "--force", "--from-trace", "--no-progress"):
        assert flag in out
    assert "(default: 20)" in " ".join(out.split())


def test_help_states_ranges():
    _, out, _ = run_cli("run", "--help")
    flat = " ".join(out.split())
    assert "1 to 64" in flat and "0 to 1" in flat and "1 to 100,000,000" in flat


def _example_commands(text: str) -> list[str]:
    """Each `specviz ...` example line in `text`, in order (a path such as
    specviz/engine/ is not one; a sample error line is not either)."""
    commands = []
    for line in text.splitlines():
        line = line.strip()
        if re.match(r"specviz(\s|$)", line) and ": error:" not in line:
            # "cmd    what it does" or "cmd    # what it does": the command ends at the first run of 2+ spaces
            command = re.split(r"\s{2,}", line)[0]
            commands.extend(part.strip() for part in command.split("&&"))
    return commands


def _markdown_examples(markdown: str) -> list[str]:
    """The `specviz ...` examples in a Markdown page's code blocks (fenced or
    indented by four spaces), in order; prose that starts a line with the
    word specviz is not an example."""
    code, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced or line.startswith(("    ", "\t")):
            code.append(line)
    return _example_commands("\n".join(code))


def _opens_the_app(command: str) -> bool:
    argv = shlex.split(command)
    return (
        len(argv) == 1
        or argv[1] not in cli.COMMANDS
        or argv[1] == "replay"
        or (argv[1] == "import" and "--open" in argv)
    )


def _run_examples(commands: list[str], tmp_path, monkeypatch) -> list:
    """Run each command in `tmp_path`, in order; returns the configs the app was opened with."""
    monkeypatch.chdir(tmp_path)
    opened = []
    monkeypatch.setattr(
        specviz.app, "run_app", lambda config, simulation=None, imported=None: opened.append(config) or 0
    )
    from specviz.web.server import SpecvizServer

    served = []  # `specviz serve` examples check their options and would listen: they only record
    monkeypatch.setattr(SpecvizServer, "serve", lambda self: served.append(self.argv))
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "specviz"
        code, _, err = run_cli(*argv[1:])
        assert code == 0, f"{command}: {err}"
        assert err == "", command
    assert len(opened) == sum(_opens_the_app(command) for command in commands)
    assert len(served) == sum(shlex.split(command)[1:2] == ["serve"] for command in commands)
    return opened


def test_help_examples_work(tmp_path, monkeypatch):
    commands = (
        _example_commands(cli.EXAMPLES) + _example_commands(cli_run.EXAMPLES) + _example_commands(cli_theory.EXAMPLES)
    )
    assert len(commands) >= 10
    help_dir = tmp_path / "help"
    help_dir.mkdir()
    _run_examples(commands, help_dir, monkeypatch)
    replay_dir = tmp_path / "replay"
    replay_dir.mkdir()
    _run_examples(_example_commands(cli_replay.EXAMPLES), replay_dir, monkeypatch)


def test_readme_command_line_examples_work(tmp_path, monkeypatch):
    # Every example in the README runs as written, in the order a reader meets
    # them (the trace that `replay` opens is recorded before it), not only the
    # "## Command line" section's.
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Command line", 1)[1].split("\n## ", 1)[0]
    assert len(_markdown_examples(section)) >= 6
    commands = _markdown_examples(readme)
    shown = {shlex.split(command)[1] for command in commands if not _opens_the_app(command)}
    assert shown >= set(cli.COMMANDS) - {"replay"}, "the README shows each command"
    assert any(command.startswith("specviz replay") for command in commands)
    assert any(len(shlex.split(command)) == 1 for command in commands), "the README says how to open the app"
    _run_examples(commands, tmp_path, monkeypatch)


def test_docs_examples_work(tmp_path, monkeypatch):
    # The docs' examples run as written too, each page in a folder of its own.
    pages = {path.name: path.read_text(encoding="utf-8") for path in sorted((REPO / "docs").glob("*.md"))}
    examples = {name: _markdown_examples(text) for name, text in pages.items()}
    assert len(examples["commands.md"]) >= 10
    for name, commands in examples.items():
        if commands:
            folder = tmp_path / name
            folder.mkdir()
            _run_examples(commands, folder, monkeypatch)


def test_the_top_level_help_lists_every_command():
    _, out, _ = run_cli("--help")
    listed = out.split("commands:", 1)[1].split("examples:", 1)[0]
    for command in cli.COMMANDS:
        assert f"\n  {command} " in listed, command
