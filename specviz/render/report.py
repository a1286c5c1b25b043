"""The `specviz run` report: the seed script's printout, with correct numbers.

Rendered with rich from what the engine already computed (the summary dict of
`Simulation.summary()`, the rounds the caller kept for the listing); nothing
here recomputes a statistic, so the report and `--json` cannot disagree.
Metric names follow REFERENCE §3: each figure says what it divides by.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeGuard

from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from specviz.engine.analysis import theory
from specviz.engine.run.config import table_draft_length
from specviz.engine.run.rounds import Round, TokenKind
from specviz.engine.safe_text import printable
from specviz.render.words import counted

if TYPE_CHECKING:
    from specviz.engine.run.simulation import Simulation
    from specviz.engine.run.tree_round import TreeRound

ACCEPTED_STYLE = "green"
REJECTED_STYLE = "bold red"
SKIPPED_STYLE = "dim"
CORRECTION_STYLE = "yellow"
BONUS_STYLE = "cyan"
KIND_STYLES = {TokenKind.ACCEPTED: ACCEPTED_STYLE, TokenKind.CORRECTION: CORRECTION_STYLE, TokenKind.BONUS: BONUS_STYLE}
PREVIEW_TOKENS = 60  # the seed previewed 20 words; 60 still fits a few lines
POSITIONS_SHOWN = 8  # per-position rates beyond this are elided (k can be 64)


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 100 or value == int(value) else f"{value:,.2f} ms"


def ms_column(values: Sequence[float]) -> list[str]:
    """Times for one column: all in ms with the same decimals (none where every
    value is whole or at least 100 ms, else 2), so the column reads down."""
    whole = all(value >= 100 or value == int(value) for value in values)
    return [f"{value:,.0f} ms" if whole else f"{value:,.2f} ms" for value in values]


NOT_MEASURED = "—"  # a rate with nothing to divide by: nothing was drafted or tested yet


def _num(value: float | None, digits: int = 3) -> str:
    return NOT_MEASURED if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return NOT_MEASURED if value is None else f"{value:.1%}"


def _rates(values: Sequence[float | None], digits: int = 2) -> str:
    """Rates at positions 1..POSITIONS_SHOWN, then an ellipsis."""
    text = " ".join(_num(p, digits) for p in values[:POSITIONS_SHOWN])
    return text + "  …" if len(values) > POSITIONS_SHOWN else text


def _noted(value: str, note: str) -> Text:
    return Text.assemble(value, "  ", (f"({note})", "dim"))


def _section(title: str) -> Rule:
    return Rule(Text(title, style="bold"), align="left", style="dim")


def _pairs(rows: Sequence[tuple[str, RenderableType | str]]) -> Padding:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for label, value in rows:
        table.add_row(label, value)
    return _indent(table)


def _indent(renderable: RenderableType, bottom: int = 1) -> Padding:
    # expand=False: no padding out to the terminal width (no trailing blanks).
    return Padding(renderable, (0, 0, bottom, 2), expand=False)


# ---- sections -----------------------------------------------------------------


def starting_k(config: dict[str, Any]) -> int:
    """The first round's k: the batch table's at the run's batch size, else -k."""
    k = table_draft_length(config.get("k_by_batch_size"), config["batch_size"])
    return int(config["draft_length"]) if k is None else k


def _draft_length_text(config: dict[str, Any]) -> str:
    if config.get("k_by_batch_size") is None:
        return f"{config['draft_length']} (policy: {config['draft_policy']})"
    k = starting_k(config)
    plain = "; 0: no speculation, plain decoding" if k == 0 else ""
    return f"{k} (policy: {config['draft_policy']}, at batch {config['batch_size']:,}{plain})"


