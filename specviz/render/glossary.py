"""What every rule and number means, in one place: the app's help renders it
and docs/speculative-decoding.md carries the same text (a test compares them;
`python3 -m specviz.render.glossary docs/speculative-decoding.md` rewrites
the page's generated part).

Plain Markdown strings, no rich. The methods' and policies' one-line
descriptions are the engine's own (their classes' `description`), and every
figure in "When speculation pays" is computed here by the engine's closed
forms (engine/analysis/theory.py) and cost model (engine/analysis/cost.py),
never written down: change the engine and the help and the page follow.
Importing this module costs nothing; building the text imports the engine
(numpy), which the help screen pays when it opens.
"""

from __future__ import annotations

import sys
from pathlib import Path

from specviz.engine import catalog

# (term, what it means). Names as the sidebar, the reports and --json use them.
GLOSSARY: tuple[tuple[str, str], ...] = (
    ("p, q", "the target model's and the draft model's next-token distributions in one context."),
    ("k", "the draft length: how many tokens the draft model proposes in a round (`-k`)."),
    (
        "β (beta)",
        "in one context, Σ_x min(p(x), q(x)) = 1 − TV(p, q): the overlap of p and q, "
        "and the chance that speculative sampling keeps a draft drawn from q there.",
    ),
    (
        "α (alpha)",
        "the acceptance rate: the mean of β over the contexts a run meets. The synthetic pair sets it (`-a`); "
        "the n-gram pair's is measured: empirical α, the mean of β over the positions where a draft was tested.",
    ),
    ("c", "the cost of one draft forward pass divided by the cost of one target forward pass (`--draft-cost`)."),
    (
        "v",
        "the verify overhead: the extra cost of a target pass per drafted token it scores, "
        "a pass over k + 1 positions costing T (1 + v k) (`--verify-overhead`, 0 by default).",
    ),
    ("T", "the time of one target forward pass, in ms (`--target-ms`); a draft pass takes c · T."),
    (
        "u",
        "the uniform number on [0, 1) drawn for each acceptance test: speculative sampling keeps draft x "
        "when u < p(x) / q(x), which happens with probability min(1, p(x) / q(x)).",
    ),
    (
        "p_{k+1}",
        "the target's distribution at the position after the last draft, which the same target pass computes: "
        "when every draft is kept, the bonus token is drawn from it.",
    ),
    (
        "correction, bonus, skipped",
        "a round ends with exactly one extra token: a correction drawn from norm(max(0, p − q)) at the first "
        "rejection, or a bonus from p_{k+1} when all k drafts were kept. Drafts after a rejection are skipped: "
        "never tested.",
    ),
    (
        "round = target pass = num_drafts",
        "one round is k draft passes and one target pass, so rounds and target passes are one count; vLLM calls "
        "it num_drafts (one \u201cdraft\u201d per verification step: not a draft pass). A round cut to k = 0 at "
        "the target length proposes nothing and is not in num_drafts.",
    ),
    ("draft passes", "draft forward passes: one per drafted token, so k a round (fewer in a round a policy cuts)."),
    ("num_draft_tokens", "vLLM's count of drafted tokens (llama.cpp's n_drafted)."),
    (
        "num_accepted_tokens",
        "vLLM's count of kept drafts (llama.cpp's n_accept): the kept prefix only, without the correction or bonus.",
    ),
    (
        "tokens per target pass",
        "tokens emitted / rounds; 1 without speculation. The same figure as the mean acceptance length here.",
    ),
    (
        "mean acceptance length",
        "vLLM's 1 + num_accepted_tokens / num_drafts: the kept drafts plus the correction or bonus, per round.",
    ),
    (
        "draft acceptance rate",
        "num_accepted_tokens / num_draft_tokens. Not α: the skipped drafts count against it, so under i.i.d. "
        "acceptance it is (α − α^(k+1)) / (k (1 − α)), below α.",
    ),
    (
        "effective acceptance rate",
        "accepted / (accepted + rejected): the kept share of the drafts that were tested, skipped drafts left "
        "out. Under i.i.d. acceptance it estimates α.",
    ),
    (
        "per-position acceptance",
        "at position i, the rounds that kept the i-th draft / num_drafts (vLLM's definition): α^i under i.i.d. "
        "acceptance, falling with i because a position is reached only when every draft before it was kept. "
        "Conditional acceptance divides by the rounds that tested position i instead, and estimates α.",
    ),
    (
        "method keep chance",
        "the run's verification method's mean chance of keeping a draft where one was tested: β for speculative "
        "sampling, q(argmax p) for greedy, Σ p q for sample-match.",
    ),
    (
        "speedup",
        "the time plain decoding (one target pass per token) takes over the time the speculative run takes, for "
        "the same tokens, by the cost model. Expected under i.i.d. acceptance: "
        "S = (1 − α^(k+1)) / ((1 − α)(k c + 1 + v k)).",
    ),
    ("b, L", "the batch size and the cached context per sequence, which a forward-pass cost model prices."),
)

