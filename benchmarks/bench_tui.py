"""How the TUI holds up at a million tokens (issue 3's speed goals).

    PYTHONPATH=$PWD python benchmarks/bench_tui.py [--tokens 1000000] [--presses 40]

1. Memory: RSS growth of the app process across `e` (run to the end) on
   -n N, beside what the engine alone grows by for the same run. Goal: <= 200 MB.
2. Repaint: from a key press (space: one phase) posted to the app until the
   next frame is written, at ~N tokens and at ~100 tokens. Goal: ratio <= 2.
   Also PgUp/PgDn through the stream at N tokens (lines not in the strip cache).
3. First paint: from process start to the first frame written, specviz
   against a minimal Textual app (Header, Static, Footer), in fresh
   processes. Goal: ratio <= 1.5. specviz builds its engine (numpy, the model
   pair) just after that frame; the time until a frame shows it loaded (the
   prompt and the statistics) is printed beside. Both apps run from compiled
   bytecode, as installed copies do (see compile_sources).
   `--first-paint-only` skips 1 and 2.
Figures are medians; the machine's load shows in them, so compare ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from time import perf_counter

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def engine_only_growth_mb(tokens: int) -> float:
    code = textwrap.dedent(f"""
        import os
        from specviz.engine import SimConfig, Simulation
        def rss():
            return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20
        simulation = Simulation(SimConfig(target_length={tokens}))
        before = rss()
        simulation.run()
        print(rss() - before)
    """)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return float(out.stdout)


class FrameClock:
    """Records when the app writes a frame (App._display), to time key -> repaint."""

    def __init__(self, app) -> None:
        self.frames: list[float] = []
        display = app._display

        def timed_display(screen, renderable) -> None:
            display(screen, renderable)
            self.frames.append(perf_counter())

        app._display = timed_display

    async def next_frame_after(self, started: float, timeout: float = 10.0) -> float:
        while not self.frames or self.frames[-1] <= started:
            if perf_counter() - started > timeout:
                raise TimeoutError("no frame")
            await asyncio.sleep(0.0005)
        return self.frames[-1] - started


async def memory_after_run_to_end(tokens: int) -> tuple[float, float, int]:
    from textual.worker import WorkerCancelled

    from specviz.app import make_app
    from specviz.engine import SimConfig

    app = make_app(SimConfig(target_length=tokens))
    app.animation_level = "none"
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app.simulation.emitted == 0  # built (just after the first frame): not counted in the growth
        before = rss_mb()
        started = perf_counter()
        await pilot.press("e")
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            pass
        await pilot.pause()
        seconds = perf_counter() - started
        assert app.simulation.done
        growth = rss_mb() - before
        lines = app.query_one("#stream").line_count
    return growth, seconds, lines


async def repaint_times(emitted: int, target: int, presses: int, scroll: bool) -> dict[str, float]:
    from textual import events

    from specviz.app import make_app
    from specviz.engine import SimConfig, Simulation

    config = SimConfig(target_length=target)
    simulation = Simulation(config)
    while simulation.emitted < emitted:
        simulation.run(max_rounds=max(1, (emitted - simulation.emitted) // 4))
    app = make_app(config, simulation)
    app.animation_level = "none"
    clock = FrameClock(app)
    results: dict[str, float] = {}
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        cases = [("space", [("space", " ")])]
        if scroll:  # at ~100 tokens the stream fits: nothing to scroll or repaint
            cases.append(("pageup/pagedown", [("pageup", None), ("pagedown", None)]))
        for label, keys in cases:
            times = []
            for press in range(presses):
                key, character = keys[press % len(keys)]
                await pilot.pause()
                started = perf_counter()
                app.post_message(events.Key(key, character))
                times.append(await clock.next_frame_after(started))
            results[label] = statistics.median(times) * 1000
    return results


MINIMAL_APP = """
import sys, time
from textual.app import App
from textual.widgets import Footer, Header, Static
class Minimal(App):
    def compose(self):
        yield Header()
        yield Static("hello")
        yield Footer()
