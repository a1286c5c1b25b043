"""The shared simulation engine: pure Python + numpy, no UI imports.

The TUI, the command line and the tests all drive this API.
"""

from specviz.engine.config import ConfigError, SimConfig, config_from_text, parse_field
from specviz.engine.cost import CostBreakdown, CostModel
from specviz.engine.models import ContextDists, ModelPair, build_model, model_names
from specviz.engine.rounds import Phase, Round, TokenKind
from specviz.engine.simulation import PhaseEvent, Simulation
from specviz.engine.stats import RunStats

__all__ = [
    "ConfigError",
    "ContextDists",
    "CostBreakdown",
    "CostModel",
    "ModelPair",
    "Phase",
    "PhaseEvent",
    "Round",
    "RunStats",
    "SimConfig",
    "Simulation",
    "TokenKind",
    "build_model",
    "config_from_text",
    "model_names",
    "parse_field",
]