def configuration(summary: dict[str, Any], uses_acceptance_rate: bool, source: str | None) -> Group:
    config = summary["config"]
    c, target_ms = config["draft_cost"], config["target_pass_ms"]
    rows: list[tuple[str, RenderableType | str]] = [
        ("model pair", config["model"]),
        ("verification method", config["method"]),
        ("draft length k", _draft_length_text(config)),
    ]
    if "tree" in summary:
        if summary["tree"]["kind"] == "static":
            rows[-1] = ("draft length k", "not read: the static shape sets the depth")
        rows.append(("token tree", summary["tree"]["description"]))
    if uses_acceptance_rate:
        rows.append(("acceptance rate α", f"{config['acceptance_rate']} (sum_x min(p, q) in every context)"))
    rows.append(("target length n", counted(config["target_length"], "token", "tokens")))
    model = summary["cost_model"]
    if "draft_kind" in model:  # a forward-pass model (--cost-model)
        rows += [
            ("cost model", Text(f"{model['name']} ({model['draft_kind']} draft)")),
            ("", Text(model["source"], style="dim", overflow="fold")),
            (
                "batch b, context L",
                f"{counted(model['batch_size'], 'sequence', 'sequences')}, "
                f"{counted(model['context_length'], 'cached token', 'cached tokens')} each "
                f"(a plain step {_ms(model['plain_pass_ms'])})",
            ),
        ]
    else:
        rows.append(("draft cost c", f"{c} (a draft pass {_ms(c * target_ms)}, a target pass {_ms(target_ms)})"))
        if config["verify_overhead"]:
            rows.append(("verify overhead v", f"{config['verify_overhead']} per drafted token verified"))
    rows += [("seed", str(config["seed"])), ("prompt", Text(repr(config["prompt"])))]
    if source is not None:
        # A file name is data: its escapes must not reach the terminal.
        rows.append(("replayed from", Text(printable(source), overflow="fold")))
    return Group(_section("Configuration"), _pairs(rows))


def _is_tree_round(round_: Round) -> TypeGuard[TreeRound]:
    # By its record, not its class: tree_round imports numpy, and this module
    # is imported before numpy is (the app's first frame).
    return hasattr(round_, "path")


def _tree_marks(round_: TreeRound, vocab: Sequence[str]) -> Text:
    """A tree round's drafts: the kept path (#r: the sibling of rank r kept,
    when not the first), the level where every child was rejected, the nodes."""
    marks = Text()
    for node in round_.path:
        rank = f"#{round_.ranks[node] + 1}" if round_.ranks[node] else ""
        marks.append(f"✓ {vocab[round_.drafted[node]]}{rank}  ", style=ACCEPTED_STYLE)
    if round_.rejected:
        # Every child of the last kept node was tried and rejected.
        last = round_.path[-1] if round_.path else -1
        marks.append(f"✗ all {len(round_.children[last])} rejected  ", style=REJECTED_STYLE)
    marks.append(f"({counted(round_.nodes, 'node', 'nodes')})", style=SKIPPED_STYLE)
    return marks


def round_row(round_: Round, vocab: Sequence[str]) -> tuple[Text, Text, Text, str]:
    """(round number, drafted tokens with marks, the final token, tokens emitted)."""
    if _is_tree_round(round_) and round_.drafted:
        marks = _tree_marks(round_, vocab)
    else:
        marks = _drafted_marks(round_, vocab)
    final_token = round_.final_token
    assert final_token is not None  # the listing shows finished rounds only
    if round_.rejected:
        final = Text.assemble(("correction ", "dim"), (vocab[final_token], CORRECTION_STYLE))
    else:
        final = Text.assemble(("bonus ", "dim"), (vocab[final_token], BONUS_STYLE))
    return Text(str(round_.index + 1)), marks, final, str(round_.accepted + 1)


def _drafted_marks(round_: Round, vocab: Sequence[str]) -> Text:
    """A chain's drafts, each marked kept, rejected or skipped."""
    marks = Text()
    for position, token in enumerate(round_.drafted):
        if position < round_.accepted:
            mark, style = "✓", ACCEPTED_STYLE
        elif position == round_.accepted and round_.rejected:
            mark, style = "✗", REJECTED_STYLE
        else:
            mark, style = "-", SKIPPED_STYLE
        if position:
            marks.append("  ")
        marks.append(f"{mark} {vocab[token]}", style=style)
    if not round_.drafted:
        marks.append("(none: the last round is cut at n)", style=SKIPPED_STYLE)
    return marks


LISTING_HEADERS = ("round", "drafted", "then", "tokens")
# The marks' key, a line of its own above the listing: as the drafted column's
# header it was wider than the column and wrapped at 80 columns.
LISTING_KEY = "drafted tokens: ✓ accepted  ✗ rejected  - skipped (never tested)"
# Rows laid out per table: a long listing is printed (and reports progress)
# block by block, every block with the column widths one table of all the rows
# would get, so the blocks line up as that table would.
LISTING_BLOCK_ROUNDS = 250
_LISTING_PADDING = 6  # (0, 1) padding on 4 columns, without the outer edges


