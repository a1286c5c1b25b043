"""Drafting a token tree: several candidates per position, one distribution per node.

A round's tree hangs from the root, the context the round starts from. Every
node is a drafted token; its children are candidates for the next position
after it. Three shapes (`TreeShape`):

- full: every node has `width` children, down to depth k (`-k`);
- static: Medusa's list of paths of candidate ranks, `[[0], [0, 0], [1], ...]`:
  `[0, 1]` is the second candidate after the first candidate;
- dynamic (EAGLE-2): grown by draft confidence, the product of q along a
  node's path, up to a node budget, at most `width` children a node and k deep.

Three ways to pick a node's children (`--tree-sampling`):

- iid: each child drawn from the parent's q, with replacement (SpecInfer);
  twins are possible. Drawn from q_t = q.
- distinct: each next sibling drawn from q with the siblings drawn before it
  removed and renormalised (without replacement). Drawn from that q_t. A
  context whose q has fewer tokens than the shape asks for gets fewer children.
- top: the deterministic top-w of q (ties to the lowest id; only tokens q
  gives mass). q_t is a point mass at the child, which makes recursive
  rejection sampling the target-only rule.

A dynamic tree of sampled children expands whole nodes: the frontier node with
the highest path product gets all its children at once (fewer when the budget
runs out: the first ones drawn), so how many children a node has never depends
on what they are, which keeps verification lossless. A dynamic top-w tree
adds candidates one at a time by path product (EAGLE-2's reranking), which is
lossless for deterministic candidates whatever is kept.

How a round uses the random stream (it keeps runs reproducible from a seed):
a round that may hold M nodes takes 2M + 1 uniforms when it starts. The node
in slot j (0-based) is drawn with uniform j (top-w draws nothing with it) and
tested with uniform M + j; uniform 2M is the correction or the bonus. Slots:
a full or static tree's paths sorted by depth then ranks (the node in slot j
is the j-th path; a node missing because q had too few tokens leaves its slot
unused), a dynamic tree's nodes in the order they are added, M being the
budget (at most the full tree's nodes at that depth). A chain of k drafts is
the tree `[[0], [0, 0], ...]` and takes the same 2k + 1 uniforms in the same
places, so a width-1 tree emits the chain's tokens.

The last round of a run is cut, like a chain, to depth n - emitted - 1 so it
cannot overshoot the target length.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from specviz.engine.models.pair import ContextDists, ContextKey, ModelPair, sample_index
from specviz.engine.run.config import SimConfig, TreePath, full_tree_nodes, parse_tree_shape
from specviz.engine.verification.methods import ContextMemo

FULL, STATIC, DYNAMIC = "full", "static", "dynamic"


def full_tree_paths(width: int, depth: int) -> tuple[TreePath, ...]:
    """The full tree's paths, by depth then ranks (its slot order)."""
    level: list[TreePath] = [()]
    paths: list[TreePath] = []
    for _ in range(depth):
        level = [path + (rank,) for path in level for rank in range(width)]
        paths += level
    return tuple(paths)


@dataclass(frozen=True)
class TreeShape:
    """The tree a run drafts each round, from its config."""

    kind: str  # FULL, STATIC or DYNAMIC
    sampling: str  # iid, distinct or top
    width: int  # most children a node has (a static tree: its widest node)
    depth: int  # deepest level
    paths: tuple[TreePath, ...] = ()  # full and static: every node, in slot order
    budget: int = 0  # dynamic: most nodes

    @classmethod
    def of(cls, config: SimConfig) -> TreeShape:
        if config.tree_shape is not None:
            paths = parse_tree_shape(config.tree_shape)
            width = 1 + max(path[-1] for path in paths)
            return cls(STATIC, config.tree_sampling, width, max(len(path) for path in paths), paths)
        if config.tree_budget:
            return cls(DYNAMIC, config.tree_sampling, config.tree_width, config.draft_length, budget=config.tree_budget)
        width, depth = config.tree_width, config.draft_length
        return cls(FULL, config.tree_sampling, width, depth, full_tree_paths(width, depth))

    def slots(self, depth: int) -> int:
        """M: the most nodes a round cut to `depth` levels can hold."""
        if self.kind == DYNAMIC:
            return min(self.budget, full_tree_nodes(self.width, depth))
        return sum(1 for path in self.paths if len(path) <= depth)

    @property
    def nodes(self) -> int:
        """The most nodes a round holds, uncut."""
        return self.slots(self.depth)

    def describe(self) -> str:
        if self.kind == STATIC:
            return f"static tree of {len(self.paths)} nodes, depth {self.depth}, {self.sampling}"
        if self.kind == DYNAMIC:
            return (
                f"dynamic tree of at most {self.budget} nodes, width {self.width}, depth {self.depth}, {self.sampling}"
            )
        return f"full tree of width {self.width}, depth {self.depth} ({self.nodes} nodes), {self.sampling}"


