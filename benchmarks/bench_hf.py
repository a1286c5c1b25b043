"""specviz's round loop on a transformers pair against transformers' own assisted generation (issue 16).

Greedy, the same k, the same pair: `Simulation` under `--model hf --method
greedy` and `target.generate(assistant_model=draft, do_sample=False)` with a
constant k (num_assistant_tokens_schedule="constant", no confidence stop).
Both must emit the same ids; the figure is wall time per token, specviz's
over transformers' (goal: within 1.2x). Also specviz's non-model work per
round against one target forward call of the same (best) run (issue 18,
goal: under 10%): the round loop's wall time less the time spent inside the
models' forward calls (`_CachedModel.forward_seconds`). It splits into the
work inside a pass around its forward call (rolling the cache back, the ids
fed, warpers, softmax, to numpy) and the work around the passes (sampling,
the round's dists, bookkeeping, the round loop).

Without --target and --draft the tiny random pair of the tests is built in a
temporary folder (tests/engine/hf_models.py). One thread by default: tiny
models gain nothing from more, and a shared machine's cores are busy.

    python benchmarks/bench_hf.py [--target T --draft D] [-k 5] [-n 200] [--repeat 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _timers(pair):  # type: ignore[no-untyped-def]
    """Seconds so far inside the models' forward calls and inside their whole
    passes; the target's forward calls' seconds, its whole passes' and its passes."""
    models, target = (pair.target, pair.draft), pair.target
    return (
        sum(m.forward_seconds for m in models),
        sum(m.seconds for m in models),
        target.forward_seconds,
        target.seconds,
        target.passes,
    )


def specviz_run(target: str, draft: str, k: int, n: int, device: str, pair):  # type: ignore[no-untyped-def]
    from specviz.engine import SimConfig, Simulation

    config = SimConfig(
        model="hf", target=target, draft=draft, method="greedy", draft_length=k, target_length=n, device=device
    )
    simulation = Simulation(config, pair)
    before = _timers(pair)
    start = time.perf_counter()
    simulation.run()
    wall = time.perf_counter() - start
    return simulation, wall, [after - earlier for after, earlier in zip(_timers(pair), before)]


def transformers_run(pair, prompt_ids: list[int], k: int, n: int):  # type: ignore[no-untyped-def]
    import torch

    target, draft = pair.target.model, pair.draft.model
    draft.generation_config.num_assistant_tokens = k
    draft.generation_config.num_assistant_tokens_schedule = "constant"
    draft.generation_config.assistant_confidence_threshold = 0.0
    inputs = torch.tensor([prompt_ids], device=pair.device)
    start = time.perf_counter()
    with torch.inference_mode():
        output = target.generate(
            inputs,
            assistant_model=draft,
            do_sample=False,
            max_new_tokens=n,
            min_new_tokens=n,
            eos_token_id=None,
            pad_token_id=0,
        )
    if pair.device.type == "cuda":
        torch.cuda.synchronize(pair.device)
    return output[0, len(prompt_ids) :].tolist(), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target")
    parser.add_argument("--draft")
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from specviz.engine import SimConfig
    from specviz.engine.models.pair import build_model

    with tempfile.TemporaryDirectory() as folder:
        target, draft = args.target, args.draft
        if target is None or draft is None:
            from tests.engine.hf_models import build_pair

            built = build_pair(Path(folder), "llama", padding_rows=8)
            target, draft = str(built[0]), str(built[1])
        config = SimConfig(model="hf", target=target, draft=draft, method="greedy", device=args.device)
        pair = build_model(config)
        prompt_ids = pair.encode_prompt(config.prompt)
        # One of each first: warm-up (lazy initialisation, allocator).
        specviz_run(target, draft, args.k, args.n, args.device, pair)
        transformers_run(pair, prompt_ids, args.k, args.n)
        ours = theirs = float("inf")
        for _ in range(args.repeat):
            simulation, wall, timers = specviz_run(target, draft, args.k, args.n, args.device, pair)
            if wall < ours:
                ours, best_timers, best = wall, timers, simulation
            ids, seconds = transformers_run(pair, prompt_ids, args.k, args.n)
            theirs = min(theirs, seconds)
        same = list(best.tokens) == ids
        rounds = best.stats.rounds
        passes = best.stats.rounds + best.stats.draft_passes
        # All from the best run: its forward calls, its whole passes, the target's.
        best_forward, best_passes, target_forward, target_seconds, target_passes = best_timers
        target_forward_ms = 1e3 * target_forward / target_passes
        target_pass_ms = 1e3 * target_seconds / target_passes
        overhead_ms = 1e3 * (ours - best_forward) / rounds
        in_passes_ms = 1e3 * (best_passes - best_forward) / rounds

    print(f"greedy, k = {args.k}, {args.n} tokens, device {args.device}, best of {args.repeat}")
    print(f"  specviz loop            {1e3 * ours / args.n:8.3f} ms/token  ({rounds} rounds, {passes} passes)")
    print(f"  transformers assisted   {1e3 * theirs / args.n:8.3f} ms/token")
    print(f"  specviz / transformers  {ours / theirs:8.3f}   (goal: <= 1.2)")
    print(f"  identical output        {same}")
    print(
        f"  non-model work a round  {overhead_ms:8.3f} ms   ({in_passes_ms:.3f} in the passes around their forward"
        f" calls, {overhead_ms - in_passes_ms:.3f} around the passes)"
    )
    print(f"  a target forward call   {target_forward_ms:8.3f} ms   (its whole pass: {target_pass_ms:.3f} ms)")
    print(f"  non-model / forward     {overhead_ms / target_forward_ms:8.1%}   (goal: < 10%)")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
