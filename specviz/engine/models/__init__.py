"""Model pairs: a draft q and a target p over one vocabulary (synthetic, n-gram, and the corpus they read).

`pair.py` holds the interface every pair implements and the registry `build_model` reads.
"""
