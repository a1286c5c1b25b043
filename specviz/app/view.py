"""How the App tells its views that the run changed.

Views never hold or drive the simulation: the App owns it and, after every
change, calls `show_simulation` on each widget of the active screen that is a
`SimulationView`. New views (charts, a timeline) only need to subclass this.
"""

from __future__ import annotations

import enum
from typing import Any


class Change(enum.Enum):
    RESET = "reset"  # a new run (new config, reset, or a replay loaded)
    STEP = "step"  # one phase or one round ran
    PROGRESS = "progress"  # many rounds ran (run to the end, fast autoplay)


class SimulationView:
    """Mixin for widgets that draw the run. `simulation` is a Simulation or a
    replay exposing the same interface."""

    def show_simulation(self, simulation: Any, change: Change) -> None:
        raise NotImplementedError
