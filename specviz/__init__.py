"""specviz: see and reason about speculative decoding."""

__version__ = "0.1.0"