# (the tutorial script's words, specviz's, what to know).
TUTORIAL_WORDS: tuple[tuple[str, str, str], ...] = (
    ("acceptance rate γ", "α (`-a`)", "the same rate; the tutorial's E[tokens] formula in γ is specviz's in α"),
    ("draft length k", "k (`-k`)", "the same"),
    ("target calls, target forward passes", "target passes (= rounds = num_drafts)", "one per round in both"),
    (
        "draft calls",
        "draft passes",
        "the tutorial charges one draft call a round; a draft model makes one pass per drafted token, k a round",
    ),
    ("Generation 1, 2, ...", "round 1, 2, ...", "one draft-verify-accept cycle"),
    ("tokens per pass", "tokens per target pass", "emitted tokens / target passes"),
    (
        "tokens rejected",
        "rejected drafts (= corrections)",
        "one per round that ended at a rejection; the tutorial's correction is a random word, specviz's is drawn "
        "from norm(max(0, p − q))",
    ),
    (
        "effective acceptance rate",
        "effective acceptance rate",
        "accepted / (accepted + rejected), shown by `specviz run` and in `--json` under that name",
    ),
    ("(none)", "bonus token", "the tutorial never emits one; specviz draws it from p_{k+1} after a round keeps all k"),
    ("draft cost ratio", "c (`--draft-cost`)", "the same ratio"),
    (
        "theoretical speedup",
        "tokens per target pass",
        "the tutorial's \u201ctheoretical speedup\u201d is tokens per pass, which leaves the draft's cost out",
    ),
    ("actual speedup", "speedup", "time without / time with speculation, with every draft pass charged"),
)

# The settings the worked figures below use.
FIGURE_K = 5
FIGURE_ALPHAS = (0.9, 0.5)
BATCH_PRESET = "llama3.1-8b-eagle-h100"
BATCH_ALPHA = 0.8
BATCH_SIZES = (1, 16, 64, 256, 1024)


def _bullets(rows: tuple[tuple[str, str], ...]) -> str:
    return "\n".join(f"- **{term}**: {meaning}" for term, meaning in rows)


def glossary_markdown() -> str:
    return "## Glossary\n\n" + _bullets(GLOSSARY)


def tutorial_markdown() -> str:
    rows = "\n".join(
        f"- the tutorial's **{words}** is specviz's **{ours}**: {note}." for words, ours, note in TUTORIAL_WORDS
    )
    from specviz.engine.analysis import theory

    tokens = theory.expected_tokens_per_round(0.8, 5)
    return (
        "## From the tutorial's words\n\n"
        "The speculative-decoding tutorial script (`speculative_demo.py`) imitates the algorithm; specviz runs it. "
        "Its words, and specviz's:\n\n"
        f"{rows}\n\n"
        f"Its \u201cThe Math\u201d prints E[tokens] = 3.36 for γ = 0.8, k = 5; the formula it quotes gives "
        f"{tokens:.3f} (`specviz theory -a 0.8 -k 5`)."
    )


