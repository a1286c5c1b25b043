"""The run itself: its config and the rules on it, the round state machine, the random stream, the statistics.

config.py imports no numpy: the app validates a config before it loads the models.
"""
