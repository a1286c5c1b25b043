"""Verification methods: the rule that keeps or rejects each draft (speculative sampling, greedy, sample-match, typical)."""
