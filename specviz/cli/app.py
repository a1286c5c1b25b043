"""`specviz` with no command: open the app with the simulation options given.

The only command-line module that imports the app, and only when it runs.
"""

from __future__ import annotations

import argparse
from typing import Any

from specviz.cli.options import config_from_args
from specviz.engine.run.config import SimConfig


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    # The app builds its models after its first frame. A corpus the person
    # named is read here first, so a bad file is one line and exit 2, as for
    # every other command, not an error inside the app.
    simulation = None
    if config.corpus is not None:
        from specviz.engine.run.simulation import Simulation

        simulation = Simulation(config)
    return launch(config, simulation=simulation)


def launch(config: SimConfig, simulation: Any = None, imported: Any = None) -> int:
    """Open the app on `config`: driving `simulation` when given, showing
    `imported` (an engine OpenedImport, from `specviz import --open`) when given."""
    import specviz.app

    if imported is None:
        return specviz.app.run_app(config, simulation=simulation)
    return specviz.app.run_app(config, simulation=simulation, imported=imported)
