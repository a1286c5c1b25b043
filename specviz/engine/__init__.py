"""The shared simulation engine: pure Python + numpy, no UI imports.

The TUI, the command line and the tests all drive this API. Names are
imported on first use (PEP 562), so `from specviz.engine import SimConfig`
does not import numpy: the app validates its config and paints its first
frame before it loads the models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Public name -> the module that defines it.
_EXPORTS = {
    "ConfigError": "run.config",
    "SimConfig": "run.config",
    "config_from_text": "run.config",
    "parse_field": "run.config",
    "CostBreakdown": "analysis.cost",
    "CostModel": "analysis.cost",
    "ContextDists": "models.pair",
    "ModelPair": "models.pair",
    "build_model": "models.pair",
    "model_names": "catalog",
    "Phase": "run.rounds",
    "Round": "run.rounds",
    "TokenKind": "run.rounds",
    "RunState": "run.run_state",
    "PhaseEvent": "run.simulation",
    "Simulation": "run.simulation",
    "RunStats": "run.stats",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        # A submodule (`from specviz.engine import sweep`) or a missing name.
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from specviz.engine.analysis.cost import CostBreakdown, CostModel
    from specviz.engine.catalog import model_names
    from specviz.engine.models.pair import ContextDists, ModelPair, build_model
    from specviz.engine.run.config import ConfigError, SimConfig, config_from_text, parse_field
    from specviz.engine.run.rounds import Phase, Round, TokenKind
    from specviz.engine.run.run_state import RunState
    from specviz.engine.run.simulation import PhaseEvent, Simulation
    from specviz.engine.run.stats import RunStats