@dataclass(slots=True)
class DraftedTree:
    """The nodes a round drafted, in node order (parents before children,
    siblings by rank). Lists of length N + 1 keep the root last, at index -1,
    so that `children[parents[j]]` and `dists[parents[j]]` work at every node."""

    parents: list[int]  # per node: its parent's index, -1 for the root
    ranks: list[int]  # per node: its place among its siblings, 0 first
    depths: list[int]  # per node: 1 for the root's children
    slots: list[int]  # per node: its slot j (uniform j draws it, uniform M + j tests it)
    drafted: list[int]  # per node: its token
    draft_probs: list[float]  # q(x) under the parent's draft distribution
    drawn_probs: list[float]  # q_t(x): x's probability under the distribution it was drawn from
    children: list[list[int]]  # N + 1 lists: each node's children in rank order, the root's last
    dists: list[ContextDists]  # N + 1: p and q after each node, the root's context last
    scores: list[float]  # per node: the product of q along its path (EAGLE-2's confidence)


def top_candidates(dists: ContextDists) -> list[int]:
    """q's tokens by probability, most likely first (ties: lowest id), those with mass only."""
    order = np.argsort(-dists.q, kind="stable")
    return [int(t) for t in order[: int(np.count_nonzero(dists.q))]]


class TreeDrafter:
    """Draws one round's tree from the model pair's per-context distributions."""

    def __init__(self, shape: TreeShape, model: ModelPair):
        self.shape = shape
        self.model = model
        self._top = ContextMemo(top_candidates)
        # Static shapes: each slot's parent slot, so a round follows them.
        self._parent_slot = [shape.paths.index(path[:-1]) if len(path) > 1 else -1 for path in shape.paths]

    def draft(self, root_key: ContextKey, depth: int, uniforms: list[float]) -> DraftedTree:
        """The tree under the context `root_key`, at most `depth` deep, drawn
        with `uniforms` (the round's first M, one per slot)."""
        root = self.model.dists(root_key)
        tree = DraftedTree([], [], [], [], [], [], [], [[]], [root], [])
        builder = _Builder(tree, self.model, root_key, self.shape.sampling, self._top)
        if depth <= 0:
            return builder.finish()
        if self.shape.kind == DYNAMIC:
            if self.shape.sampling == "top":
                self._grow_top(builder, depth, len(uniforms))
            else:
                self._grow_sampled(builder, depth, uniforms)
        else:
            self._follow(builder, depth, uniforms)
        return builder.finish()

    def _follow(self, builder: _Builder, depth: int, uniforms: list[float]) -> None:
        """A full or static tree: the shape's paths in slot order."""
        node_of_slot: dict[int, int] = {-1: -1}
        for slot, path in enumerate(self.shape.paths):
            if len(path) > depth:
                break  # paths are sorted by depth: the rest are deeper
            parent = node_of_slot.get(self._parent_slot[slot])
            if parent is None:
                continue  # its parent is missing, so is it
            node = builder.add_child(parent, slot, uniforms[slot])
            if node is not None:
                node_of_slot[slot] = node

    def _grow_sampled(self, builder: _Builder, depth: int, uniforms: list[float]) -> None:
        """Dynamic, sampled children: expand whole nodes, the highest path product first."""
        budget, width = len(uniforms), self.shape.width
        frontier: list[tuple[float, int, int]] = [(-1.0, 0, -1)]  # (-score, order, node)
        order = 1
        while frontier and len(builder.tree.drafted) < budget:
            _, _, node = heapq.heappop(frontier)
            for _ in range(min(width, budget - len(builder.tree.drafted))):
                slot = len(builder.tree.drafted)
                child = builder.add_child(node, slot, uniforms[slot])
                if child is None:
                    break  # q has no further distinct token here
                if builder.tree.depths[child] < depth:
                    heapq.heappush(frontier, (-builder.tree.scores[child], order, child))
                    order += 1

    def _grow_top(self, builder: _Builder, depth: int, budget: int) -> None:
        """Dynamic top-w: add candidates one at a time, the highest path product
        first. A node's next candidate joins the frontier once the one ranked
        above it is in, so siblings come in rank order."""
        tree = builder.tree
        frontier: list[tuple[float, int, int, int]] = []  # (-score, order, parent, rank)
        order = 0

        def offer(parent: int, rank: int) -> None:
            nonlocal order
            candidates = self._top(tree.dists[parent])
            if rank < min(self.shape.width, len(candidates)):
                score = (tree.scores[parent] if parent >= 0 else 1.0) * tree.dists[parent].q_view[candidates[rank]]
                heapq.heappush(frontier, (-score, order, parent, rank))
                order += 1

        offer(-1, 0)
        while frontier and len(tree.drafted) < budget:
            _, _, parent, rank = heapq.heappop(frontier)
            child = builder.add_child(parent, len(tree.drafted), 0.0)
            assert child is not None  # offer() checked the candidate exists
            offer(parent, rank + 1)
            if tree.depths[child] < depth:
                offer(child, 0)


