"""Reading and writing runs: traces (later, engine-log importers)."""
