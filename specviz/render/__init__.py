"""Renderers that both front ends draw: the run report, the theory table, the sweep table, the audit report, the compare table.

rich only: nothing here imports textual or the command line, and nothing here
computes a statistic (every number comes from the engine).
"""
