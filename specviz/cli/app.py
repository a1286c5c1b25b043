"""`specviz` with no command: open the app with the simulation options given.

The only command-line module that imports the app, and only when it runs.
"""

from __future__ import annotations

import argparse

from specviz.cli.options import config_from_args


def run(args: argparse.Namespace) -> int:
    import specviz.app

    config = config_from_args(args)
    # The app builds its models after its first frame. A corpus the person
    # named is read here first, so a bad file is one line and exit 2, as for
    # every other command, not an error inside the app.
    simulation = None
    if config.corpus is not None:
        from specviz.engine.run.simulation import Simulation

        simulation = Simulation(config)
    return specviz.app.run_app(config, simulation=simulation)
