"""The first frame comes before the engine: numpy and the model pair load just after it."""

import json
import subprocess
import sys

FIRST_FRAME = """
import json, sys
from specviz.app import make_app
from specviz.engine import SimConfig
app = make_app(SimConfig(target_length=40))
display = app._display
seen = []
def frame(screen, renderable):
    display(screen, renderable)
    state = app.run_state
    seen.append({"numpy": "numpy" in sys.modules, "model": state.model is not None,
                 "rounds": state.stats.rounds, "n": state.config.target_length})
    if seen[-1]["model"]:
        app.exit()
app._display = frame
app.run(headless=True, size=(120, 36))
print(json.dumps(seen))
"""


def test_the_first_frame_is_drawn_before_the_engine_loads_and_the_engine_loads_unasked():
    out = subprocess.run([sys.executable, "-c", FIRST_FRAME], capture_output=True, text=True, timeout=60, check=True)
    frames = json.loads(out.stdout.splitlines()[-1])
    assert frames[0] == {"numpy": False, "model": False, "rounds": 0, "n": 40}
    # With no key pressed, a later frame shows the loaded run, still at its start.
    assert frames[-1] == {"numpy": True, "model": True, "rounds": 0, "n": 40}


async def test_a_key_before_the_engine_has_loaded_loads_it_and_steps():
    from tests.app.conftest import SIZE, build_app

    app = build_app(target_length=40)
    assert app.run_state.model is None  # nothing built before the app runs
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        assert app.simulation.stats.rounds == 0 and app.simulation.current is not None
        assert app.run_state is app.simulation