def when_it_pays_markdown() -> str:
    """When speculation helps most and least, each figure from the engine."""
    from specviz.engine.analysis import theory
    from specviz.engine.analysis.cost import cost_model_for
    from specviz.engine.run.config import SimConfig

    c = SimConfig().draft_cost
    high, low = (theory.expected_speedup(alpha, FIGURE_K, c) for alpha in FIGURE_ALPHAS)
    best_high, best_low = (theory.best_draft_length(alpha, c) for alpha in FIGURE_ALPHAS)
    # The smallest alpha (in hundredths) at which some k beats plain decoding at this c.
    pays_from = next(a / 100 for a in range(101) if theory.best_draft_length(a / 100, c).speedup > 1.0)
    cost = cost_model_for(SimConfig(cost_model=BATCH_PRESET))
    by_batch = theory.by_batch_size(BATCH_ALPHA, FIGURE_K, cost, batch_sizes=BATCH_SIZES)
    best = by_batch["best_speedup_by_batch_size"]
    best_k = by_batch["best_k_by_batch_size"]
    batches = ", ".join(f"{best[str(b)]:.2f}× at b = {b:,} (k = {best_k[str(b)]})" for b in BATCH_SIZES)
    losing = [b for b in BATCH_SIZES if best[str(b)] <= 1.0]
    lost = (
        f"; from b = {losing[0]:,} plain decoding is faster at every k"
        if losing
        else f"; it still pays at b = {BATCH_SIZES[-1]:,}"
    )
    high_alpha, low_alpha = FIGURE_ALPHAS
    return (
        "## When speculation pays\n\n"
        "**It helps most when:**\n\n"
        f"- *the draft agrees with the target* (high α). At k = {FIGURE_K} and c = {c:g}, α = {high_alpha:g} "
        f"gives an expected speedup of {high:.2f}× and α = {low_alpha:g} only {low:.2f}×; the best k is "
        f"{best_high.k} ({best_high.speedup:.2f}×) against {best_low.k} ({best_low.speedup:.2f}×). "
        "Each extra draft is kept only if every one before it was, so drafts pay off geometrically in α.\n"
        "- *generations are long.* Every round emits at least one token and the rounds repeat, so the gain per "
        "round holds over the whole generation; the work done once per request (reading the prompt, loading "
        "the models) is the same with or without speculation, and specviz does not price it.\n"
        "- *decoding is memory-bound*, as at batch 1: a target pass over k + 1 positions then costs about as "
        "much as over one, so verifying the drafts is nearly free.\n\n"
        "**It helps least, or slows decoding down, when:**\n\n"
        f"- *acceptance is low.* At c = {c:g} no k beats plain decoding until α reaches {pays_from:.2f} "
        "(with α above c, k = 1 already gains); below that every draft pass is wasted work.\n"
        "- *generations are short.* A round never drafts past the target length n (its last round drafts at "
        "most the tokens left minus one), so a few-token generation cannot use a full k, and the "
        "fixed per-request work is a larger share of its time.\n"
        f"- *decoding is compute-bound*, as when serving a large batch b: each verify pass scores b (k + 1) "
        f"tokens and stops being nearly free. Under the `{BATCH_PRESET}` cost model at α = {BATCH_ALPHA:g}, "
        f"the best k gives {batches}{lost}. `specviz theory --cost-model {BATCH_PRESET} --batch-size B` "
        "and `specviz sweep --batch-sizes` show it for any setting."
    )


def methods_markdown() -> str:
    """Each verification method with the engine's own description."""
    from specviz.engine.verification.methods import method_class

    lines = [
        f"- **{name}**{'' if catalog.method_is_lossless(name) else ' (⚠ lossy)'}: {method_class(name).description}"
        for name in catalog.method_names()
    ]
    return "## Verification methods (`--method`)\n\n" + "\n".join(lines)


def policies_markdown() -> str:
    """Each draft-length policy with the engine's own description."""
    from specviz.engine.drafting.policies import policy_class

    lines = [f"- **{name}**: {policy_class(name).description}" for name in catalog.policy_names()]
    return "## Draft-length policies (`--draft-policy`)\n\n" + "\n".join(lines)


def reference_markdown() -> str:
    """The glossary, the tutorial's words and when speculation pays: the
    generated part of docs/speculative-decoding.md, and the end of the help
    (which adds methods_markdown and policies_markdown; the page has tables
    of its own for those)."""
    return "\n\n".join((glossary_markdown(), tutorial_markdown(), when_it_pays_markdown()))


DOCS_START = (
    "<!-- From here to the end marker the page is generated by specviz/render/glossary.py "
    "(python3 -m specviz.render.glossary docs/speculative-decoding.md): edit that module, not this text. -->"
)
DOCS_END = "<!-- End of the generated part. -->"


def with_reference(page: str) -> str:
    """`page` with its generated part (between DOCS_START and DOCS_END) replaced by reference_markdown()."""
    if DOCS_START not in page or DOCS_END not in page:
        raise ValueError("the page has no generated part: add the DOCS_START and DOCS_END lines")
    head, rest = page.split(DOCS_START, 1)
    tail = rest.split(DOCS_END, 1)[1]
    return f"{head}{DOCS_START}\n\n{reference_markdown()}\n\n{DOCS_END}{tail}"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python3 -m specviz.render.glossary PAGE.md", file=sys.stderr)
        return 2
    page = Path(argv[0])
    page.write_text(with_reference(page.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