def _listing_table(widths: Sequence[int] | None, header: bool = True) -> Table:
    table = Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False, header_style="dim", show_header=header)
    fixed = widths if widths is not None else (None,) * len(LISTING_HEADERS)
    for name, width in zip(LISTING_HEADERS, fixed):
        # Every column but the drafted tokens' keeps to one line.
        wraps = name == LISTING_HEADERS[1]
        table.add_column(
            name, justify="right" if name in ("round", "tokens") else "left", no_wrap=not wraps, width=width
        )
    return table


def _listing_widths(rows: Sequence[Sequence[Text | str]], max_width: int) -> list[int] | None:
    """The column widths rich gives one table of `rows` within `max_width`
    (each column's widest cell; the drafted tokens wrap to what is left), or
    None where the console is too narrow for that rule to hold."""
    natural = [cell_len(header) for header in LISTING_HEADERS]
    for row in rows:
        for column, cell in enumerate(row):
            width = cell_len(cell) if isinstance(cell, str) else cell.cell_len
            if width > natural[column]:
                natural[column] = width
    drafted = min(natural[1], max_width - _LISTING_PADDING - natural[0] - natural[2] - natural[3])
    if drafted < 1:
        return None
    return [natural[0], drafted, natural[2], natural[3]]


def print_round_listing(
    console: Console,
    rounds: Sequence[Round],
    total_rounds: int,
    vocab: Sequence[str],
    limit: int,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """The listing of the rounds kept, block by block; `progress(rows, rows in
    all)` after each block (10,000 rows take rich several seconds)."""
    title = f"Rounds ({counted(total_rounds, 'target pass', 'target passes')}" + (
        f"; first {len(rounds):,} shown)" if len(rounds) < total_rounds else ")"
    )
    console.print(_section(title))
    console.print(_indent(Text(LISTING_KEY, style="dim"), 0))
    rows = [round_row(round_, vocab) for round_ in rounds]
    widths = _listing_widths(rows, console.width - 2)  # inside the indent
    block = LISTING_BLOCK_ROUNDS if widths is not None else max(len(rows), 1)
    for first in range(0, max(len(rows), 1), block):
        table = _listing_table(widths, header=first == 0)
        for row in rows[first : first + block]:
            table.add_row(*row)
        console.print(_indent(table, 0))
        if progress is not None:
            progress(min(first + block, len(rows)), len(rows))
    left_out = total_rounds - len(rounds)
    if left_out > 0:
        console.print(
            _indent(
                Text(
                    f"… {counted(left_out, 'more round', 'more rounds')} not shown (--rounds-shown {limit})",
                    style="dim",
                ),
                0,
            )
        )
    console.print(Text())


def text_preview(
    prompt: str,
    joined: Sequence[str],
    tokens: Sequence[int],
    kinds: bytes | bytearray,
    total: int,
    colour: bool = True,
) -> Group:
    """The start of the generated text, each token coloured by how it was made;
    with the colours' key only where there is colour (`colour`): piped, the
    key would name colours nobody sees."""
    preview = Text(prompt, style="bold")
    for token, kind in zip(tokens, kinds):
        preview.append(
            joined[token] if prompt or len(preview) else joined[token].lstrip(), style=KIND_STYLES[TokenKind(kind)]
        )
    if total > len(tokens):
        preview.append(" …", style="dim")
    legend = Text.assemble(
        ("accepted draft", ACCEPTED_STYLE),
        "  ",
        ("correction", CORRECTION_STYLE),
        "  ",
        ("bonus", BONUS_STYLE),
        style="dim",
    )
    shown = f"first {len(tokens):,} of {total:,} tokens" if total > len(tokens) else counted(total, "token", "tokens")
    return Group(_section(f"Generated text ({shown})"), _indent(Group(preview, legend) if colour else preview))


CHAIN_NOTES = {
    "draft_passes": "one per drafted token",
    "drafted": "vLLM num_draft_tokens, llama.cpp n_drafted",
    "accepted": "vLLM num_accepted_tokens, llama.cpp n_accept",
    "rejected": "at most 1 a round, then a correction",
    "skipped": "after a rejection, never tested",
}
TREE_NOTES = {
    "draft_passes": "one per tree level",
    "drafted": "tree nodes, every one scored by the target",
    "accepted": "nodes on the kept paths",
    "rejected": "rounds where a node's children were all rejected",
    "skipped": "nodes never tried",
}


def summary_section(summary: dict[str, Any]) -> Group:
    rounds = summary["rounds"]
    method = summary["config"]["method"]
    # A token tree's counts mean the same, per node and per level.
    notes = TREE_NOTES if "tree" in summary else CHAIN_NOTES
    rows: list[tuple[str, RenderableType | str]] = [
        ("tokens generated", f"{summary['tokens']:,}"),
        ("target passes", _noted(f"{rounds:,}", "= rounds")),
        ("draft passes", _noted(f"{summary['draft_passes']:,}", notes["draft_passes"])),
        ("drafted tokens", _noted(f"{summary['drafted']:,}", notes["drafted"])),
        ("accepted drafts", _noted(f"{summary['accepted']:,}", notes["accepted"])),
        ("rejected drafts", _noted(f"{summary['rejected']:,}", notes["rejected"])),
        ("skipped drafts", _noted(f"{summary['skipped']:,}", notes["skipped"])),
        ("bonus tokens", _noted(f"{summary['bonus']:,}", "rounds that kept every draft")),
        ("tokens per target pass", _noted(_num(summary["tokens_per_target_pass"]), "1.000 without speculation")),
        ("mean acceptance length", _noted(_num(summary["mean_acceptance_length"]), "vLLM: 1 + accepted / rounds")),
        ("draft acceptance rate", _noted(_pct(summary["draft_acceptance_rate"]), "accepted / drafted; not α")),
        (
            "effective acceptance rate",
            _noted(_pct(summary["effective_acceptance_rate"]), "accepted / (accepted + rejected)"),
        ),
        ("empirical α", _noted(_num(summary["empirical_alpha"], 4), "mean sum_x min(p, q) where tested")),
        (
            "method keep chance",
            _noted(_num(summary["method_keep_rate"], 4), f"{method}: mean P(kept) where tested"),
        ),
        (
            "per-position acceptance",
            _noted(_rates(summary["per_position_acceptance"]), "vLLM: kept at i / rounds that drafted"),
        ),
        (
            "  of drafted",
            _noted(_rates(summary["per_position_acceptance_of_drafted"]), "kept at i / drafted i"),
        ),
        (
            "conditional acceptance",
            _noted(_rates(summary["conditional_acceptance"]), "kept / tested at i, ≈ α"),
        ),
    ]
    if summary["draft_acceptance_rate"] is None:
        rows.append(("", Text("— not measured yet: no draft was tested (every round was cut at n)", style="dim")))
    return Group(_section("Summary"), _pairs(rows))


def cost_section(summary: dict[str, Any]) -> Group:
    config, cost, model = summary["config"], summary["cost_ms"], summary["cost_model"]
    target_ms, c, v, k = (
        model["plain_pass_ms"],
        config["draft_cost"],
        config["verify_overhead"],
        starting_k(config),
    )
    rounds, draft_passes = summary["rounds"], summary["draft_passes"]
    per_round = draft_passes / rounds if rounds else 0.0
    # Up to k per round: the last round is cut so it cannot overshoot n, and a
    # policy may draft fewer.
    draft_note = f"k = {k} a round" if per_round == k else f"k = {k} a round at most, {per_round:.2f} on average"
    rows: list[tuple[str, str, float]] = []  # (what, how, ms)
    if "draft_kind" in model:
        # The forward-pass model: one verify pass of b (k+1) tokens a round.
        b = model["batch_size"]
        verify = f"{counted(rounds, 'verify pass', 'verify passes')} of {b:,} × (k+1) tokens"
        rows.append(("target passes", verify, cost["target_ms"]))
        drafting = {
            "model": f"{counted(draft_passes, 'draft pass', 'draft passes')} of "
            f"{counted(b, 'token', 'tokens')}  ({draft_note})",
            "head": f"one proposal of {b:,} × k tokens a round  ({draft_note})",
            "free": f"lookups for {b:,} × k tokens a round  ({draft_note})",
        }[model["draft_kind"]]
        rows.append(("drafting", drafting, cost["draft_ms"]))
        if cost["overhead_ms"]:
            rows.append(("step overhead", f"{_ms(model['overhead_ms'])} a round that drafts", cost["overhead_ms"]))
    else:
        target_formula = f"{rounds:,} × {_ms(target_ms)}"
        if v:
            # Verifying k drafts costs T (1 + v k): REFERENCE §5's overhead term.
            target_formula = f"({rounds:,} + {v} × {summary['drafted']:,} drafted) × {_ms(target_ms)}"
        rows.append(("target passes", target_formula, cost["target_ms"]))
        rows.append(("draft passes", f"{draft_passes:,} × {_ms(c * target_ms)}  ({draft_note})", cost["draft_ms"]))
    rows.append(("total time", "", cost["total_ms"]))
    without = f"{counted(summary['tokens'], 'token', 'tokens')} × {_ms(target_ms)}"
    rows.append(("without speculation", without, cost["baseline_ms"]))
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_column(justify="right", no_wrap=True)
    for (what, how, _), shown in zip(rows, ms_column([ms for _, _, ms in rows])):
        table.add_row(what, how, shown)
    table.add_row("speedup", "time without / time with speculation", Text(f"{cost['speedup']:.2f}×", style="bold"))
    measured = summary.get("measured")
    if measured is not None:
        # --timing measured: the hf pair's own pass times, beside the model's figures.
        for label, key in (
            ("measured target pass", "target_ms_per_pass"),
            ("measured draft pass", "draft_ms_per_pass"),
        ):
            if measured[key] is not None:
                table.add_row(label, "mean wall time, synchronised", _ms(measured[key]))
        if measured["plain_step_ms"] is not None:
            table.add_row("measured plain step", "one target pass for one token", _ms(measured["plain_step_ms"]))
        if measured["speedup"] is not None:
            table.add_row(
                "measured speedup",
                f"{summary['tokens']:,} plain steps / measured passes",
                Text(f"{measured['speedup']:.2f}×", style="bold"),
            )
    return Group(_section("Cost breakdown"), _indent(table))


def math_section(summary: dict[str, Any], uses_acceptance_rate: bool) -> Group:
    config = summary["config"]
    alpha, k, c, v = summary["theory_alpha"], starting_k(config), config["draft_cost"], config["verify_overhead"]
    table = Table(box=None, padding=(0, 2), pad_edge=False, header_style="dim")
    table.add_column("", style="bold", no_wrap=True)
    table.add_column("formula")
    table.add_column("expected", justify="right", no_wrap=True)
    table.add_column("measured", justify="right", no_wrap=True)
    table.add_row(
        "tokens per round",
        "E = (1 − α^(k+1)) / (1 − α)",
        _num(summary["expected_tokens_per_round"]),
        _num(summary["tokens_per_target_pass"]),
    )
    cost_term = "k c + 1" + (" + v k" if v else "")
    if "draft_kind" in summary["cost_model"]:
        cost_term = "round time / plain step"
    table.add_row("speedup", f"S = E / ({cost_term})", _num(summary["expected_speedup"]), f"{summary['speedup']:.3f}")
    table.add_row(
        "draft acceptance rate",
        "(α − α^(k+1)) / (k (1 − α))",
        _num(summary["expected_draft_acceptance_rate"]),
        _num(summary["draft_acceptance_rate"]),
    )
    expected = theory.per_position_acceptance(alpha, k) if alpha is not None else [None] * k
    vllm, conditional = summary["per_position_acceptance"], summary["conditional_acceptance"]
    for i in range(1, min(k, POSITIONS_SHOWN) + 1):
        table.add_row(
            "per-position acceptance" if i == 1 else "",
            f"position {i}: α^{i}",
            _num(expected[i - 1]),
            _num(vllm[i - 1]),
        )
    for i in range(1, min(k, POSITIONS_SHOWN) + 1):
        table.add_row(
            "conditional acceptance" if i == 1 else "",
            f"position {i}: α",
            _num(alpha),
            _num(conditional[i - 1]),
        )
    if alpha is None:
        notes = Text(
            "α is measured from the run (the method's mean chance of keeping a draft where one was tested), and no "
            "draft was tested: the closed forms have no α yet (— = not measured yet).",
            style="dim",
        )
        return Group(_section("The Math"), _indent(Group(table, Text(), notes)))
    best = theory.best_draft_length(alpha, c, verify_overhead=v)
    method = config["method"]
    source = "the acceptance-rate setting" if uses_acceptance_rate else f"the measured keep chance of {method}"
    best_line = f"Best k for this α and c: {best.k} (expected speedup {best.speedup:.3f}×)."
    if best.note:
        best_line += f" {best.note[0].upper()}{best.note[1:]}."
    notes = Text(
        f"α = {alpha:.4g} ({source}), k = {k}, c = {c}; E = Σ αⁱ over i = 0..k.\n"
        f"The formulas assume each position is accepted independently with probability α and a fixed k; "
        f"measured values differ by sampling noise, and by more when acceptance depends on the context or k varies "
        f"(the last round, cut at n, also drafts fewer). Per-position acceptance is vLLM's (kept at position i / "
        f"rounds that drafted); conditional acceptance is kept at i / rounds that tested i.\n" + best_line,
        style="dim",
    )
    return Group(_section("The Math"), _indent(Group(table, Text(), notes)))


def _rank_shares(shares: Sequence[float | None]) -> str:
    return " / ".join("–" if share is None else f"{share:.0%}" for share in shares)


def tree_section(summary: dict[str, Any]) -> Group:
    """A token-tree run's figures (in place of the chain's closed forms, which do not apply)."""
    tree = summary["tree"]
    rows: list[tuple[str, RenderableType | str]] = [
        ("tree", tree["description"]),
        ("nodes per pass", _noted(_num(summary["nodes_per_pass"], 2), "every node is scored in the one target pass")),
        ("tokens per pass τ", _noted(_num(summary["tokens_per_target_pass"]), "EAGLE's τ: the kept path + 1")),
        ("accepted depth", _noted(_num(summary["mean_accepted_depth"]), "mean nodes kept per round")),
        (
            "expected τ, given each tree",
            _noted(_num(summary["expected_tokens_given_trees"]), "mean of the recursion on each round's own chances"),
        ),
        (
            "expected τ, measured rates",
            _noted(_num(summary["expected_tokens_at_measured_rates"]), "the recursion at the rates by depth and rank"),
        ),
        ("expected speedup", _noted(_num(summary["expected_speedup"]), "expected τ / (round cost / plain step)")),
    ]
    by_depth = summary["acceptance_by_depth"]
    ranks = summary["accepted_rank_by_depth"]
    for depth in range(min(len(by_depth), POSITIONS_SHOWN)):
        shares = ranks[depth] if depth < len(ranks) else []
        rows.append(
            (
                "acceptance by depth" if depth == 0 else "",
                _noted(
                    f"depth {depth + 1}: {_num(by_depth[depth])}",
                    f"kept at depth / reached; sibling kept, by rank: {_rank_shares(shares) or '–'}",
                ),
            )
        )
    note = Text(
        "E[tokens] = 1 + L(root), L(v) = Σ over v's children c_i of a(c_i) Π_{j<i} (1 − a(c_j)) (1 + L(c_i)), "
        "with a(c) a child's chance of being kept once its elder siblings were rejected; a chain of k nodes "
        "kept at α gives (1 − α^(k+1)) / (1 − α). τ in the chain formula does not give a tree's α.",
        style="dim",
    )
    return Group(_section("Token tree"), _pairs(rows), _indent(note))


# ---- the whole report -------------------------------------------------------


def render_report(
    console: Console,
    simulation: Simulation,
    summary: dict[str, Any],
    rounds: Sequence[Round],
    *,
    rounds_shown: int,
    quiet: bool = False,
    source: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Print the report of a finished run (a Simulation or a ReplaySimulation);
    `progress` follows the round listing (see print_round_listing)."""
    if quiet:
        console.print(summary_section(summary))
        return
    model = simulation.model
    uses_acceptance_rate = model.uses_acceptance_rate
    start = simulation.prompt_length
    preview_tokens = simulation.history[start : start + PREVIEW_TOKENS]
    console.print(Rule(Text("specviz: speculative decoding", style="bold")))
    console.print(configuration(summary, uses_acceptance_rate, source))
    if rounds_shown:
        print_round_listing(console, rounds, summary["rounds"], model.vocab, rounds_shown, progress)
    console.print(
        text_preview(
            simulation.prompt_text(),
            model.joined,
            preview_tokens,
            simulation.kinds[:PREVIEW_TOKENS],
            summary["tokens"],
            colour=console.color_system is not None,
        )
    )
    console.print(summary_section(summary))
    console.print(cost_section(summary))
    if "tree" in summary:
        console.print(tree_section(summary))
    else:
        console.print(math_section(summary, simulation.alpha_is_set))


def render_theory(console: Console, data: dict[str, Any]) -> None:
    """Print `specviz theory`'s closed forms (the same dict as its --json)."""
    k = data["k"]
    positions = "  ".join(
        f"{i}: {p:.3f}" for i, p in enumerate(data["per_position_acceptance"][:POSITIONS_SHOWN], start=1)
    )
    if k > POSITIONS_SHOWN:
        positions += "  …"
    rows: list[tuple[str, RenderableType | str]] = [
        (
            "α, k, c",
            f"{data['alpha']}, {k}, {data['draft_cost']}"
            + (f", v = {data['verify_overhead']}" if data["verify_overhead"] else ""),
        ),
        ("expected tokens per round", f"{data['expected_tokens_per_round']:.4f}  (1 − α^(k+1)) / (1 − α)"),
        (
            "expected speedup",
            f"{data['expected_speedup']:.4f}×  E[tokens] / (k c + 1{' + v k' if data['verify_overhead'] else ''})",
        ),
        (
            "draft acceptance rate",
            # None at k = 0 (the batch-table policy's "do not speculate"): nothing is drafted.
            "— (k = 0: nothing is drafted)"
            if data["expected_draft_acceptance_rate"] is None
            else f"{data['expected_draft_acceptance_rate']:.4f}  (α − α^(k+1)) / (k (1 − α)), accepted / drafted",
        ),
        ("per-position acceptance", f"{positions}  (αⁱ)"),
        (
            "optimal k",
            f"{data['optimal_k']}  (speedup {data['optimal_speedup']:.4f}×, searched k = 1..{data['k_max']})",
        ),
    ]
    if data["optimal_k_note"]:
        rows.append(("", Text(data["optimal_k_note"], style="dim")))
    rows += [
        ("operations factor", f"{data['ops_factor']:.4f}  (compute vs plain decoding, c_ops = {data['ops_ratio']})"),
    ]
    model = data["cost_model"]
    if "draft_kind" in model:
        # The forward-pass model: what a pass costs here, and how the batch changes it.
        rows[2] = ("expected speedup", f"{data['expected_speedup']:.4f}×  E[tokens] × plain step / round time")
        rows += [
            ("cost model", Text(f"{model['name']}: {model['source']}", overflow="fold")),
            (
                f"at batch {model['batch_size']:,}, L = {model['context_length']:,}",
                f"plain step {_ms(data['plain_pass_ms'])}, verify pass {_ms(data['verify_pass_ms'])}, "
                f"drafting {_ms(data['draft_ms_per_round'])} a round",
            ),
            ("best k by batch size", _by_batch(data)),
            ("break-even batch size", _break_even(data)),
        ]
    console.print(_section("Closed forms (i.i.d. acceptance, Leviathan et al. 2023)"))
    console.print(_pairs(rows))


def _by_batch(data: dict[str, Any]) -> Text:
    text = Text()
    for b, k in data["best_k_by_batch_size"].items():
        speedup = data["best_speedup_by_batch_size"][b]
        text.append(f"b={b}: k={k} {speedup:.2f}×", style="" if speedup > 1.0 else "red")
        text.append("  ")
    return text


def _break_even(data: dict[str, Any]) -> str:
    pays = data["speculation_pays_at_batch_sizes"]
    largest = max(int(b) for b in data["best_k_by_batch_size"])
    if not pays:
        return f"none: plain decoding wins at every batch size up to {largest}"
    if data["break_even_batch_size"] is None:
        return f"none up to {largest}: speculation wins at every batch size"
    return f"{data['break_even_batch_size']}: beyond it plain decoding wins, at every k"
