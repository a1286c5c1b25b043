"""The docs hold together in a fresh clone.

Every link in README.md and docs/*.md resolves to a file of the repository
(a link to a URL or to a path outside the clone fails: cite a paper by name
instead), every docs page is reachable from the README, the README states the
test command CI runs, and the Python examples in docs/engine-api.md run.
The command-line examples are run by tests/cli/test_cli_help.py.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
PAGES = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]

FENCED = re.compile(r"^ {0,3}```.*?^ {0,3}```[^\n]*$", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^\"']*[\"'])?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?", re.M)
HTML = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def _without_code(markdown: str) -> str:
    """The page without fenced blocks and inline code: a link shown as code is not a link."""
    return INLINE_CODE.sub("", FENCED.sub("", markdown))


def links(markdown: str) -> list[str]:
    text = _without_code(markdown)
    return [*LINK.findall(text), *REFERENCE.findall(text), *HTML.findall(text)]


def anchors(markdown: str) -> set[str]:
    """The fragments GitHub gives the page's headings (a repeated one gets -1, -2, ...)."""
    found: set[str] = set()
    for heading in HEADING.findall(FENCED.sub("", markdown)):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        candidate, count = slug, 0
        while candidate in found:
            count += 1
            candidate = f"{slug}-{count}"
        found.add(candidate)
    return found


def broken_links(page: Path, repo: Path) -> list[str]:
    """One line per link of `page` that does not lead to a file (or heading) inside `repo`."""
    repo = repo.resolve()
    problems = []
    for target in links(page.read_text(encoding="utf-8")):
        if SCHEME.match(target) or target.startswith("//"):
            problems.append(f"{target}: a URL, outside the repository")
            continue
        path_text, _, fragment = target.partition("#")
        path_text = unquote(path_text)
        if path_text.startswith("/"):
            problems.append(f"{target}: an absolute path; link relative to the page")
            continue
        resolved = (page.parent / path_text).resolve() if path_text else page.resolve()
        if resolved != repo and repo not in resolved.parents:
            problems.append(f"{target}: outside the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file in the repository")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved.read_text(encoding="utf-8")):
            problems.append(f"{target}: {resolved.name} has no heading #{fragment}")
    return problems


def _section(markdown: str, heading: str) -> str:
    assert f"\n## {heading}\n" in markdown, f"no '## {heading}' heading"
    return markdown.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_link_leads_to_a_file_of_the_repository(page):
    assert broken_links(page, REPO) == []


def test_the_pages_have_the_links_the_check_reads():
    # Guards the check itself: a link pattern that matched nothing would pass every page.
    readme_links = links((REPO / "README.md").read_text(encoding="utf-8"))
    assert "screenshots/accept-rejection.png" in readme_links
    assert len(readme_links) >= 8
    assert "docs/commands.md" in readme_links


def test_the_link_check_reports_each_kind_of_bad_link(tmp_path):
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (tmp_path / "outside.md").write_text("# Outside\n")  # exists, but not in a clone
    (repo / "docs" / "other.md").write_text("# Other page\n\n## The `run` command\n")
    page = repo / "docs" / "page.md"
    page.write_text(
        "# Page\n\n"
        "[fine](other.md) [fine too](other.md#the-run-command) ![a picture](../README.md) [here](#page)\n"
        "[up and out](../../outside.md) [missing](missing.md) [no heading](other.md#nowhere)\n"
        "[web](https://example.com/paper) [absolute](/etc/passwd)\n"
        "`[in code](not-a-link.md)`\n\n"
        "```\n[in a block](not-a-link-either.md)\n```\n"
    )
    (repo / "README.md").write_text("# Readme\n")
    problems = broken_links(page, repo)
    assert [problem.split(":")[0] for problem in problems] == [
        "../../outside.md",
        "missing.md",
        "other.md#nowhere",
        "https",
        "/etc/passwd",
    ]


def test_every_docs_page_is_linked_from_the_readme():
    readme_links = {target.partition("#")[0] for target in links((REPO / "README.md").read_text(encoding="utf-8"))}
    assert {f"docs/{page.name}" for page in DOCS.glob("*.md")} <= readme_links


def test_the_readme_states_the_test_command_ci_runs():
    ci_commands = [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    tests = [line for line in ci_commands if shlex.split(line or "#", comments=True)[:3] == ["python3", "-m", "pytest"]]
    assert len(tests) == 1, ci_commands
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert tests[0] in {line.strip() for line in _section(readme, "Run the tests").splitlines()}


def test_the_engine_api_examples_run():
    page = (DOCS / "engine-api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", page, re.M | re.S)
    assert len(blocks) >= 5
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for number, block in enumerate(blocks, 1):
            exec(compile(block, f"docs/engine-api.md, example {number}", "exec"), namespace)