app = Minimal()
loaded = lambda: True  # nothing to load: ready at the first frame
"""

SPECVIZ_APP = """
import sys, time
from specviz.app import make_app
from specviz.engine import SimConfig
app = make_app(SimConfig())
loaded = lambda: app.run_state.model is not None  # the Simulation is built
"""

# Prints the wall time at the first frame and at the first frame drawn once the
# engine is loaded (the prompt and the statistics on screen), and the seconds
# from App.run() to the first frame.
FIRST_PAINT = """
display = app._display
frames = []
def timed(screen, renderable):
    display(screen, renderable)
    if not frames:
        frames.append((time.time(), time.perf_counter() - run_started))
    if loaded():
        app._display = display
        print(frames[0][0], time.time(), frames[0][1], flush=True)
        app.exit()
app._display = timed
run_started = time.perf_counter()
app.run(headless=True, size=(120, 36))
"""


def first_paint_sample(body: str) -> tuple[float, float, float]:
    """Seconds from process start to the first frame, to the first frame with
    the engine loaded, and from App.run() to the first frame: one fresh process."""
    started = time.time()
    out = subprocess.run(
        [sys.executable, "-c", body + FIRST_PAINT],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    at, loaded_at, run = (float(value) for value in out.stdout.split())
    return at - started, loaded_at - started, run


def first_paint_medians(repeats: int) -> dict[str, tuple[float, ...]]:
    """Medians for the minimal app and specviz, their runs interleaved so that
    load from elsewhere on the machine falls on both alike."""
    samples: dict[str, list[tuple[float, float, float]]] = {"minimal": [], "specviz": []}
    for _ in range(repeats):
        samples["minimal"].append(first_paint_sample(MINIMAL_APP))
        samples["specviz"].append(first_paint_sample(SPECVIZ_APP))
    return {name: tuple(statistics.median(column) for column in zip(*rows)) for name, rows in samples.items()}


def compile_sources() -> None:
    """Write specviz's bytecode, as a pip install does: where PYTHONDONTWRITEBYTECODE
    is set (this machine sets it), an editable checkout is otherwise compiled
    from source on every start, which no installed copy is."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "specviz")], check=True)


def memory_and_repaint(n: int, presses: int) -> None:
    growth, seconds, lines = asyncio.run(memory_after_run_to_end(n))
    engine = engine_only_growth_mb(n)
    print(
        f"memory: RSS grew {growth:.1f} MB across 'e' on -n {n:,} "
        f"({seconds:.1f} s, {lines:,} stream lines); the engine alone grows {engine:.1f} MB "
        f"[goal <= 200 MB: {'met' if growth <= 200 else 'NOT met'}]"
    )

    big = asyncio.run(repaint_times(n - 1000, n, presses, scroll=True))
    small = asyncio.run(repaint_times(100, n, presses, scroll=False))
    ratio = big["space"] / small["space"]
    print(
        f"repaint after space: {big['space']:.1f} ms at ~{n:,} tokens, {small['space']:.1f} ms at ~100 tokens: "
        f"ratio {ratio:.2f} [goal <= 2: {'met' if ratio <= 2 else 'NOT met'}]"
    )
    print(f"repaint after PgUp/PgDn in the stream at ~{n:,} tokens: {big['pageup/pagedown']:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--presses", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--first-paint-only", action="store_true")
    args = parser.parse_args()
    n = args.tokens
    sys.path.insert(0, str(ROOT))
    if not args.first_paint_only:
        memory_and_repaint(n, args.presses)

    compile_sources()
    medians = first_paint_medians(args.repeats)
    minimal, _, minimal_run = medians["minimal"]
    specviz, specviz_ready, specviz_run = medians["specviz"]
    ratio = specviz / minimal
    print(
        f"first paint from process start: specviz {specviz * 1000:.0f} ms, minimal Textual app "
        f"{minimal * 1000:.0f} ms: ratio {ratio:.2f} [goal <= 1.5: {'met' if ratio <= 1.5 else 'NOT met'}]"
    )
    print(
        f"  of which App.run() to first frame: specviz {specviz_run * 1000:.0f} ms, minimal "
        f"{minimal_run * 1000:.0f} ms (the rest is interpreter start and imports)"
    )
    print(
        f"  engine loaded and drawn (prompt and statistics on screen): specviz {specviz_ready * 1000:.0f} ms, "
        f"ratio {specviz_ready / minimal:.2f} to the minimal app's first paint"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
