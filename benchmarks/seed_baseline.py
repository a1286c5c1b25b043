"""The seed script's simulation loop (shared/seed/speculative_demo.txt), re-indented.

Kept verbatim in logic, including what it gets wrong (random probabilities,
a random "correction", no bonus token, one draft call per round, and the
prompt concatenated every round, which makes it quadratic). It is here only
as the speed baseline that benchmarks/bench_engine.py measures against.
"""

import random
from dataclasses import dataclass

VOCAB = [
    "the",
    "a",
    "is",
    "are",
    "was",
    "were",
    "has",
    "have",
    "had",
    "will",
    "would",
    "could",
    "should",
    "may",
    "might",
    "must",
    "and",
    "or",
    "but",
    "if",
    "then",
    "else",
    "when",
    "where",
    "who",
    "what",
    "which",
    "that",
    "this",
    "these",
    "those",
    "I",
    "you",
    "he",
    "she",
    "it",
    "we",
    "they",
    "me",
    "him",
    "her",
    "good",
    "bad",
    "big",
    "small",
    "new",
    "old",
    "first",
    "last",
    "time",
    "way",
    "year",
    "day",
    "thing",
    "man",
    "world",
    "life",
]


@dataclass
class Token:
    id: int
    text: str
    draft_prob: float
    target_prob: float


def simulate_draft_model(prompt: str, num_tokens: int, vocab: list[str]) -> list[Token]:
    tokens = []
    for _ in range(num_tokens):
        token_id = random.randint(0, len(vocab) - 1)
        token_text = vocab[token_id]
        draft_prob = random.uniform(0.3, 0.9)
        tokens.append(Token(id=token_id, text=token_text, draft_prob=draft_prob, target_prob=0))
    return tokens


def simulate_target_verification(draft_tokens: list[Token], base_acceptance_rate: float) -> list[Token]:
    for token in draft_tokens:
        if random.random() < base_acceptance_rate:
            token.target_prob = token.draft_prob * random.uniform(0.9, 1.5)
        else:
            token.target_prob = token.draft_prob * random.uniform(0.1, 0.8)
        token.target_prob = min(1.0, token.target_prob)
    return draft_tokens


def speculative_acceptance(tokens: list[Token]) -> tuple[list[Token], Token | None]:
    accepted = []
    correction_token = None
    for i, token in enumerate(tokens):
        if token.target_prob >= token.draft_prob:
            accepted.append(token)
        else:
            acceptance_prob = token.target_prob / token.draft_prob
            if random.random() < acceptance_prob:
                accepted.append(token)
            else:
                correction_token = Token(
                    id=random.randint(0, 99), text=f"[corrected_{i}]", draft_prob=0, target_prob=token.target_prob
                )
                break
    return accepted, correction_token


def run_speculative_decoding(
    prompt: str, target_length: int, draft_length: int, acceptance_rate: float, vocab: list[str]
) -> tuple[list[str], dict]:
    generated = []
    stats = {"target_calls": 0, "draft_calls": 0, "tokens_accepted": 0, "tokens_rejected": 0, "total_tokens": 0}
    while len(generated) < target_length:
        remaining = target_length - len(generated)
        k = min(draft_length, remaining)
        draft_tokens = simulate_draft_model(prompt, k, vocab)
        stats["draft_calls"] += 1
        verified_tokens = simulate_target_verification(draft_tokens, acceptance_rate)
        stats["target_calls"] += 1
        accepted, correction = speculative_acceptance(verified_tokens)
        for token in accepted:
            generated.append(token.text)
            stats["tokens_accepted"] += 1
        if correction:
            generated.append(correction.text)
            stats["tokens_rejected"] += 1
        stats["total_tokens"] = len(generated)
        prompt = prompt + " " + " ".join(t.text for t in accepted)
        if correction:
            prompt += " " + correction.text
    return generated[:target_length], stats


def run(target_length: int, draft_length: int = 5, acceptance_rate: float = 0.8, seed: int = 42) -> dict:
    random.seed(seed)
    return run_speculative_decoding("Once upon a time", target_length, draft_length, acceptance_rate, VOCAB)[1]


if __name__ == "__main__":
    import sys
    import time

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    start = time.perf_counter()
    run(n)
    print(f"seed loop, {n:,} tokens: {time.perf_counter() - start:.2f} s")
