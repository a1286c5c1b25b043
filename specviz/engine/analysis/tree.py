"""The expected accepted length of a token tree, from each node's acceptance chance.

A tree is given by its nodes' parents (-1 for the root), in an order where a
parent comes before its children and siblings come in the order they are
tried. `chances[j]` is the chance node j is kept once it is reached: its
parent was kept (or is the root) and every elder sibling was rejected. Then,
with L(v) the expected number of nodes kept below v,

    L(v) = sum over v's children c_1..c_m of  P(c_i kept) (1 + L(c_i)),
    P(c_i kept) = a(c_i) prod_{j < i} (1 - a(c_j)),

and a round emits 1 + L(root) tokens on average (the kept path plus one
correction or bonus): EAGLE's tau. For a chain of k nodes that each keep with
alpha this is 1 + alpha + ... + alpha^k = (1 - alpha^(k+1)) / (1 - alpha),
the chain's closed form (theory.expected_tokens_per_round).

numpy-free, like theory.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def expected_tokens(parents: Sequence[int], chances: Sequence[float]) -> float:
    """E[tokens per round] = 1 + L(root) for the tree `parents` with per-node chances."""
    below = [0.0] * (len(parents) + 1)  # L(v); the root's last, at index -1
    # Children of each node, in order (the root's last).
    children: list[list[int]] = [[] for _ in range(len(parents) + 1)]
    for node, parent in enumerate(parents):
        children[parent].append(node)
    # Children come after their parents, so a reverse sweep sees every subtree first.
    for node in range(len(parents) - 1, -2, -1):
        reached, total = 1.0, 0.0
        for child in children[node]:
            kept = reached * chances[child]
            total += kept * (1.0 + below[child])
            reached *= 1.0 - chances[child]
        below[node] = total
    return 1.0 + below[-1]


def chain_parents(k: int) -> list[int]:
    """The chain of k drafts as a tree: each node the only child of the one before."""
    return list(range(-1, k - 1))


def depths_and_ranks(parents: Sequence[int]) -> tuple[list[int], list[int]]:
    """Each node's depth (1 for the root's children) and rank among its siblings (0 first)."""
    depths: list[int] = []
    ranks: list[int] = []
    seen: dict[int, int] = {}
    for parent in parents:
        depths.append(1 if parent < 0 else depths[parent] + 1)
        ranks.append(seen.get(parent, 0))
        seen[parent] = ranks[-1] + 1
    return depths, ranks


def expected_tokens_at_rates(parents: Sequence[int], rates: Sequence[Sequence[float | None]]) -> float:
    """expected_tokens with node j's chance read from rates[depth - 1][rank]
    (a rate by depth and sibling rank, as a run measures it); a place with
    no rate (never tried) counts as never kept."""
    depths, ranks = depths_and_ranks(parents)
    chances = []
    for depth, rank in zip(depths, ranks):
        row = rates[depth - 1] if depth - 1 < len(rates) else ()
        rate = row[rank] if rank < len(row) else None
        chances.append(0.0 if rate is None else rate)
    return expected_tokens(parents, chances)


def mean_expected_tokens(
    shapes: Mapping[tuple[int, ...], int], rates: Sequence[Sequence[float | None]]
) -> float | None:
    """expected_tokens_at_rates averaged over tree shapes, weighted by how many rounds drafted each."""
    rounds = sum(shapes.values())
    if not rounds:
        return None
    return sum(count * expected_tokens_at_rates(shape, rates) for shape, count in shapes.items()) / rounds