class _Builder:
    """Adds children to a DraftedTree under one sampling rule."""

    def __init__(
        self,
        tree: DraftedTree,
        model: ModelPair,
        root_key: ContextKey,
        sampling: str,
        top: Callable[[ContextDists], list[int]],
    ):
        self.tree = tree
        self.model = model
        self.keys: list[ContextKey] = [root_key]  # root last, as in the tree's lists
        self.sampling = sampling
        self.top = top

    def add_child(self, parent: int, slot: int, u: float) -> int | None:
        """The next child of `parent`, drawn with `u`; None when its q has no
        further candidate (distinct and top only)."""
        tree = self.tree
        dists = tree.dists[parent]
        siblings = tree.children[parent]
        rank = len(siblings)
        if self.sampling == "top":
            candidates = self.top(dists)
            if rank >= len(candidates):
                return None
            token, drawn = candidates[rank], 1.0
        elif self.sampling == "iid" or not siblings:
            token = sample_index(dists.q_cdf, u)
            drawn = dists.q_view[token]
        else:
            q_t = drawn_from(dists.q, [tree.drafted[s] for s in siblings])
            if q_t is None:
                return None
            token = sample_index(np.cumsum(q_t).tolist(), u)
            drawn = float(q_t[token])
        node = len(tree.drafted)
        order = self.model.context_order
        key = (self.keys[parent] + (token,))[-order:]
        tree.parents.append(parent)
        tree.ranks.append(rank)
        tree.depths.append(1 if parent < 0 else tree.depths[parent] + 1)
        tree.slots.append(slot)
        tree.drafted.append(token)
        q = dists.q_view[token]
        tree.draft_probs.append(q)
        tree.drawn_probs.append(drawn)
        tree.scores.append((tree.scores[parent] if parent >= 0 else 1.0) * q)
        siblings.append(node)
        # The root stays last in the lists of N + 1.
        tree.children.insert(node, [])
        tree.dists.insert(node, self.model.dists(key))
        self.keys.insert(node, key)
        return node

    def finish(self) -> DraftedTree:
        return self.tree


def drawn_from(q: np.ndarray, earlier: list[int]) -> np.ndarray | None:
    """q_t for a distinct sibling: q without the tokens of the siblings drawn
    before it, renormalised; None when nothing is left."""
    if not earlier:
        return q
    rest = q.copy()
    rest[earlier] = 0.0
    total = float(rest.sum())
    if total <= 0.0:
        return None
    return rest / total


def drawn_distribution(q: np.ndarray, earlier: list[int], token: int, sampling: str) -> np.ndarray:
    """The distribution q_t a child `token` was drawn from, as an array over the
    vocabulary: `q` is its parent's draft distribution, `earlier` its elder
    siblings' tokens."""
    if sampling == "top":
        point = np.zeros_like(q)
        point[token] = 1.0
        return point
    if sampling == "iid":
        return q
    found = drawn_from(q, earlier)
    assert found is not None  # the child was drawn from it
    return found
