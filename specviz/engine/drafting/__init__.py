"""Drafting: how many tokens the draft proposes each round (fixed, heuristic, confidence), and token trees (tree.py)."""
