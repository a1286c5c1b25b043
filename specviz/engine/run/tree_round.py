"""A token-tree round: its record, its statistics and its three phases.

`TreeStepper.attach(simulation)` makes a Simulation draft and verify trees:
its DRAFT, VERIFY and ACCEPT phase methods become the stepper's, so
`step()`, `finish_round()` and `run()` step trees exactly as they step chains,
and its method and stats become the tree's. The phases:

- DRAFT: take the round's 2M + 1 uniforms (drafting.tree says which is
  which) and draw the tree;
- VERIFY: the target's p at every node (one pass scores them all); at every
  node with children, the residual sequence and each child's chance of
  being kept once reached; the round's expected length given its tree;
- ACCEPT: walk from the root, trying children in rank order, until a node's
  children are all rejected (the correction, from the last residual) or a
  leaf is kept (the bonus, from p there).

A tree round fills the chain's Round fields where they mean the same thing:
`drafted` holds every node's token (the target scores them all: the count
the cost model charges), `accepted` the kept depth, `rejected` whether it
ended in a correction, `betas` per tested level the chance that level's
node kept one of its children, `draft_length` the depth the round was cut to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from specviz.engine.analysis.cost import CostModel
from specviz.engine.analysis.tree import expected_tokens, mean_expected_tokens
from specviz.engine.drafting.tree import DraftedTree, TreeDrafter, TreeShape, drawn_distribution
from specviz.engine.models.pair import ContextDists, ModelPair
from specviz.engine.run.config import SimConfig
from specviz.engine.run.random import UniformSource
from specviz.engine.run.rounds import Phase, Round, TokenKind
from specviz.engine.run.stats import RunStats
from specviz.engine.verification.methods import VerificationMethod
from specviz.engine.verification.tree import TreeMethod, build_tree_method

# Distinct shapes a run's statistics tally for the expected length at the
# measured rates (a dynamic tree may take a new shape every round).
MAX_SHAPES = 4096


class TreeRound(Round):
    """One tree round. Node lists are in node order (parents first, siblings by
    rank); `children` and `dists` have the root last, at index -1."""

    __slots__ = (
        "slot_count",
        "parents",
        "ranks",
        "depths",
        "slots",
        "drawn_probs",
        "children",
        "scores",
        "residual_probs",
        "chances",
        "keep_chances",
        "expected_tokens",
        "tried",
        "verdicts",
        "path",
    )

    def __init__(self, index: int, start: int, depth: int, draws: list[float], slot_count: int, tree: DraftedTree):
        super().__init__(index, start, depth, draws, tree.drafted, tree.draft_probs)
        self.slot_count = slot_count  # M: the round took 2M + 1 uniforms
        self.parents = tree.parents
        self.ranks = tree.ranks
        self.depths = tree.depths
        self.slots = tree.slots
        self.drawn_probs = tree.drawn_probs
        self.children = tree.children
        self.scores = tree.scores
        self.dists = tree.dists
        # VERIFY
        self.residual_probs: list[float] = []  # p_t(x): the residual's mass on x when x is tried
        self.chances: list[float] = []  # the chance each node is kept once reached
        self.keep_chances: list[float] = []  # N + 1: the chance each node keeps a child (root last)
        self.expected_tokens: float | None = None  # E[tokens | this tree]
        # ACCEPT
        self.tried: list[int] = []  # nodes tried, in order
        self.verdicts: list[bool] = []  # kept or rejected, per tried node
        self.path: list[int] = []  # the kept nodes, root's child first

    @property
    def nodes(self) -> int:
        return len(self.drafted)

    @property
    def uniforms(self) -> list[float]:
        """The acceptance uniform of each node tried, in the order tried."""
        return [self.draws[self.slot_count + self.slots[node]] for node in self.tried]

    @property
    def skipped(self) -> int:
        """Nodes never tried: below a rejected node, or siblings after the kept one."""
        return self.nodes - len(self.tried)

    @property
    def stopped_early(self) -> bool:
        return False

    @property
    def draft_passes(self) -> int:
        """One draft pass per level drafted (siblings are scored together)."""
        return max(self.depths, default=0)

    @property
    def emitted(self) -> list[int]:
        final = self.final_token
        return [self.drafted[node] for node in self.path] + ([] if final is None else [final])

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data.update(
            {
                "parents": list(self.parents),
                "ranks": list(self.ranks),
                "drawn_probs": list(self.drawn_probs),
                "residual_probs": list(self.residual_probs),
                "chances": list(self.chances),
                "tried": list(self.tried),
                "verdicts": list(self.verdicts),
                "path": list(self.path),
                "expected_tokens": self.expected_tokens,
            }
        )
        return data


def _tally(histogram: list[int], value: int) -> None:
    if value >= len(histogram):
        histogram.extend([0] * (value + 1 - len(histogram)))
    histogram[value] += 1


@dataclass(slots=True)
class TreeRunStats(RunStats):
    """RunStats for tree rounds: `drafted` counts nodes, the histograms count
    levels (depth drafted, depth kept), plus what only trees have."""

    # [depth - 1][rank]: rounds that tried / kept the node of that rank at that depth
    tried_by_depth_rank: list[list[int]] = field(default_factory=list)
    kept_by_depth_rank: list[list[int]] = field(default_factory=list)
    expected_given_tree_sum: float = 0.0  # sum over rounds of E[tokens | the round's tree]
    shapes: dict[tuple[int, ...], int] = field(default_factory=dict)  # parents -> rounds
    shapes_left_out: int = 0  # rounds past MAX_SHAPES distinct shapes

    def record(self, round_: Round) -> None:
        assert isinstance(round_, TreeRound)
        accepted = round_.accepted
        levels = round_.draft_passes
        self.rounds += 1
        self.draft_passes += levels
        self.drafted += round_.nodes
        self.accepted += accepted
        tested = round_.decided
        self.keep_chance_sum += sum(round_.betas[:tested])
        self.overlap_sum += sum(round_.overlaps[:tested])
        self.overlap_tested += tested
        if round_.rejected:
            self.rejected += 1
            _tally(self.rejected_histogram, accepted)
        _tally(self.drafted_histogram, levels)
        _tally(self.accepted_histogram, accepted)
        for node, kept in zip(round_.tried, round_.verdicts):
            depth, rank = round_.depths[node] - 1, round_.ranks[node]
            while len(self.tried_by_depth_rank) <= depth:
                self.tried_by_depth_rank.append([])
                self.kept_by_depth_rank.append([])
            _tally(self.tried_by_depth_rank[depth], rank)
            _tally(self.kept_by_depth_rank[depth], rank)
            if not kept:
                self.kept_by_depth_rank[depth][rank] -= 1
        if round_.expected_tokens is not None:
            self.expected_given_tree_sum += round_.expected_tokens
        shape = tuple(round_.parents)
        if shape in self.shapes:
            self.shapes[shape] += 1
        elif len(self.shapes) < MAX_SHAPES:
            self.shapes[shape] = 1
        else:
            self.shapes_left_out += 1

    @property
    def skipped(self) -> int:
        """Nodes never tried: below a rejected node, or after a kept sibling."""
        return self.drafted - sum(sum(row) for row in self.tried_by_depth_rank)

    @property
    def nodes_per_pass(self) -> float | None:
        """Nodes the target verified per pass (every node is scored)."""
        return self.drafted / self.rounds if self.rounds else None

    @property
    def mean_accepted_depth(self) -> float | None:
        return self.accepted / self.rounds if self.rounds else None

    @property
    def rank_acceptance_by_depth(self) -> list[list[float | None]]:
        """[depth - 1][rank]: kept / tried there: the chance a node of that rank
        is kept once reached (its elder siblings rejected)."""
        return [
            [k / t if t else None for k, t in zip(kept, tried)]
            for kept, tried in zip(self.kept_by_depth_rank, self.tried_by_depth_rank)
        ]

    @property
    def accepted_rank_by_depth(self) -> list[list[float | None]]:
        """[depth - 1][rank]: of the rounds that kept a node at that depth, the
        share that kept the node of that rank (rank 1 up: a later sibling
        saved the round)."""
        shares: list[list[float | None]] = []
        for kept in self.kept_by_depth_rank:
            total = sum(kept)
            shares.append([k / total if total else None for k in kept])
        return shares

    @property
    def expected_tokens_given_trees(self) -> float | None:
        """Mean over rounds of E[tokens | the tree drafted]: what verification
        should give, round by round; the measured tau estimates the same."""
        return self.expected_given_tree_sum / self.rounds if self.rounds else None

    @property
    def expected_tokens_at_measured_rates(self) -> float | None:
        """The tree recursion (analysis.tree) over the shapes drafted, each node
        kept with the run's measured rate at its depth and rank. Close to the
        measured tau for a static shape; for a dynamic tree an approximation,
        since the nodes it expands are the ones likelier to be kept."""
        return mean_expected_tokens(self.shapes, self.rank_acceptance_by_depth)

    def tree_dict(self) -> dict[str, Any]:
        return {
            "nodes_per_pass": self.nodes_per_pass,
            "mean_accepted_depth": self.mean_accepted_depth,
            "acceptance_by_depth": self.conditional_acceptance,
            "tried_by_depth_and_rank": [list(row) for row in self.tried_by_depth_rank],
            "kept_by_depth_and_rank": [list(row) for row in self.kept_by_depth_rank],
            "rank_acceptance_by_depth": self.rank_acceptance_by_depth,
            "accepted_rank_by_depth": self.accepted_rank_by_depth,
            "expected_tokens_given_trees": self.expected_tokens_given_trees,
            "expected_tokens_at_measured_rates": self.expected_tokens_at_measured_rates,
        }


class TreeHost(Protocol):
    """What the stepper reads and writes on the Simulation it drives."""

    config: SimConfig
    model: ModelPair
    method: VerificationMethod
    stats: RunStats
    draws: UniformSource
    history: Any  # array('i'): prompt then emitted ids
    kinds: bytearray
    prompt_length: int
    current: Round | None
    last_phase: Phase | None
    _listeners: list[Callable[[Round], None]]


class TreeStepper:
    """Drafts, verifies and accepts one tree round at a time for a Simulation."""

    def __init__(self, host: TreeHost):
        self.host = host
        self.shape = TreeShape.of(host.config)
        self.drafter = TreeDrafter(self.shape, host.model)
        # The residual sequences of the open round's nodes (root last): kept
        # out of the record, which a listing may hold for thousands of rounds.
        self._residuals: dict[int, list[np.ndarray]] = {}

    @classmethod
    def attach(cls, host: Any) -> TreeStepper:
        """Make `host` (a Simulation) run tree rounds."""
        stepper = cls(host)
        host.method = build_tree_method(host.config)
        host.stats = TreeRunStats()
        host.tree = stepper
        host._draft, host._verify, host._accept = stepper.draft, stepper.verify, stepper.accept
        return stepper

    @property
    def method(self) -> TreeMethod:
        method = self.host.method
        assert isinstance(method, TreeMethod)  # attach() set it; an audit may swap in another
        return method

    def draft(self) -> None:
        host = self.host
        emitted = len(host.history) - host.prompt_length
        depth = min(self.shape.depth, host.config.target_length - emitted - 1)
        slot_count = self.shape.slots(depth)
        draws = host.draws.take(2 * slot_count + 1)
        key = tuple(host.history[-host.model.context_order :])
        tree = self.drafter.draft(key, depth, draws[:slot_count])
        host.current = TreeRound(host.stats.rounds, emitted, depth, draws, slot_count, tree)
        host.last_phase = Phase.DRAFT

    def verify(self) -> None:
        round_ = self.host.current
        assert isinstance(round_, TreeRound)  # VERIFY follows the DRAFT that opened it
        method = self.method
        tokens, dists = round_.drafted, round_.dists
        round_.target_probs = [dists[parent].p_view[token] for parent, token in zip(round_.parents, tokens)]
        nodes = len(tokens)
        residual_probs = [0.0] * nodes
        chances = [0.0] * nodes
        keep = [0.0] * (nodes + 1)
        self._residuals = {}
        for node in range(-1, nodes):
            children = round_.children[node]
            if not children:
                continue
            here = dists[node]
            sequence = self.residual_sequence(round_, node)
            self._residuals[node] = sequence
            missed = 1.0
            for rank, child in enumerate(children):
                residual = float(sequence[rank][tokens[child]])
                residual_probs[child] = residual
                chances[child] = chance = method.chance(tokens[child], residual, round_.drawn_probs[child], here)
                missed *= 1.0 - chance
            keep[node] = 1.0 - missed
        round_.residual_probs, round_.chances, round_.keep_chances = residual_probs, chances, keep
        round_.expected_tokens = expected_tokens(round_.parents, chances)
        self.host.last_phase = Phase.VERIFY

    def accept(self) -> None:
        host = self.host
        round_ = host.current
        assert isinstance(round_, TreeRound)  # ACCEPT follows the VERIFY of the open round
        method = self.method
        draws, first_test, last = round_.draws, round_.slot_count, round_.draws[2 * round_.slot_count]
        tokens, dists = round_.drafted, round_.dists
        node = -1
        levels = [-1]  # the nodes whose children were tried: the root, then each kept node
        while True:
            children = round_.children[node]
            here = dists[node]
            if not children:
                round_.bonus = method.bonus(here, last)
                break
            for child in children:
                round_.tried.append(child)
                u = draws[first_test + round_.slots[child]]
                kept = method.keeps(tokens[child], round_.residual_probs[child], round_.drawn_probs[child], here, u)
                round_.verdicts.append(kept)
                if kept:
                    round_.path.append(child)
                    node = child
                    levels.append(child)
                    break
            else:
                round_.rejected = True
                round_.correction = method.final(self._residuals[node][-1], here, last)
                break
        round_.accepted = accepted = len(round_.path)
        tested = round_.decided
        round_.betas = [round_.keep_chances[level] for level in levels[:tested]]
        round_.overlaps = [dists[level].beta for level in levels[:tested]]
        round_.completed = True
        final = round_.final_token
        assert final is not None
        host.history.extend(tokens[node] for node in round_.path)
        host.kinds.extend(b"\x00" * accepted)  # TokenKind.ACCEPTED
        host.history.append(final)
        host.kinds.append(TokenKind.CORRECTION if round_.rejected else TokenKind.BONUS)
        host.stats.record(round_)
        host.last_phase = Phase.ACCEPT
        self._residuals = {}
        for listener in host._listeners:
            listener(round_)

    def residual_sequence(self, round_: TreeRound, node: int) -> list[np.ndarray]:
        """p_0 .. p_m at `node` (-1: the root), the residual after each of its
        children is rejected, as the method computes them (VERIFY, and a view)."""
        children = round_.children[node]
        here: ContextDists = round_.dists[node]
        method = self.method
        if not method.uses_residuals:
            return [here.p] * (len(children) + 1)
        tokens = round_.drafted
        drawn = [
            drawn_distribution(here.q, [tokens[s] for s in children[:rank]], tokens[child], self.shape.sampling)
            for rank, child in enumerate(children)
        ]
        return method.residuals(here.p, drawn)

    def summary(self, data: dict[str, Any], cost: CostModel) -> None:
        """Add the tree's figures to a run summary, and put the tree's expected
        length and speedup in place of the chain's closed forms."""
        stats = self.host.stats
        assert isinstance(stats, TreeRunStats)
        data["tree"] = {
            "kind": self.shape.kind,
            "sampling": self.shape.sampling,
            "width": self.shape.width,
            "depth": self.shape.depth,
            "nodes": self.shape.nodes,
            "budget": self.shape.budget or None,
            "description": self.shape.describe(),
        }
        data.update(stats.tree_dict())
        tokens = stats.expected_tokens_at_measured_rates
        data["expected_tokens_per_round"] = tokens
        rounds = stats.rounds
        data["expected_speedup"] = (
            tokens / cost.tree_round_units(stats.draft_passes / rounds, stats.drafted / rounds)
            if tokens is not None and rounds
            else None
        )
        data["expected_draft_acceptance_rate"] = None  # a chain's closed form; trees have none
        # Per-level figures: one entry per level of the tree (the chain's pad to -k).
        depth = self.shape.depth
        for key in ("per_position_acceptance", "per_position_acceptance_of_drafted", "conditional_acceptance"):
            values = data[key][:depth]
            data[key] = values + [None] * (depth - len(values))
