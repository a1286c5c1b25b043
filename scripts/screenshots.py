"""Take the README's screenshots from the app itself, then render them to PNG.

    PYTHONPATH=$PWD python scripts/screenshots.py [--no-png]

SVGs come from Textual's own `save_screenshot` inside `run_test` (fixed size
and seed, animations off); PNGs from headless Chromium, the one renderer that
draws Rich's SVGs faithfully (`apt-get install -y chromium fonts-symbola`).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
from pathlib import Path

from specviz.app import make_app
from specviz.engine.run.config import SimConfig

OUT = Path(__file__).resolve().parent.parent / "screenshots"

# (file stem, config changes, keys, terminal size)
SHOTS: list[tuple[str, dict, list[str], tuple[int, int]]] = [
    ("start", {}, [], (120, 36)),
    ("draft", {}, ["enter", "enter", "space"], (120, 36)),
    ("verify", {}, ["enter", "enter", "space", "space"], (120, 36)),
    ("accept-rejection", {}, ["enter", "enter", "space", "space", "space"], (120, 36)),
    ("accept-bonus", {"acceptance_rate": 0.95, "seed": 3}, ["space", "space", "space"], (120, 36)),
    ("full-run", {"target_length": 300}, ["e"], (120, 36)),
    ("invalid-value", {}, ["tab", "tab", "1", ".", "5", "enter"], (120, 36)),
    ("help", {}, ["f1"], (120, 36)),
    ("80x24", {}, ["enter", "enter", "space", "space", "space"], (80, 24)),
    ("view-speedup", {"target_length": 2000}, ["enter"] * 30 + ["1"], (120, 36)),
    ("view-timeline", {"target_length": 2000, "draft_policy": "heuristic"}, ["enter"] * 30 + ["4"], (120, 36)),
    ("view-lossless", {"target_length": 3000}, ["e", "5"], (120, 36)),
    ("view-compare", {"target_length": 300}, ["6"], (120, 36)),
    ("view-distributions", {"target_length": 2000, "seed": 4}, ["enter"] * 4 + ["7"], (120, 36)),
    ("view-distributions-80x24", {"target_length": 2000, "seed": 4}, ["enter"] * 4 + ["7"], (80, 24)),
    (
        "view-tree",
        {"target_length": 2000, "tree_width": 2, "draft_length": 3, "seed": 5},
        ["enter"] * 3 + ["8"],
        (120, 36),
    ),
    (
        "view-tree-80x24",
        {"target_length": 2000, "tree_width": 2, "draft_length": 3, "seed": 5},
        ["enter"] * 3 + ["8"],
        (80, 24),
    ),
]


async def take(stem: str, changes: dict, keys: list[str], size: tuple[int, int]) -> Path:
    from textual.worker import WorkerCancelled

    app = make_app(SimConfig(**changes))
    app.animation_level = "none"
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            pass
        await pilot.pause()
        app.save_screenshot(filename=f"{stem}.svg", path=str(OUT))
    return OUT / f"{stem}.svg"


def render_png(svg: Path) -> Path | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        print("no chromium: skipped the PNGs (apt-get install -y chromium fonts-symbola)", file=sys.stderr)
        return None
    match = re.search(r'viewBox="([\d.\s-]+)"', svg.read_text())
    assert match, f"{svg} has no viewBox"
    _, _, width, height = (float(v) for v in match.group(1).split())
    png = svg.with_suffix(".png")
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={round(width)},{round(height)}",
            f"--screenshot={png}",
            svg.resolve().as_uri(),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return png


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-png", action="store_true", help="write the SVGs only")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    for stem, changes, keys, size in SHOTS:
        svg = asyncio.run(take(stem, changes, keys, size))
        png = None if args.no_png else render_png(svg)
        print(svg.relative_to(OUT.parent), "" if png is None else f"+ {png.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
