"""Analysis over runs and closed forms: theory, the cost model, the k x alpha sweep, the losslessness audit, compare.

theory.py, cost.py and defaults.py import no numpy; the others load it.
"""
